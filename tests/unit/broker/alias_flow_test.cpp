// Topic aliases both ways (MQTT 5 spec 3.3.2.3.4, 3.2.2.3.8, 3.1.2.11.5).
#include "test_broker.hpp"

using namespace roost;
using namespace roost::test;

namespace {
Publish aliased(std::string topic, uint16_t alias, std::string payload) {
    Publish p;
    p.topic = std::move(topic);
    p.properties.topic_alias = alias;
    p.payload = std::move(payload);
    return p;
}
}  // namespace

TEST_SUITE("broker flow: topic alias") {
    TEST_CASE("inbound alias: set with a topic, then used with an empty topic") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        Connack ack = pub.connect_ok({.client_id = "pub"});
        REQUIRE(ack.properties.topic_alias_maximum.value_or(0) >= 2);
        sub.subscribe("alias/#", 0);

        pub.send(aliased("alias/one", 1, "set"));
        Publish p1 = sub.expect_publish("alias/one");
        CHECK(p1.payload == "set");
        CHECK_FALSE(p1.properties.topic_alias.has_value());  // aliases are per hop

        pub.send(aliased("", 1, "reuse"));
        Publish p2 = sub.expect_publish("alias/one");
        CHECK(p2.payload == "reuse");

        // An alias can be remapped.
        pub.send(aliased("alias/two", 1, "remap"));
        CHECK(sub.expect_publish("alias/two").payload == "remap");
        pub.send(aliased("", 1, "after remap"));
        CHECK(sub.expect_publish("alias/two").payload == "after remap");

        // The highest permitted alias works.
        uint16_t max = *ack.properties.topic_alias_maximum;
        pub.send(aliased("alias/max", max, "max"));
        CHECK(sub.expect_publish("alias/max").payload == "max");
    }

    TEST_CASE("inbound alias over the Topic Alias Maximum: DISCONNECT 0x94 (3.3.2.3.4)") {
        BrokerFixture broker([](Config& c) { c.limits.topic_alias_maximum = 4; });
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.send(aliased("a", 5, "x"));
        pub.expect_disconnect(rc(mqtt::ReasonCode::TopicAliasInvalid));
    }

    TEST_CASE("inbound alias with topic alias maximum 0: any alias is invalid (3.2.2.3.8)") {
        BrokerFixture broker([](Config& c) { c.limits.topic_alias_maximum = 0; });
        TestClient pub(broker, "pub");
        Connack ack = pub.connect_ok({.client_id = "pub"});
        CHECK(ack.properties.topic_alias_maximum.value_or(0) == 0);
        pub.send(aliased("a", 1, "x"));
        pub.expect_disconnect(rc(mqtt::ReasonCode::TopicAliasInvalid));
    }

    TEST_CASE("inbound alias that was never set: DISCONNECT 0x82 (3.3.2.3.4)") {
        BrokerFixture broker;
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub"});
        pub.send(aliased("", 3, "x"));
        pub.expect_disconnect(rc(mqtt::ReasonCode::ProtocolError));
    }

    TEST_CASE("inbound aliases do not survive the connection (3.3.2.3.4)") {
        BrokerFixture broker;
        {
            TestClient pub(broker, "pub");
            pub.connect_ok({.client_id = "pub", .properties = session_expiry(60)});
            pub.send(aliased("kept?", 1, "x"));
            pub.disconnect();
        }
        TestClient pub(broker, "pub");
        pub.connect_ok({.client_id = "pub", .clean_start = false, .properties = session_expiry(60)});
        pub.send(aliased("", 1, "x"));
        pub.expect_disconnect(rc(mqtt::ReasonCode::ProtocolError));
    }

    TEST_CASE("outbound alias: first message carries topic and alias, later ones only the alias") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        mqtt::Properties props;
        props.topic_alias_maximum = 2;
        sub.connect_ok({.client_id = "sub", .properties = props});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("out/#", 0);

        pub.publish("out/a", "1");
        Publish first = sub.expect<Publish>();
        CHECK(first.topic == "out/a");
        REQUIRE(first.properties.topic_alias.has_value());
        uint16_t alias_a = *first.properties.topic_alias;
        CHECK(alias_a >= 1);
        CHECK(alias_a <= 2);

        pub.publish("out/a", "2");
        Publish second = sub.expect<Publish>();
        CHECK(second.topic.empty());
        CHECK(second.properties.topic_alias == std::optional<uint16_t>(alias_a));
        CHECK(second.payload == "2");

        // More topics than aliases: never an alias over the client's maximum [MQTT-3.3.2-10].
        for (const char* t : {"out/b", "out/c", "out/d"}) {
            pub.publish(t, "x");
            Publish p = sub.expect<Publish>();
            if (p.properties.topic_alias) {
                CHECK(*p.properties.topic_alias >= 1);
                CHECK(*p.properties.topic_alias <= 2);
            }
            if (p.topic.empty()) CHECK(p.properties.topic_alias.has_value());
        }
    }

    TEST_CASE("outbound alias: none for a client that did not announce a Topic Alias Maximum (3.1.2-26)") {
        BrokerFixture broker;
        TestClient sub(broker, "sub"), pub(broker, "pub");
        sub.connect_ok({.client_id = "sub"});
        pub.connect_ok({.client_id = "pub"});
        sub.subscribe("na", 0);
        for (int i = 0; i < 3; ++i) {
            pub.publish("na", "x");
            Publish p = sub.expect_publish("na");
            CHECK_FALSE(p.properties.topic_alias.has_value());
        }
    }
}
