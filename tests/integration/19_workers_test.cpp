// Two workers: what crosses from one to the other. Worker 0 accepts and hands connections out in
// turn (0, 1, 0, 1, ...), so on a fresh broker the first connection lands on worker 0, the second
// on worker 1, and so on: each case below puts its parties on different workers on purpose.
// Every other integration test also runs with two workers (the _w2 variants); these check the
// cross-worker rules themselves.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <thread>

#include "harness.hpp"

using namespace roost_it;

namespace {
BrokerOptions two_workers() {
    BrokerOptions o;
    o.broker = {"workers = 2"};
    return o;
}

// CONNECT and CONNACK; returns the CONNACK.
Packet connect(RawClient& c, pkt::Connect how) {
    REQUIRE(c.send(pkt::connect(how)));
    auto ack = c.read_until(pkt::CONNACK);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    return *ack;
}

void subscribe(RawClient& c, std::string_view filter, uint8_t qos, uint8_t version) {
    REQUIRE(c.send(pkt::subscribe(1, filter, qos, version)));
    REQUIRE(c.read_until(pkt::SUBACK));
}

// A v5 CONNECT keeping its session for an hour.
pkt::Connect persistent_v5(std::string id) {
    pkt::Connect how = pkt::conn(5, std::move(id), false);
    how.properties = pkt::prop_u32(0x11, 3600);
    return how;
}
}  // namespace

TEST_CASE("takeover across workers: DISCONNECT 0x8E to the old, session present to the new") {
    ROOST_ONLY();
    Broker b(two_workers());
    RawClient old_conn(b.port());  // worker 0
    pkt::Connect how = persistent_v5("roamer");
    how.will = pkt::Will{"wills/roamer", "gone", 0, false, {}};
    connect(old_conn, how);
    subscribe(old_conn, "roam/#", 1, 5);

    RawClient watcher(b.port());  // worker 1
    connect(watcher, pkt::conn(5, "watcher"));
    subscribe(watcher, "wills/#", 0, 5);

    // Connections alternate 0, 1, 0, 1: the third (worker 0) idles so that the taker, the
    // fourth, lands on worker 1 while the session lives on worker 0.
    RawClient idle(b.port());
    RawClient taker2(b.port());
    Packet ack = connect(taker2, persistent_v5("roamer"));
    CHECK((ack.body[0] & 1) == 1);  // session present: it came from the other worker
    // The old connection hears why it goes (MQTT 5 3.14.2.1: 0x8E Session taken over).
    auto d = old_conn.read_until(pkt::DISCONNECT);
    REQUIRE(d);
    CHECK(d->reason() == 0x8E);
    // The log names the new connection (it said "the connection from another worker").
    CHECK_MESSAGE(b.wait_log({"client 'roamer': session taken over by the connection from 127.0.0.1:"}),
                  b.log());
    CHECK_MESSAGE(b.log_contains(" on worker "), b.log());
    // Its will had no delay: a takeover publishes it (spec 3.1.4-3).
    auto will = watcher.read_until(pkt::PUBLISH);
    REQUIRE(will);
    CHECK(will->publish_topic() == "wills/roamer");
    // The subscription travelled with the session: a message published on worker 0 reaches it.
    RawClient pub(b.port());
    connect(pub, pkt::conn(5, "pub-roam"));
    REQUIRE(pub.send(pkt::publish("roam/1", "after", 1, 7, false, 5)));
    REQUIRE(pub.read_until(pkt::PUBACK));
    auto got = taker2.read_until(pkt::PUBLISH);
    REQUIRE(got);
    CHECK(got->publish_payload(5) == "after");
}

