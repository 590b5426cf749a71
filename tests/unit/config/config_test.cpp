// roost.toml parsing: defaults, every key, and the error for each kind of mistake.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/config_schema.hpp"

using roost::Config;
using roost::ConfigError;
using roost::parse_config;

namespace {

// The ConfigError message parse_config throws for `text`, or "" when it parses.
std::string error_of(const std::string& text) {
    try {
        parse_config(text, "roost.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("an empty file gives the defaults and one listener on 127.0.0.1:1883") {
    Config c = parse_config("", "roost.toml");
    Config d;
    CHECK(c.source_file == "roost.toml");
    CHECK(c.broker.allow_anonymous == d.broker.allow_anonymous);
    CHECK(c.broker.maximum_qos == 2);
    CHECK(c.broker.workers == 0);  // one per core
    CHECK(c.limits.max_packet_size == 1048576u);
    CHECK(c.limits.max_inflight == 32);
    CHECK(c.limits.connect_timeout == 10);
    CHECK(c.limits.queue_full_policy == roost::QueueFullPolicy::Backpressure);
    CHECK(c.limits.offline_queue_policy == roost::QueueFullPolicy::DropNewest);
    CHECK(c.log.level == roost::LogLevel::Info);
    CHECK(c.log.file.empty());
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].bind == "127.0.0.1");
    CHECK(c.listeners[0].port == 1883);
    CHECK(c.listeners[0].transport.empty());
    CHECK(c.listeners[0].auth_default == roost::DefaultDecision::Auto);
    CHECK(c.listeners[0].acl_default == roost::DefaultDecision::Allow);
    CHECK(c.broker.plugin_timeout_ms == 5000);
    CHECK(c.plugins.empty());
}

TEST_CASE("[broker] keys") {
    Config c = parse_config(R"(
[broker]
allow_anonymous = false
retain_available = false
wildcard_subscriptions = false
shared_subscriptions = false
subscription_identifiers = false
maximum_qos = 1
sys_interval = 0
workers = 4
plugin_timeout_ms = 250
)",
                            "roost.toml");
    CHECK_FALSE(c.broker.allow_anonymous);
    CHECK_FALSE(c.broker.retain_available);
    CHECK_FALSE(c.broker.wildcard_subscriptions);
    CHECK_FALSE(c.broker.shared_subscriptions);
    CHECK_FALSE(c.broker.subscription_identifiers);
    CHECK(c.broker.maximum_qos == 1);
    CHECK(c.broker.sys_interval == 0);
    CHECK(c.broker.workers == 4);
    CHECK(c.broker.plugin_timeout_ms == 250);
    CHECK(parse_config("[broker]\nplugin_timeout_ms = 1", "x").broker.plugin_timeout_ms == 1);
    CHECK(parse_config("[broker]\nplugin_timeout_ms = 600000", "x").broker.plugin_timeout_ms == 600000);
    CHECK(parse_config("[broker]\npersist_delay_ms = 0", "x").broker.persist_delay_ms == 0);
    CHECK(parse_config("[broker]\npersist_delay_ms = 1000", "x").broker.persist_delay_ms == 1000);
    CHECK_THROWS_AS(parse_config("[broker]\npersist_delay_ms = 1001", "x"), roost::ConfigError);
}

TEST_CASE("[limits] keys") {
    Config c = parse_config(R"(
[limits]
max_packet_size = 65536
max_connections = 1000
max_inflight = 10
max_queued_messages = 50
queue_full_policy = "drop_oldest"
max_client_id_length = 64
max_keep_alive = 600
topic_alias_maximum = 0
max_session_expiry = 86400
max_message_expiry = 3600
max_subscriptions_per_client = 100
connect_timeout = 30
)",
                            "roost.toml");
    CHECK(c.limits.max_packet_size == 65536);
    CHECK(c.limits.max_connections == 1000);
    CHECK(c.limits.max_inflight == 10);
    CHECK(c.limits.max_queued_messages == 50);
    CHECK(c.limits.queue_full_policy == roost::QueueFullPolicy::DropOldest);
    CHECK(c.limits.max_client_id_length == 64);
    CHECK(c.limits.max_keep_alive == 600);
    CHECK(c.limits.topic_alias_maximum == 0);
    CHECK(c.limits.max_session_expiry == 86400);
    CHECK(c.limits.max_message_expiry == 3600);
    CHECK(c.limits.max_subscriptions_per_client == 100);
    CHECK(c.limits.connect_timeout == 30);

    c = parse_config("[limits]\nqueue_full_policy = \"drop_newest\"\nmax_session_expiry = 4294967295\n", "x");
    CHECK(c.limits.queue_full_policy == roost::QueueFullPolicy::DropNewest);
    CHECK(c.limits.max_session_expiry == 4294967295u);
}

