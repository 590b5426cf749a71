// Sessions: takeover, clean start, resume, redelivery, offline queue, session and message expiry
// (MQTT 5 spec 3.1.2.4, 3.1.2.11, 3.1.4, 4.1, 4.4; 3.3.2.3.3).
#include <thread>

#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

TEST_SUITE("broker flow: sessions") {
    TEST_CASE(
        "session takeover: the old connection gets DISCONNECT 0x8E, the new one the session (3.1.4-3)") {
        BrokerFixture broker;
        TestClient first(broker, "first");
        first.connect_ok({.client_id = "same", .properties = session_expiry(60)});
        first.subscribe("take/over", 1);

        TestClient second(broker, "second");
        Connack ack =
            second.connect_ok({.client_id = "same", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        first.expect_disconnect(rc(mqtt::ReasonCode::SessionTakenOver));

        // The subscription came with the session.
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("take/over", "hello", 1);
        Publish p = second.expect_publish("take/over");
        CHECK(p.payload == "hello");
        second.ack(p);
    }

    TEST_CASE("MQTT 3.1.1 takeover: the old connection is closed") {
        BrokerFixture broker;
        TestClient first(broker, "first");
        first.connect_ok({.version = V311, .client_id = "same", .clean_start = false});
        TestClient second(broker, "second");
        Connack ack = second.connect_ok({.version = V311, .client_id = "same", .clean_start = false});
        CHECK(ack.session_present);
        first.expect_closed();
    }

    TEST_CASE("takeover with clean start: new session, old subscriptions gone") {
        BrokerFixture broker;
        TestClient first(broker, "first");
        first.connect_ok({.client_id = "same", .properties = session_expiry(60)});
        first.subscribe("old/sub", 0);
        TestClient second(broker, "second");
        Connack ack = second.connect_ok({.client_id = "same", .clean_start = true});
        CHECK_FALSE(ack.session_present);
        first.expect_disconnect(rc(mqtt::ReasonCode::SessionTakenOver));
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        CHECK(pub.publish("old/sub", "x", 1) == rc(mqtt::ReasonCode::NoMatchingSubscribers));
        second.expect_nothing();
    }

    TEST_CASE("session present after resume; subscriptions survive (3.2.2.1.1)") {
        BrokerFixture broker;
        {
            TestClient c(broker);
            Connack ack = c.connect_ok({.client_id = "resume", .properties = session_expiry(60)});
            CHECK_FALSE(ack.session_present);
            c.subscribe("r/#", 1);
            c.disconnect();
        }
        TestClient c(broker);
        Connack ack =
            c.connect_ok({.client_id = "resume", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        CHECK(pub.publish("r/x", "still subscribed", 1) == 0);
        Publish p = c.expect_publish("r/x");
        c.ack(p);
    }

    TEST_CASE("clean start discards the session (3.1.2.4)") {
        BrokerFixture broker;
        {
            TestClient c(broker);
            c.connect_ok({.client_id = "clean", .properties = session_expiry(60)});
            c.subscribe("c/#", 1);
            c.disconnect();
        }
        TestClient c(broker);
        Connack ack =
            c.connect_ok({.client_id = "clean", .clean_start = true, .properties = session_expiry(60)});
        CHECK_FALSE(ack.session_present);
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        CHECK(pub.publish("c/x", "nobody", 1) == rc(mqtt::ReasonCode::NoMatchingSubscribers));
        c.expect_nothing();
    }

    TEST_CASE("clean start 0 without a stored session: session present 0") {
        BrokerFixture broker;
        TestClient c(broker);
        Connack ack =
            c.connect_ok({.client_id = "fresh", .clean_start = false, .properties = session_expiry(60)});
        CHECK_FALSE(ack.session_present);
    }

    TEST_CASE("session expiry 0: the session ends with the connection") {
        BrokerFixture broker;
        {
            TestClient c(broker);
            c.connect_ok({.client_id = "short", .clean_start = false});
            c.subscribe("s/#", 1);
            c.disconnect();
        }
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "short", .clean_start = false});
        CHECK_FALSE(ack.session_present);
    }

    TEST_CASE("MQTT 3.1.1 clean session 0 keeps the session; clean session 1 discards it") {
        BrokerFixture broker;
        {
            TestClient c(broker);
            c.connect_ok({.version = V311, .client_id = "v3", .clean_start = false});
            c.subscribe("v3/#", 1);
            c.disconnect();
        }
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("v3/offline", "queued", 1);
        {
            TestClient c(broker);
            Connack ack = c.connect_ok({.version = V311, .client_id = "v3", .clean_start = false});
            CHECK(ack.session_present);
            Publish p = c.expect_publish("v3/offline");
            CHECK(p.qos == 1);
            CHECK(p.payload == "queued");
            c.ack(p);
            c.disconnect();
        }
        TestClient c(broker);
        Connack ack = c.connect_ok({.version = V311, .client_id = "v3", .clean_start = true});
        CHECK_FALSE(ack.session_present);
    }

    TEST_CASE("session expires after its interval (3.1.2.11.2)") {
        BrokerFixture broker;
        {
            TestClient c(broker);
            c.connect_ok({.client_id = "expiring", .properties = session_expiry(1)});
            c.subscribe("e/#", 1);
            c.close();  // lost connection: the session stays for 1 s
        }
        // Still there just after the close.
        {
            TestClient c(broker);
            Connack ack = c.connect_ok(
                {.client_id = "expiring", .clean_start = false, .properties = session_expiry(1)});
            CHECK(ack.session_present);
            c.close();
        }
        std::this_thread::sleep_for(2300ms);  // the interval plus the broker's 1 s tick
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "expiring", .clean_start = false});
        CHECK_FALSE(ack.session_present);
    }

    TEST_CASE("DISCONNECT may change the session expiry interval (3.14.2.2.2)") {
        BrokerFixture broker;
        SUBCASE("from 0 to non-zero is a protocol error: DISCONNECT 0x82") {
            TestClient c(broker);
            c.connect_ok({.client_id = "d0"});
            c.send(Disconnect{0, session_expiry(60)});
            c.expect_disconnect(rc(mqtt::ReasonCode::ProtocolError));
        }
        SUBCASE("from non-zero to 0 ends the session with the connection") {
            {
                TestClient c(broker);
                c.connect_ok({.client_id = "d1", .properties = session_expiry(60)});
                c.subscribe("d1/#", 1);
                c.disconnect(0, session_expiry(0));
            }
            TestClient c(broker);
            Connack ack = c.connect_ok({.client_id = "d1", .clean_start = false});
            CHECK_FALSE(ack.session_present);
        }
        SUBCASE("from non-zero to a longer one keeps the session") {
            {
                TestClient c(broker);
                c.connect_ok({.client_id = "d2", .properties = session_expiry(1)});
                c.disconnect(0, session_expiry(60));
            }
            std::this_thread::sleep_for(1100ms);
            TestClient c(broker);
            Connack ack = c.connect_ok({.client_id = "d2", .clean_start = false});
            CHECK(ack.session_present);
        }
    }

    TEST_CASE("redelivery on resume: unacknowledged QoS 1 with DUP=1 and the same packet id (4.4.0-1)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        uint16_t id = 0;
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "sub", .properties = session_expiry(60)});
            sub.subscribe("redeliver/1", 1);
            pub.publish("redeliver/1", "m1", 1);
            Publish p = sub.expect_publish("redeliver/1");
            CHECK_FALSE(p.dup);
            id = p.packet_id;
            sub.close();  // no PUBACK
        }
        TestClient sub(broker, "sub again");
        Connack ack =
            sub.connect_ok({.client_id = "sub", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        Publish p = sub.expect_publish("redeliver/1");
        CHECK(p.dup);
        CHECK(p.qos == 1);
        CHECK(p.packet_id == id);
        CHECK(p.payload == "m1");
        sub.send(Ack{PacketType::Puback, p.packet_id, 0, {}});
        sub.expect_nothing();
        // Acknowledged now: not sent a third time.
        sub.disconnect();
        TestClient again(broker, "sub third");
        again.connect_ok({.client_id = "sub", .clean_start = false, .properties = session_expiry(60)});
        again.expect_nothing();
    }

    TEST_CASE("redelivery on resume: QoS 2 PUBLISH with DUP=1 before PUBREC, PUBREL after PUBREC (4.4.0-1)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        uint16_t unrec = 0, rec = 0;
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "sub2", .properties = session_expiry(60)});
            sub.subscribe("q2/#", 2);
            pub.publish("q2/a", "recd", 2);
            pub.publish("q2/b", "not recd", 2);
            Publish a = sub.expect_publish("q2/a");
            Publish b = sub.expect_publish("q2/b");
            rec = a.packet_id;
            unrec = b.packet_id;
            sub.send(Ack{PacketType::Pubrec, a.packet_id, 0, {}});
            sub.expect_ack(PacketType::Pubrel, a.packet_id);
            sub.close();  // no PUBCOMP for a, no PUBREC for b
        }
        TestClient sub(broker, "sub again");
        Connack ack =
            sub.connect_ok({.client_id = "sub2", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        bool saw_pubrel = false, saw_publish = false;
        for (int i = 0; i < 2; ++i) {
            std::optional<mqtt::Packet> p = sub.receive();
            REQUIRE_MESSAGE(p.has_value(), "expected a PUBREL and a PUBLISH after the resume");
            if (auto* rel = std::get_if<Ack>(&*p)) {
                CHECK(rel->type == PacketType::Pubrel);
                CHECK(rel->packet_id == rec);
                saw_pubrel = true;
                sub.send(Ack{PacketType::Pubcomp, rel->packet_id, 0, {}});
            } else if (auto* pub2 = std::get_if<Publish>(&*p)) {
                CHECK(pub2->topic == "q2/b");
                CHECK(pub2->dup);
                CHECK(pub2->qos == 2);
                CHECK(pub2->packet_id == unrec);
                saw_publish = true;
                sub.ack(*pub2);
            } else {
                FAIL("unexpected " << describe(*p));
            }
        }
        CHECK(saw_pubrel);
        CHECK(saw_publish);
        sub.expect_nothing();
    }

    TEST_CASE("offline queue: QoS 1/2 kept, QoS 0 not, in order") {
        BrokerFixture broker;
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "offline", .properties = session_expiry(60)});
            sub.subscribe("q/#", 2);
            sub.disconnect();
        }
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("q/1", "one", 1);
        pub.publish("q/0", "zero", 0);
        pub.publish("q/2", "two", 2);
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "offline", .clean_start = false, .properties = session_expiry(60)});
        Publish one = sub.expect_publish("q/1");
        CHECK(one.qos == 1);
        CHECK_FALSE(one.dup);  // never sent before
        sub.ack(one);
        Publish two = sub.expect_publish("q/2");
        CHECK(two.qos == 2);
        sub.ack(two);
        sub.expect_nothing();
    }

    TEST_CASE("offline queue limit: max_queued_messages with the drop policy") {
        SUBCASE("drop newest (default)") {
            BrokerFixture broker([](Config& c) { c.limits.max_queued_messages = 3; });
            {
                TestClient sub(broker, "sub");
                sub.connect_ok({.client_id = "full", .properties = session_expiry(60)});
                sub.subscribe("full", 1);
                sub.disconnect();
            }
            TestClient pub(broker, "pub");
            pub.connect_ok({.client_id = "pub"});
            for (int i = 1; i <= 5; ++i)
                pub.publish("full", std::to_string(i), 1);
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "full", .clean_start = false, .properties = session_expiry(60)});
            for (const char* expected : {"1", "2", "3"}) {
                Publish p = sub.expect_publish("full");
                CHECK(p.payload == expected);
                sub.ack(p);
            }
            sub.expect_nothing();
        }
        SUBCASE("drop oldest") {
            BrokerFixture broker([](Config& c) {
                c.limits.max_queued_messages = 3;
                c.limits.offline_queue_policy = QueueFullPolicy::DropOldest;  // the session is offline
            });
            {
                TestClient sub(broker, "sub");
                sub.connect_ok({.client_id = "full", .properties = session_expiry(60)});
                sub.subscribe("full", 1);
                sub.disconnect();
            }
            TestClient pub(broker, "pub");
            pub.connect_ok({.client_id = "pub"});
            for (int i = 1; i <= 5; ++i)
                pub.publish("full", std::to_string(i), 1);
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "full", .clean_start = false, .properties = session_expiry(60)});
            for (const char* expected : {"3", "4", "5"}) {
                Publish p = sub.expect_publish("full");
                CHECK(p.payload == expected);
                sub.ack(p);
            }
            sub.expect_nothing();
        }
    }

    TEST_CASE(
        "message expiry: an expired queued message is dropped, the rest carry the time left (3.3.2.3.3)") {
        BrokerFixture broker;
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "exp", .properties = session_expiry(60)});
            sub.subscribe("exp/#", 1);
            sub.disconnect();
        }
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        mqtt::Properties short_lived, long_lived;
        short_lived.message_expiry_interval = 1;
        long_lived.message_expiry_interval = 10;
        pub.publish("exp/short", "gone", 1, false, short_lived);
        pub.publish("exp/long", "kept", 1, false, long_lived);
        pub.publish("exp/retained/short", "gone", 0, true, short_lived);
        pub.publish("exp/retained/long", "kept", 0, true, long_lived);
        std::this_thread::sleep_for(1500ms);
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "exp", .clean_start = false, .properties = session_expiry(60)});
        Publish p = sub.expect_publish("exp/long");
        REQUIRE(p.properties.message_expiry_interval.has_value());
        // 10 s minus the 1.5 s it waited [MQTT-3.3.2-6].
        CHECK(*p.properties.message_expiry_interval <= 9);
        CHECK(*p.properties.message_expiry_interval >= 8);
        sub.ack(p);
        sub.expect_nothing();

        // An expired retained message is not sent to a new subscriber; a live one carries the time left.
        TestClient late(broker, "late");
        late.connect_ok({.client_id = "late"});
        late.subscribe("exp/retained/#", 0);
        Publish r = late.expect_publish("exp/retained/long");
        REQUIRE(r.properties.message_expiry_interval.has_value());
        CHECK(*r.properties.message_expiry_interval <= 9);
        late.expect_nothing();
    }

    TEST_CASE("message expiry interval is forwarded to an online subscriber") {
        BrokerFixture broker;
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "sub"});
        sub.subscribe("mx", 0);
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        mqtt::Properties props;
        props.message_expiry_interval = 100;
        pub.publish("mx", "x", 0, false, props);
        Publish p = sub.expect_publish("mx");
        REQUIRE(p.properties.message_expiry_interval.has_value());
        CHECK(*p.properties.message_expiry_interval >= 99);
        CHECK(*p.properties.message_expiry_interval <= 100);
    }

    TEST_CASE("takeover keeps unacknowledged messages: resent with DUP=1 on the new connection (4.4.0-1)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        TestClient first(broker, "first");
        first.connect_ok({.client_id = "tk", .properties = session_expiry(60)});
        first.subscribe("tk", 1);
        pub.publish("tk", "unacked", 1);
        Publish p = first.expect_publish("tk");
        TestClient second(broker, "second");
        Connack ack =
            second.connect_ok({.client_id = "tk", .clean_start = false, .properties = session_expiry(60)});
        CHECK(ack.session_present);
        first.expect_disconnect(rc(mqtt::ReasonCode::SessionTakenOver));
        Publish again = second.expect_publish("tk");
        CHECK(again.dup);
        CHECK(again.packet_id == p.packet_id);
        CHECK(again.payload == "unacked");
        second.ack(again);
        second.expect_nothing();
    }

    TEST_CASE("resume honours the Receive Maximum of the new connection (3.3.4-9, 4.9)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        {
            TestClient sub(broker, "sub");
            mqtt::Properties props = session_expiry(60);
            props.receive_maximum = 10;
            sub.connect_ok({.client_id = "rmx", .properties = props});
            sub.subscribe("rmx", 1);
            for (int i = 1; i <= 4; ++i)
                pub.publish("rmx", std::to_string(i), 1);
            for (int i = 1; i <= 4; ++i)
                sub.expect_publish("rmx");  // all four in flight, none acknowledged
            sub.close();
        }
        for (int i = 5; i <= 6; ++i)
            pub.publish("rmx", std::to_string(i), 1);  // queued
        TestClient sub(broker, "sub again");
        mqtt::Properties props = session_expiry(60);
        props.receive_maximum = 2;
        sub.connect_ok({.client_id = "rmx", .clean_start = false, .properties = props});
        // At most 2 unacknowledged PUBLISH at any time, resends included.
        std::vector<Publish> window;
        window.push_back(sub.expect_publish("rmx"));
        window.push_back(sub.expect_publish("rmx"));
        sub.expect_nothing();
        std::vector<std::string> order;
        for (int i = 0; i < 6; ++i) {
            REQUIRE(!window.empty());
            Publish p = window.front();
            window.erase(window.begin());
            order.push_back(p.payload);
            sub.ack(p);
            if (i < 4) {
                window.push_back(sub.expect_publish("rmx"));
                sub.expect_nothing(50ms);
            }
        }
        CHECK(order == std::vector<std::string>{"1", "2", "3", "4", "5", "6"});
    }

    TEST_CASE("offline queue drains within the Receive Maximum on resume") {
        BrokerFixture broker;
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "drain", .properties = session_expiry(60)});
            sub.subscribe("drain", 1);
            sub.disconnect();
        }
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        for (int i = 1; i <= 4; ++i)
            pub.publish("drain", std::to_string(i), 1);
        TestClient sub(broker, "sub");
        mqtt::Properties props = session_expiry(60);
        props.receive_maximum = 1;
        sub.connect_ok({.client_id = "drain", .clean_start = false, .properties = props});
        for (int i = 1; i <= 4; ++i) {
            Publish p = sub.expect_publish("drain");
            CHECK(p.payload == std::to_string(i));
            sub.expect_nothing(50ms);
            sub.ack(p);
        }
        sub.expect_nothing();
    }
}
