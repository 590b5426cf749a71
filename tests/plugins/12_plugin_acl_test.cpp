// ACL plugins: PUBLISH and SUBSCRIBE allowed only under a prefix (PUBACK 0x87, SUBACK 0x87 / 0x80),
// a DELIVER refusal that hides one topic from subscribers, the listener's acl_default after NEXT,
// and PUBLISH checks answered PENDING from a thread (and timed out when the answer is too late).
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup prefix_setup() {
    Setup s;
    s.plugins.push_back(
        {ROOST_PLUGIN_ACL_PREFIX, {{"prefix", "allowed/"}, {"deliver_deny", "allowed/secret"}}});
    return s;
}

// A connected raw client (no username).
std::unique_ptr<WireClient> client(const PluginBroker& b, uint8_t version, const std::string& id,
                                   size_t l = 0) {
    auto c = std::make_unique<WireClient>(b.port(l));
    REQUIRE(c->send(connect_with(version, id, std::nullopt, std::nullopt)));
    auto ack = c->read_until(pkt::CONNACK);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    return c;
}

std::vector<uint8_t> subscribe(WireClient& c, uint16_t id, const std::string& filter, uint8_t version) {
    REQUIRE(c.send(pkt::subscribe(id, filter, 1, version)));
    auto p = c.read_until(pkt::SUBACK);
    REQUIRE(p);
    CHECK(p->packet_id() == id);
    return suback_codes(*p, version);
}

// PUBACK reason of a QoS 1 publish (MQTT 5); nullopt when no PUBACK came.
std::optional<uint8_t> publish_qos1(WireClient& c, uint16_t id, const std::string& topic,
                                    Millis timeout = 3s) {
    if (!c.send(pkt::publish(topic, "m", 1, id, false, 5))) return std::nullopt;
    auto p = c.read_until(pkt::PUBACK, timeout);
    if (!p) return std::nullopt;
    CHECK(p->packet_id() == id);
    return ack_reason(*p);
}

bool success(std::optional<uint8_t> code) {
    return code && (*code == 0x00 || *code == 0x10);  // 0x10: no matching subscribers
}

}  // namespace

TEST_CASE("acl_prefix: SUBSCRIBE outside the prefix is refused (MQTT 5 0x87, 3.1.1 0x80)") {
    PluginBroker b(prefix_setup());
    auto c5 = client(b, 5, "s5");
    CHECK(subscribe(*c5, 1, "other/#", 5) == std::vector<uint8_t>{0x87});
    CHECK(subscribe(*c5, 2, "allowed/#", 5) == std::vector<uint8_t>{0x01});
    CHECK(subscribe(*c5, 3, "$share/g/allowed/x", 5) == std::vector<uint8_t>{0x01});
    auto c4 = client(b, 4, "s4");
    CHECK(subscribe(*c4, 4, "other/#", 4) == std::vector<uint8_t>{0x80});
    CHECK(subscribe(*c4, 5, "allowed/+", 4) == std::vector<uint8_t>{0x01});
    CHECK_MESSAGE(b.wait_line({"fixture: subscribe other/# by s5: DENY 0x87"}), tail(b.log()));

    // mosquitto_sub is told too (it says so and ends, with exit code 0 in 2.0.11).
    auto r = run(sub(b, {"-t", "other/#", "-V", "mqttv5", "-C", "1", "-W", "2"}));
    CHECK_MESSAGE(contains_ci(r.out + r.err, "All subscription requests were denied"), r.out << r.err);
}

TEST_CASE("acl_prefix: PUBLISH outside the prefix gets PUBACK 0x87 and reaches nobody") {
    Setup s = prefix_setup();
    s.listeners[0].acl_default = "allow";
    PluginBroker b(s);
    // The subscriber may only subscribe under the prefix; the refused publish is outside it, so
    // what it shows is that the allowed one got through.
    Sub all(b, {"-t", "allowed/#", "-V", "mqttv5"});
    REQUIRE(all.wait_subscribed());
    auto c = client(b, 5, "p5");
    CHECK(publish_qos1(*c, 10, "other/x") == std::optional<uint8_t>(0x87));
    CHECK(success(publish_qos1(*c, 11, "allowed/x")));
    REQUIRE(all.wait_messages(1));
    CHECK(all.messages() == std::vector<std::string>{"allowed/x|m"});
    CHECK(b.wait_line({"fixture: publish other/x by p5: DENY 0x87"}));
}

