// 23 conformance: normative statements of MQTT 3.1.1 (OASIS 2014) and 5.0 (OASIS 2019) that the
// conformance audit of session 14 found broken, each checked with raw bytes against the real
// broker. The statement is named in each test case; what the broker did before is in its comment.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace roost_it;

namespace {

// A raw MQTT 5 client connected with `properties` (encoded, no length), or a failed REQUIRE.
void connect5(RawClient& c, const std::string& id, bool clean, const Bytes& properties = {}) {
    pkt::Connect cc = pkt::conn(5, id, clean);
    cc.properties = pkt::prop_u8(0x17, 0) + properties;  // Request Problem Information 0
    auto ack = c.handshake(cc);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
}

// The reason code of an MQTT 5 acknowledgement (PUBACK, PUBREC, ...): 0 when left out (3.4.2.1).
uint8_t ack_reason(const Packet& p) {
    return p.body.size() > 2 ? uint8_t(p.body[2]) : 0;
}

// Sends a QoS 2 PUBLISH and completes its flow: PUBREC (checked to be success), PUBREL, PUBCOMP.
void publish_qos2(RawClient& c, const std::string& topic, const std::string& payload, uint16_t id) {
    REQUIRE(c.send(pkt::publish(topic, payload, 2, id, false, 5)));
    auto rec = c.read_until(pkt::PUBREC);
    REQUIRE(rec);
    REQUIRE(rec->packet_id() == id);
    REQUIRE(ack_reason(*rec) < 0x80);
    REQUIRE(c.send(pkt::ack(pkt::PUBREL, id)));
    auto comp = c.read_until(pkt::PUBCOMP);
    REQUIRE(comp);
    REQUIRE(comp->packet_id() == id);
}

}  // namespace

TEST_CASE("MQTT 3.1.1: any number of QoS 2 PUBLISH may await PUBREL; MQTT 5 is bounded by Receive Maximum") {
    // 3.1.1 has no Receive Maximum: a client may send QoS 2 PUBLISHes back to back and release
    // them as their PUBRECs come (MQTT.js does). Roost used MQTT 5's bound for both and closed a
    // 3.1.1 client at the 33rd, with no way for it to know. 5.0 [MQTT-3.3.4-7], 4.9: past the
    // Receive Maximum the CONNACK announced, DISCONNECT 0x93.
    ROOST_ONLY();  // the 5.0 half is Roost's default max_inflight = 32
    Broker b;
    Subscriber sub(b, {"-V", "mqttv311", "-q", "2", "-t", "burst/t", "-C", "100", "-W", "20"});
    REQUIRE(sub.wait_subscribed());

    RawClient v4(b.port());
    auto ack = v4.handshake(pkt::conn(4, "burst311"));
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    Bytes burst;
    for (uint16_t id = 1; id <= 100; ++id)
        burst += pkt::publish("burst/t", std::to_string(id), 2, id);
    REQUIRE(v4.send(burst));
    for (uint16_t id = 1; id <= 100; ++id) {
        auto rec = v4.read_until(pkt::PUBREC);
        REQUIRE_MESSAGE(rec, "no PUBREC for packet id ", id, " (closed: ", v4.closed(), ")");
        CHECK(rec->packet_id() == id);
    }
    Bytes releases;
    for (uint16_t id = 1; id <= 100; ++id)
        releases += pkt::ack(pkt::PUBREL, id);
    REQUIRE(v4.send(releases));
    for (uint16_t id = 1; id <= 100; ++id) {
        auto comp = v4.read_until(pkt::PUBCOMP);
        REQUIRE(comp);
        CHECK(comp->packet_id() == id);
    }
    auto got = sub.finish();
    REQUIRE(got.size() == 100);
    for (size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == "burst/t|" + std::to_string(i + 1));

    RawClient v5(b.port());
    connect5(v5, "burst5", true);
    burst.clear();
    for (uint16_t id = 1; id <= 33; ++id)
        burst += pkt::publish("burst/t", "x", 2, id, false, 5);
    REQUIRE(v5.send(burst));
    std::vector<Packet> before;
    REQUIRE(v5.wait_closed(3s, &before));
    REQUIRE(before.size() == 33);  // 32 PUBRECs, then the DISCONNECT
    CHECK(before.back().raw == Bytes("\xe0\x01\x93", 3));
}