TEST_CASE("takeover across workers keeps queued QoS 1 messages, each delivered once") {
    ROOST_ONLY();
    Broker b(two_workers());
    {
        RawClient sub(b.port());  // worker 0
        connect(sub, pkt::conn(4, "keeper", false));
        subscribe(sub, "keep/#", 1, 4);
        REQUIRE(sub.send(pkt::disconnect(4)));
        CHECK(sub.wait_closed());
    }
    RawClient pub(b.port());  // worker 1
    connect(pub, pkt::conn(4, "keep-pub"));
    for (int i = 0; i < 20; ++i) {
        REQUIRE(pub.send(pkt::publish("keep/x", std::to_string(i), 1, static_cast<uint16_t>(i + 1))));
        REQUIRE(pub.read_until(pkt::PUBACK));
    }
    RawClient filler(b.port());  // worker 0
    RawClient sub(b.port());     // worker 1: the session moves from worker 0
    Packet ack = connect(sub, pkt::conn(4, "keeper", false));
    CHECK((ack.body[0] & 1) == 1);
    for (int i = 0; i < 20; ++i) {
        auto p = sub.read_until(pkt::PUBLISH);
        REQUIRE(p);
        CHECK(p->publish_payload(4) == std::to_string(i));
        REQUIRE(sub.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
    }
    CHECK_FALSE(sub.read_until(pkt::PUBLISH, 300ms));
    (void)filler;
}

TEST_CASE("QoS 2 across workers: in order, each exactly once") {
    Broker b(two_workers());
    RawClient sub(b.port());  // worker 0
    connect(sub, pkt::conn(4, "q2-sub"));
    subscribe(sub, "q2/#", 2, 4);
    RawClient pub(b.port());  // worker 1
    connect(pub, pkt::conn(4, "q2-pub"));
    constexpr int kCount = 300;
    for (int i = 0; i < kCount; ++i) {
        REQUIRE(pub.send(pkt::publish("q2/t", std::to_string(i), 2, static_cast<uint16_t>(i + 1))));
        auto rec = pub.read_until(pkt::PUBREC);
        REQUIRE(rec);
        REQUIRE(pub.send(pkt::ack(pkt::PUBREL, rec->packet_id())));
        REQUIRE(pub.read_until(pkt::PUBCOMP));
    }
    std::vector<std::string> got;
    while (got.size() < static_cast<size_t>(kCount)) {
        auto p = sub.read_packet(3s);
        REQUIRE(p);
        if (p->type == pkt::PUBLISH) {
            got.push_back(p->publish_payload(4));
            REQUIRE(sub.send(pkt::ack(pkt::PUBREC, p->packet_id_after_topic())));
        } else if (p->type == pkt::PUBREL) {
            REQUIRE(sub.send(pkt::ack(pkt::PUBCOMP, p->packet_id())));
        }
    }
    for (int i = 0; i < kCount; ++i)
        CHECK(got[static_cast<size_t>(i)] == std::to_string(i));
    CHECK_FALSE(sub.read_until(pkt::PUBLISH, 300ms));
}

TEST_CASE("a shared group balances over members on both workers") {
    Broker b(two_workers());
    RawClient m1(b.port());  // worker 0
    connect(m1, pkt::conn(5, "member-1"));
    subscribe(m1, "$share/g/jobs/#", 0, 5);
    RawClient m2(b.port());  // worker 1
    connect(m2, pkt::conn(5, "member-2"));
    subscribe(m2, "$share/g/jobs/#", 0, 5);
    RawClient pub(b.port());
    connect(pub, pkt::conn(5, "jobs-pub"));
    for (int i = 0; i < 20; ++i)
        REQUIRE(pub.send(pkt::publish("jobs/x", std::to_string(i), 0, 0, false, 5)));
    std::set<std::string> seen;
    int n1 = 0, n2 = 0;
    for (RawClient* m : {&m1, &m2}) {
        while (auto p = m->read_until(pkt::PUBLISH, 500ms)) {
            CHECK(seen.insert(p->publish_payload(5)).second);  // never to both
            (m == &m1 ? n1 : n2)++;
        }
    }
    CHECK(seen.size() == 20);
    CHECK(n1 == 10);  // round robin, both online
    CHECK(n2 == 10);
}

TEST_CASE("$SYS counts clients and messages of both workers") {
    ROOST_ONLY();
    Broker b(two_workers());
    RawClient a(b.port());  // worker 0
    connect(a, pkt::conn(4, "sys-a"));
    RawClient c(b.port());  // worker 1
    connect(c, pkt::conn(4, "sys-c"));
    for (int i = 0; i < 5; ++i) {
        REQUIRE(a.send(pkt::publish("sys/x", "a")));
        REQUIRE(c.send(pkt::publish("sys/x", "c")));
    }
    std::this_thread::sleep_for(200ms);
    RawClient watcher(b.port());
    connect(watcher, pkt::conn(4, "sys-watch"));
    subscribe(watcher, "$SYS/broker/#", 0, 4);
    std::map<std::string, std::string> values;
    auto deadline = std::chrono::steady_clock::now() + 4s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto p = watcher.read_until(pkt::PUBLISH, 1s);
        if (!p) continue;
        values[p->publish_topic()] = p->publish_payload(4);
        if (values.count("$SYS/broker/messages/received") &&
            std::stoi(values["$SYS/broker/messages/received"]) >= 10 &&
            values.count("$SYS/broker/clients/connected") && values["$SYS/broker/clients/connected"] == "3")
            break;
    }
    REQUIRE(values.count("$SYS/broker/messages/received"));
    CHECK(std::stoi(values["$SYS/broker/messages/received"]) >= 10);
    CHECK(values["$SYS/broker/clients/connected"] == "3");
}

