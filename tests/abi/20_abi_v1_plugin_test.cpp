// A plugin built against the frozen v1 header (abi_v1_acl.so) loads in today's broker and works:
// its ACL decisions reach real clients.
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup v1_setup(const char* plugin = ROOST_PLUGIN_ABI_V1_ACL) {
    Setup s;
    s.plugins.push_back({plugin, {}});
    return s;
}

}  // namespace

TEST_CASE("a plugin built against the frozen v1 header loads and logs what it found") {
    PluginBroker b(v1_setup());
    CHECK_MESSAGE(b.wait_line({"v1 plugin loaded", "abi 1"}), tail(b.log()));
    CHECK(b.running());
}

TEST_CASE("the v1 plugin's ACL decides for mosquitto_pub/sub") {
    PluginBroker b(v1_setup());
    Sub s(b, {"-t", "#", "-V", "mqttv5", "-C", "2", "-W", "10"});
    REQUIRE(s.wait_subscribed());
    // Refused: never delivered. Allowed: delivered.
    run(pub(b, {"-t", "forbidden/x", "-m", "no", "-q", "1", "-V", "mqttv5"}));
    run(pub(b, {"-t", "ok/x", "-m", "yes", "-q", "1", "-V", "mqttv5"}));
    run(pub(b, {"-t", "ok/y", "-m", "yes2", "-q", "0"}));
    auto got = s.finish();
    CHECK(got == std::vector<std::string>{"ok/x|yes", "ok/y|yes2"});
    CHECK_MESSAGE(b.wait_line({"v1 plugin refuses publish of forbidden/x"}), tail(b.log()));
}

TEST_CASE("the v1 plugin's DENY reaches MQTT 5 and 3.1.1 clients with the right codes") {
    PluginBroker b(v1_setup());
    WireClient c5(b.port());
    REQUIRE(c5.send(connect_with(5, "abi-v5", std::nullopt, std::nullopt)));
    auto ack = c5.read_until(pkt::CONNACK);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    REQUIRE(c5.send(pkt::publish("forbidden/a", "x", 1, 7, false, 5)));
    auto puback = c5.read_until(pkt::PUBACK);
    REQUIRE(puback);
    CHECK(puback->packet_id() == 7);
    CHECK(ack_reason(*puback) == 0x87);
    REQUIRE(c5.send(pkt::subscribe(8, "forbidden/#", 1, 5)));
    auto suback = c5.read_until(pkt::SUBACK);
    REQUIRE(suback);
    CHECK(suback_codes(*suback, 5) == std::vector<uint8_t>{0x87});

    WireClient c4(b.port());
    REQUIRE(c4.send(connect_with(4, "abi-v4", std::nullopt, std::nullopt)));
    REQUIRE(c4.read_until(pkt::CONNACK));
    REQUIRE(c4.send(pkt::subscribe(9, "forbidden/#", 1, 4)));
    suback = c4.read_until(pkt::SUBACK);
    REQUIRE(suback);
    CHECK(suback_codes(*suback, 4) == std::vector<uint8_t>{0x80});
    REQUIRE(c4.send(pkt::subscribe(10, "ok/#", 1, 4)));
    suback = c4.read_until(pkt::SUBACK);
    REQUIRE(suback);
    CHECK(suback_codes(*suback, 4) == std::vector<uint8_t>{0x01});
}

TEST_CASE("the v1 plugin built with -fshort-enums loads and decides the same way") {
    PluginBroker b(v1_setup(ROOST_PLUGIN_ABI_V1_ACL_SHORT_ENUMS));
    CHECK_MESSAGE(b.wait_line({"v1 plugin loaded", "abi 1"}), tail(b.log()));
    WireClient c5(b.port());
    REQUIRE(c5.send(connect_with(5, "abi-short", std::nullopt, std::nullopt)));
    REQUIRE(c5.read_until(pkt::CONNACK));
    REQUIRE(c5.send(pkt::publish("forbidden/a", "x", 1, 7, false, 5)));
    auto puback = c5.read_until(pkt::PUBACK);
    REQUIRE(puback);
    CHECK(ack_reason(*puback) == 0x87);
    REQUIRE(c5.send(pkt::publish("ok/a", "x", 1, 8, false, 5)));
    puback = c5.read_until(pkt::PUBACK);
    REQUIRE(puback);
    CHECK(ack_reason(*puback) < 0x80);  // accepted (0x10: no subscribers)
    CHECK_MESSAGE(b.wait_line({"v1 plugin refuses publish of forbidden/a"}), tail(b.log()));
}