TEST_CASE("MQTT 5: a PUBREC of 0x80 or above frees its packet id at once (2.2.1, 4.3.3)") {
    // The publisher may use the id again as soon as it has the failed PUBREC. Roost kept the id
    // as "awaiting PUBREL", so the next QoS 2 PUBLISH with it passed for a resend: PUBREC 0x00,
    // PUBREL, PUBCOMP, and the message was never routed. Here the failure is 0x97 Quota exceeded
    // from queue_full_policy = "refuse".
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_queued_messages = 1", "queue_full_policy = \"refuse\""};
    Broker b(o);
    RawClient sub(b.port());
    connect5(sub, "refuse-sub", true, pkt::prop_u16(0x21, 1));  // Receive Maximum 1
    REQUIRE(sub.send(pkt::subscribe(1, "refuse/t", 1, 5)));
    REQUIRE(sub.read_until(pkt::SUBACK));

    RawClient pub(b.port());
    connect5(pub, "refuse-pub", true);
    publish_qos2(pub, "refuse/t", "m1", 1);  // to the subscriber, which does not acknowledge it
    auto m1 = sub.read_until(pkt::PUBLISH);
    REQUIRE(m1);
    CHECK(m1->publish_payload(5) == "m1");
    publish_qos2(pub, "refuse/t", "m2", 2);  // queued: the subscriber's window is full
    REQUIRE(pub.send(pkt::publish("refuse/t", "m3", 2, 3, false, 5)));
    auto refused = pub.read_until(pkt::PUBREC);
    REQUIRE(refused);
    CHECK(refused->packet_id() == 3);
    CHECK(ack_reason(*refused) == 0x97);  // the queue is full: the flow ends here, no PUBREL

    // The subscriber takes m1 and m2: its queue is empty again.
    REQUIRE(sub.send(pkt::ack(pkt::PUBACK, m1->packet_id_after_topic())));
    auto m2 = sub.read_until(pkt::PUBLISH);
    REQUIRE(m2);
    CHECK(m2->publish_payload(5) == "m2");
    REQUIRE(sub.send(pkt::ack(pkt::PUBACK, m2->packet_id_after_topic())));

    // Packet id 3 again, a new message (DUP 0): routed like any other.
    publish_qos2(pub, "refuse/t", "m4", 3);
    auto m4 = sub.read_until(pkt::PUBLISH, 2s);
    REQUIRE_MESSAGE(m4, "the PUBLISH reusing packet id 3 was not routed");
    CHECK(m4->publish_payload(5) == "m4");
}

TEST_CASE(
    "MQTT 5: a shared QoS 2 delivery cut off by a disconnect stays with its member (4.8.2-4, 4.8.2-5)") {
    // Roost gave the in-flight QoS 2 message to another member of the group as soon as the
    // connection broke, so the message could arrive twice (the first member had the PUBLISH),
    // and went to another client even when the member's session ended. QoS 1 may go elsewhere
    // at once (a MAY in 4.8.2), and still does.
    ROOST_ONLY();
    Broker b;
    for (bool session_ends : {false, true}) {
        CAPTURE(session_ends);
        const std::string tag = session_ends ? "end" : "keep";
        const std::string topic = "jobs/" + tag;
        const std::string filter = "$share/workers/" + topic;
        const Bytes expiry = session_ends ? Bytes() : pkt::prop_u32(0x11, 300);
        RawClient a(b.port()), other(b.port());
        connect5(a, "member-a-" + tag, true, expiry);
        connect5(other, "member-b-" + tag, true, expiry);
        REQUIRE(a.send(pkt::subscribe(1, filter, 2, 5)));
        REQUIRE(a.read_until(pkt::SUBACK));
        REQUIRE(other.send(pkt::subscribe(1, filter, 2, 5)));
        REQUIRE(other.read_until(pkt::SUBACK));

        RawClient pub(b.port());
        connect5(pub, "jobs-pub-" + tag, true);
        publish_qos2(pub, topic, "job-" + tag, 1);
        // Round robin: one of the two has it. That one goes away without a PUBREC.
        std::optional<Packet> got = a.read_until(pkt::PUBLISH, 1s);
        RawClient* chosen = &a;
        RawClient* rest = &other;
        std::string chosen_id = "member-a-" + tag;
        if (!got) {
            got = other.read_until(pkt::PUBLISH, 1s);
            std::swap(chosen, rest);
            chosen_id = "member-b-" + tag;
        }
        REQUIRE(got);
        CHECK(((got->flags >> 1) & 3) == 2);
        size_t mark = b.log().size();
        chosen->close();
        REQUIRE(b.wait_log({"disconnected"}, 3s, mark));

        auto elsewhere = rest->read_until(pkt::PUBLISH, 1500ms);
        CHECK_MESSAGE(!elsewhere, "the QoS 2 message went to the other member too");

        if (!session_ends) {
            RawClient back(b.port());
            pkt::Connect cc = pkt::conn(5, chosen_id, false);
            cc.properties = pkt::prop_u8(0x17, 0) + expiry;
            auto ack = back.handshake(cc);
            REQUIRE(ack);
            CHECK((uint8_t(ack->body[0]) & 1) == 1);  // session present
            auto again = back.read_until(pkt::PUBLISH);
            REQUIRE_MESSAGE(again, "the QoS 2 message was not resent to its member");
            CHECK(again->publish_payload(5) == "job-" + tag);
            CHECK((again->flags & 0x08) != 0);  // DUP
            CHECK(((again->flags >> 1) & 3) == 2);
            CHECK(again->packet_id_after_topic() == got->packet_id_after_topic());
        }
    }
}

