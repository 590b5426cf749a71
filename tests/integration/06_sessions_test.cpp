// 06 sessions: persistent sessions (3.1.1 cleansession=0, MQTT 5 session expiry) queue QoS 1/2
// messages while the client is away and deliver each exactly once on reconnect; in-flight QoS 2
// flows resume across a reconnect; clean sessions and expired sessions start empty.
#include <doctest/doctest.h>

#include <algorithm>

#include "harness.hpp"
#include "paho.hpp"

using namespace roost_it;

namespace {

// Publishes n QoS 1 and n QoS 2 messages with a separate Paho client.
void publish_batch(const Broker& b, int version, int n) {
    Paho pub(b.port(), "session-publisher", version);
    REQUIRE(pub.connect(true).rc == 0);
    for (int i = 0; i < n; ++i) {
        REQUIRE(pub.publish("sess/q1", "one-" + std::to_string(i), 1) == 0);
        REQUIRE(pub.publish("sess/q2", "two-" + std::to_string(i), 2) == 0);
    }
    pub.disconnect();
}

void check_batch(const std::vector<PahoMessage>& msgs, int n) {
    std::vector<std::string> q1, q2;
    for (auto& m : msgs) {
        if (m.topic == "sess/q1") {
            CHECK(m.qos == 1);
            q1.push_back(m.payload);
        } else if (m.topic == "sess/q2") {
            CHECK(m.qos == 2);
            q2.push_back(m.payload);
        } else {
            FAIL_CHECK("unexpected topic " << m.topic);
        }
    }
    REQUIRE(q1.size() == size_t(n));
    REQUIRE(q2.size() == size_t(n));
    for (int i = 0; i < n; ++i) {  // each exactly once, and in order per topic
        CHECK(q1[size_t(i)] == "one-" + std::to_string(i));
        CHECK(q2[size_t(i)] == "two-" + std::to_string(i));
    }
}

void offline_queue_round_trip(int version, uint32_t expiry) {
    Broker b;
    const int n = 10;
    {
        Paho c(b.port(), "persistent-" + std::to_string(version), version);
        auto first = c.connect(false, expiry);
        REQUIRE(first.rc == 0);
        CHECK_FALSE(first.session_present);
        REQUIRE(c.subscribe("sess/q1", 1) == 1);
        REQUIRE(c.subscribe("sess/q2", 2) == 2);
        REQUIRE(c.disconnect() == 0);
    }
    publish_batch(b, version, n);
    Paho c(b.port(), "persistent-" + std::to_string(version), version);
    auto again = c.connect(false, expiry);
    REQUIRE(again.rc == 0);
    if (version == MQTTVERSION_3_1_1) CHECK(again.session_present);
    check_batch(c.receive_all(1500ms), n);
    // And the subscriptions are still there for new messages.
    publish_batch(b, version, 1);
    check_batch(c.receive_all(1000ms), 1);
}

}  // namespace

TEST_CASE("MQTT 3.1.1 persistent session: queued QoS 1 and 2 delivered once, session present") {
    offline_queue_round_trip(MQTTVERSION_3_1_1, 0);
}

TEST_CASE("MQTT 5 session with expiry: queued QoS 1 and 2 delivered once, session present") {
    offline_queue_round_trip(MQTTVERSION_5, 300);
}

TEST_CASE("MQTT 5 raw: session present 1 after reconnect within the session expiry, 0 with clean start") {
    Broker b;
    Bytes expiry = pkt::prop_u32(0x11, 60);  // Session Expiry Interval
    auto connect = [&](bool clean) {
        pkt::Connect c = pkt::conn(5, "raw-session", clean);
        c.properties = expiry;
        return c;
    };
    {
        RawClient c(b.port());
        auto ack = c.handshake(connect(false));
        REQUIRE(ack);
        CHECK((uint8_t(ack->body[0]) & 1) == 0);
        REQUIRE(c.send(pkt::subscribe(1, "raw/session", 1, 5)));
        REQUIRE(c.read_until(pkt::SUBACK));
        c.send(pkt::disconnect(5));
    }
    {
        RawClient c(b.port());
        auto ack = c.handshake(connect(false));
        REQUIRE(ack);
        CHECK((uint8_t(ack->body[0]) & 1) == 1);
        c.send(pkt::disconnect(5));
    }
    RawClient c(b.port());
    auto ack = c.handshake(connect(true));
    REQUIRE(ack);
    CHECK((uint8_t(ack->body[0]) & 1) == 0);
}