TEST_CASE("[log] keys") {
    CHECK(parse_config("[log]\nlevel = \"error\"", "x").log.level == roost::LogLevel::Error);
    CHECK(parse_config("[log]\nlevel = \"warning\"", "x").log.level == roost::LogLevel::Warning);
    CHECK(parse_config("[log]\nlevel = \"info\"", "x").log.level == roost::LogLevel::Info);
    CHECK(parse_config("[log]\nlevel = \"debug\"", "x").log.level == roost::LogLevel::Debug);
    CHECK(parse_config("[log]\nfile = \"/var/log/roost.log\"", "x").log.file == "/var/log/roost.log");
}

TEST_CASE("inline tables and dotted keys work like [table] headers") {
    Config c = parse_config("broker = { workers = 3 }\nlimits.max_inflight = 7\n", "x");
    CHECK(c.broker.workers == 3);
    CHECK(c.limits.max_inflight == 7);
}

TEST_CASE("[[listener]] tables") {
    Config c = parse_config(R"(
[[listener]]
port = 1884

[[listener]]
bind = "127.0.0.2"

[[listener]]
bind = "::"
port = 8883
)",
                            "conf/roost.toml");
    REQUIRE(c.listeners.size() == 3);
    CHECK(c.listeners[0].bind == "127.0.0.1");  // loopback unless asked
    CHECK(c.listeners[0].port == 1884);
    CHECK(c.listeners[0].source == "conf/roost.toml:2");
    CHECK(c.listeners[1].bind == "127.0.0.2");
    CHECK(c.listeners[1].port == 1883);
    CHECK(c.listeners[1].source == "conf/roost.toml:5");
    CHECK(c.listeners[2].bind == "::");
    CHECK(c.listeners[2].port == 8883);
    CHECK(c.listeners[2].source == "conf/roost.toml:8");
}

TEST_CASE("[[listener]] transport, auth_default and acl_default") {
    Config c = parse_config(R"(
[[listener]]
port = 1884
transport = "ws"
auth_default = "deny"
acl_default = "deny"

[[listener]]
port = 1885
auth_default = "allow"
acl_default = "allow"

[[listener]]
port = 1886
)",
                            "roost.toml");
    REQUIRE(c.listeners.size() == 3);
    CHECK(c.listeners[0].transport == "ws");
    CHECK(c.listeners[0].auth_default == roost::DefaultDecision::Deny);
    CHECK(c.listeners[0].acl_default == roost::DefaultDecision::Deny);
    CHECK(c.listeners[1].transport.empty());
    CHECK(c.listeners[1].auth_default == roost::DefaultDecision::Allow);
    CHECK(c.listeners[1].acl_default == roost::DefaultDecision::Allow);
    CHECK(c.listeners[2].auth_default == roost::DefaultDecision::Auto);
    CHECK(c.listeners[2].acl_default == roost::DefaultDecision::Allow);
    // Any name: whether a transport plugin of that name is loaded is checked when listeners start.
    CHECK(parse_config("[[listener]]\ntransport = \"my-quic\"\n", "x").listeners[0].transport == "my-quic");
}

TEST_CASE("[[listener]] transport, auth_default and acl_default errors") {
    CHECK(error_of("[[listener]]\ntransport = \"\"\n") ==
          "roost.toml:2:13: 'transport' in [[listener]] must not be empty (leave it out for plain MQTT over "
          "TCP)");
    CHECK(error_of("[[listener]]\ntransport = 1\n") ==
          "roost.toml:2:13: 'transport' in [[listener]] must be a string, not an integer");
    CHECK(error_of("[[listener]]\nauth_default = \"auto\"\n") ==
          "roost.toml:2:16: 'auth_default' in [[listener]] must be \"allow\" or \"deny\", got \"auto\"");
    CHECK(error_of("[[listener]]\nacl_default = \"denny\"\n") ==
          "roost.toml:2:15: 'acl_default' in [[listener]] must be \"allow\" or \"deny\", got \"denny\" (did "
          "you mean \"deny\"?)");
    CHECK(error_of("[[listener]]\nacl_default = true\n") ==
          "roost.toml:2:15: 'acl_default' in [[listener]] must be \"allow\" or \"deny\", not a boolean");
    CHECK(error_of("[[listener]]\nauth_defaults = \"deny\"\n") ==
          "roost.toml:2:1: unknown key 'auth_defaults' in [[listener]] (did you mean 'auth_default'?)");
}

