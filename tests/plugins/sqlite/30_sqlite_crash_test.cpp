// The sqlite plugin under SIGKILL (issue 10, "What it must show" 1). A publisher sends QoS 1 and
// QoS 2 messages with properties to the persistent sessions of offline subscribers while a
// "churn" session subscribes and unsubscribes; the broker is killed with SIGKILL at a random
// moment of the stream, several times. After each restart every SUBACKed (and not unsubscribed)
// filter of the churn session still matches, and the subscribers drain what they have. At the
// end every message whose PUBACK or PUBREC reached the publisher must have been delivered: QoS 2
// exactly once, each topic in order, with its properties. The counts are printed; lost must be
// 0 in "full" and "normal" ("periodic" may lose its commit window and is only reported).
//
// Bounded: ROOST_TEST_CRASH_ROUNDS kills (default 3) of at most 1000 messages each; the seed is
// printed and ROOST_TEST_CRASH_SEED replays one.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "restart_harness.hpp"

using namespace roost_pt;

namespace {

constexpr int subscribers = 3;
constexpr int topics_per_subscriber = 2;
constexpr int max_per_round = 1000;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

Setup sqlite_setup(const std::string& db, const std::string& sync) {
    Setup setup;
    setup.plugins.push_back(
        PluginSpec{ROOST_PLUGIN_SQLITE, {{"path", db}, {"sync", sync}, {"commit_interval", "50"}}});
    return setup;
}

std::string content_type_of(const std::string& payload) {
    return "text/seq-" + payload;
}

// One subscriber's client-side state, kept across its connections: what the application got,
// and the QoS 2 receiver's ids awaiting PUBREL (spec 4.3.3: a PUBLISH with such an id is the
// same message again, not handed to the application).
struct Receiver {
    std::string id;
    std::set<uint16_t> awaiting_pubrel;
    std::vector<std::pair<std::string, std::string>> delivered;  // (topic, payload), in arrival order
    std::map<std::string, uint8_t> qos_of;                       // payload -> QoS it came with
    int bad_properties = 0;
    std::vector<std::string> trace;  // "payload pid dup drain" of every application delivery, for a failure
    int drains = 0;
};

pkt::Connect persistent_connect(const std::string& id) {
    pkt::Connect c = pkt::conn(5, id, false);
    c.properties = pkt::prop_u32(0x11, 3600);
    return c;
}

// One packet a subscriber read: a PUBREL is answered with PUBCOMP; a PUBLISH is acknowledged
// (a QoS 1 one only with `puback`) and recorded in `r` once per QoS 2 flow (spec 4.3.3: a
// PUBLISH whose id awaits PUBREL is the same message again). The recorded PUBLISH's payload, else
// nullopt.
std::optional<std::string> take_packet(Receiver& r, RawClient& c, const Packet& p, bool puback,
                                       const std::string& where) {
    if (p.type == pkt::PUBREL) {
        r.awaiting_pubrel.erase(p.packet_id());
        c.send(pkt::ack(pkt::PUBCOMP, p.packet_id()));
        return std::nullopt;
    }
    if (p.type != pkt::PUBLISH) return std::nullopt;
    uint8_t qos = uint8_t((p.flags >> 1) & 3);
    uint16_t pid = p.packet_id_after_topic();
    std::string payload = p.publish_payload(5);
    if (qos == 2) {
        c.send(pkt::ack(pkt::PUBREC, pid));
        if (!r.awaiting_pubrel.insert(pid).second) return std::nullopt;
    } else if (qos == 1 && puback) {
        c.send(pkt::ack(pkt::PUBACK, pid));
    }
    r.qos_of[payload] = qos;
    r.trace.push_back(payload + " q" + std::to_string(qos) + " pid " + std::to_string(pid) +
                      ((p.flags & 0x08) ? " dup " : " ") + where);
    r.delivered.emplace_back(p.publish_topic(), payload);
    return payload;
}

// Connects, takes what comes until `quiet` passes without a packet, disconnects. While some of
// `outstanding` (acknowledged to their publisher, not yet seen here) has not come, it waits up to
// `patience` instead: on a loaded machine a quiet gap is not the end of the queue.
bool drain(Receiver& r, uint16_t port, Millis quiet, std::set<std::string> outstanding,
           Millis patience = Millis(5000)) {
    RawClient c(port);
    auto ack = c.handshake(persistent_connect(r.id), durable_ack_timeout);
    if (!ack || ack->reason() != 0) return false;
    ++r.drains;
    const auto give_up = std::chrono::steady_clock::now() + patience;
    for (;;) {
        Millis wait = quiet;
        if (!outstanding.empty())
            wait = std::max(quiet,
                            std::chrono::duration_cast<Millis>(give_up - std::chrono::steady_clock::now()));
        auto p = c.read_packet(wait);
        if (!p) break;
        std::optional<std::string> payload = take_packet(r, c, *p, true, "drain " + std::to_string(r.drains));
        if (!payload) continue;
        if (publish_properties(*p).find(content_type_of(*payload)) == std::string::npos) ++r.bad_properties;
        outstanding.erase(*payload);
    }
    // The drained deliveries' acknowledgements and state changes are not waited for (nothing
    // promises them to a client): a SUBACK, which waits for the commit of its subscription, comes
    // after they are committed too (one writer, in order). So the next kill tests the promise,
    // acknowledged publishes and SUBACKed subscriptions, not this drain's last instant. (A kill
    // between a QoS 2 send and the commit of its packet id resends it under a new id:
    // plugins/sqlite/README.md says so.)
    if (!c.send(pkt::subscribe(1, "crash-barrier/" + r.id, 0, 5)) ||
        !c.read_until(pkt::SUBACK, durable_ack_timeout))
        return false;
    c.send(pkt::disconnect(5));
    c.wait_closed(1s);
    return true;
}

struct Published {
    std::string topic, payload;
    uint8_t qos;
};

// One PUBLISH through its whole handshake; recorded in `acked` once the PUBACK or PUBREC (what
// promises it) arrived. False when the broker went away (a kill) or refused it.
bool publish_acknowledged(Mqtt& p, const Published& m, uint16_t pid, const std::string& props,
                          std::vector<Published>& acked) {
    if (!p.raw().send(pkt::publish(m.topic, m.payload, m.qos, pid, false, 5, props))) return false;
    auto ack = p.raw().read_until(m.qos == 1 ? pkt::PUBACK : pkt::PUBREC, 5s);
    if (!ack || ack->packet_id() != pid || ack_reason(*ack) >= 0x80) return false;
    acked.push_back(m);
    if (m.qos != 2) return true;
    return p.raw().send(pkt::ack(pkt::PUBREL, pid)) && p.raw().read_until(pkt::PUBCOMP, 5s);
}

struct Counts {
    size_t acknowledged = 0, delivered = 0, duplicated_qos1 = 0, duplicated_qos2 = 0, lost = 0,
           out_of_order = 0, bad_properties = 0, subscriptions_missing = 0;
};

void crash_run(const std::string& sync) {
    const int rounds = env_int("ROOST_TEST_CRASH_ROUNDS", 3);
    const unsigned seed =
        unsigned(env_int("ROOST_TEST_CRASH_SEED", int(std::random_device{}() & 0x7fffffff)));
    std::mt19937 rng(seed);
    std::string db = temp_path("crash-" + sync + ".db");
    RestartNode node(sqlite_setup(db, sync));

    std::vector<Receiver> receivers(subscribers);
    for (int i = 0; i < subscribers; i++) {
        receivers[i].id = "crash-sub-" + std::to_string(i);
        Mqtt s(node.port(), 5);
        REQUIRE(s.connect(receivers[i].id, false, 3600));
        REQUIRE(s.subscribe(1, "crash/" + std::to_string(i) + "/#", 2));
        s.disconnect();
    }

    std::vector<Published> acked;
    std::set<int> churn_expected;  // filters churn/<k> SUBACKed and not UNSUBACKed
    int churn_next = 0, seq = 0;
    // The churn session's CONNACK reached the test: from then on it must survive every kill. (A
    // kill before the first CONNACK may leave no session, and that loses nothing acknowledged.)
    std::atomic<bool> churn_acknowledged{false};
    Counts counts;

    for (int round = 0; round <= rounds; round++) {
        if (round < rounds) {
            // The stream, in a thread; the kill comes from here at a random moment.
            std::atomic<bool> stop{false};
            std::thread publisher([&] {
                Mqtt p(node.port(), 5);
                Mqtt churn(node.port(), 5);
                if (!p.connect("crash-pub", true) || !churn.connect("crash-churn", false, 3600)) return;
                churn_acknowledged = true;
                for (int n = 0; n < max_per_round && !stop; n++) {
                    if (n % 10 == 0) {
                        // Subscribe and unsubscribe as the stream goes.
                        int k = churn_next++;
                        if (!churn.subscribe(uint16_t(1 + k % 60000), "churn/" + std::to_string(k), 1))
                            return;
                        churn_expected.insert(k);
                        if (k % 3 == 1) {
                            // An UNSUBACK promises nothing durable (plugins/sqlite/README.md): once
                            // the UNSUBSCRIBE is sent, the filter may be there after a kill or not.
                            churn_expected.erase(k - 1);
                            if (!churn.unsubscribe(uint16_t(1 + k % 60000), "churn/" + std::to_string(k - 1)))
                                return;
                        }
                    }
                    // Each payload is published once, ever: a round the kill ends between a
                    // message's PUBREC and its PUBCOMP must not send that payload again in the
                    // next round (a new message that would look like a duplicate).
                    const int seq_here = seq++;
                    int sub = seq_here % subscribers;
                    std::string topic = "crash/" + std::to_string(sub) + "/t" +
                                        std::to_string(seq_here / subscribers % topics_per_subscriber);
                    std::string payload = std::to_string(seq_here);
                    uint8_t qos = seq_here % 2 ? 2 : 1;
                    uint16_t pid = uint16_t(1 + seq_here % 60000);
                    std::string props = pkt::prop_str(0x03, content_type_of(payload)) + Bytes{char(0x26)} +
                                        pkt::str("seq") + pkt::str(payload);
                    if (!publish_acknowledged(p, {topic, payload, qos}, pid, props, acked)) return;
                }
            });
            std::this_thread::sleep_for(Millis(50 + rng() % 250));
            node.kill9();
            stop = true;
            publisher.join();
            node.start();
        }
        // Every SUBACKed filter is there: a message to each reaches the churn session.
        {
            Mqtt churn(node.port(), 5);
            auto present = churn.connect("crash-churn", false, 3600);
            REQUIRE(present);
            // "periodic" may lose the session itself if it was created inside the lost window.
            if (sync != "periodic" && churn_acknowledged)
                CHECK_MESSAGE(*present, "round " << round << ", seed " << seed << "\n"
                                                 << tail(node.log(), 4000));
            churn_acknowledged = true;
            Mqtt checker(node.port(), 5);
            REQUIRE(checker.connect("crash-checker", true));
            // This round's check payload: a check message of an earlier round may come again (its
            // PUBACK's delete is not waited for before a kill), and must not count for this one.
            const std::string check = "check " + std::to_string(round);
            for (int k : churn_expected)
                REQUIRE(checker.publish("churn/" + std::to_string(k), check, 1));
            checker.disconnect();
            // Until all came; "periodic" may have lost some, and then waits it out.
            std::set<std::string> topics;
            const auto give_up = SteadyClock::now() + (sync == "periodic" ? 5s : 15s);
            while (topics.size() < churn_expected.size() && SteadyClock::now() < give_up)
                for (auto& g :
                     churn.receive(1, std::chrono::duration_cast<Millis>(give_up - SteadyClock::now())))
                    if (g.payload == check) topics.insert(g.topic);
            std::string missing;
            for (int k : churn_expected)
                if (!topics.count("churn/" + std::to_string(k))) {
                    ++counts.subscriptions_missing;
                    missing += " churn/" + std::to_string(k);
                }
            if (sync != "periodic")
                CHECK_MESSAGE(missing.empty(), "round " << round << ", seed " << seed
                                                        << ": SUBACKed and missing:" << missing << "\n"
                                                        << tail(node.log(), 4000));
            churn.disconnect();
        }
        for (size_t i = 0; i < receivers.size(); i++) {
            Receiver& r = receivers[i];
            std::set<std::string> outstanding;
            const std::string prefix = "crash/" + std::to_string(i) + "/";
            // "periodic" may lose its window: nothing is waited for there, the quiet gap decides.
            if (sync != "periodic")
                for (const Published& m : acked)
                    if (m.topic.rfind(prefix, 0) == 0 && !r.qos_of.count(m.payload))
                        outstanding.insert(m.payload);
            // Once every outstanding message came, a short quiet gap ends the drain: the
            // session's queue and resends go out in one burst at the connect.
            REQUIRE_MESSAGE(drain(r, node.port(), sync == "periodic" ? 400ms : 200ms, std::move(outstanding)),
                            tail(node.log()));
        }
    }

    // What reached each subscriber against what was acknowledged.
    std::map<std::string, size_t> times;  // payload -> deliveries to the application
    for (Receiver& r : receivers) {
        std::map<std::string, long> last_seq;  // per topic
        std::set<std::string> seen;
        for (auto& [topic, payload] : r.delivered) {
            if (++times[payload] > 1) continue;
            long s = std::stol(payload);
            auto it = last_seq.find(topic);
            if (it != last_seq.end() && s < it->second) ++counts.out_of_order;
            last_seq[topic] = s;
        }
        counts.bad_properties += size_t(r.bad_properties);
    }
    counts.delivered = times.size();
    counts.acknowledged = acked.size();
    for (const Published& m : acked) {
        auto it = times.find(m.payload);
        if (it == times.end())
            ++counts.lost;
        else if (it->second > 1)
            ++(m.qos == 2 ? counts.duplicated_qos2 : counts.duplicated_qos1);
    }
    std::string duplicates;
    for (const Published& m : acked)
        if (m.qos == 2 && times[m.payload] > 1)
            for (Receiver& r : receivers)
                for (auto& t : r.trace)
                    if (t.rfind(m.payload + " ", 0) == 0) duplicates += r.id + ": " + t + "\n";
    std::string workers = std::getenv("ROOST_TEST_WORKERS") ? std::getenv("ROOST_TEST_WORKERS") : "1";
    std::cout << "sqlite crash test, sync = \"" << sync << "\", workers = " << workers << ", " << rounds
              << " kills, seed " << seed << ": acknowledged " << counts.acknowledged << ", delivered "
              << counts.delivered << ", duplicated " << counts.duplicated_qos1 + counts.duplicated_qos2
              << " (QoS 2: " << counts.duplicated_qos2 << "), lost " << counts.lost << ", out of order "
              << counts.out_of_order << ", wrong properties " << counts.bad_properties
              << ", SUBACKed subscriptions missing " << counts.subscriptions_missing << std::endl;
    CHECK(counts.acknowledged > 0);
    if (sync != "periodic") {
        CHECK_MESSAGE(counts.lost == 0, "seed " << seed << "\n" << tail(node.log(), 4000));
        CHECK_MESSAGE(counts.duplicated_qos2 == 0, "QoS 2 delivered twice, seed " << seed << "\n"
                                                                                  << duplicates);
        CHECK(counts.out_of_order == 0);
        CHECK(counts.bad_properties == 0);
        CHECK(counts.subscriptions_missing == 0);
    }
    node.term();
    std::remove(db.c_str());
}

}  // namespace

