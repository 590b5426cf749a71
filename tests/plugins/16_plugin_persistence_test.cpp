// Persistence hooks: persistence_log stores nothing and logs every call, so the tests see which
// state changes the broker hands to a persistence plugin; its restore() hands back one retained
// message, which a subscriber gets after the start.
#include <doctest/doctest.h>

#include <chrono>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup persistence_setup() {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_PERSISTENCE_LOG,
                         {{"restore_topic", "restored/topic"}, {"restore_payload", "from-restore"}}});
    return s;
}

}  // namespace

TEST_CASE("restore() at start: the retained message it hands back reaches a subscriber") {
    PluginBroker b(persistence_setup());
    CHECK_MESSAGE(b.wait_line({"fixture: restore: retained restored/topic rc=0"}), tail(b.log()));
    auto r = run(sub(b, {"-t", "restored/#", "-C", "1", "-W", "5", "-F", "%t|%p|%r"}));
    CHECK_MESSAGE(r.out == "restored/topic|from-restore|1\n", "out: " << r.out << "\n" << tail(b.log()));
}

TEST_CASE("a persistent session: session_save, subscription_save and subscription_delete") {
    PluginBroker b(persistence_setup());
    Sub s(b, {"-t", "keep/#", "-q", "1", "-i", "persist1", "-c", "-V", "mqttv5", "-x", "300", "-C", "1", "-W",
              "10"});
    REQUIRE(s.wait_subscribed());
    CHECK_MESSAGE(b.wait_line({"fixture: session_save client=persist1 expiry=300"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: subscription_save client=persist1 filter=keep/# qos=1"}),
                  tail(b.log()));
    run(pub(b, {"-t", "keep/a", "-m", "1", "-q", "1"}));
    s.finish();
    // Unsubscribe on the same session.
    auto u = run(sub(b, {"-i", "persist1", "-c", "-V", "mqttv5", "-x", "300", "-U", "keep/#", "-t", "other/x",
                         "-W", "1", "-E"}));
    (void)u;
    CHECK_MESSAGE(b.wait_line({"fixture: subscription_delete client=persist1 filter=keep/#"}), tail(b.log()));
}

TEST_CASE("retained messages: retained_set when set and when cleared") {
    PluginBroker b(persistence_setup());
    auto r = run(pub(b, {"-t", "ret/x", "-m", "abc", "-r", "-q", "1"}));
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(b.wait_line({"fixture: retained_set topic=ret/x len=3"}), tail(b.log()));
    auto c = run(pub(b, {"-t", "ret/x", "-n", "-r", "-q", "1"}));
    CHECK(c.exit_code == 0);
    CHECK_MESSAGE(b.wait_line({"fixture: retained_set topic=ret/x len=0"}), tail(b.log()));
}

TEST_CASE("a QoS 1 message for an offline persistent session: message_store, delivery_save, then released") {
    PluginBroker b(persistence_setup());
    // Create the session and go away.
    auto first =
        run(sub(b, {"-t", "off/#", "-q", "1", "-i", "offline1", "-c", "-V", "mqttv5", "-x", "300", "-E"}));
    CHECK(first.exit_code == 0);
    CHECK(b.wait_line({"fixture: subscription_save client=offline1 filter=off/#"}));
    auto p = run(pub(b, {"-t", "off/m", "-m", "kept", "-q", "1"}));
    CHECK(p.exit_code == 0);
    CHECK_MESSAGE(b.wait_line({"fixture: message_store", "topic=off/m qos=1", "len=4"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: delivery_save client=offline1"}), tail(b.log()));
    // Come back: the message is delivered, acknowledged, and the broker lets the plugin drop it.
    auto again = run(sub(b, {"-t", "off/#", "-q", "1", "-i", "offline1", "-c", "-V", "mqttv5", "-x", "300",
                             "-C", "1", "-W", "5"}));
    CHECK(again.out == "kept\n");
    CHECK_MESSAGE(b.wait_line({"fixture: delivery_delete client=offline1"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: message_release id="}), tail(b.log()));
}

TEST_CASE("a session that ends: session_delete") {
    PluginBroker b(persistence_setup());
    // Session expiry 1 s: after the client leaves, the session ends a second later.
    auto r = run(sub(b, {"-t", "short/#", "-q", "1", "-i", "short1", "-c", "-V", "mqttv5", "-x", "1", "-E"}));
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(b.wait_line({"fixture: session_delete client=short1"}, 5s), tail(b.log()));
}

TEST_CASE("a session that was never stored ends without session_delete") {
    PluginBroker b(persistence_setup());
    // MQTT 5 with no Session Expiry Interval, and MQTT 3.1.1 with clean session: neither
    // outlives its connection, so the store never heard of them.
    auto five = run(pub(b, {"-i", "clean5", "-V", "mqttv5", "-t", "c/x", "-m", "a", "-q", "1"}));
    CHECK(five.exit_code == 0);
    auto three = run(pub(b, {"-i", "clean3", "-V", "mqttv311", "-t", "c/x", "-m", "a", "-q", "1"}));
    CHECK(three.exit_code == 0);
    // A stored session that ends afterwards: its delete is the sign the broker got this far.
    auto stored =
        run(sub(b, {"-t", "s/#", "-q", "1", "-i", "stored1", "-c", "-V", "mqttv5", "-x", "1", "-E"}));
    CHECK(stored.exit_code == 0);
    REQUIRE_MESSAGE(b.wait_line({"fixture: session_delete client=stored1"}, 5s), tail(b.log()));
    CHECK_MESSAGE(lines_with(b.log(), {"fixture: session_delete client=clean"}).empty(), tail(b.log()));
    CHECK(lines_with(b.log(), {"fixture: session_save client=clean"}).empty());
}

TEST_CASE("PENDING stores: the publisher's PUBACK waits until message_store and delivery_save are durable") {
    Setup s = persistence_setup();
    s.plugins[0].options.push_back({"store_delay_ms", "400"});
    PluginBroker b(s);
    auto first =
        run(sub(b, {"-t", "dur/#", "-q", "1", "-i", "durable1", "-c", "-V", "mqttv5", "-x", "300", "-E"}));
    CHECK(first.exit_code == 0);
    REQUIRE(b.wait_line({"fixture: subscription_save client=durable1 filter=dur/#"}));

    WireClient c(b.port());
    REQUIRE(c.send(connect_with(5, "dur-pub", std::nullopt, std::nullopt)));
    REQUIRE(c.read_until(pkt::CONNACK));
    auto start = std::chrono::steady_clock::now();
    REQUIRE(c.send(pkt::publish("dur/m", "disk", 1, 5, false, 5)));
    auto ack = c.read_until(pkt::PUBACK, 5s);
    auto ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count();
    REQUIRE_MESSAGE(ack, tail(b.log()));
    CHECK(ack->packet_id() == 5);
    CHECK(ack_reason(*ack) == 0x00);
    MESSAGE("PUBACK after " << ms << " ms; stores complete after 400 ms");
    CHECK(ms >= 380);
    CHECK_MESSAGE(b.wait_line({"fixture: message_store id=", "durable after 400 ms: complete rc=0"}),
                  tail(b.log()));
    CHECK_MESSAGE(
        b.wait_line({"fixture: delivery_save client=durable1", "durable after 400 ms: complete rc=0"}),
        tail(b.log()));
    // Still delivered afterwards.
    auto again = run(sub(b, {"-t", "dur/#", "-q", "1", "-i", "durable1", "-c", "-V", "mqttv5", "-x", "300",
                             "-C", "1", "-W", "5"}));
    CHECK(again.out == "disk\n");
}