TEST_CASE("unknown keys are errors with file:line:column and a suggestion") {
    CHECK(error_of("[limits]\nmax_connections = 1\n\nmax_conections = 5\n") ==
          "roost.toml:4:1: unknown key 'max_conections' in [limits] (did you mean 'max_connections'?)");
    CHECK(error_of("[broker]\n  colour = 1\n") == "roost.toml:2:3: unknown key 'colour' in [broker]");
    CHECK(error_of("[[listener]]\nprot = 1884\n") ==
          "roost.toml:2:1: unknown key 'prot' in [[listener]] (did you mean 'port'?)");
    CHECK(error_of("[broker]\nmax_connections = 1\n") ==
          "roost.toml:2:1: unknown key 'max_connections' in [broker] (it belongs in [limits])");
    CHECK(error_of("[[listener]]\ntls = true\n") ==
          "roost.toml:2:1: unknown key 'tls' in [[listener]] (did you mean 'tls_cert_file'?)");
    CHECK(error_of("[log]\nlevel = \"info\"\n[log.sub]\nx = 1\n").find("unknown key 'sub' in [log]") !=
          std::string::npos);
}

TEST_CASE("unknown tables and top-level keys are errors") {
    CHECK(error_of("\n[limit]\nmax_connections = 1\n") ==
          "roost.toml:2:1: unknown table [limit] (did you mean [limits]?)");
    CHECK(error_of("[[listeners]]\nport = 1\n") ==
          "roost.toml:1:1: unknown table [[listeners]] (did you mean [[listener]]?)");
    CHECK(error_of("port = 1884\n") ==
          "roost.toml:1:1: unknown top-level key 'port' (it belongs in [[listener]])");
    CHECK(error_of("[mqtt]\n") == "roost.toml:1:1: unknown table [mqtt]");
}

TEST_CASE("sections of the wrong kind") {
    CHECK(
        error_of("[listener]\nport = 1\n") ==
        "roost.toml:1:1: 'listener' must be written as [[listener]] tables (one per listener), not a table");
    CHECK(error_of("[[broker]]\nworkers = 1\n") ==
          "roost.toml:1:1: 'broker' must be a table ([broker]), not an array of tables");
    CHECK(error_of("log = \"debug\"\n") == "roost.toml:1:7: 'log' must be a table ([log]), not a string");
}

TEST_CASE("[[plugin]] tables, in file order") {
    Config c = parse_config(R"(
[[plugin]]
name = "zeta"

[[plugin]]
path = "/opt/roost/plugins/auth_file.so"

[[plugin]]
name = "acl"
path = "/usr/lib/roost/libacl.so"
)",
                            "/etc/roost/roost.toml");
    REQUIRE(c.plugins.size() == 3);
    CHECK(c.plugins[0].name == "zeta");
    CHECK(c.plugins[0].path.empty());
    CHECK(c.plugins[0].options.empty());
    CHECK(c.plugins[0].source == "/etc/roost/roost.toml:2");
    CHECK(c.plugins[1].name == "auth_file");
    CHECK(c.plugins[1].path == "/opt/roost/plugins/auth_file.so");
    CHECK(c.plugins[1].source == "/etc/roost/roost.toml:5");
    CHECK(c.plugins[2].name == "acl");
    CHECK(c.plugins[2].path == "/usr/lib/roost/libacl.so");
    CHECK(c.plugins[2].source == "/etc/roost/roost.toml:8");
}