TEST_CASE("a clean session starts without subscriptions or queued messages") {
    Broker b;
    {
        Paho c(b.port(), "clean-later", MQTTVERSION_3_1_1);
        REQUIRE(c.connect(false).rc == 0);
        REQUIRE(c.subscribe("sess/q1", 1) == 1);
        c.disconnect();
    }
    publish_batch(b, MQTTVERSION_3_1_1, 2);
    Paho c(b.port(), "clean-later", MQTTVERSION_3_1_1);
    auto r = c.connect(true);
    REQUIRE(r.rc == 0);
    CHECK_FALSE(r.session_present);
    CHECK(c.receive_all(700ms).empty());
}

TEST_CASE("MQTT 5 session expiry 1 s: gone after 2 s, session present 0") {
    Broker b;
    {
        Paho c(b.port(), "short-lived", MQTTVERSION_5);
        REQUIRE(c.connect(false, 1).rc == 0);
        REQUIRE(c.subscribe("sess/q1", 1) == 1);
        c.disconnect();
    }
    settle(2500ms);
    publish_batch(b, MQTTVERSION_5, 1);
    Paho c(b.port(), "short-lived", MQTTVERSION_5);
    auto r = c.connect(false, 1);
    REQUIRE(r.rc == 0);
    CHECK_FALSE(r.session_present);
    CHECK(c.receive_all(700ms).empty());
}

