// The example configurations users copy: each must load, and roost.toml must document every key at
// its default value (or, for the few whose default cannot be written, as a commented-out example).
// docs/configuration.md must mention every key too.
#include <doctest/doctest.h>

#include <toml++/toml.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/config_schema.hpp"

namespace fs = std::filesystem;

namespace {

// examples/configs, in the source tree the build was configured from.
fs::path examples_dir() {
    return fs::path(ROOST_SOURCE_DIR) / "examples" / "configs";
}

// Keys roost.toml shows only commented out ("# key = ..."), because their default is "not set" and
// has no TOML spelling. "*" stands for every key of a section left out entirely ([[plugin]]: by
// default no plugin is loaded).
struct CommentedKey {
    std::string_view section;
    std::string_view key;
};
constexpr CommentedKey kCommentedKeys[] = {
    {"listener", "transport"},     // empty = plain MQTT; an empty string is rejected
    {"listener", "auth_default"},  // Auto has no value to write
    // TLS is off by default, and each TLS key without tls_cert_file is an error.
    {"listener", "tls_cert_file"},
    {"listener", "tls_key_file"},
    {"listener", "tls_ca_file"},
    {"listener", "tls_ca_dir"},
    {"listener", "tls_min_version"},
    {"listener", "tls_ciphers"},
    {"listener", "tls_ciphersuites"},
    {"listener", "require_client_cert"},
    {"listener", "use_identity_as_username"},
    {"listener", "tls_handshake_timeout"},
    {"plugin", "path"},  // a shipped plugin is found by its name
};

bool commented(std::string_view section, std::string_view key) {
    for (const CommentedKey& c : kCommentedKeys) {
        if (c.section == section && (c.key == key || c.key == "*")) return true;
    }
    return false;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("every examples/configs/*.toml loads") {
    REQUIRE(fs::is_directory(examples_dir()));
    int files = 0;
    for (const auto& entry : fs::directory_iterator(examples_dir())) {
        if (entry.path().extension() != ".toml") continue;
        ++files;
        INFO(entry.path().string());
        CHECK_NOTHROW(roost::load_config_file(entry.path().string()));
    }
    CHECK(files >= 2);
}

TEST_CASE("examples/configs/roost.toml lists every key with its default") {
    const std::string path = (examples_dir() / "roost.toml").string();
    roost::Config c = roost::load_config_file(path);
    const roost::Config d;
    CHECK(c.broker.allow_anonymous == d.broker.allow_anonymous);
    CHECK(c.broker.retain_available == d.broker.retain_available);
    CHECK(c.broker.wildcard_subscriptions == d.broker.wildcard_subscriptions);
    CHECK(c.broker.shared_subscriptions == d.broker.shared_subscriptions);
    CHECK(c.broker.subscription_identifiers == d.broker.subscription_identifiers);
    CHECK(c.broker.maximum_qos == d.broker.maximum_qos);
    CHECK(c.broker.sys_interval == d.broker.sys_interval);
    CHECK(c.broker.workers == d.broker.workers);
    CHECK(c.broker.plugin_timeout_ms == d.broker.plugin_timeout_ms);
    CHECK(c.broker.allow_control_characters == d.broker.allow_control_characters);
    CHECK(c.broker.persist_delay_ms == d.broker.persist_delay_ms);
    CHECK(c.limits.max_packet_size == d.limits.max_packet_size);
    CHECK(c.limits.max_connections == d.limits.max_connections);
    CHECK(c.limits.max_inflight == d.limits.max_inflight);
    CHECK(c.limits.max_queued_messages == d.limits.max_queued_messages);
    CHECK(c.limits.queue_full_policy == d.limits.queue_full_policy);
    CHECK(c.limits.offline_queue_policy == d.limits.offline_queue_policy);
    CHECK(c.limits.max_queued_bytes == d.limits.max_queued_bytes);
    CHECK(c.limits.backpressure_timeout == d.limits.backpressure_timeout);
    CHECK(c.limits.max_client_id_length == d.limits.max_client_id_length);
    CHECK(c.limits.max_keep_alive == d.limits.max_keep_alive);
    CHECK(c.limits.topic_alias_maximum == d.limits.topic_alias_maximum);
    CHECK(c.limits.max_session_expiry == d.limits.max_session_expiry);
    CHECK(c.limits.max_message_expiry == d.limits.max_message_expiry);
    CHECK(c.limits.max_subscriptions_per_client == d.limits.max_subscriptions_per_client);
    CHECK(c.limits.connect_timeout == d.limits.connect_timeout);
    CHECK(c.limits.max_connect_packet_size == d.limits.max_connect_packet_size);
    CHECK(c.limits.max_pending_connects == d.limits.max_pending_connects);
    CHECK(c.limits.max_connections_per_address == d.limits.max_connections_per_address);
    CHECK(c.limits.max_topic_alias_out == d.limits.max_topic_alias_out);
    CHECK(c.limits.max_sessions == d.limits.max_sessions);
    CHECK(c.limits.max_topic_levels == d.limits.max_topic_levels);
    CHECK(c.limits.max_user_properties == d.limits.max_user_properties);
    CHECK(c.limits.max_output_buffer == d.limits.max_output_buffer);
    CHECK(c.limits.max_total_output_buffer == d.limits.max_total_output_buffer);
    CHECK(c.limits.send_timeout == d.limits.send_timeout);
    CHECK(c.limits.max_retained_messages == d.limits.max_retained_messages);
    CHECK(c.limits.max_retained_payload == d.limits.max_retained_payload);
    CHECK(c.log.level == d.log.level);
    CHECK(c.log.file == d.log.file);
    // The first listener documents the defaults; the second is the WebSocket one .ci/start serves.
    REQUIRE(c.listeners.size() == 2);
    CHECK(c.listeners[1].port == 8083);
    CHECK(c.listeners[1].transport == "ws");
    CHECK(c.listeners[0].bind == roost::ListenerConfig{}.bind);
    CHECK(c.listeners[0].port == roost::ListenerConfig{}.port);
    CHECK(c.listeners[0].transport == roost::ListenerConfig{}.transport);
    CHECK(c.listeners[0].auth_default == roost::ListenerConfig{}.auth_default);
    CHECK(c.listeners[0].acl_default == roost::ListenerConfig{}.acl_default);
    // No plugin by default; roost.toml loads the shipped ones .ci/start runs with.
    size_t shipped = 0;
    for (const auto& p : c.plugins)
        shipped += p.name == "sqlite" || p.name == "ws" || p.name == "lua";
    CHECK(shipped == c.plugins.size());

    // Every key the parser knows is written out (not only left to its default).
    // Keys without a writable default appear as "# key = " lines (and such a section as "# [[name]]").
    toml::table root = toml::parse_file(path);
    const std::string text = read_text(path);
    for (const auto& section : roost::config_schema::sections()) {
        const std::string header = roost::config_schema::header(section);
        const toml::table* table =
            section.array ? root[section.name][0].as_table() : root[section.name].as_table();
        if (commented(section.name, "*")) {
            CHECK_MESSAGE(!table, "roost.toml should show ", header, " commented out");
            CHECK_MESSAGE(text.find("\n# " + header + "\n") != std::string::npos, "roost.toml has no # ",
                          header);
        } else {
            REQUIRE_MESSAGE(table, "roost.toml has no ", header);
        }
        for (std::string_view key : section.keys) {
            if (commented(section.name, key)) {
                CHECK_MESSAGE((!table || !table->contains(key)), "roost.toml sets '", key, "' in ", header);
                CHECK_MESSAGE(text.find("\n# " + std::string(key) + " = ") != std::string::npos,
                              "roost.toml does not show '# ", key, " = ...' for ", header);
            } else {
                CHECK_MESSAGE(table->contains(key), "roost.toml does not document '", key, "' in ", header);
            }
        }
    }
}

TEST_CASE("examples/configs/roost.toml: the commented-out TLS keys whose value is the default show it") {
    // "# tls_min_version = ..." and "# tls_handshake_timeout = ..." say the default in their
    // comment; uncommented into a TLS listener they must read back as the code's defaults.
    const std::string text = read_text(examples_dir() / "roost.toml");
    const roost::TlsConfig defaults;
    for (std::string_view key : {"tls_min_version", "tls_handshake_timeout"}) {
        std::string prefix = "\n# " + std::string(key) + " = ";
        size_t at = text.find(prefix);
        REQUIRE_MESSAGE(at != std::string::npos, "roost.toml does not show ", key);
        std::string line = text.substr(at + 3, text.find('\n', at + 1) - at - 3);
        CAPTURE(line);
        roost::Config c = roost::parse_config(
            "[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\n" + line + "\n", "roost.toml");
        CHECK(c.listeners.at(0).tls.min_version == defaults.min_version);
        CHECK(c.listeners.at(0).tls.handshake_timeout == defaults.handshake_timeout);
    }
}

TEST_CASE("docs/configuration.md mentions every key") {
    const fs::path path = examples_dir() / ".." / ".." / "docs" / "configuration.md";
    REQUIRE(fs::is_regular_file(path));
    const std::string text = read_text(path);
    for (const auto& section : roost::config_schema::sections()) {
        // Appended, not "`" + ... + "`": GCC 12 at -O3 flags that with a false -Wrestrict.
        std::string header = "`";
        header += roost::config_schema::header(section);
        header += '`';
        CHECK_MESSAGE(text.find(header) != std::string::npos, "no ", header);
        for (std::string_view key : section.keys) {
            std::string quoted = "`";
            quoted += key;
            quoted += '`';
            CHECK_MESSAGE(text.find(quoted) != std::string::npos, "no ", quoted);
        }
    }
}