TEST_CASE("[[plugin]] path: relative to the config file's folder, name from the file name") {
    Config c = parse_config("[[plugin]]\npath = \"plugins/auth.so\"\n", "/etc/roost/roost.toml");
    REQUIRE(c.plugins.size() == 1);
    CHECK(c.plugins[0].path == "/etc/roost/plugins/auth.so");
    CHECK(c.plugins[0].name == "auth");

    c = parse_config("[[plugin]]\npath = \"../lib/./my-acl\"\n", "/etc/roost/roost.toml");
    CHECK(c.plugins[0].path == "/etc/lib/my-acl");
    CHECK(c.plugins[0].name == "my-acl");

    // A config file named without a folder: the plugin path is relative to the current directory.
    c = parse_config("[[plugin]]\npath = \"x.so\"\n", "roost.toml");
    CHECK(c.plugins[0].path == (std::filesystem::current_path() / "x.so").string());
    CHECK(c.plugins[0].name == "x");

    // Only a trailing ".so" is dropped; an explicit name wins over the file name.
    c = parse_config("[[plugin]]\nname = \"auth\"\npath = \"/p/auth.so.1\"\n", "roost.toml");
    CHECK(c.plugins[0].name == "auth");
    CHECK(c.plugins[0].path == "/p/auth.so.1");
}

TEST_CASE("[[plugin]] options, as a [plugin.options] table or inline, in file order") {
    using Options = std::vector<std::pair<std::string, std::string>>;
    Config c = parse_config(R"(
[[plugin]]
name = "auth"
[plugin.options]
zfile = "/etc/roost/passwd"
count = 0x10
ratio = 0.5
whole = 2.0
big = 1e300
enabled = true
off = false
negative = -7
"quoted key" = 'a "b"'

[[plugin]]
name = "acl"
options = { rules = "acl.txt", max = 3 }

[[plugin]]
name = "ws"
options.path = "/mqtt"
options.port = 8080
)",
                            "roost.toml");
    REQUIRE(c.plugins.size() == 3);
    CHECK(c.plugins[0].options == Options{{"zfile", "/etc/roost/passwd"},
                                          {"count", "16"},
                                          {"ratio", "0.5"},
                                          {"whole", "2.0"},
                                          {"big", "1e+300"},
                                          {"enabled", "true"},
                                          {"off", "false"},
                                          {"negative", "-7"},
                                          {"quoted key", "a \"b\""}});
    CHECK(c.plugins[1].options == Options{{"rules", "acl.txt"}, {"max", "3"}});
    CHECK(c.plugins[2].options == Options{{"path", "/mqtt"}, {"port", "8080"}});
    CHECK(parse_config("[[plugin]]\nname = \"a\"\noptions = {}\n", "x").plugins[0].options.empty());
    CHECK(parse_config("[[plugin]]\nname = \"a\"\noptions = { x = inf, y = -inf, z = nan }\n", "x")
              .plugins[0]
              .options == Options{{"x", "inf"}, {"y", "-inf"}, {"z", "nan"}});
}

TEST_CASE("[[plugin]] errors carry file:line:column") {
    CHECK(error_of("[[plugin]]\noptions = {}\n") ==
          "roost.toml:1:1: [[plugin]] needs a 'name', a 'path' or both");
    CHECK(error_of("[[plugin]]\n") == "roost.toml:1:1: [[plugin]] needs a 'name', a 'path' or both");
    CHECK(error_of("[[plugin]]\nname = \"my auth\"\n") ==
          "roost.toml:2:8: 'name' in [[plugin]] is \"my auth\": use only letters, digits, '_' and '-'");
    CHECK(error_of("[[plugin]]\nname = \"\"\n") == "roost.toml:2:8: 'name' in [[plugin]] must not be empty");
    CHECK(error_of("[[plugin]]\nname = 3\n") ==
          "roost.toml:2:8: 'name' in [[plugin]] must be a string, not an integer");
    CHECK(error_of("[[plugin]]\npath = \"\"\n") == "roost.toml:2:8: 'path' in [[plugin]] must not be empty");
    CHECK(error_of("[[plugin]]\npath = [\"a.so\"]\n") ==
          "roost.toml:2:8: 'path' in [[plugin]] must be a string, not an array");
    CHECK(error_of("[[plugin]]\npath = \"/p/auth.v2.so\"\n") ==
          "roost.toml:2:8: 'path' in [[plugin]] gives the plugin name \"auth.v2\", which is not made of "
          "letters, digits, '_' and '-' only: set 'name'");
    CHECK(error_of("[[plugin]]\npath = \"/p/\"\n").find("gives the plugin name \"\"") != std::string::npos);
    CHECK(error_of("[[plugin]]\nname = \"a\"\nfile = \"a.so\"\n") ==
          "roost.toml:3:1: unknown key 'file' in [[plugin]] (it belongs in [log])");
    CHECK(error_of("[[plugin]]\nnmae = \"a\"\n") ==
          "roost.toml:1:1: [[plugin]] needs a 'name', a 'path' or both\n"
          "roost.toml:2:1: unknown key 'nmae' in [[plugin]] (did you mean 'name'?)");
    CHECK(error_of("[[plugin]]\nname = \"a\"\noption = {}\n") ==
          "roost.toml:3:1: unknown key 'option' in [[plugin]] (did you mean 'options'?)");
    CHECK(error_of("[plugin]\nname = \"a\"\n") ==
          "roost.toml:1:1: 'plugin' must be written as [[plugin]] tables (one per plugin), not a table");
    CHECK(error_of("[plugin.options]\nx = 1\n") ==
          "roost.toml:1:1: 'plugin' must be written as [[plugin]] tables (one per plugin), not a table");
    CHECK(error_of("[[plugin]]\nname = \"a\"\noptions = \"x=1\"\n") ==
          "roost.toml:3:11: 'options' in [[plugin]] must be a table ([plugin.options] or options = { ... }), "
          "not a string");
}

