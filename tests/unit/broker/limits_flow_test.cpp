// Maximum Packet Size both ways (MQTT 5 spec 3.1.2.11.4, 3.2.2.3.6, 4.13) and malformed input.
#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

TEST_SUITE("broker flow: limits") {
    TEST_CASE("a packet over the broker's Maximum Packet Size: DISCONNECT 0x95 (3.2.2.3.6)") {
        BrokerFixture broker([](Config& c) { c.limits.max_packet_size = 1024; });
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "big"});
        CHECK(ack.properties.maximum_packet_size == std::optional<uint32_t>(1024));
        // Just under the limit is fine.
        c.publish("big", std::string(900, 'x'), 1);
        c.publish("big", std::string(2000, 'x'), 0);
        c.expect_disconnect(rc(mqtt::ReasonCode::PacketTooLarge));
    }

    TEST_CASE("a message over the client's Maximum Packet Size is not sent to it (3.1.2-24)") {
        BrokerFixture broker;
        TestClient small(broker, "small"), pub(broker, "pub");
        mqtt::Properties props;
        props.maximum_packet_size = 100;
        small.connect_ok({.client_id = "small", .properties = props});
        pub.connect_ok({.client_id = "pub"});
        small.subscribe("mps", 1);
        pub.publish("mps", std::string(200, 'x'), 1);  // dropped for `small`
        pub.publish("mps", std::string(200, 'y'), 0);  // dropped for `small`
        pub.publish("mps", "fits", 1);
        Publish p = small.expect_publish("mps");
        CHECK(p.payload == "fits");
        small.ack(p);
        small.expect_nothing();
    }

    TEST_CASE("the client's Maximum Packet Size counts the whole packet, properties included") {
        BrokerFixture broker;
        TestClient small(broker, "small"), pub(broker, "pub");
        mqtt::Properties props;
        props.maximum_packet_size = 64;
        small.connect_ok({.client_id = "small", .properties = props});
        pub.connect_ok({.client_id = "pub"});
        small.subscribe("m", 0);
        mqtt::Properties heavy;
        heavy.user_properties = {{"key", std::string(60, 'v')}};
        pub.publish("m", "tiny", 0, false, heavy);  // small payload, but over 64 bytes on the wire
        pub.publish("m", "ok", 0);
        CHECK(small.expect_publish("m").payload == "ok");
        small.expect_nothing();
    }

    TEST_CASE("malformed packet after CONNECT: DISCONNECT 0x81 and close") {
        BrokerFixture broker;
        TestClient c(broker);
        c.connect_ok({.client_id = "bad"});
        // PUBLISH QoS 3 is malformed (3.3.1.2).
        const uint8_t bytes[] = {0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01};
        c.send_bytes(bytes);
        c.expect_disconnect(rc(mqtt::ReasonCode::MalformedPacket));
    }

    TEST_CASE("PUBLISH QoS over the broker's maximum QoS: DISCONNECT 0x9B (3.2.2.3.4)") {
        BrokerFixture broker([](Config& c) { c.broker.maximum_qos = 1; });
        TestClient c(broker);
        c.connect_ok({.client_id = "q2"});
        Publish p;
        p.topic = "t";
        p.qos = 2;
        p.packet_id = 1;
        c.send(p);
        c.expect_disconnect(rc(mqtt::ReasonCode::QosNotSupported));
    }

    TEST_CASE("max_connections: CONNACK 0x89 Server busy over the limit") {
        BrokerFixture broker([](Config& c) { c.limits.max_connections = 1; });
        TestClient a(broker, "a"), b(broker, "b");
        a.connect_ok({.client_id = "a"});
        Connack ack = b.connect({.client_id = "b"});
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::ServerBusy));
        b.expect_closed();
    }
}