// Spec 4.6: order holds per topic and QoS (a QoS 0 message may overtake QoS 1 ones that wait
// for the receive window), so each QoS has its own topic here.
TEST_CASE("order per publisher across workers, QoS 0 and 1, to subscribers on both workers") {
    Broker b(two_workers());
    RawClient s0(b.port());  // worker 0
    connect(s0, pkt::conn(4, "ord-0"));
    subscribe(s0, "ord/#", 1, 4);
    RawClient s1(b.port());  // worker 1
    connect(s1, pkt::conn(4, "ord-1"));
    subscribe(s1, "ord/#", 1, 4);
    RawClient pub(b.port());  // worker 0
    connect(pub, pkt::conn(4, "ord-pub"));
    constexpr int kCount = 500;
    for (int i = 0; i < kCount; ++i)
        REQUIRE(pub.send(pkt::publish(i % 2 ? "ord/q1" : "ord/q0", std::to_string(i),
                                      static_cast<uint8_t>(i % 2), static_cast<uint16_t>(i % 2 ? i : 0))));
    for (RawClient* s : {&s0, &s1}) {
        int next[2] = {0, 1};
        for (int n = 0; n < kCount; ++n) {
            auto p = s->read_until(pkt::PUBLISH);
            REQUIRE(p);
            int qos = p->flags >> 1 & 3;
            REQUIRE(p->publish_payload(4) == std::to_string(next[qos]));
            next[qos] += 2;
            if (qos == 1) REQUIRE(s->send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
        }
    }
}

TEST_CASE("a shared member that leaves: its unacknowledged QoS 1 messages go to the other member") {
    ROOST_ONLY();  // spec 4.8.2 says SHOULD; Mosquitto 2.0.11 keeps them for the member's return
    Broker b(two_workers());
    auto m1 = std::make_unique<RawClient>(b.port());  // worker 0
    connect(*m1, pkt::conn(5, "leaver"));
    subscribe(*m1, "$share/g/work/#", 1, 5);
    RawClient m2(b.port());  // worker 1
    connect(m2, pkt::conn(5, "stayer"));
    subscribe(m2, "$share/g/work/#", 1, 5);
    RawClient pub(b.port());
    connect(pub, pkt::conn(5, "work-pub"));
    for (int i = 0; i < 6; ++i) {
        REQUIRE(
            pub.send(pkt::publish("work/x", std::to_string(i), 1, static_cast<uint16_t>(i + 1), false, 5)));
        REQUIRE(pub.read_until(pkt::PUBACK));
    }
    std::set<std::string> to_leaver;
    while (auto p = m1->read_until(pkt::PUBLISH, 500ms))
        to_leaver.insert(p->publish_payload(5));  // never acknowledged
    CHECK(to_leaver.size() == 3);
    std::set<std::string> to_stayer;
    while (auto p = m2.read_until(pkt::PUBLISH, 500ms)) {
        to_stayer.insert(p->publish_payload(5));
        REQUIRE(m2.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
    }
    CHECK(to_stayer.size() == 3);
    m1.reset();  // the leaver's socket closes with 3 messages unacknowledged
    while (auto p = m2.read_until(pkt::PUBLISH, 2s)) {
        CHECK(to_leaver.count(p->publish_payload(5)) == 1);
        to_stayer.insert(p->publish_payload(5));
        REQUIRE(m2.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
    }
    CHECK(to_stayer.size() == 6);  // every message reached a member that acknowledged it
    CHECK(b.wait_log({"given to other members of their groups"}));
}

// A clean session that never needed its Session object (no SUBSCRIBE, no QoS 2: broker.hpp,
// "Sessions made when needed") is taken over from the other worker as any session is.
TEST_CASE(
    "takeover across workers of an idle clean session: 0x8E, will, session present with clean start 0") {
    ROOST_ONLY();
    Broker b(two_workers());
    RawClient old_conn(b.port());  // worker 0: MQTT 5, clean start, expiry 0, no SUBSCRIBE
    pkt::Connect how = pkt::conn(5, "idle-clean");
    how.will = pkt::Will{"wills/idle-clean", "gone", 0, false, {}};
    connect(old_conn, how);
    RawClient watcher(b.port());  // worker 1
    connect(watcher, pkt::conn(5, "idle-watcher"));
    subscribe(watcher, "wills/#", 0, 5);
    RawClient idle(b.port());   // worker 0
    RawClient taker(b.port());  // worker 1
    Packet ack = connect(taker, pkt::conn(5, "idle-clean", false));
    CHECK((ack.body[0] & 1) == 1);  // the session existed, as when it had its Session object
    auto d = old_conn.read_until(pkt::DISCONNECT);
    REQUIRE(d);
    CHECK(d->reason() == 0x8E);
    auto will = watcher.read_until(pkt::PUBLISH);
    REQUIRE(will);
    CHECK(will->publish_topic() == "wills/idle-clean");
    // The session goes on with the taker: it subscribes and receives.
    subscribe(taker, "idle/#", 1, 5);
    RawClient pub(b.port());  // worker 0
    connect(pub, pkt::conn(5, "idle-pub"));
    REQUIRE(pub.send(pkt::publish("idle/1", "to-taker", 1, 3, false, 5)));
    REQUIRE(pub.read_until(pkt::PUBACK));
    auto got = taker.read_until(pkt::PUBLISH);
    REQUIRE(got);
    CHECK(got->publish_payload(5) == "to-taker");
    // Clean start ends it: no session present (worker 1 again, the same worker as the session).
    RawClient clean(b.port());
    Packet fresh = connect(clean, pkt::conn(5, "idle-clean"));
    CHECK((fresh.body[0] & 1) == 0);
    CHECK(taker.read_until(pkt::DISCONNECT));
    (void)idle;
}

TEST_CASE("--workers on the command line replaces [broker] workers") {
    if (broker_is_mosquitto()) return;
    BrokerOptions o;
    o.broker = {"workers = 1"};
    o.args = {"--workers", "3"};
    Broker b(o);
    CHECK_MESSAGE(b.wait_log({"3 workers"}), b.log());
    // Three connections, one per worker: a message crosses from the third to the first.
    RawClient sub(b.port()), other(b.port()), pub(b.port());
    connect(sub, pkt::conn(4, "cli-sub"));
    connect(other, pkt::conn(4, "cli-other"));
    connect(pub, pkt::conn(4, "cli-pub"));
    REQUIRE(sub.send(pkt::subscribe(1, "cli/t", 1)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    REQUIRE(pub.send(pkt::publish("cli/t", "three", 1, 1)));
    REQUIRE(pub.read_until(pkt::PUBACK));
    auto got = sub.read_until(pkt::PUBLISH);
    REQUIRE(got);
    CHECK(got->publish_payload(4) == "three");
}