TEST_CASE("[[plugin]] options must be strings, numbers or booleans") {
    CHECK(error_of("[[plugin]]\nname = \"a\"\n[plugin.options]\nok = 1\nlist = [1, 2]\n") ==
          "roost.toml:5:1: option 'list' of [[plugin]] 'a' must be a string, an integer, a floating-point "
          "number or a boolean, not an array");
    CHECK(error_of("[[plugin]]\nname = \"a\"\noptions = { sub = { x = 1 } }\n") ==
          "roost.toml:3:13: option 'sub' of [[plugin]] 'a' must be a string, an integer, a floating-point "
          "number or a boolean, not a table");
    CHECK(error_of("[[plugin]]\nname = \"a\"\n[plugin.options]\nx = 1\n[plugin.options.sub]\ny = 2\n") ==
          "roost.toml:5:17: option 'sub' of [[plugin]] 'a' must be a string, an integer, a floating-point "
          "number or a boolean, not a table");
    CHECK(error_of("[[plugin]]\nname = \"a\"\n[plugin.options]\nwhen = 1979-05-27\n") ==
          "roost.toml:4:1: option 'when' of [[plugin]] 'a' must be a string, an integer, a floating-point "
          "number or a boolean, not a date");
    CHECK(error_of("[[plugin]]\nname = \"a\"\noptions.sub.x = 1\n").rfind("roost.toml:3:", 0) == 0);
}

TEST_CASE("the same plugin twice is an error") {
    CHECK(error_of("[[plugin]]\nname = \"auth\"\n\n[[plugin]]\nname = \"auth\"\n") ==
          "roost.toml:4:1: plugin 'auth' is already loaded at roost.toml:1");
    CHECK(error_of("[[plugin]]\nname = \"auth\"\n[[plugin]]\npath = \"/p/auth.so\"\n") ==
          "roost.toml:3:1: plugin 'auth' is already loaded at roost.toml:1");
}

TEST_CASE("wrong types name the key and the expected type") {
    CHECK(error_of("[broker]\nallow_anonymous = \"yes\"\n") ==
          "roost.toml:2:19: 'allow_anonymous' in [broker] must be true or false, not a string");
    CHECK(error_of("[[listener]]\nport = \"1883\"\n") ==
          "roost.toml:2:8: 'port' in [[listener]] must be an integer from 1 to 65535, not a string (write "
          "port = 1883, without quotes)");
    CHECK(error_of("[limits]\nmax_inflight = 10.0\n") ==
          "roost.toml:2:16: 'max_inflight' in [limits] must be an integer from 1 to 65535, not a "
          "floating-point "
          "number");
    CHECK(error_of("[log]\nfile = 3\n") ==
          "roost.toml:2:8: 'file' in [log] must be a string, not an integer");
    CHECK(error_of("[log]\nlevel = 3\n") ==
          "roost.toml:2:9: 'level' in [log] must be \"error\", \"warning\", \"info\" or \"debug\", not an "
          "integer");
    CHECK(error_of("[[listener]]\nbind = [\"0.0.0.0\"]\n") ==
          "roost.toml:2:8: 'bind' in [[listener]] must be a string, not an array");
}

