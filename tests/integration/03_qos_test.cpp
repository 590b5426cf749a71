// 03 qos: the QoS 1 and QoS 2 flows seen on the wire (raw sockets), exactly-once delivery of a
// QoS 2 PUBLISH sent twice, QoS downgrade to the subscription's maximum, and Paho C end to end.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "paho.hpp"

using namespace roost_it;

TEST_CASE("QoS 1 publish is answered with PUBACK carrying the packet id") {
    Broker b;
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        RawClient c(b.port());
        REQUIRE(c.handshake(pkt::conn(version, "q1pub")));
        REQUIRE(c.send(pkt::publish("qos/1", "x", 1, 4242, false, version)));
        auto ack = c.read_packet();
        REQUIRE(ack);
        CHECK(ack->type == pkt::PUBACK);
        CHECK(ack->packet_id() == 4242);
    }
}

TEST_CASE("QoS 2 inbound: PUBREC, PUBREL, PUBCOMP; a duplicate PUBLISH is delivered once") {
    Broker b;
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        RawClient sub(b.port());
        REQUIRE(sub.handshake(pkt::conn(version, "q2sub")));
        REQUIRE(sub.send(pkt::subscribe(1, "qos/2", 2, version)));
        REQUIRE(sub.read_until(pkt::SUBACK));

        RawClient pub(b.port());
        REQUIRE(pub.handshake(pkt::conn(version, "q2pub")));
        Bytes publish = pkt::publish("qos/2", "exactly-once", 2, 77, false, version);
        REQUIRE(pub.send(publish));
        auto rec = pub.read_packet();
        REQUIRE(rec);
        CHECK(rec->type == pkt::PUBREC);
        CHECK(rec->packet_id() == 77);
        // The same PUBLISH again with DUP set, before PUBREL: must not be delivered again.
        Bytes dup = publish;
        dup[0] = char(uint8_t(dup[0]) | 0x08);
        REQUIRE(pub.send(dup));
        auto rec2 = pub.read_packet();
        REQUIRE(rec2);
        CHECK(rec2->type == pkt::PUBREC);
        CHECK(rec2->packet_id() == 77);
        REQUIRE(pub.send(pkt::ack(pkt::PUBREL, 77)));
        auto comp = pub.read_packet();
        REQUIRE(comp);
        CHECK(comp->type == pkt::PUBCOMP);
        CHECK(comp->packet_id() == 77);

        // The subscriber side of the QoS 2 flow.
        auto p = sub.read_packet();
        REQUIRE(p);
        REQUIRE(p->type == pkt::PUBLISH);
        CHECK(((p->flags >> 1) & 3) == 2);
        CHECK(p->publish_payload(version) == "exactly-once");
        uint16_t id = p->packet_id_after_topic();
        CHECK(id != 0);
        REQUIRE(sub.send(pkt::ack(pkt::PUBREC, id)));
        auto rel = sub.read_packet();
        REQUIRE(rel);
        CHECK(rel->type == pkt::PUBREL);
        CHECK(rel->flags == 2);
        CHECK(rel->packet_id() == id);
        REQUIRE(sub.send(pkt::ack(pkt::PUBCOMP, id)));
        // Nothing else: the duplicate was not delivered.
        auto extra = sub.read_packet(700ms);
        CHECK_FALSE(extra);
    }
}

TEST_CASE("delivery QoS is the minimum of publish QoS and subscription QoS") {
    Broker b;
    RawClient sub(b.port());
    REQUIRE(sub.handshake(pkt::conn(4, "downgrade")));
    REQUIRE(sub.send(pkt::subscribe(1, "down/0", 0)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    REQUIRE(sub.send(pkt::subscribe(2, "down/1", 1)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "downpub")));
    REQUIRE(pub.send(pkt::publish("down/0", "a", 2, 1)));
    REQUIRE(pub.read_until(pkt::PUBREC));
    REQUIRE(pub.send(pkt::ack(pkt::PUBREL, 1)));
    REQUIRE(pub.read_until(pkt::PUBCOMP));
    REQUIRE(pub.send(pkt::publish("down/1", "b", 2, 2)));
    REQUIRE(pub.read_until(pkt::PUBREC));
    REQUIRE(pub.send(pkt::ack(pkt::PUBREL, 2)));
    REQUIRE(pub.read_until(pkt::PUBCOMP));

    auto p0 = sub.read_until(pkt::PUBLISH);
    REQUIRE(p0);
    CHECK(p0->publish_topic() == "down/0");
    CHECK(((p0->flags >> 1) & 3) == 0);
    auto p1 = sub.read_until(pkt::PUBLISH);
    REQUIRE(p1);
    CHECK(p1->publish_topic() == "down/1");
    CHECK(((p1->flags >> 1) & 3) == 1);
    REQUIRE(sub.send(pkt::ack(pkt::PUBACK, p1->packet_id_after_topic())));
}

TEST_CASE("Paho C: QoS 0, 1 and 2 end to end, MQTT 3.1.1 and MQTT 5") {
    Broker b;
    for (int version : {MQTTVERSION_3_1_1, MQTTVERSION_5}) {
        CAPTURE(version);
        std::string suffix = std::to_string(version);
        Paho sub(b.port(), "paho-sub-" + suffix, version);
        REQUIRE(sub.connect(true).rc == 0);
        REQUIRE(sub.subscribe("paho/qos/#", 2) == 2);
        Paho pub(b.port(), "paho-pub-" + suffix, version);
        REQUIRE(pub.connect(true).rc == 0);
        for (int qos = 0; qos <= 2; ++qos)
            CHECK(pub.publish("paho/qos/" + std::to_string(qos), "payload-" + std::to_string(qos), qos) == 0);
        auto msgs = sub.receive_all(1000ms);
        REQUIRE(msgs.size() == 3);
        for (int qos = 0; qos <= 2; ++qos) {
            CHECK(msgs[size_t(qos)].topic == "paho/qos/" + std::to_string(qos));
            CHECK(msgs[size_t(qos)].payload == "payload-" + std::to_string(qos));
            CHECK(msgs[size_t(qos)].qos == qos);
        }
        CHECK(pub.disconnect() == 0);
        CHECK(sub.disconnect() == 0);
    }
}

TEST_CASE("Paho C: 40 QoS 2 messages arrive in order, each once") {
    Broker b;
    Paho sub(b.port(), "paho-order-sub");
    REQUIRE(sub.connect(true).rc == 0);
    REQUIRE(sub.subscribe("order/t", 2) == 2);
    Paho pub(b.port(), "paho-order-pub");
    REQUIRE(pub.connect(true).rc == 0);
    const int n = 40;
    for (int i = 0; i < n; ++i)
        REQUIRE(pub.publish("order/t", std::to_string(i), 2) == 0);
    auto msgs = sub.receive_all(1000ms);
    REQUIRE(msgs.size() == size_t(n));
    for (int i = 0; i < n; ++i)
        CHECK(msgs[size_t(i)].payload == std::to_string(i));
}
