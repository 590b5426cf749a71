// SUBSCRIBE, UNSUBSCRIBE, retained messages, subscription options, shared subscriptions, $SYS
// (MQTT 5 spec 3.3.1.3, 3.8, 3.10, 4.7.2, 4.8).
#include <algorithm>
#include <thread>

#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

TEST_SUITE("broker flow: subscriptions") {
    TEST_CASE(
        "retained message: set, sent to a new subscriber with RETAIN=1, cleared by an empty payload "
        "(3.3.1.3)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("ret/a", "first", 1, true);
        pub.publish("ret/a", "second", 1, true);  // replaces
        pub.publish("ret/b", "other", 0, true);
        {
            TestClient sub(broker, "sub");
            sub.connect_ok({.client_id = "sub"});
            sub.subscribe("ret/a", 1);
            Publish p = sub.expect_publish("ret/a");
            CHECK(p.retain);
            CHECK(p.payload == "second");
            CHECK(p.qos == 1);
            sub.ack(p);
            sub.expect_nothing();
        }
        // Zero-length retained payload removes it [MQTT-3.3.1-6]; it still goes to subscribers.
        TestClient live(broker, "live");
        live.connect_ok({.client_id = "live"});
        live.subscribe("ret/a", 0);
        live.expect_publish("ret/a");  // the retained one
        pub.publish("ret/a", "", 0, true);
        Publish cleared = live.expect_publish("ret/a");
        CHECK(cleared.payload.empty());
        TestClient sub(broker, "sub2");
        sub.connect_ok({.client_id = "sub2"});
        sub.subscribe("ret/#", 0);
        Publish b = sub.expect_publish("ret/b");
        CHECK(b.retain);
        sub.expect_nothing();
    }

    TEST_CASE("retained message QoS is downgraded to the granted QoS") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("retq", "x", 2, true);
        TestClient s1(broker, "s1"), s0(broker, "s0");
        s1.connect_ok({.client_id = "s1"});
        s0.connect_ok({.client_id = "s0"});
        s1.subscribe("retq", 1);
        CHECK(s1.expect_publish("retq").qos == 1);
        s0.subscribe("retq", 0);
        CHECK(s0.expect_publish("retq").qos == 0);
    }

    TEST_CASE("retain handling 0, 1, 2 (3.8.3.1)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("rh", "retained", 0, true);
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "sub"});
        SUBCASE("0: sent at every subscribe") {
            sub.subscribe("rh", sub_options(0, false, false, 0));
            sub.expect_publish("rh");
            sub.subscribe("rh", sub_options(0, false, false, 0));
            sub.expect_publish("rh");
        }
        SUBCASE("1: sent only if the subscription is new") {
            sub.subscribe("rh", sub_options(0, false, false, 1));
            sub.expect_publish("rh");
            sub.subscribe("rh", sub_options(0, false, false, 1));
            sub.expect_nothing();
        }
        SUBCASE("2: never sent") {
            sub.subscribe("rh", sub_options(0, false, false, 2));
            sub.expect_nothing();
            // Live messages still are.
            pub.publish("rh", "live", 0);
            CHECK(sub.expect_publish("rh").payload == "live");
        }
    }

    TEST_CASE("retain as published (3.8.3.1) and RETAIN=0 on live messages otherwise (3.3.1-12)") {
        BrokerFixture broker;
        TestClient rap(broker, "rap"), plain(broker, "plain"), v3(broker, "v3"), pub(broker, "pub");
        rap.connect_ok({.client_id = "rap"});
        plain.connect_ok({.client_id = "plain"});
        v3.connect_ok({.version = V311, .client_id = "v3"});
        pub.connect_ok({.client_id = "pub"});
        rap.subscribe("rap", sub_options(0, false, true, 0));
        plain.subscribe("rap", sub_options(0, false, false, 0));
        v3.subscribe("rap", 0);
        pub.publish("rap", "r", 0, true);
        CHECK(rap.expect_publish("rap").retain);
        CHECK_FALSE(plain.expect_publish("rap").retain);
        CHECK_FALSE(v3.expect_publish("rap").retain);  // 3.1.1 [MQTT-3.3.1-9]
        pub.publish("rap", "n", 0, false);
        CHECK_FALSE(rap.expect_publish("rap").retain);
        CHECK_FALSE(plain.expect_publish("rap").retain);
        CHECK_FALSE(v3.expect_publish("rap").retain);
    }

    TEST_CASE("no local: a client does not get its own messages (3.8.3.1)") {
        BrokerFixture broker;
        TestClient self(broker, "self"), other(broker, "other");
        self.connect_ok({.client_id = "self"});
        other.connect_ok({.client_id = "other"});
        self.subscribe("nl", sub_options(1, true));
        other.subscribe("nl", sub_options(1, true));
        self.publish("nl", "from self", 1);
        Publish p = other.expect_publish("nl");
        CHECK(p.payload == "from self");
        other.ack(p);
        self.expect_nothing();
        other.publish("nl", "from other", 1);
        Publish q = self.expect_publish("nl");
        CHECK(q.payload == "from other");
        self.ack(q);
        other.expect_nothing();
    }

    TEST_CASE("without no local a client gets its own messages") {
        BrokerFixture broker;
        TestClient self(broker, "self");
        self.connect_ok({.client_id = "self"});
        self.subscribe("echo", 0);
        self.publish("echo", "me", 0);
        CHECK(self.expect_publish("echo").payload == "me");
    }

    TEST_CASE(
        "overlapping subscriptions: one copy, highest QoS, every subscription identifier (3.3.4-2..5)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        REQUIRE(sub.subscribe("ov/+", sub_options(1), 11).reason_codes == std::vector<uint8_t>{1});
        REQUIRE(sub.subscribe("ov/#", sub_options(2), 22).reason_codes == std::vector<uint8_t>{2});
        REQUIRE(sub.subscribe("ov/x", sub_options(0)).reason_codes == std::vector<uint8_t>{0});  // no id
        pub.publish("ov/x", "one copy", 2);
        Publish p = sub.expect_publish("ov/x");
        CHECK(p.qos == 2);
        std::vector<uint32_t> ids = p.properties.subscription_identifiers;
        std::sort(ids.begin(), ids.end());
        CHECK(ids == std::vector<uint32_t>{11, 22});
        sub.ack(p);
        sub.expect_nothing();
    }

    TEST_CASE("subscription identifier on a retained message sent at subscribe") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("sid/r", "x", 0, true);
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "sub"});
        sub.subscribe("sid/#", sub_options(0), 5);
        Publish p = sub.expect_publish("sid/r");
        CHECK(p.properties.subscription_identifiers == std::vector<uint32_t>{5});
    }

    TEST_CASE("shared subscription: round robin, no retained messages at subscribe (4.8.2)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.publish("sh/t", "retained", 0, true);
        TestClient a(broker, "a"), b(broker, "b"), plain(broker, "plain");
        a.connect_ok({.client_id = "a"});
        b.connect_ok({.client_id = "b"});
        plain.connect_ok({.client_id = "plain"});
        a.subscribe("$share/g/sh/t", 1);
        b.subscribe("$share/g/sh/t", 1);
        a.expect_nothing(100ms);
        b.expect_nothing(100ms);
        plain.subscribe("sh/t", 1);
        plain.expect_publish("sh/t");  // retained for the non-shared subscription

        for (int i = 0; i < 4; ++i)
            pub.publish("sh/t", std::to_string(i), 1);
        int got_a = 0, got_b = 0;
        for (int i = 0; i < 2; ++i) {
            Publish pa = a.expect_publish("sh/t");
            CHECK_FALSE(pa.retain);
            a.ack(pa);
            ++got_a;
            Publish pb = b.expect_publish("sh/t");
            b.ack(pb);
            ++got_b;
        }
        a.expect_nothing(100ms);
        b.expect_nothing(100ms);
        CHECK(got_a == 2);
        CHECK(got_b == 2);
        for (int i = 0; i < 4; ++i)  // every message also to the non-shared subscriber
            plain.ack(plain.expect_publish("sh/t"));
    }

    TEST_CASE("shared subscription with no local is a protocol error (3.8.3-4)") {
        BrokerFixture broker;
        TestClient c(broker);
        c.connect_ok({.client_id = "nlshare"});
        Subscribe s;
        s.packet_id = 1;
        s.subscriptions.push_back({"$share/g/t", sub_options(0, true)});
        c.send(s);
        c.expect_disconnect(rc(mqtt::ReasonCode::ProtocolError));
    }

    TEST_CASE("UNSUBSCRIBE: 0x00 for an existing subscription, 0x11 for none (3.11.2.1)") {
        BrokerFixture broker;
        TestClient c(broker);
        c.connect_ok({.client_id = "unsub"});
        c.subscribe("u/a", 0);
        Unsubscribe u;
        u.packet_id = 77;
        u.filters = {"u/a", "u/b"};
        c.send(u);
        Unsuback ack = c.expect<Unsuback>();
        CHECK(ack.packet_id == 77);
        CHECK(ack.reason_codes == std::vector<uint8_t>{0x00, 0x11});
        // Unsubscribed: nothing arrives.
        c.publish("u/a", "x", 0);
        c.expect_nothing();
    }

    TEST_CASE("MQTT 3.1.1 UNSUBSCRIBE gets an UNSUBACK with the packet id") {
        BrokerFixture broker;
        TestClient c(broker);
        c.connect_ok({.version = V311, .client_id = "unsub3"});
        c.subscribe("u", 1);
        Unsubscribe u;
        u.packet_id = 5;
        u.filters = {"u"};
        c.send(u);
        CHECK(c.expect<Unsuback>().packet_id == 5);
    }

    TEST_CASE("SUBACK carries one reason code per filter, in order (3.9.3)") {
        BrokerFixture broker([](Config& c) { c.broker.maximum_qos = 1; });
        TestClient c(broker);
        c.connect_ok({.client_id = "multi"});
        Subscribe s;
        s.packet_id = 3;
        s.subscriptions = {{"m/0", sub_options(0)}, {"m/2", sub_options(2)}, {"m/1", sub_options(1)}};
        c.send(s);
        Suback ack = c.expect<Suback>();
        CHECK(ack.packet_id == 3);
        CHECK(ack.reason_codes == std::vector<uint8_t>{0, 1, 1});  // QoS 2 granted as the maximum, 1
    }

    TEST_CASE("wildcard subscriptions off: SUBACK 0xA2") {
        BrokerFixture broker([](Config& c) { c.broker.wildcard_subscriptions = false; });
        TestClient c(broker);
        c.connect_ok({.client_id = "wild"});
        Suback ack = c.subscribe("w/#", sub_options(0));
        CHECK(ack.reason_codes == std::vector<uint8_t>{0xA2});
    }

    TEST_CASE("$SYS topics are published every sys_interval; # does not match them (4.7.2-1)") {
        BrokerFixture broker([](Config& c) { c.broker.sys_interval = 1; });
        TestClient all(broker, "all"), plus(broker, "plus"), sys(broker, "sys");
        all.connect_ok({.client_id = "all"});
        plus.connect_ok({.client_id = "plus"});
        sys.connect_ok({.client_id = "sys"});
        all.subscribe("#", 0);
        plus.subscribe("+/broker/#", 0);
        sys.subscribe("$SYS/broker/version", 0);
        Publish version = sys.expect_publish("$SYS/broker/version");  // retained, published at start
        CHECK(version.retain);
        CHECK(version.payload.rfind("roost ", 0) == 0);
        sys.subscribe("$SYS/broker/uptime", 0);
        sys.expect_publish("$SYS/broker/uptime");  // retained
        // The next interval publishes every $SYS topic again; version comes before uptime.
        std::optional<Publish> update;
        for (int i = 0; i < 3 && !update; ++i) {
            Publish p = sys.expect<Publish>(2500ms);
            if (p.topic == "$SYS/broker/uptime") update = p;
        }
        REQUIRE_MESSAGE(update.has_value(), "no $SYS/broker/uptime update within the interval");
        CHECK_FALSE(update->retain);
        all.expect_nothing(100ms);
        plus.expect_nothing(100ms);
    }

    TEST_CASE("a second SUBSCRIBE to the same filter replaces the subscription (3.8.4-3)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("rep", sub_options(2), 1);
        sub.subscribe("rep", sub_options(1));  // lower QoS, no subscription identifier
        pub.publish("rep", "x", 2);
        Publish p = sub.expect_publish("rep");
        CHECK(p.qos == 1);
        CHECK(p.properties.subscription_identifiers.empty());
        sub.ack(p);
        sub.expect_nothing();  // one subscription, one copy
    }

    TEST_CASE("retain not available: retained PUBLISH is DISCONNECT 0x9A (3.3.1.3)") {
        BrokerFixture broker([](Config& c) { c.broker.retain_available = false; });
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "noretain"});
        CHECK(ack.properties.retain_available == std::optional<uint8_t>(0));
        c.publish("t", "x", 0, true);
        c.expect_disconnect(rc(mqtt::ReasonCode::RetainNotSupported));
    }

    TEST_CASE("max_subscriptions_per_client: SUBACK 0x97 over the limit") {
        BrokerFixture broker([](Config& c) { c.limits.max_subscriptions_per_client = 2; });
        TestClient c(broker);
        c.connect_ok({.client_id = "many"});
        c.subscribe("s/1", 0);
        c.subscribe("s/2", 0);
        CHECK(c.subscribe("s/3", sub_options(0)).reason_codes == std::vector<uint8_t>{0x97});
        c.subscribe("s/1", 1);  // replacing one is not a new one
    }

    TEST_CASE("shared subscription: a message goes to one member; unsubscribing leaves the others") {
        BrokerFixture broker;
        TestClient a(broker, "a"), b(broker, "b"), pub(broker, "pub");
        a.connect_ok({.client_id = "a"});
        b.connect_ok({.client_id = "b"});
        pub.connect_ok({.client_id = "pub"});
        a.subscribe("$share/grp/s/#", 0);
        b.subscribe("$share/grp/s/#", 0);
        Unsubscribe u;
        u.packet_id = 2;
        u.filters = {"$share/grp/s/#"};
        a.send(u);
        CHECK(a.expect<Unsuback>().reason_codes == std::vector<uint8_t>{0});
        for (int i = 0; i < 3; ++i) {
            pub.publish("s/x", std::to_string(i), 0);
            CHECK(b.expect_publish("s/x").payload == std::to_string(i));
        }
        a.expect_nothing();
    }
}
