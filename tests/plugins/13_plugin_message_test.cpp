// Message plugins: a topic rewrite with an added user property, a drop (DENY with a reason code
// for the publisher), on_routed counting what was routed, and messages a plugin publishes itself
// with host->publish, from its own thread and from a worker timer.
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

PluginSpec rewrite() {
    return {ROOST_PLUGIN_MESSAGE_REWRITE,
            {{"from", "in/"}, {"to", "out/"}, {"drop", "drop/me"}, {"drop_reason", "0x83"}}};
}

}  // namespace

TEST_CASE("message_rewrite: in/x is routed as out/x with the publisher's and the plugin's user properties") {
    Setup s;
    s.plugins.push_back(rewrite());
    PluginBroker b(s);
    Sub out(b, {"-t", "out/#", "-V", "mqttv5", "-F", "M>%t|%p|%P"});
    Sub in(b, {"-t", "in/#", "-V", "mqttv5"});
    REQUIRE(out.wait_subscribed());
    REQUIRE(in.wait_subscribed());
    auto r = run(pub(b, {"-t", "in/x", "-m", "hello", "-q", "1", "-V", "mqttv5", "-D", "publish",
                         "user-property", "origin", "test"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    REQUIRE_MESSAGE(out.wait_messages(1), tail(b.log()));
    auto m = out.messages().at(0);
    CHECK(m.rfind("out/x|hello|", 0) == 0);
    CHECK_MESSAGE(m.find("origin:test") != std::string::npos, m);
    CHECK_MESSAGE(m.find("rewritten-by:message_rewrite") != std::string::npos, m);
    settle(200ms);
    CHECK(in.messages().empty());  // routed under the new topic only
    CHECK(b.wait_line({"fixture: rewriting in/x to out/x (2 user properties)"}));
    CHECK_MESSAGE(b.wait_line({"fixture: routed out/x client=", "matched=1"}), tail(b.log()));

    // A topic the plugin does not touch (NEXT) is routed as it came.
    Sub other(b, {"-t", "plain/#"});
    REQUIRE(other.wait_subscribed());
    run(pub(b, {"-t", "plain/y", "-m", "as-is"}));
    REQUIRE(other.wait_messages(1));
    CHECK(other.messages() == std::vector<std::string>{"plain/y|as-is"});
}

TEST_CASE("message_rewrite: DENY drops the message; an MQTT 5 QoS 1 publisher gets the plugin's reason") {
    Setup s;
    s.plugins.push_back(rewrite());
    PluginBroker b(s);
    Sub watcher(b, {"-t", "drop/#", "-V", "mqttv5"});
    REQUIRE(watcher.wait_subscribed());

    WireClient c5(b.port());
    REQUIRE(c5.send(connect_with(5, "dropper5", std::nullopt, std::nullopt)));
    REQUIRE(c5.read_until(pkt::CONNACK));
    REQUIRE(c5.send(pkt::publish("drop/me", "gone", 1, 3, false, 5)));
    auto ack = c5.read_until(pkt::PUBACK);
    REQUIRE(ack);
    CHECK(ack->packet_id() == 3);
    CHECK(ack_reason(*ack) == 0x83);

    // 3.1.1 has no reason code: the publisher still gets its PUBACK, the message goes nowhere.
    WireClient c4(b.port());
    REQUIRE(c4.send(connect_with(4, "dropper4", std::nullopt, std::nullopt)));
    REQUIRE(c4.read_until(pkt::CONNACK));
    REQUIRE(c4.send(pkt::publish("drop/me", "gone", 1, 4, false, 4)));
    auto ack4 = c4.read_until(pkt::PUBACK);
    REQUIRE(ack4);
    CHECK(ack4->packet_id() == 4);

    run(pub(b, {"-t", "drop/kept", "-m", "stays"}));
    REQUIRE(watcher.wait_messages(1));
    settle(200ms);
    CHECK(watcher.messages() == std::vector<std::string>{"drop/kept|stays"});
    CHECK(b.wait_line({"fixture: dropping drop/me from dropper5: DENY 0x83"}));
    CHECK(lines_with(b.log(), {"fixture: routed drop/me"}).empty());  // dropped: never routed
}

TEST_CASE("message_rewrite: a user property that is not an MQTT string drops the message with 0x83") {
    // A NUL in a value (a C subscriber would cut it there) or invalid UTF-8 in a key (a
    // conforming subscriber closes its connection on it) never reaches a subscriber.
    Setup s;
    s.plugins.push_back(rewrite());
    PluginBroker b(s);
    Sub out(b, {"-t", "out/#", "-V", "mqttv5"});
    REQUIRE(out.wait_subscribed());
    WireClient c5(b.port());
    REQUIRE(c5.send(connect_with(5, "badprops", std::nullopt, std::nullopt)));
    REQUIRE(c5.read_until(pkt::CONNACK));
    uint16_t id = 1;
    for (const char* topic : {"in/nul", "in/badutf8", "in/long"}) {
        REQUIRE(c5.send(pkt::publish(topic, "x", 1, id, false, 5)));
        auto ack = c5.read_until(pkt::PUBACK);
        REQUIRE(ack);
        CHECK(ack->packet_id() == id);
        CHECK(ack_reason(*ack) == 0x83);
        ++id;
    }
    CHECK_MESSAGE(
        b.wait_line({"plugin 'message_rewrite': set user property 1 to a string that is not an MQTT string",
                     "in the message on 'in/nul'; dropping the message"}),
        tail(b.log()));
    CHECK(b.wait_line({"not an MQTT string", "in the message on 'in/badutf8'"}));
    CHECK(b.wait_line({"over 65535 bytes", "in the message on 'in/long'"}));
    // The same client, the same plugin: a good rewrite still goes through.
    REQUIRE(c5.send(pkt::publish("in/fine", "ok", 1, id, false, 5)));
    auto ack = c5.read_until(pkt::PUBACK);
    REQUIRE(ack);
    CHECK(ack_reason(*ack) == 0);
    REQUIRE_MESSAGE(out.wait_messages(1), tail(b.log()));
    CHECK(out.messages() == std::vector<std::string>{"out/fine|ok"});
}

TEST_CASE("message_rewrite: on_routed counts every routed message and how many sessions it matched") {
    Setup s;
    s.plugins.push_back(rewrite());
    PluginBroker b(s);
    Sub s1(b, {"-t", "count/#"});
    Sub s2(b, {"-t", "count/+"});
    REQUIRE(s1.wait_subscribed());
    REQUIRE(s2.wait_subscribed());
    run(pub(b, {"-t", "count/a", "-m", "1", "-i", "counter"}));
    run(pub(b, {"-t", "nobody/listens", "-m", "2", "-i", "counter"}));
    CHECK_MESSAGE(b.wait_line({"fixture: routed count/a client=counter matched=2"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: routed nobody/listens client=counter matched=0"}), tail(b.log()));
    auto routed = lines_with(b.log(), {"fixture: routed "});
    CHECK(routed.size() >= 2);
}

TEST_CASE("host_publish: a plugin publishes from its own thread and from a worker timer") {
    Setup s;
    s.plugins.push_back(rewrite());  // sees the plugin's messages with client == NULL
    s.plugins.push_back({ROOST_PLUGIN_HOST_PUBLISH, {{"topic", "hp"}, {"interval_ms", "150"}}});
    PluginBroker b(s);
    Sub hp(b, {"-t", "hp/#"});
    REQUIRE(hp.wait_subscribed());
    REQUIRE_MESSAGE(hp.wait_messages(6, 5s), tail(b.log()));
    bool thread = false, timer = false;
    for (auto& m : hp.messages()) {
        thread = thread || m.rfind("hp/thread|thread ", 0) == 0;
        timer = timer || m.rfind("hp/timer|timer ", 0) == 0;
    }
    CHECK(thread);
    CHECK(timer);
    CHECK(b.wait_line({"fixture: timer_start on worker 0: rc=0"}));
    CHECK(b.wait_line({"fixture: publish hp/thread 'thread 1' from the thread: rc=0"}));
    CHECK(b.wait_line({"fixture: routed hp/thread client=none"}));
    CHECK(lines_with(b.log(), {"host_publish", "rc=-"}).empty());  // no publish failed
    CHECK_MESSAGE(b.wait_line({"fixture: worker_index on the plugin's own thread: -1"}), tail(b.log()));
}
