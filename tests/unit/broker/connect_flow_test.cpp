// CONNECT and CONNACK (MQTT 5 spec 3.1, 3.2; 3.1.1 spec 3.1, 3.2), PINGREQ, second CONNECT.
#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

TEST_SUITE("broker flow: connect") {
    TEST_CASE("CONNACK announces the broker's limits and features (MQTT 5 3.2.2.3)") {
        BrokerFixture broker([](Config& c) {
            c.limits.max_inflight = 10;
            c.limits.topic_alias_maximum = 7;
            c.limits.max_packet_size = 4096;
            c.broker.maximum_qos = 1;
            c.broker.retain_available = false;
            c.broker.wildcard_subscriptions = false;
            c.broker.shared_subscriptions = false;
            c.broker.subscription_identifiers = false;
        });
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "limits"});
        CHECK_FALSE(ack.session_present);
        CHECK(ack.properties.receive_maximum == std::optional<uint16_t>(10));
        CHECK(ack.properties.topic_alias_maximum == std::optional<uint16_t>(7));
        CHECK(ack.properties.maximum_packet_size == std::optional<uint32_t>(4096));
        CHECK(ack.properties.maximum_qos == std::optional<uint8_t>(1));
        CHECK(ack.properties.retain_available == std::optional<uint8_t>(0));
        CHECK(ack.properties.wildcard_subscription_available == std::optional<uint8_t>(0));
        CHECK(ack.properties.shared_subscription_available == std::optional<uint8_t>(0));
        CHECK(ack.properties.subscription_identifier_available == std::optional<uint8_t>(0));
        // The client gave an id: none is assigned.
        CHECK_FALSE(ack.properties.assigned_client_identifier.has_value());
        CHECK_FALSE(ack.properties.server_keep_alive.has_value());
        CHECK_FALSE(ack.properties.session_expiry_interval.has_value());
    }

    TEST_CASE("CONNACK with default limits: receive maximum and topic alias maximum announced") {
        BrokerFixture broker;
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "defaults"});
        CHECK(ack.properties.receive_maximum == std::optional<uint16_t>(32));
        CHECK(ack.properties.topic_alias_maximum == std::optional<uint16_t>(16));
        // Defaults that equal the spec's absent value are left out.
        CHECK_FALSE(ack.properties.maximum_qos.has_value());
        CHECK_FALSE(ack.properties.retain_available.has_value());
        // max_packet_size defaults to 1 MiB (issue 12), below the spec's maximum: announced.
        CHECK(ack.properties.maximum_packet_size == std::optional<uint32_t>(1048576));
    }

    TEST_CASE("empty client id gets an Assigned Client Identifier (MQTT 5 3.2.2.3.7)") {
        BrokerFixture broker;
        TestClient a(broker, "a"), b(broker, "b");
        Connack ack_a = a.connect_ok({.client_id = ""});
        Connack ack_b = b.connect_ok({.client_id = ""});
        REQUIRE(ack_a.properties.assigned_client_identifier.has_value());
        REQUIRE(ack_b.properties.assigned_client_identifier.has_value());
        CHECK_FALSE(ack_a.properties.assigned_client_identifier->empty());
        CHECK(*ack_a.properties.assigned_client_identifier != *ack_b.properties.assigned_client_identifier);
        // Both stay connected: different ids, no takeover.
        a.send(Pingreq{});
        a.expect<Pingresp>();
        b.send(Pingreq{});
        b.expect<Pingresp>();
    }

    TEST_CASE("MQTT 3.1.1: empty client id with clean session 1 is accepted") {
        BrokerFixture broker;
        TestClient c(broker);
        Connack ack = c.connect({.version = V311, .client_id = "", .clean_start = true});
        CHECK(ack.reason_code == 0);
        CHECK_FALSE(ack.session_present);
        c.send(Pingreq{});
        c.expect<Pingresp>();
    }

    TEST_CASE("MQTT 3.1.1: empty client id with clean session 0 is refused with return code 2 (3.1.3-8)") {
        BrokerFixture broker;
        TestClient c(broker);
        Connack ack = c.connect({.version = V311, .client_id = "", .clean_start = false});
        // Return code 2 on the wire; the decoder maps 3.1.1 return codes up to MQTT 5 (0x85).
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::ClientIdentifierNotValid));
        CHECK_FALSE(ack.session_present);
        c.expect_closed();
    }

    TEST_CASE("client id over max_client_id_length: CONNACK 0x85 and close") {
        BrokerFixture broker([](Config& c) { c.limits.max_client_id_length = 8; });
        SUBCASE("MQTT 5") {
            TestClient c(broker);
            Connack ack = c.connect({.client_id = "123456789"});
            CHECK(ack.reason_code == rc(mqtt::ReasonCode::ClientIdentifierNotValid));
            CHECK_FALSE(ack.session_present);
            c.expect_closed();
        }
        SUBCASE("MQTT 3.1.1: return code 2") {
            TestClient c(broker);
            Connack ack = c.connect({.version = V311, .client_id = "123456789"});
            CHECK(ack.reason_code == rc(mqtt::ReasonCode::ClientIdentifierNotValid));  // 2 on the wire
            c.expect_closed();
        }
        SUBCASE("exactly the maximum is accepted") {
            TestClient c(broker);
            c.connect_ok({.client_id = "12345678"});
        }
    }

    TEST_CASE("Server Keep Alive when [limits] max_keep_alive is lower (MQTT 5 3.2.2.3.14)") {
        BrokerFixture broker([](Config& c) { c.limits.max_keep_alive = 30; });
        SUBCASE("longer keep alive is cut") {
            TestClient c(broker);
            Connack ack = c.connect_ok({.client_id = "ka", .keep_alive = 600});
            CHECK(ack.properties.server_keep_alive == std::optional<uint16_t>(30));
        }
        SUBCASE("shorter keep alive stays, no Server Keep Alive") {
            TestClient c(broker);
            Connack ack = c.connect_ok({.client_id = "ka", .keep_alive = 20});
            CHECK_FALSE(ack.properties.server_keep_alive.has_value());
        }
    }

    TEST_CASE("session expiry interval over max_session_expiry is cut and announced (MQTT 5 3.2.2.3.2)") {
        BrokerFixture broker([](Config& c) { c.limits.max_session_expiry = 60; });
        TestClient c(broker);
        Connack ack = c.connect_ok({.client_id = "exp", .properties = session_expiry(3600)});
        CHECK(ack.properties.session_expiry_interval == std::optional<uint32_t>(60));
    }

    TEST_CASE("PINGREQ is answered with PINGRESP (3.12.4)") {
        BrokerFixture broker;
        SUBCASE("MQTT 5") {
            TestClient c(broker);
            c.connect_ok({.client_id = "ping"});
            for (int i = 0; i < 3; ++i) {
                c.send(Pingreq{});
                c.expect<Pingresp>();
            }
        }
        SUBCASE("MQTT 3.1.1") {
            TestClient c(broker);
            c.connect_ok({.version = V311, .client_id = "ping"});
            c.send(Pingreq{});
            c.expect<Pingresp>();
        }
    }

    TEST_CASE("a second CONNECT is a protocol error (3.1.0-2): DISCONNECT 0x82") {
        BrokerFixture broker;
        SUBCASE("MQTT 5") {
            TestClient c(broker);
            c.connect_ok({.client_id = "twice"});
            Connect again;
            again.client_id = "twice";
            c.send(again);
            c.expect_disconnect(rc(mqtt::ReasonCode::ProtocolError));
        }
        SUBCASE("MQTT 3.1.1: closed without DISCONNECT") {
            TestClient c(broker);
            c.connect_ok({.version = V311, .client_id = "twice"});
            Connect again;
            again.version = V311;
            again.client_id = "twice";
            c.send(again);
            c.expect_closed();
        }
    }

    TEST_CASE("a first packet that is not CONNECT closes the connection (3.1.0-1)") {
        BrokerFixture broker;
        TestClient c(broker);
        c.send(Pingreq{});
        c.expect_closed();
    }

    TEST_CASE("unsupported protocol level: CONNACK 0x01 (3.1.1) and close") {
        BrokerFixture broker;
        TestClient c(broker);
        // CONNECT, protocol name MQTT, level 3, clean session, keep alive 0, client id "x".
        const uint8_t bytes[] = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 3, 0x02, 0, 0, 0, 1, 'x'};
        c.send_bytes(bytes);
        c.set_version(V311);
        Connack ack = c.expect<Connack>();
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::UnsupportedProtocolVersion));  // 1 on the wire
        c.expect_closed();
    }
}

