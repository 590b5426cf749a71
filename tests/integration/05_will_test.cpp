// 05 will: the will is published when the connection ends without DISCONNECT (client killed,
// socket closed, keep alive timeout), and not after a normal DISCONNECT.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <string>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("will published when mosquitto_sub holding it is killed") {
    Broker b;
    for (std::string version : {"mqttv311", "mqttv5"}) {
        CAPTURE(version);
        std::string topic = "will/killed/" + version;
        Subscriber watcher(b, {"-V", version, "-t", topic, "-C", "1", "-W", "10"});
        REQUIRE(watcher.wait_subscribed());
        Subscriber holder(b, {"-V", version, "-t", "will/unused", "--will-topic", topic, "--will-payload",
                              "gone", "--will-qos", "1"});
        REQUIRE(holder.wait_subscribed());
        holder.process().signal(SIGKILL);
        CHECK(watcher.finish() == std::vector<std::string>{topic + "|gone"});
    }
}

TEST_CASE("will not published after a normal DISCONNECT") {
    Broker b;
    for (std::string version : {"mqttv311", "mqttv5"}) {
        CAPTURE(version);
        std::string topic = "will/normal/" + version;
        Subscriber watcher(b, {"-V", version, "-t", topic, "-W", "2"});
        REQUIRE(watcher.wait_subscribed());
        // mosquitto_pub ends with a DISCONNECT after publishing.
        RunResult r = run(pub_args(b, {"-V", version, "-t", "will/other", "-m", "x", "--will-topic", topic,
                                       "--will-payload", "should-not-appear"}));
        CHECK(r.exit_code == 0);
        CHECK(watcher.finish().empty());
    }
}

TEST_CASE("will published when a raw socket closes without DISCONNECT, with retain and QoS") {
    Broker b;
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        std::string topic = "will/raw/" + std::to_string(version);
        RawClient watcher(b.port());
        REQUIRE(watcher.handshake(pkt::conn(version, "watcher")));
        REQUIRE(watcher.send(pkt::subscribe(1, topic, 1, version)));
        REQUIRE(watcher.read_until(pkt::SUBACK));
        {
            RawClient holder(b.port());
            pkt::Connect c = pkt::conn(version, "holder");
            c.will = pkt::Will{topic, "raw-gone", 1, true, {}};
            REQUIRE(holder.handshake(c));
        }  // closed without DISCONNECT
        auto p = watcher.read_until(pkt::PUBLISH, 5s);
        REQUIRE(p);
        CHECK(p->publish_topic() == topic);
        CHECK(p->publish_payload(version) == "raw-gone");
        CHECK(((p->flags >> 1) & 3) == 1);
        REQUIRE(watcher.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
        // The will was retained: a later subscriber gets it.
        RunResult r = run(sub_args(b, {"-t", topic, "-C", "1", "-W", "5"}));
        CHECK(r.out == "raw-gone\n");
    }
}

TEST_CASE("MQTT 5: DISCONNECT with reason 0x04 publishes the will") {
    Broker b;
    RawClient watcher(b.port());
    REQUIRE(watcher.handshake(pkt::conn(5, "watcher")));
    REQUIRE(watcher.send(pkt::subscribe(1, "will/x04", 0, 5)));
    REQUIRE(watcher.read_until(pkt::SUBACK));
    RawClient holder(b.port());
    pkt::Connect c = pkt::conn(5, "holder04");
    c.will = pkt::Will{"will/x04", "with-will", 0, false, {}};
    REQUIRE(holder.handshake(c));
    REQUIRE(holder.send(pkt::disconnect(5, 0x04)));
    auto p = watcher.read_until(pkt::PUBLISH, 5s);
    REQUIRE(p);
    CHECK(p->publish_payload(5) == "with-will");
}

TEST_CASE("MQTT 5: will delay interval postpones the will; reconnecting in time cancels it") {
    Broker b;
    RawClient watcher(b.port());
    REQUIRE(watcher.handshake(pkt::conn(5, "watcher")));
    REQUIRE(watcher.send(pkt::subscribe(1, "will/delay/#", 0, 5)));
    REQUIRE(watcher.read_until(pkt::SUBACK));
    auto holder_connect = [](const std::string& id, const std::string& topic) {
        pkt::Connect c = pkt::conn(5, id, false);
        c.properties = pkt::prop_u32(0x11, 60);                               // session expiry 60 s
        c.will = pkt::Will{topic, "late", 0, false, pkt::prop_u32(0x18, 2)};  // will delay 2 s
        return c;
    };
    {
        RawClient holder(b.port());
        REQUIRE(holder.handshake(holder_connect("delayed", "will/delay/a")));
    }
    auto start = std::chrono::steady_clock::now();
    // Not before ~2 s...
    CHECK_FALSE(watcher.read_packet(1200ms));
    auto p = watcher.read_until(pkt::PUBLISH, 4s);
    REQUIRE(p);
    CHECK(p->publish_topic() == "will/delay/a");
    CHECK(std::chrono::steady_clock::now() - start >= 1500ms);

    // Reconnecting within the delay cancels the will.
    {
        RawClient holder(b.port());
        REQUIRE(holder.handshake(holder_connect("cancelled", "will/delay/b")));
    }
    settle(500ms);
    RawClient back(b.port());
    REQUIRE(back.handshake(holder_connect("cancelled", "will/delay/b")));
    CHECK_FALSE(watcher.read_packet(3s));
    back.send(pkt::disconnect(5));
}