TEST_CASE(
    "a resumed session gets its unacknowledged PUBLISHes in the order first sent, across the packet id "
    "wrap") {
    // [MQTT-4.6.0-1] (3.1.1 and 5.0), 4.4. Roost resent them in packet id order, so after the
    // ids wrapped past 65535 the message sent last (id 1) went first.
    ROOST_ONLY();
    Broker b;
    RawClient sub(b.port());
    const Bytes expiry = pkt::prop_u32(0x11, 300);
    connect5(sub, "wrap-sub", true, expiry);
    REQUIRE(sub.send(pkt::subscribe(1, "wrap/t", 1, 5)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    RawClient pub(b.port());
    connect5(pub, "wrap-pub", true);

    // Packet ids 1 to 65532 to the subscriber, each acknowledged, in rounds of 30 (under the
    // broker's Receive Maximum of 32 towards the publisher).
    const int kAcked = 65532;
    for (int sent = 0; sent < kAcked;) {
        const int round = std::min(30, kAcked - sent);
        Bytes batch;
        for (int i = 0; i < round; ++i)
            batch += pkt::publish("wrap/t", "", 1, uint16_t(i + 1), false, 5);
        REQUIRE(pub.send(batch));
        Bytes acks;
        for (int i = 0; i < round; ++i) {
            auto p = sub.read_until(pkt::PUBLISH);
            REQUIRE(p);
            acks += pkt::ack(pkt::PUBACK, p->packet_id_after_topic());
        }
        REQUIRE(sub.send(acks));
        for (int i = 0; i < round; ++i)
            REQUIRE(pub.read_until(pkt::PUBACK));
        sent += round;
    }
    // Four more, not acknowledged: ids 65533, 65534, 65535 and then 1.
    const std::vector<std::string> last = {"a", "b", "c", "d"};
    for (size_t i = 0; i < last.size(); ++i) {
        REQUIRE(pub.send(pkt::publish("wrap/t", last[i], 1, uint16_t(i + 1), false, 5)));
        REQUIRE(pub.read_until(pkt::PUBACK));
    }
    std::vector<uint16_t> ids;
    for (size_t i = 0; i < last.size(); ++i) {
        auto p = sub.read_until(pkt::PUBLISH);
        REQUIRE(p);
        CHECK(p->publish_payload(5) == last[i]);
        ids.push_back(p->packet_id_after_topic());
    }
    REQUIRE(ids == std::vector<uint16_t>{65533, 65534, 65535, 1});
    sub.close();
    settle(300ms);

    RawClient back(b.port());
    pkt::Connect cc = pkt::conn(5, "wrap-sub", false);
    cc.properties = pkt::prop_u8(0x17, 0) + expiry;
    auto ack = back.handshake(cc);
    REQUIRE(ack);
    CHECK((uint8_t(ack->body[0]) & 1) == 1);
    for (size_t i = 0; i < last.size(); ++i) {
        auto p = back.read_until(pkt::PUBLISH);
        REQUIRE(p);
        CHECK(p->publish_payload(5) == last[i]);
        CHECK(p->packet_id_after_topic() == ids[i]);
        CHECK((p->flags & 0x08) != 0);  // DUP
    }
}

TEST_CASE("MQTT 5: a refusing CONNACK respects the client's Maximum Packet Size (3.1.2-24, 3.1.2-25)") {
    // The limit holds for every packet the broker sends, the CONNACK included: its Reason String
    // is what goes. Roost learned the limit only once the CONNECT was accepted, so a refusal
    // went out with its full Reason String (82 bytes to a client that takes 16).
    ROOST_ONLY();  // the refusal is Roost's: a control character in the client id
    Broker b;
    RawClient c(b.port());
    pkt::Connect cc = pkt::conn(5, std::string("bad\x01id"));
    cc.properties = pkt::prop_u32(0x27, 16);  // Maximum Packet Size 16
    REQUIRE(c.send(pkt::connect(cc)));
    std::vector<Packet> before;
    REQUIRE(c.wait_closed(3s, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].raw == Bytes("\x20\x03\x00\x85\x00", 5));  // 0x85, no properties

    // Accepted, it is told the same way later: a DISCONNECT without its Reason String.
    RawClient ok(b.port());
    cc = pkt::conn(5, "small-packets");
    cc.properties = pkt::prop_u32(0x27, 16);
    auto ack = ok.handshake(cc);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    REQUIRE(ok.send(pkt::publish("a/+", "x", 0, 0, false, 5)));  // a wildcard: Malformed Packet
    before.clear();
    REQUIRE(ok.wait_closed(3s, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].raw == Bytes("\xe0\x01\x81", 3));
}

TEST_CASE("a Variable Byte Integer not in the fewest bytes is a Malformed Packet (1.5.5-1)") {
    // 0 as 0x80 0x00, 1 as 0x81 0x00: a second encoding of a value, which the spec forbids.
    // Roost read them as the value, in the remaining length, property lengths and values.
    ROOST_ONLY();
    Broker b;
    auto expect_malformed = [&](const Bytes& bytes, const char* what) {
        CAPTURE(what);
        RawClient c(b.port());
        connect5(c, "vbi", true);
        REQUIRE(c.send(bytes));
        std::vector<Packet> before;
        REQUIRE(c.wait_closed(3s, &before));
        REQUIRE(before.size() == 1);
        CHECK(before[0].raw == Bytes("\xe0\x01\x81", 3));
    };
    expect_malformed(Bytes("\xc0\x80\x00", 3), "PINGREQ, remaining length 0 in two bytes");
    expect_malformed(pkt::packet(0x30, pkt::str("vbi/t") + Bytes("\x80\x00", 2) + "x"),
                     "PUBLISH, property length 0 in two bytes");
    expect_malformed(
        pkt::packet(0x82, pkt::u16(1) + Bytes("\x03\x0b\x81\x00", 4) + pkt::str("vbi/t") + Bytes(1, '\0')),
        "SUBSCRIBE, Subscription Identifier 1 in two bytes");

    // CONNECT, property length 0 in two bytes: CONNACK 0x81 Malformed Packet.
    RawClient c(b.port());
    REQUIRE(c.send(
        pkt::packet(0x10, pkt::str("MQTT") + Bytes("\x05\x02\x00\x3c\x80\x00", 6) + pkt::str("vbi-c"))));
    std::vector<Packet> before;
    REQUIRE(c.wait_closed(3s, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].type == pkt::CONNACK);
    CHECK(before[0].reason() == 0x81);

    // MQTT 3.1.1: the connection is closed, nothing sent.
    RawClient v4(b.port());
    REQUIRE(v4.handshake(pkt::conn(4, "vbi-311")));
    REQUIRE(v4.send(Bytes("\xc0\x80\x00", 3)));
    before.clear();
    REQUIRE(v4.wait_closed(3s, &before));
    CHECK(before.empty());

    // The smallest value of each length still passes: a PUBLISH of remaining length 128.
    RawClient sub(b.port());
    connect5(sub, "vbi-sub", true);
    REQUIRE(sub.send(pkt::subscribe(1, "vbi/t", 0, 5)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    RawClient pub(b.port());
    connect5(pub, "vbi-pub", true);
    const std::string payload(128 - 2 - 5 - 1, 'p');
    const Bytes publish = pkt::publish("vbi/t", payload, 0, 0, false, 5);
    REQUIRE(publish.substr(1, 2) == Bytes("\x80\x01", 2));
    REQUIRE(pub.send(publish));
    auto got = sub.read_until(pkt::PUBLISH);
    REQUIRE(got);
    CHECK(got->publish_payload(5) == payload);
}