TEST_SUITE("broker flow: connect") {
    TEST_CASE("unsupported Authentication Method: CONNACK 0x8C and close (4.12.0-1)") {
        BrokerFixture broker;
        TestClient c(broker);
        mqtt::Properties props;
        props.authentication_method = "SCRAM-SHA-1";
        Connack ack = c.connect({.client_id = "auth", .properties = props});
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::BadAuthenticationMethod));
        c.expect_closed();
    }

    TEST_CASE("allow_anonymous = false: CONNECT without a user name is refused") {
        BrokerFixture broker([](Config& c) { c.broker.allow_anonymous = false; });
        SUBCASE("MQTT 5: 0x87") {
            TestClient c(broker);
            Connack ack = c.connect({.client_id = "anon"});
            CHECK(ack.reason_code == rc(mqtt::ReasonCode::NotAuthorized));
            c.expect_closed();
        }
        SUBCASE("MQTT 3.1.1: return code 5") {
            TestClient c(broker);
            Connack ack = c.connect({.version = V311, .client_id = "anon"});
            CHECK(ack.reason_code == rc(mqtt::ReasonCode::NotAuthorized));  // 5 on the wire
            c.expect_closed();
        }
        SUBCASE("with a user name: accepted") {
            TestClient c(broker);
            c.connect_ok({.client_id = "named", .username = "alice"});
        }
    }

    TEST_CASE("will QoS over the broker's maximum QoS: CONNACK 0x9B (3.2.2-12)") {
        BrokerFixture broker([](Config& c) { c.broker.maximum_qos = 1; });
        TestClient c(broker);
        mqtt::Will w;
        w.topic = "w";
        w.qos = 2;
        Connack ack = c.connect({.client_id = "wq", .will = w});
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::QosNotSupported));
        c.expect_closed();
    }

    TEST_CASE("retained will when retain is not available: CONNACK 0x9A (3.2.2-13)") {
        BrokerFixture broker([](Config& c) { c.broker.retain_available = false; });
        TestClient c(broker);
        mqtt::Will w;
        w.topic = "w";
        w.retain = true;
        Connack ack = c.connect({.client_id = "wr", .will = w});
        CHECK(ack.reason_code == rc(mqtt::ReasonCode::RetainNotSupported));
        c.expect_closed();
    }

    TEST_CASE("server shutdown: wills of connected clients, then DISCONNECT 0x8B") {
        auto broker = std::make_unique<BrokerFixture>();
        TestClient watcher(*broker, "watcher"), c(*broker, "c");
        watcher.connect_ok({.client_id = "watcher"});
        watcher.subscribe("bye/#", 0);
        mqtt::Will w;
        w.topic = "bye/c";
        w.payload = "server went away";
        c.connect_ok({.client_id = "c", .will = w});
        broker.reset();  // stops the server and joins its thread
        CHECK(watcher.expect_publish("bye/c").payload == "server went away");
        watcher.expect_disconnect(rc(mqtt::ReasonCode::ServerShuttingDown));
        c.expect_disconnect(rc(mqtt::ReasonCode::ServerShuttingDown));
    }
}