TEST_CASE("crash: sync = \"normal\" loses nothing acknowledged over several kill -9") {
    crash_run("normal");
}
TEST_CASE("crash: sync = \"full\" loses nothing acknowledged over several kill -9") {
    crash_run("full");
}
TEST_CASE("crash: sync = \"periodic\" (reported: it may lose its commit window)") {
    crash_run("periodic");
}

// Deferred storing ([broker] persist_delay_ms) under kill -9: the subscriber is CONNECTED while
// the stream runs. It acknowledges most QoS 1 messages at once (they are never stored: the
// publisher's PUBACK waits for the subscriber's), holds every fourth one without a PUBACK (stored
// when the window passes, then acknowledged to the publisher) and takes QoS 2 through its whole
// flow (stored at once, as always; the broker's PUBREL waits for the commit of the "PUBREL sent"
// state, so a kill cannot bring back a PUBLISH whose id the client already released). After each
// kill it reconnects and drains. Every message acknowledged to its publisher must have
// reached the subscriber, before the crash or after the restart; QoS 2 exactly once.
TEST_CASE("crash: a connected subscriber with deferred storing loses nothing acknowledged over kill -9") {
    const int rounds = 2;
    const unsigned seed =
        unsigned(env_int("ROOST_TEST_CRASH_SEED", int(std::random_device{}() & 0x7fffffff)));
    std::mt19937 rng(seed);
    std::string db = temp_path("crash-live.db");
    Setup setup = sqlite_setup(db, "normal");
    setup.broker.push_back("persist_delay_ms = 20");
    RestartNode node(setup);
    Receiver r;
    r.id = "crash-live-sub";
    {
        Mqtt s(node.port(), 5);
        REQUIRE(s.connect(r.id, false, 3600));
        REQUIRE(s.subscribe(1, "live/#", 2));
        s.disconnect();
    }
    std::vector<Published> acked;
    int seq = 0;
    for (int round = 0; round < rounds; ++round) {
        std::atomic<bool> stop{false};
        std::mutex got_lock;  // r, between the live reader and this thread (joined before reading)
        std::thread live([&] {
            RawClient c(node.port());
            auto ack = c.handshake(persistent_connect(r.id), durable_ack_timeout);
            if (!ack || ack->reason() != 0) return;
            while (!stop) {
                auto p = c.read_packet(100ms);
                if (!p) {
                    if (c.closed()) return;
                    continue;
                }
                std::lock_guard lock(got_lock);
                // Every fourth QoS 1 message is held without a PUBACK: stored once its window passed.
                const bool puback = p->type != pkt::PUBLISH || std::stol(p->publish_payload(5)) % 4 != 0;
                take_packet(r, c, *p, puback, "live");
            }
        });
        std::thread publisher([&] {
            Mqtt p(node.port(), 5);
            if (!p.connect("crash-live-pub", true)) return;
            for (int n = 0; n < max_per_round && !stop; n++) {
                const int seq_here = seq++;
                std::string topic = "live/t" + std::to_string(seq_here % 2);
                std::string payload = std::to_string(seq_here);
                uint8_t qos = seq_here % 3 == 1 ? 2 : 1;
                uint16_t pid = uint16_t(1 + seq_here % 60000);
                std::string props = pkt::prop_str(0x03, content_type_of(payload));
                if (!publish_acknowledged(p, {topic, payload, qos}, pid, props, acked)) return;
            }
        });
        std::this_thread::sleep_for(Millis(150 + rng() % 300));
        node.kill9();
        stop = true;
        publisher.join();
        live.join();
        node.start();
        std::set<std::string> outstanding;
        for (const Published& m : acked)
            if (!r.qos_of.count(m.payload)) outstanding.insert(m.payload);
        REQUIRE_MESSAGE(drain(r, node.port(), 200ms, std::move(outstanding)), tail(node.log()));
    }
    std::map<std::string, size_t> times;
    for (auto& [topic, payload] : r.delivered)
        ++times[payload];
    Counts counts;
    counts.acknowledged = acked.size();
    counts.delivered = times.size();
    size_t held = 0;
    for (const Published& m : acked) {
        if (m.qos == 1 && std::stol(m.payload) % 4 == 0) ++held;
        auto it = times.find(m.payload);
        if (it == times.end())
            ++counts.lost;
        else if (it->second > 1)
            ++(m.qos == 2 ? counts.duplicated_qos2 : counts.duplicated_qos1);
    }
    std::string workers = std::getenv("ROOST_TEST_WORKERS") ? std::getenv("ROOST_TEST_WORKERS") : "1";
    std::cout << "sqlite crash test, connected subscriber, persist_delay_ms = 20, workers = " << workers
              << ", " << rounds << " kills, seed " << seed << ": acknowledged " << counts.acknowledged
              << " (QoS 1 held past the window: " << held << "), delivered " << counts.delivered
              << ", duplicated " << counts.duplicated_qos1 + counts.duplicated_qos2
              << " (QoS 2: " << counts.duplicated_qos2 << "), lost " << counts.lost << std::endl;
    CHECK(counts.acknowledged > 0);
    CHECK_MESSAGE(counts.lost == 0, "seed " << seed << "\n" << tail(node.log(), 4000));
    std::string duplicates;
    for (const Published& m : acked)
        if (m.qos == 2 && times[m.payload] > 1)
            for (auto& t : r.trace)
                if (t.rfind(m.payload + " ", 0) == 0) duplicates += t + "\n";
    CHECK_MESSAGE(counts.duplicated_qos2 == 0, "QoS 2 delivered twice, seed " << seed << "\n" << duplicates);
    node.term();
    std::remove(db.c_str());
}

