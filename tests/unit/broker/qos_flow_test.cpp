// QoS 1 and 2 flows both ways, packet ids, receive maximum (MQTT 5 spec 3.3 to 3.7, 4.3, 4.9).
#include <set>

#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

TEST_SUITE("broker flow: qos") {
    TEST_CASE("QoS 0 both ways") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("q0", 2);
        pub.publish("q0", "zero", 0);
        Publish p = sub.expect_publish("q0");
        CHECK(p.qos == 0);  // the lower of published and granted
        CHECK(p.packet_id == 0);
        CHECK(p.payload == "zero");
        pub.expect_nothing();  // no acknowledgement for QoS 0
    }

    TEST_CASE(
        "QoS 1 both ways: PUBACK to the publisher, PUBLISH with a packet id to the subscriber (4.3.2)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("q1", 1);
        Publish out;
        out.topic = "q1";
        out.qos = 1;
        out.packet_id = 4242;
        out.payload = "one";
        pub.send(out);
        Ack puback = pub.expect_ack(PacketType::Puback, 4242);
        CHECK(puback.reason_code == 0);
        Publish p = sub.expect_publish("q1");
        CHECK(p.qos == 1);
        CHECK(p.packet_id != 0);
        CHECK_FALSE(p.dup);
        CHECK(p.payload == "one");
        sub.send(Ack{PacketType::Puback, p.packet_id, 0, {}});
        sub.expect_nothing();
    }

    TEST_CASE("QoS 1 PUBLISH ids to one subscriber are distinct while unacknowledged (2.2.1)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("ids", 1);
        for (int i = 0; i < 5; ++i)
            pub.publish("ids", std::to_string(i), 1);
        std::set<uint16_t> ids;
        for (int i = 0; i < 5; ++i) {
            Publish p = sub.expect_publish("ids");
            CHECK(p.payload == std::to_string(i));  // in order (4.6)
            ids.insert(p.packet_id);
        }
        CHECK(ids.size() == 5);
        CHECK_FALSE(ids.contains(0));
    }

    TEST_CASE("QoS 2 both ways: PUBREC, PUBREL, PUBCOMP (4.3.3)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("q2", 2);

        Publish out;
        out.topic = "q2";
        out.qos = 2;
        out.packet_id = 7;
        out.payload = "two";
        pub.send(out);
        Ack pubrec = pub.expect_ack(PacketType::Pubrec, 7);
        CHECK(pubrec.reason_code == 0);

        Publish p = sub.expect_publish("q2");
        CHECK(p.qos == 2);
        CHECK(p.packet_id != 0);
        sub.send(Ack{PacketType::Pubrec, p.packet_id, 0, {}});
        Ack pubrel = sub.expect_ack(PacketType::Pubrel, p.packet_id);
        CHECK(pubrel.reason_code == 0);
        sub.send(Ack{PacketType::Pubcomp, p.packet_id, 0, {}});

        pub.send(Ack{PacketType::Pubrel, 7, 0, {}});
        Ack pubcomp = pub.expect_ack(PacketType::Pubcomp, 7);
        CHECK(pubcomp.reason_code == 0);
        sub.expect_nothing();
        pub.expect_nothing();
    }

    TEST_CASE("QoS 2 both ways, MQTT 3.1.1") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.version = V311, .client_id = "sub"});
        pub.connect_ok({.version = V311, .client_id = "pub"});
        sub.subscribe("q2", 2);
        CHECK(pub.publish("q2", "two", 2) == 0);
        Publish p = sub.expect_publish("q2");
        CHECK(p.qos == 2);
        sub.ack(p);
        sub.expect_nothing();
    }

    TEST_CASE("QoS 2 duplicate PUBLISH before PUBREL is answered again and routed once (4.3.3)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("dup", 2);
        Publish out;
        out.topic = "dup";
        out.qos = 2;
        out.packet_id = 9;
        out.payload = "once";
        pub.send(out);
        pub.expect_ack(PacketType::Pubrec, 9);
        out.dup = true;
        pub.send(out);
        pub.expect_ack(PacketType::Pubrec, 9);

        Publish p = sub.expect_publish("dup");
        sub.ack(p);
        sub.expect_nothing();

        pub.send(Ack{PacketType::Pubrel, 9, 0, {}});
        pub.expect_ack(PacketType::Pubcomp, 9);
        // After PUBCOMP the id is free: the same id is a new message.
        out.dup = false;
        out.payload = "again";
        pub.send(out);
        pub.expect_ack(PacketType::Pubrec, 9);
        Publish again = sub.expect_publish("dup");
        CHECK(again.payload == "again");
    }

    TEST_CASE("PUBREL for an unknown packet id: PUBCOMP 0x92 (3.7.2.1)") {
        BrokerFixture broker;
        TestClient c(broker);
        c.connect_ok({.client_id = "rel"});
        c.send(Ack{PacketType::Pubrel, 321, 0, {}});
        Ack comp = c.expect_ack(PacketType::Pubcomp, 321);
        CHECK(comp.reason_code == rc(mqtt::ReasonCode::PacketIdentifierNotFound));
        // The connection goes on.
        c.send(Pingreq{});
        c.expect<Pingresp>();
    }

    TEST_CASE("PUBACK 0x10 when no subscriber matches (3.4.2.1)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        CHECK(pub.publish("nobody/listens", "x", 1) == rc(mqtt::ReasonCode::NoMatchingSubscribers));
        CHECK(pub.publish("nobody/listens", "x", 2) == rc(mqtt::ReasonCode::NoMatchingSubscribers));
        TestClient sub(broker, "sub");
        sub.connect_ok({.client_id = "sub"});
        sub.subscribe("nobody/+", 0);
        CHECK(pub.publish("nobody/listens", "x", 1) == 0);
    }

    TEST_CASE("the client's Receive Maximum bounds unacknowledged QoS 1/2 PUBLISH (3.3.4-9)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        mqtt::Properties props;
        props.receive_maximum = 2;
        sub.connect_ok({.client_id = "sub", .properties = props});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("rm", 2);
        for (int i = 1; i <= 5; ++i)
            pub.publish("rm", std::to_string(i), i % 2 == 0 ? 2 : 1);

        Publish p1 = sub.expect_publish("rm");
        Publish p2 = sub.expect_publish("rm");
        CHECK(p1.payload == "1");
        CHECK(p2.payload == "2");
        sub.expect_nothing();  // the window is full

        sub.ack(p1);  // PUBACK frees one slot
        Publish p3 = sub.expect_publish("rm");
        CHECK(p3.payload == "3");
        sub.expect_nothing();

        // A PUBREC does not free the slot of a QoS 2 message; the PUBCOMP does (4.9).
        sub.send(Ack{PacketType::Pubrec, p2.packet_id, 0, {}});
        sub.expect_ack(PacketType::Pubrel, p2.packet_id);
        sub.expect_nothing();
        sub.send(Ack{PacketType::Pubcomp, p2.packet_id, 0, {}});
        Publish p4 = sub.expect_publish("rm");
        CHECK(p4.payload == "4");
        sub.expect_nothing();

        sub.ack(p3);
        Publish p5 = sub.expect_publish("rm");
        CHECK(p5.payload == "5");
        sub.ack(p4);
        sub.ack(p5);
        sub.expect_nothing();
    }

    TEST_CASE("QoS 0 messages are not held back by a full receive window") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        mqtt::Properties props;
        props.receive_maximum = 1;
        sub.connect_ok({.client_id = "sub", .properties = props});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("w", 1);
        pub.publish("w", "held", 1);
        pub.publish("w", "held too", 1);
        pub.publish("w", "qos0", 0);
        CHECK(sub.expect_publish("w").payload == "held");
        CHECK(sub.expect_publish("w").payload == "qos0");
        sub.expect_nothing();
    }

    TEST_CASE(
        "more QoS 2 PUBLISH awaiting PUBREL than the broker's Receive Maximum: DISCONNECT 0x93 (3.3.4)") {
        BrokerFixture broker([](Config& c) { c.limits.max_inflight = 2; });
        TestClient pub(broker, "pub");
        Connack ack = pub.connect_ok({.client_id = "pub"});
        CHECK(ack.properties.receive_maximum == std::optional<uint16_t>(2));
        for (uint16_t id = 1; id <= 2; ++id) {
            Publish p;
            p.topic = "rmx";
            p.qos = 2;
            p.packet_id = id;
            pub.send(p);
            pub.expect_ack(PacketType::Pubrec, id);
        }
        Publish p;
        p.topic = "rmx";
        p.qos = 2;
        p.packet_id = 3;
        pub.send(p);
        pub.expect_disconnect(rc(mqtt::ReasonCode::ReceiveMaximumExceeded));
    }

    TEST_CASE("PUBLISH QoS is the minimum of the published and the granted QoS (3.8.4)") {
        BrokerFixture broker;
        TestClient s0(broker, "s0"), s1(broker, "s1"), s2(broker, "s2"), pub(broker, "pub");
        s0.connect_ok({.client_id = "s0"});
        s1.connect_ok({.client_id = "s1"});
        s2.connect_ok({.client_id = "s2"});
        pub.connect_ok({.client_id = "pub"});
        s0.subscribe("down", 0);
        s1.subscribe("down", 1);
        s2.subscribe("down", 2);
        pub.publish("down", "x", 2);
        CHECK(s0.expect_publish("down").qos == 0);
        CHECK(s1.expect_publish("down").qos == 1);
        CHECK(s2.expect_publish("down").qos == 2);
        pub.publish("down", "y", 1);
        CHECK(s0.expect_publish("down").qos == 0);
        CHECK(s1.expect_publish("down").qos == 1);
        CHECK(s2.expect_publish("down").qos == 1);
    }

    TEST_CASE("properties that travel end to end reach the subscriber (3.3.2.3)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("props", 0);
        mqtt::Properties in;
        in.payload_format_indicator = 1;
        in.content_type = "text/plain";
        in.response_topic = "reply/here";
        in.correlation_data = std::string("\x01\x02", 2);
        in.user_properties = {{"k1", "v1"}, {"k1", "v2"}, {"k2", "v"}};
        pub.publish("props", "body", 0, false, in);
        Publish p = sub.expect_publish("props");
        CHECK(p.properties.payload_format_indicator == in.payload_format_indicator);
        CHECK(p.properties.content_type == in.content_type);
        CHECK(p.properties.response_topic == in.response_topic);
        CHECK(p.properties.correlation_data == in.correlation_data);
        CHECK(p.properties.user_properties == in.user_properties);  // order kept (3.3.2-18)
        CHECK_FALSE(p.properties.topic_alias.has_value());
        CHECK(p.properties.subscription_identifiers.empty());
    }
}
