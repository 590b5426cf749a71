// 05 will: the will is published when the connection ends without DISCONNECT (client killed,
// socket closed, keep alive timeout), and not after a normal DISCONNECT.
#include <doctest/doctest.h>

#include <csignal>

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