TEST_CASE("a quoted number or boolean: the error says to write it without quotes") {
    CHECK(error_of("[broker]\nallow_anonymous = \"false\"\n") ==
          "roost.toml:2:19: 'allow_anonymous' in [broker] must be true or false, not a string (write "
          "allow_anonymous = false, without quotes)");
    // The hint each quoted value gets; "" = none, for text that is not what the key takes at all.
    // A quoted value out of range gets the hint too: it only says how to write it.
    const std::pair<const char*, const char*> cases[] = {
        {"[limits]\nmax_inflight = \"64\"\n", " not a string (write max_inflight = 64, without quotes)"},
        {"[broker]\nmaximum_qos = \"-1\"\n", " (write maximum_qos = -1, without quotes)"},
        {"[broker]\nsys_interval = \"5s\"\n", ""},
        {"[broker]\nsys_interval = \"\"\n", ""},
        {"[broker]\nretain_available = \"yes\"\n", ""},
    };
    for (const auto& [toml, hint] : cases) {
        std::string e = error_of(toml);
        CAPTURE(e);
        CHECK_FALSE(e.empty());
        CHECK((*hint ? e.find(hint) != std::string::npos : e.find("without quotes") == std::string::npos));
    }
}

TEST_CASE("out-of-range numbers") {
    CHECK(error_of("[[listener]]\nport = 0\n") ==
          "roost.toml:2:8: 'port' in [[listener]] must be an integer from 1 to 65535, got 0");
    CHECK(error_of("[[listener]]\nport = 65536\n") ==
          "roost.toml:2:8: 'port' in [[listener]] must be an integer from 1 to 65535, got 65536");
    CHECK(error_of("[broker]\nmaximum_qos = 3\n") ==
          "roost.toml:2:15: 'maximum_qos' in [broker] must be an integer from 0 to 2, got 3");
    CHECK(error_of("[broker]\nworkers = -1\n").find("'workers' in [broker] must be an integer from 0 to") !=
          std::string::npos);
    CHECK(error_of("[broker]\nsys_interval = -1\n") ==
          "roost.toml:2:16: 'sys_interval' in [broker] must be an integer from 0 to 4294967295, got -1");
    CHECK(error_of("[broker]\nplugin_timeout_ms = 0\n") ==
          "roost.toml:2:21: 'plugin_timeout_ms' in [broker] must be an integer from 1 to 600000, got 0");
    CHECK(error_of("[broker]\nplugin_timeout_ms = 600001\n") ==
          "roost.toml:2:21: 'plugin_timeout_ms' in [broker] must be an integer from 1 to 600000, got 600001");
    CHECK(
        error_of("[broker]\nplugin_timeout_ms = \"5s\"\n") ==
        "roost.toml:2:21: 'plugin_timeout_ms' in [broker] must be an integer from 1 to 600000, not a string");
    CHECK(error_of("[limits]\nmax_inflight = 0\n") ==
          "roost.toml:2:16: 'max_inflight' in [limits] must be an integer from 1 to 65535, got 0");
    CHECK(error_of("[limits]\nmax_packet_size = 63\n") ==
          "roost.toml:2:19: 'max_packet_size' in [limits] must be an integer from 64 to 268435460, got 63");
    CHECK(error_of("[limits]\nmax_packet_size = 268435461\n").find("got 268435461") != std::string::npos);
    CHECK(error_of("[limits]\nconnect_timeout = 0\n").find("from 1 to 65535, got 0") != std::string::npos);
    CHECK(error_of("[limits]\nmax_client_id_length = 22\n").find("from 23 to 65535, got 22") !=
          std::string::npos);
    CHECK(error_of("[limits]\nmax_queued_messages = 0\n").find("from 1 to 4294967295, got 0") !=
          std::string::npos);
    CHECK(error_of("[limits]\nmax_connections = 4294967296\n").find("got 4294967296") != std::string::npos);
    CHECK(error_of("[limits]\nmax_keep_alive = 0\n").find("from 1 to 65535, got 0") != std::string::npos);
}