TEST_CASE("QoS 2 outbound in flight across a reconnect: unacknowledged PUBLISH resent with DUP") {
    Broker b;
    RawClient sub(b.port());
    REQUIRE(sub.handshake(pkt::conn(4, "inflight-a", false)));
    REQUIRE(sub.send(pkt::subscribe(1, "inflight/a", 2)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    REQUIRE(run(pub_args(b, {"-q", "2", "-t", "inflight/a", "-m", "resume-me"})).exit_code == 0);
    auto p = sub.read_until(pkt::PUBLISH);
    REQUIRE(p);
    uint16_t id = p->packet_id_after_topic();
    sub.close();  // no PUBREC: the broker must resend the PUBLISH

    RawClient again(b.port());
    auto ack = again.handshake(pkt::conn(4, "inflight-a", false));
    REQUIRE(ack);
    CHECK((uint8_t(ack->body[0]) & 1) == 1);  // session present
    auto resent = again.read_until(pkt::PUBLISH);
    REQUIRE(resent);
    CHECK(resent->packet_id_after_topic() == id);
    CHECK((resent->flags & 0x08) != 0);  // DUP
    CHECK(resent->publish_payload(4) == "resume-me");
    REQUIRE(again.send(pkt::ack(pkt::PUBREC, id)));
    auto rel = again.read_until(pkt::PUBREL);
    REQUIRE(rel);
    CHECK(rel->packet_id() == id);
    REQUIRE(again.send(pkt::ack(pkt::PUBCOMP, id)));
    CHECK_FALSE(again.read_packet(700ms));
}

TEST_CASE("QoS 2 outbound in flight across a reconnect: PUBREL resent, no second PUBLISH") {
    Broker b;
    RawClient sub(b.port());
    REQUIRE(sub.handshake(pkt::conn(4, "inflight-b", false)));
    REQUIRE(sub.send(pkt::subscribe(1, "inflight/b", 2)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    REQUIRE(run(pub_args(b, {"-q", "2", "-t", "inflight/b", "-m", "once"})).exit_code == 0);
    auto p = sub.read_until(pkt::PUBLISH);
    REQUIRE(p);
    uint16_t id = p->packet_id_after_topic();
    REQUIRE(sub.send(pkt::ack(pkt::PUBREC, id)));
    REQUIRE(sub.read_until(pkt::PUBREL));
    sub.close();  // no PUBCOMP: the broker must resend the PUBREL, not the PUBLISH

    RawClient again(b.port());
    REQUIRE(again.handshake(pkt::conn(4, "inflight-b", false)));
    auto next = again.read_packet();
    REQUIRE(next);
    CHECK(next->type == pkt::PUBREL);
    CHECK(next->packet_id() == id);
    REQUIRE(again.send(pkt::ack(pkt::PUBCOMP, id)));
    CHECK_FALSE(again.read_packet(700ms));
}

TEST_CASE("QoS 2 inbound in flight across a reconnect: PUBREL after reconnect completes, one delivery") {
    Broker b;
    Subscriber watcher(b, {"-q", "2", "-t", "inflight/c", "-W", "4"});
    REQUIRE(watcher.wait_subscribed());
    {
        RawClient pub(b.port());
        REQUIRE(pub.handshake(pkt::conn(4, "inflight-pub", false)));
        REQUIRE(pub.send(pkt::publish("inflight/c", "in", 2, 9)));
        auto rec = pub.read_packet();
        REQUIRE(rec);
        CHECK(rec->type == pkt::PUBREC);
    }  // closed before PUBREL
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "inflight-pub", false)));
    REQUIRE(pub.send(pkt::ack(pkt::PUBREL, 9)));
    auto comp = pub.read_until(pkt::PUBCOMP);
    REQUIRE(comp);
    CHECK(comp->packet_id() == 9);
    pub.send(pkt::disconnect());
    CHECK(watcher.finish() == std::vector<std::string>{"inflight/c|in"});
}

TEST_CASE("QoS 1 and 2 in flight are resent on resume even after their Message Expiry passed") {
    // MQTT-3.3.2-5, MQTT-4.3.3-7, MQTT-4.4.0-1: expiry stops a message that has not started
    // onward delivery, never one already sent and unacknowledged. The resent copy says its
    // lifetime is over with the least positive interval, 1 s (see Client::send_publish).
    ROOST_ONLY();  // Mosquitto 2.0.11 gets it wrong: it drops expired messages it had in flight
    Broker b;
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        const std::string id = "expired-inflight-" + std::to_string(version);
        const std::string topic = "inflight/expiry/" + std::to_string(version);
        pkt::Connect cc = pkt::conn(version, id, false);
        if (version == 5) cc.properties = pkt::prop_u32(0x11, 300);  // session expiry 300 s
        RawClient sub(b.port());
        REQUIRE(sub.handshake(cc));
        REQUIRE(sub.send(pkt::subscribe(1, topic, 2, version)));
        REQUIRE(sub.read_until(pkt::SUBACK));

        RawClient pub(b.port());
        REQUIRE(pub.handshake(pkt::conn(5, "expiry-publisher-" + std::to_string(version))));
        const Bytes expiry1 = pkt::prop_u32(0x02, 1);  // Message Expiry Interval 1 s
        REQUIRE(pub.send(pkt::publish(topic, "q1", 1, 1, false, 5, expiry1)));
        REQUIRE(pub.read_until(pkt::PUBACK));
        REQUIRE(pub.send(pkt::publish(topic, "q2", 2, 2, false, 5, expiry1)));
        REQUIRE(pub.read_until(pkt::PUBREC));
        REQUIRE(pub.send(pkt::ack(pkt::PUBREL, 2)));
        REQUIRE(pub.read_until(pkt::PUBCOMP));

        auto first = sub.read_until(pkt::PUBLISH);
        auto second = sub.read_until(pkt::PUBLISH);
        REQUIRE(first);
        REQUIRE(second);
        const uint16_t id1 = first->packet_id_after_topic(), id2 = second->packet_id_after_topic();
        sub.close();     // no PUBACK, no PUBREC
        settle(2200ms);  // both messages' expiry passes while the client is away

        RawClient again(b.port());
        auto ack = again.handshake(cc);
        REQUIRE(ack);
        CHECK((uint8_t(ack->body[0]) & 1) == 1);  // session present
        // Sent again, in order, DUP set, same packet ids; MQTT 5 gets Message Expiry Interval 1.
        const Bytes props = version == 5 ? expiry1 : Bytes();
        Bytes want1 = pkt::publish(topic, "q1", 1, id1, false, version, props);
        Bytes want2 = pkt::publish(topic, "q2", 2, id2, false, version, props);
        want1[0] = char(uint8_t(want1[0]) | 0x08);
        want2[0] = char(uint8_t(want2[0]) | 0x08);
        auto r1 = again.read_packet();
        auto r2 = again.read_packet();
        REQUIRE(r1);
        REQUIRE(r2);
        CHECK(r1->raw == want1);
        CHECK(r2->raw == want2);
        REQUIRE(again.send(pkt::ack(pkt::PUBACK, id1)));
        REQUIRE(again.send(pkt::ack(pkt::PUBREC, id2)));
        auto rel = again.read_until(pkt::PUBREL);
        REQUIRE(rel);
        CHECK(rel->raw == Bytes("\x62\x02", 2) + pkt::u16(id2));
        REQUIRE(again.send(pkt::ack(pkt::PUBCOMP, id2)));
        CHECK_FALSE(again.read_packet(500ms));
        REQUIRE(again.send(pkt::disconnect(version)));
    }
}