TEST_CASE("acl_prefix: a DELIVER refusal hides one topic from subscribers") {
    PluginBroker b(prefix_setup());
    Sub s(b, {"-t", "allowed/#", "-V", "mqttv5", "-C", "2", "-W", "10"});
    REQUIRE(s.wait_subscribed());
    for (auto topic : {"allowed/a", "allowed/secret", "allowed/b"}) {
        auto r = run(pub(b, {"-t", topic, "-m", "v", "-q", "1"}));
        CHECK_MESSAGE(r.exit_code == 0, r.err);
    }
    CHECK(s.finish() == std::vector<std::string>{"allowed/a|v", "allowed/b|v"});
    CHECK_MESSAGE(b.wait_line({"fixture: deliver allowed/secret to", "DENY"}), tail(b.log()));
    CHECK_MESSAGE(lines_with(b.log(), {"fixture: WRONG"}).empty(), tail(b.log()));
}

TEST_CASE("acl_default decides SUBSCRIBE when the ACL plugin says NEXT") {
    // acl_pending answers NEXT for SUBSCRIBE and DELIVER: the listener's acl_default decides.
    Setup s;
    s.listeners[0].acl_default = "deny";
    s.listeners.push_back(ListenerSpec{"", "", "allow", 0});
    s.plugins.push_back({ROOST_PLUGIN_ACL_PENDING, {}});
    PluginBroker b(s);
    auto denied = client(b, 5, "def-deny", 0);
    CHECK(subscribe(*denied, 1, "any/#", 5) == std::vector<uint8_t>{0x87});
    auto denied4 = client(b, 4, "def-deny4", 0);
    CHECK(subscribe(*denied4, 1, "any/#", 4) == std::vector<uint8_t>{0x80});
    auto allowed = client(b, 5, "def-allow", 1);
    CHECK(subscribe(*allowed, 2, "any/#", 5) == std::vector<uint8_t>{0x01});
}