// Three holders whose wills fall due 300 ms apart, 1 s after each closed: whatever the phase of
// the broker's once-a-second tick, one of them would wait 0.6 s or more for it. Each will must
// leave at its moment, give or take the test's own scheduling. Due either by the will delay, or
// by the end of the session when its expiry is shorter than the delay (3.1.3.2.2: whichever
// happens first).
static void check_wills_on_time(const std::string& prefix, uint32_t will_delay, uint32_t session_expiry) {
    Broker b;
    RawClient watcher(b.port());
    REQUIRE(watcher.handshake(pkt::conn(5, "watcher")));
    REQUIRE(watcher.send(pkt::subscribe(1, "will/" + prefix + "/#", 0, 5)));
    REQUIRE(watcher.read_until(pkt::SUBACK));
    std::map<std::string, std::chrono::steady_clock::time_point> closed_at;
    for (const char* name : {"a", "b", "c"}) {
        pkt::Connect c = pkt::conn(5, prefix + "-" + name, false);
        c.properties = pkt::prop_u32(0x11, session_expiry);
        c.will = pkt::Will{"will/" + prefix + "/" + name, "late", 0, false, pkt::prop_u32(0x18, will_delay)};
        {
            RawClient holder(b.port());
            REQUIRE(holder.handshake(c));
        }
        closed_at[name] = std::chrono::steady_clock::now();
        settle(300ms);
    }
    for (int i = 0; i < 3; ++i) {
        auto p = watcher.read_until(pkt::PUBLISH, 3s);
        REQUIRE(p);
        auto arrived = std::chrono::steady_clock::now();
        std::string name = p->publish_topic().substr(("will/" + prefix + "/").size());
        REQUIRE(closed_at.count(name) == 1);
        auto after = std::chrono::duration_cast<std::chrono::milliseconds>(arrived - closed_at[name]);
        INFO("will ", name, " arrived ", after.count(), " ms after its holder closed");
        CHECK(after >= 950ms);
        CHECK(after <= 1400ms);
    }
}

TEST_CASE("MQTT 5: a delayed will goes out when its delay has passed, not at the next tick") {
    check_wills_on_time("delay", 1, 60);
}

TEST_CASE("MQTT 5: a will whose session expires before its delay goes out when the session ends") {
    check_wills_on_time("expiry", 10, 1);
}

TEST_CASE("MQTT 5: DISCONNECT with any reason but 0x00 keeps the will; 0x00 and 3.1.1 DISCONNECT remove it") {
    // MQTT-3.1.2-8, MQTT-3.1.2-10, MQTT-3.14.4-3: only a normal disconnection deletes the will.
    ROOST_ONLY();  // Mosquitto 2.0.11 gets it wrong: it keeps the will only for 0x04
    Broker b;
    RawClient watcher(b.port());  // 3.1.1, so that the will arrives as a plain, exact PUBLISH
    REQUIRE(watcher.handshake(pkt::conn(4, "watcher")));
    REQUIRE(watcher.send(pkt::subscribe(1, "will/reason/#", 0)));
    REQUIRE(watcher.read_until(pkt::SUBACK));
    auto holder = [&](uint8_t version, uint8_t reason) {
        std::string id = "holder-" + std::to_string(version) + "-" + std::to_string(reason);
        std::string topic = "will/reason/" + std::to_string(version) + "/" + std::to_string(reason);
        RawClient c(b.port());
        pkt::Connect cc = pkt::conn(version, id);
        cc.will = pkt::Will{topic, "w", 0, false, {}};
        auto ack = c.handshake(cc);
        REQUIRE(ack);
        REQUIRE(ack->reason() == 0);
        REQUIRE(c.send(pkt::disconnect(version, reason)));
        CHECK(c.wait_closed(3s));  // the broker closes; the client sent no FIN first
        return topic;
    };
    for (uint8_t reason :
         {uint8_t(0x04), uint8_t(0x80), uint8_t(0x81), uint8_t(0x82), uint8_t(0x83), uint8_t(0x93)}) {
        CAPTURE(int(reason));
        std::string topic = holder(5, reason);
        auto p = watcher.read_until(pkt::PUBLISH, 3s);
        REQUIRE(p);
        CHECK(p->raw == pkt::publish(topic, "w"));
    }
    holder(5, 0x00);
    holder(4, 0x00);
    CHECK_FALSE(watcher.read_packet(1s));  // neither will came
}
