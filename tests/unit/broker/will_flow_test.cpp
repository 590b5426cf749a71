// Will messages (MQTT 5 spec 3.1.2.5, 3.1.3.2, 3.14.2.1; 3.1.1 spec 3.1.2.5) and keep alive
// (3.1.2.10).
#include <thread>

#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

namespace {
mqtt::Will will(std::string topic, std::string payload, uint8_t qos = 0, bool retain = false,
                uint32_t delay = 0) {
    mqtt::Will w;
    w.topic = std::move(topic);
    w.payload = std::move(payload);
    w.qos = qos;
    w.retain = retain;
    if (delay) w.properties.will_delay_interval = delay;
    return w;
}
}  // namespace

TEST_SUITE("broker flow: will") {
    TEST_CASE("will is published when the connection is lost (3.1.2-8)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 1);
        SUBCASE("MQTT 5") {
            TestClient c(broker, "dying");
            c.connect_ok({.client_id = "dying", .will = will("will/dying", "gone", 1)});
            c.close();
            Publish p = watcher.expect_publish("will/dying");
            CHECK(p.payload == "gone");
            CHECK(p.qos == 1);
            watcher.ack(p);
        }
        SUBCASE("MQTT 3.1.1") {
            TestClient c(broker, "dying3");
            c.connect_ok({.version = V311, .client_id = "dying3", .will = will("will/dying3", "gone3")});
            c.close();
            CHECK(watcher.expect_publish("will/dying3").payload == "gone3");
        }
    }

    TEST_CASE("will is not published after DISCONNECT 0x00 (3.1.2-10)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        SUBCASE("MQTT 5") {
            TestClient c(broker, "polite");
            c.connect_ok({.client_id = "polite", .will = will("will/polite", "no")});
            c.disconnect(0);
        }
        SUBCASE("MQTT 3.1.1") {
            TestClient c(broker, "polite3");
            c.connect_ok({.version = V311, .client_id = "polite3", .will = will("will/polite3", "no")});
            c.disconnect(0);
        }
        watcher.expect_nothing(300ms);
    }

    TEST_CASE("will is published after DISCONNECT 0x04 (3.14.2.1)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        TestClient c(broker, "leaving");
        c.connect_ok({.client_id = "leaving", .will = will("will/leaving", "with will")});
        c.disconnect(rc(mqtt::ReasonCode::DisconnectWithWill));
        CHECK(watcher.expect_publish("will/leaving").payload == "with will");
    }

    TEST_CASE("retained will is stored as the retained message") {
        BrokerFixture broker;
        {
            TestClient c(broker, "r");
            c.connect_ok({.client_id = "r", .will = will("will/retained", "last words", 0, true)});
            c.close();
        }
        // The will goes out when the broker sees the close; give it a moment.
        std::this_thread::sleep_for(100ms);
        TestClient late(broker, "late");
        late.connect_ok({.client_id = "late"});
        late.subscribe("will/retained", 0);
        Publish p = late.expect_publish("will/retained");
        CHECK(p.retain);
        CHECK(p.payload == "last words");
    }

    TEST_CASE("will properties travel with the will message (3.1.3.2)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/props", 0);
        mqtt::Will w = will("will/props", "p");
        w.properties.content_type = "text/plain";
        w.properties.user_properties = {{"k", "v"}};
        TestClient c(broker, "props");
        c.connect_ok({.client_id = "props", .will = w});
        c.close();
        Publish p = watcher.expect_publish("will/props");
        CHECK(p.properties.content_type == std::optional<std::string>("text/plain"));
        CHECK(p.properties.user_properties == w.properties.user_properties);
        CHECK_FALSE(p.properties.will_delay_interval.has_value());
    }

    TEST_CASE("will delay: published after the delay, not at the close (3.1.3.2.2)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        TestClient c(broker, "delayed");
        c.connect_ok({.client_id = "delayed",
                      .will = will("will/delayed", "late", 0, false, 1),
                      .properties = session_expiry(60)});
        auto closed_at = std::chrono::steady_clock::now();
        c.close();
        watcher.expect_nothing(600ms);
        Publish p = watcher.expect_publish("will/delayed", 2500ms);
        CHECK(p.payload == "late");
        CHECK(std::chrono::steady_clock::now() - closed_at >= 900ms);
    }

    TEST_CASE("will delay: not published when the client reconnects in time (3.1.3-9)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        {
            TestClient c(broker, "back");
            c.connect_ok({.client_id = "back",
                          .will = will("will/back", "no", 0, false, 2),
                          .properties = session_expiry(60)});
            c.close();
        }
        std::this_thread::sleep_for(300ms);
        TestClient c(broker, "back again");
        Connack ack =
            c.connect_ok({.client_id = "back", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        watcher.expect_nothing(2500ms);
    }

    TEST_CASE("will delay longer than the session expiry: published when the session ends (3.1.3.2.2)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        TestClient c(broker, "ends");
        c.connect_ok({.client_id = "ends", .will = will("will/ends", "session over", 0, false, 60)});
        c.close();  // session expiry 0: the session ends now, and the will goes with it
        CHECK(watcher.expect_publish("will/ends").payload == "session over");
    }

    TEST_CASE("session takeover publishes the old connection's will (3.1.4-3)") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        TestClient first(broker, "first");
        first.connect_ok({.client_id = "twin", .will = will("will/twin", "taken over")});
        TestClient second(broker, "second");
        second.connect_ok({.client_id = "twin"});
        first.expect_disconnect(rc(mqtt::ReasonCode::SessionTakenOver));
        CHECK(watcher.expect_publish("will/twin").payload == "taken over");
    }

    TEST_CASE("keep alive: 1.5 x keep alive of silence ends the connection with DISCONNECT 0x8D, will sent") {
        BrokerFixture broker;
        TestClient watcher(broker, "watcher");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("will/#", 0);
        TestClient c(broker, "silent");
        c.connect_ok({.client_id = "silent", .keep_alive = 1, .will = will("will/silent", "timed out")});
        auto start = std::chrono::steady_clock::now();
        c.expect_disconnect(rc(mqtt::ReasonCode::KeepAliveTimeout), 3000ms);
        auto took = std::chrono::steady_clock::now() - start;
        CHECK(took >= 1400ms);  // not before one and a half times the keep alive
        CHECK(took <= 2600ms);
        CHECK(watcher.expect_publish("will/silent").payload == "timed out");
    }

    TEST_CASE("keep alive: PINGREQ keeps the connection open") {
        BrokerFixture broker;
        TestClient c(broker, "pinger");
        c.connect_ok({.client_id = "pinger", .keep_alive = 1});
        for (int i = 0; i < 3; ++i) {  // 2.1 s, past 1.5 x keep alive
            std::this_thread::sleep_for(700ms);
            c.send(Pingreq{});
            c.expect<Pingresp>();
        }
    }
}
