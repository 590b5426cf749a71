// Shared by the lua plugin's integration tests: a broker running the lua plugin on a script
// written into the test's temporary folder, and the raw MQTT steps the tests check byte-exact.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugin_harness.hpp"

namespace lua_test {

using namespace roost_pt;

// Writes `source` as <name>.lua beside the test's roost.toml and returns its path.
inline std::string write_script(const std::string& name, const std::string& source) {
    std::string path = temp_path(name + ".lua");
    write_file(path, source);
    return path;
}

// A Setup with the lua plugin running `script_path`, plus `options` (key, TOML string value).
inline Setup lua_setup(const std::string& script_path,
                       std::vector<std::pair<std::string, std::string>> options = {}) {
    Setup s;
    options.insert(options.begin(), {"script", script_path});
    s.plugins.push_back({ROOST_PLUGIN_LUA, std::move(options)});
    return s;
}

// CONNECT and the CONNACK's reason / return code (nullopt when none came).
inline std::optional<uint8_t> connack(const PluginBroker& b, uint8_t version, const std::string& id,
                                      std::optional<std::string> user, std::optional<std::string> password) {
    WireClient c(b.port());
    if (!c.send(connect_with(version, id, std::move(user), std::move(password)))) return std::nullopt;
    auto p = c.read_until(pkt::CONNACK);
    if (!p) return std::nullopt;
    return p->reason();
}

// A connected raw client.
inline std::unique_ptr<WireClient> connected(const PluginBroker& b, uint8_t version, const std::string& id,
                                             std::optional<std::string> user = std::nullopt,
                                             std::optional<std::string> password = std::nullopt) {
    auto c = std::make_unique<WireClient>(b.port());
    REQUIRE(c->send(connect_with(version, id, std::move(user), std::move(password))));
    auto ack = c->read_until(pkt::CONNACK);
    REQUIRE(ack);
    REQUIRE_MESSAGE(ack->reason() == 0, "CONNACK ", int(ack->reason()), "\n", tail(b.log()));
    return c;
}

inline std::vector<uint8_t> subscribe(WireClient& c, uint16_t id, const std::string& filter,
                                      uint8_t version) {
    REQUIRE(c.send(pkt::subscribe(id, filter, 1, version)));
    auto p = c.read_until(pkt::SUBACK);
    REQUIRE(p);
    return suback_codes(*p, version);
}

// The PUBACK reason of an MQTT 5 QoS 1 publish; nullopt when no PUBACK came in time.
inline std::optional<uint8_t> publish_qos1(WireClient& c, uint16_t id, const std::string& topic,
                                           const std::string& payload = "m", Millis timeout = 3s) {
    if (!c.send(pkt::publish(topic, payload, 1, id, false, 5))) return std::nullopt;
    auto p = c.read_until(pkt::PUBACK, timeout);
    if (!p) return std::nullopt;
    return ack_reason(*p);
}

inline bool success(std::optional<uint8_t> code) {
    return code && (*code == 0x00 || *code == 0x10);
}

// A canary: subscribes on its own connection and must get what a second client publishes (an
// anonymous client: for brokers whose script lets one in).
inline void canary_round_trip(const PluginBroker& b, const std::string& tag) {
    Sub s(b, {"-t", "canary/" + tag, "-C", "1", "-W", "5"});
    REQUIRE(s.wait_subscribed());
    auto r = run(pub(b, {"-t", "canary/" + tag, "-m", "alive", "-q", "1"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(s.finish() == std::vector<std::string>{"canary/" + tag + "|alive"});
}

}  // namespace lua_test
