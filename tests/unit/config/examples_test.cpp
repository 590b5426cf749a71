// The example configurations users copy: each must load, and roost.toml must document every key at
// its default value. docs/configuration.md must mention every key too.
#include <doctest/doctest.h>

#include <toml++/toml.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "config/config_schema.hpp"

namespace fs = std::filesystem;

namespace {

// examples/configs, found from this file's place in the source tree (tests/unit/config/).
fs::path examples_dir() {
    return fs::path(__FILE__).parent_path() / ".." / ".." / ".." / "examples" / "configs";
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
    CHECK(c.limits.max_packet_size == d.limits.max_packet_size);
    CHECK(c.limits.max_connections == d.limits.max_connections);
    CHECK(c.limits.max_inflight == d.limits.max_inflight);
    CHECK(c.limits.max_queued_messages == d.limits.max_queued_messages);
    CHECK(c.limits.queue_full_policy == d.limits.queue_full_policy);
    CHECK(c.limits.max_client_id_length == d.limits.max_client_id_length);
    CHECK(c.limits.max_keep_alive == d.limits.max_keep_alive);
    CHECK(c.limits.topic_alias_maximum == d.limits.topic_alias_maximum);
    CHECK(c.limits.max_session_expiry == d.limits.max_session_expiry);
    CHECK(c.limits.max_message_expiry == d.limits.max_message_expiry);
    CHECK(c.limits.max_subscriptions_per_client == d.limits.max_subscriptions_per_client);
    CHECK(c.log.level == d.log.level);
    CHECK(c.log.file == d.log.file);
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].bind == roost::ListenerConfig{}.bind);
    CHECK(c.listeners[0].port == roost::ListenerConfig{}.port);

    // Every key the parser knows is written out (not only left to its default).
    toml::table root = toml::parse_file(path);
    for (const auto& section : roost::config_schema::sections()) {
        const toml::table* table =
            section.array ? root[section.name][0].as_table() : root[section.name].as_table();
        REQUIRE_MESSAGE(table, "roost.toml has no ", roost::config_schema::header(section));
        for (std::string_view key : section.keys) {
            CHECK_MESSAGE(table->contains(key), "roost.toml does not document '", key, "' in ",
                          roost::config_schema::header(section));
        }
    }
}

TEST_CASE("docs/configuration.md mentions every key") {
    std::ifstream in(examples_dir() / ".." / ".." / "docs" / "configuration.md");
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    for (const auto& section : roost::config_schema::sections()) {
        std::string header = "`" + roost::config_schema::header(section) + "`";
        CHECK_MESSAGE(text.str().find(header) != std::string::npos, "no ", header);
        for (std::string_view key : section.keys) {
            std::string quoted = "`" + std::string(key) + "`";
            CHECK_MESSAGE(text.str().find(quoted) != std::string::npos, "no ", quoted);
        }
    }
}