TEST_CASE("a queued message whose expiry passed before it was sent is dropped, not delivered") {
    // The other side of the rule above (MQTT-3.3.2-5): never sent, so it expires.
    Broker b;
    pkt::Connect cc = pkt::conn(5, "expired-queued", false);
    cc.properties = pkt::prop_u32(0x11, 300);
    {
        RawClient sub(b.port());
        REQUIRE(sub.handshake(cc));
        REQUIRE(sub.send(pkt::subscribe(1, "queued/expiry", 1, 5)));
        REQUIRE(sub.read_until(pkt::SUBACK));
        REQUIRE(sub.send(pkt::disconnect(5)));
        CHECK(sub.wait_closed(3s));
    }
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(5, "expiry-publisher")));
    REQUIRE(pub.send(pkt::publish("queued/expiry", "gone", 1, 1, false, 5, pkt::prop_u32(0x02, 1))));
    REQUIRE(pub.read_until(pkt::PUBACK));
    REQUIRE(pub.send(pkt::publish("queued/expiry", "kept", 1, 2, false, 5)));
    REQUIRE(pub.read_until(pkt::PUBACK));
    settle(2200ms);
    RawClient again(b.port());
    REQUIRE(again.handshake(cc));
    auto p = again.read_packet();
    REQUIRE(p);
    CHECK(p->raw == pkt::publish("queued/expiry", "kept", 1, p->packet_id_after_topic(), false, 5));
    REQUIRE(again.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
    CHECK_FALSE(again.read_packet(500ms));
}

// A clean session that needed no Session object yet (broker.hpp, "Sessions made when needed")
// behaves as one that had it: a takeover with clean session 0 finds it, and a DISCONNECT cannot
// give it an expiry.
TEST_CASE(
    "idle clean session: taken over with clean session 0 says session present; no expiry at DISCONNECT") {
    ROOST_ONLY();
    Broker b;
    RawClient first(b.port());
    REQUIRE(first.handshake(pkt::conn(4, "idle-clean-311")));
    RawClient second(b.port());
    auto ack = second.handshake(pkt::conn(4, "idle-clean-311", false));
    REQUIRE(ack);
    CHECK((uint8_t(ack->body[0]) & 1) == 1);  // session present
    CHECK(first.wait_closed());

    RawClient v5(b.port());
    REQUIRE(v5.handshake(pkt::conn(5, "idle-clean-v5")));
    // DISCONNECT, reason 0, Session Expiry Interval 60 after CONNECT's 0: a protocol error (0x82).
    REQUIRE(v5.send(std::string("\xE0\x07\x00\x05\x11\x00\x00\x00\x3C", 9)));
    auto d = v5.read_until(pkt::DISCONNECT);
    REQUIRE(d);
    CHECK(d->reason() == 0x82);
}