TEST_CASE("acl_pending: PUBLISH answered later from a thread: ALLOW delivers, DENY is PUBACK 0x87") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_ACL_PENDING, {{"delay_ms", "100"}, {"deny", "/deny"}}});
    PluginBroker b(s);
    Sub sub5(b, {"-t", "p/#", "-V", "mqttv5"});
    REQUIRE(sub5.wait_subscribed());
    auto c = client(b, 5, "ap5");
    CHECK(success(publish_qos1(*c, 1, "p/ok")));
    CHECK(publish_qos1(*c, 2, "p/deny/x") == std::optional<uint8_t>(0x87));
    REQUIRE(c->send(pkt::publish("p/ok0", "m", 0, 0, false, 5)));
    REQUIRE(sub5.wait_messages(2));
    settle(300ms);  // a late p/deny/x would show up by now
    CHECK(sub5.messages() == std::vector<std::string>{"p/ok|m", "p/ok0|m"});
    CHECK(b.wait_line({"fixture: publish p/ok completed ALLOW", "rc=0"}));
    CHECK(b.wait_line({"fixture: publish p/deny/x completed DENY", "rc=0"}));

    // mosquitto_pub through the same pending check.
    auto r = run(pub(b, {"-t", "p/mosq", "-m", "z", "-q", "1", "-V", "mqttv5"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(sub5.wait_messages(3));
}

TEST_CASE("acl_pending: an answer later than plugin_timeout_ms is a DENY; the late complete gets EGONE") {
    Setup s;
    s.broker.push_back("plugin_timeout_ms = 300");
    s.plugins.push_back({ROOST_PLUGIN_ACL_PENDING, {{"delay_ms", "1200"}}});
    PluginBroker b(s);
    Sub sub5(b, {"-t", "late/#", "-V", "mqttv5"});
    REQUIRE(sub5.wait_subscribed());
    auto c = client(b, 5, "late5");
    auto start = std::chrono::steady_clock::now();
    CHECK(publish_qos1(*c, 1, "late/x", 2s) == std::optional<uint8_t>(0x87));
    auto ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("PUBACK 0x87 after " << ms << " ms; plugin_timeout_ms = 300");
    CHECK(ms >= 250);
    CHECK(ms < 550);
    bool logged = false;
    for (auto& line : broker_lines_with(b.log(), {"acl_pending"}))
        logged = logged || contains_ci(line, "time");
    CHECK_MESSAGE(logged, "no broker line naming acl_pending and the time-out:\n" << tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: publish late/x completed ALLOW", "rc=-3"}, 3s), tail(b.log()));
    settle(200ms);
    CHECK(sub5.messages().empty());
    // The client is still connected and served.
    REQUIRE(c->send(pkt::pingreq()));
    CHECK(c->read_until(pkt::PINGRESP));
}

TEST_CASE("acl_prefix: a will outside the prefix refuses the CONNECT (MQTT 5 0x87, 3.1.1 5)") {
    PluginBroker b(prefix_setup());
    for (uint8_t version : {uint8_t(5), uint8_t(4)}) {
        CAPTURE(int(version));
        for (const char* topic : {"other/last-will", "allowed/last-will"}) {
            CAPTURE(topic);
            pkt::Connect c = pkt::conn(version, std::string("will-") + topic[0] + std::to_string(version));
            pkt::Will will;
            will.topic = topic;
            will.payload = "gone";
            c.will = will;
            WireClient w(b.port());
            REQUIRE(w.send(pkt::connect(c)));
            auto ack = w.read_until(pkt::CONNACK);
            REQUIRE(ack);
            bool allowed = std::string(topic).starts_with("allowed/");
            if (allowed)
                CHECK(ack->reason() == 0);
            else
                CHECK(ack->reason() == (version == 5 ? 0x87 : 5));
        }
    }
    CHECK(b.wait_line({"will topic 'other/last-will' refused"}));
}

TEST_CASE("cache_ms: the host answers repeated checks itself until acl_cache_clear or the time is up") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_ACL_CACHED, {}});
    PluginBroker b(s);
    auto sub = client(b, 5, "cache-sub");
    CHECK(subscribe(*sub, 1, "t/#", 5) == std::vector<uint8_t>{0x01});
    auto c = client(b, 5, "cache-pub");
    // The calls the plugin got for `what`, once the log has everything up to a check asked now.
    uint16_t marker = 1000;
    auto calls = [&](const std::string& what) {
        std::string topic = "nocache/marker" + std::to_string(++marker);
        CHECK(success(publish_qos1(*c, marker, topic)));
        CHECK_MESSAGE(b.wait_line({"fixture: check publish " + topic}), tail(b.log()));
        return lines_with(b.log(), {"fixture: check " + what}).size();
    };
    for (uint16_t i = 1; i <= 5; ++i) {
        CHECK(success(publish_qos1(*c, i, "t/a")));
        REQUIRE(sub->read_until(pkt::PUBLISH));
    }
    CHECK(calls("publish t/a") == 1);
    CHECK(calls("deliver t/a") == 1);
    // A DENY is kept like an ALLOW; an answer with cache_ms 0 is asked every time.
    for (uint16_t i = 10; i < 13; ++i)
        CHECK(publish_qos1(*c, i, "deny/x") == std::optional<uint8_t>(0x87));
    CHECK(calls("publish deny/x") == 1);
    for (uint16_t i = 20; i < 23; ++i)
        CHECK(success(publish_qos1(*c, i, "nocache/x")));
    CHECK(calls("publish nocache/x") == 3);
    // Forgotten for every client, then for one.
    CHECK(subscribe(*c, 30, "clear/all", 5) == std::vector<uint8_t>{0x01});
    CHECK(publish_qos1(*c, 31, "deny/x") == std::optional<uint8_t>(0x87));
    CHECK(publish_qos1(*c, 32, "deny/x") == std::optional<uint8_t>(0x87));
    CHECK(calls("publish deny/x") == 2);
    CHECK(subscribe(*c, 33, "clear/me", 5) == std::vector<uint8_t>{0x01});
    CHECK(publish_qos1(*c, 34, "deny/x") == std::optional<uint8_t>(0x87));
    CHECK(calls("publish deny/x") == 3);
    CHECK(b.wait_line({"fixture: clear/me rc=0"}));
    // An answer kept for 500 ms is asked again after that.
    CHECK(success(publish_qos1(*c, 40, "short/x")));
    CHECK(success(publish_qos1(*c, 41, "short/x")));
    std::this_thread::sleep_for(600ms);
    CHECK(success(publish_qos1(*c, 42, "short/x")));
    CHECK(calls("publish short/x") == 2);
}