TEST_CASE("strings outside their set of values") {
    CHECK(error_of("[log]\nlevel = \"warn\"\n") ==
          "roost.toml:2:9: 'level' in [log] must be \"error\", \"warning\", \"info\" or \"debug\", got "
          "\"warn\" (did "
          "you mean \"warning\"?)");
    CHECK(error_of("[limits]\nqueue_full_policy = \"oldest\"\n") ==
          "roost.toml:2:21: 'queue_full_policy' in [limits] must be \"backpressure\", \"drop_newest\", "
          "\"drop_oldest\" or \"refuse\", got "
          "\"oldest\"");
}

TEST_CASE("listener bind addresses and duplicates") {
    CHECK(
        error_of("[[listener]]\nbind = \"localhost\"\n") ==
        "roost.toml:2:8: 'bind' in [[listener]] is \"localhost\", which is not an IPv4 or IPv6 address (host "
        "names are not resolved)");
    CHECK(error_of("[[listener]]\nbind = \"[::1]\"\n") ==
          "roost.toml:2:8: 'bind' in [[listener]] is \"[::1]\": write the IPv6 address without brackets "
          "(\"::1\")");
    CHECK(error_of("[[listener]]\nbind = \"\"\n").find("'bind' in [[listener]] must not be empty") !=
          std::string::npos);
    CHECK(error_of("[[listener]]\nport = 1884\n[[listener]]\nport = 1884\n") ==
          "roost.toml:3:1: [[listener]] 127.0.0.1:1884 is already defined at roost.toml:1");
}

TEST_CASE("syntax errors carry file:line:column") {
    std::string e = error_of("[broker]\nworkers = = 2\n");
    CHECK(e.rfind("roost.toml:2:", 0) == 0);
    CHECK(e.find("syntax error") != std::string::npos);
    e = error_of("[broker\n");
    CHECK(e.rfind("roost.toml:1:", 0) == 0);
    e = error_of("[broker]\nworkers = 1\nworkers = 2\n");
    CHECK(e.rfind("roost.toml:3:", 0) == 0);
}

TEST_CASE("every problem is reported, earliest first") {
    CHECK(error_of("[limits]\nmax_inflight = 0\n[broker]\nzzz = 1\nmaximum_qos = 9\n") ==
          "roost.toml:2:16: 'max_inflight' in [limits] must be an integer from 1 to 65535, got 0\n"
          "roost.toml:4:1: unknown key 'zzz' in [broker]\n"
          "roost.toml:5:15: 'maximum_qos' in [broker] must be an integer from 0 to 2, got 9");
}

TEST_CASE("load_config_file reads a file and names it in errors") {
    std::string path = std::string(P_tmpdir) + "/roost_config_test.toml";
    {
        std::ofstream out(path);
        out << "[broker]\nworkers = 2\n[[listener]]\nport = 1999\n";
    }
    Config c = roost::load_config_file(path);
    CHECK(c.source_file == path);
    CHECK(c.broker.workers == 2);
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].source == path + ":3");
    {
        std::ofstream out(path);
        out << "[broker]\nworkers = -1\n";
    }
    try {
        roost::load_config_file(path);
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).rfind(path + ":2:11: ", 0) == 0);
    }
    std::remove(path.c_str());
    CHECK_THROWS_WITH_AS(roost::load_config_file(path),
                         (path + ": cannot open: No such file or directory").c_str(), ConfigError);
}

TEST_CASE("load_config_file refuses a folder (it read as an empty file: the defaults, silently)") {
    std::string dir = std::string(P_tmpdir) + "/roost_config_test_dir";
    std::filesystem::create_directories(dir);
    CHECK_THROWS_WITH_AS(roost::load_config_file(dir),
                         (dir +
                          ": is a folder, not a configuration file: give the path of the .toml file "
                          "(e.g. " +
                          dir + "/roost.toml)")
                             .c_str(),
                         ConfigError);
    CHECK_THROWS_AS(roost::load_config_file(dir + "/"), ConfigError);
    std::filesystem::remove(dir);
}

TEST_CASE("did-you-mean distance") {
    using roost::config_schema::closest;
    using roost::config_schema::edit_distance;
    CHECK(edit_distance("port", "prot") == 1);
    CHECK(edit_distance("Port", "port") == 0);
    CHECK(edit_distance("max_conections", "max_connections") == 1);
    CHECK(edit_distance("", "abc") == 3);
    std::string_view names[] = {"bind", "port"};
    CHECK(closest("file", names).empty());
    CHECK(closest("bnd", names) == "bind");
}