// One message, two stored sessions: a connected subscriber that acknowledges at once and an
// offline one. The connected one's delete cancels its delivery in the writer's queue before the
// commit; the message (stored with whichever delivery came first, in one call) must still be
// written for the offline session before the publisher's PUBACK, and survive a kill -9.
TEST_CASE("crash: a message a connected subscriber acknowledged at once is still kept for an offline one") {
    std::string dir = make_dir("sqlite-crash-shared");
    std::string db = dir + "/roost.db";
    RestartNode node(sqlite_setup(db, "normal"));
    constexpr int n = 100;
    {
        Mqtt offline(node.port(), 5);
        REQUIRE(offline.connect("offline-one", false, 3600));
        REQUIRE(offline.subscribe(1, "shared/t", 1));
        offline.disconnect();
    }
    Mqtt online(node.port(), 5);
    REQUIRE(online.connect("online-one", false, 3600));
    REQUIRE(online.subscribe(1, "shared/t", 1));
    std::vector<Got> got_online;
    std::thread reader([&] { got_online = online.receive(n, durable_ack_timeout); });
    {
        Mqtt publisher(node.port(), 5);
        REQUIRE(publisher.connect("publisher", true));
        for (int i = 0; i < n; ++i)
            REQUIRE(publisher.publish("shared/t", payload_of(i), 1));
    }
    reader.join();
    CHECK(got_online.size() == size_t(n));
    node.kill9();
    node.start();
    Mqtt offline(node.port(), 5);
    REQUIRE(offline.connect("offline-one", false, 3600) == std::optional<bool>(true));
    std::vector<Got> got = offline.receive(n, durable_ack_timeout);
    INFO(describe(got));
    REQUIRE(got.size() == size_t(n));
    for (int i = 0; i < n; ++i)
        CHECK(got[size_t(i)].payload == payload_of(i));
    offline.disconnect();
    online.drop();
    node.term();
    std::remove(db.c_str());
}
