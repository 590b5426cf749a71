// The sqlite plugin across graceful restarts (SIGTERM, start again on the same file): retained
// messages, subscriptions with their options, session expiry, will delay and message expiry
// behave as if the broker had not stopped; the clocks count wall time through the downtime
// (issue 10, "What it must show" 2).
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "restart_harness.hpp"

using namespace roost_pt;

namespace {

class SqliteNode : public RestartNode {
  public:
    explicit SqliteNode(const std::string& name) : RestartNode(setup_for(temp_path(name + ".db"))) {}

  private:
    static Setup setup_for(const std::string& db) {
        std::remove(db.c_str());
        Setup setup;
        setup.plugins.push_back(PluginSpec{ROOST_PLUGIN_SQLITE, {{"path", db}}});
        return setup;
    }
};

// The value of a four-byte property `id` in a v5 property block, if it is there.
std::optional<uint32_t> u32_property(const std::string& props, uint8_t id) {
    // Good enough for blocks the tests build: scan for the id and read 4 bytes after it.
    for (size_t i = 0; i + 4 < props.size(); i++)
        if (uint8_t(props[i]) == id)
            return (uint32_t(uint8_t(props[i + 1])) << 24) | (uint32_t(uint8_t(props[i + 2])) << 16) |
                   (uint32_t(uint8_t(props[i + 3])) << 8) | uint32_t(uint8_t(props[i + 4]));
    return std::nullopt;
}

}  // namespace

TEST_CASE("retained messages come back with their properties; an expired one does not") {
    SqliteNode b("restart-retained");
    const std::string props =
        pkt::prop_str(0x03, "text/x") + Bytes{char(0x26)} + pkt::str("k") + pkt::str("v");
    {
        Mqtt p(b.port(), 5);
        REQUIRE(p.connect("ret-pub", true));
        REQUIRE(p.publish("ret/keep", std::string("kept\0\xfe", 6), 1, true, props));
        REQUIRE(p.publish("ret/short", "gone after 1 s", 1, true, pkt::prop_u32(0x02, 1)));
        REQUIRE(p.publish("ret/long", "stays", 1, true, pkt::prop_u32(0x02, 600)));
        REQUIRE(p.publish("ret/cleared", "x", 1, true));
        REQUIRE(p.publish("ret/cleared", "", 1, true));
        p.disconnect();
    }
    CHECK_STOPS_CLEANLY(b);
    std::this_thread::sleep_for(1500ms);  // ret/short expires while the broker is down
    b.start();
    Mqtt s(b.port(), 5);
    REQUIRE(s.connect("ret-sub", true));
    REQUIRE(s.subscribe(1, "ret/#", 1));
    auto got = s.receive_n_and_extra(2, 3s);
    REQUIRE_MESSAGE(got.size() == 2, describe(got) << tail(b.log()));
    std::map<std::string, Got> by_topic;
    for (auto& g : got)
        by_topic[g.topic] = g;
    REQUIRE(by_topic.count("ret/keep"));
    REQUIRE(by_topic.count("ret/long"));
    CHECK(by_topic["ret/keep"].payload == std::string("kept\0\xfe", 6));
    CHECK(by_topic["ret/keep"].retain);
    CHECK(by_topic["ret/keep"].properties.find(props) != std::string::npos);
    auto left = u32_property(by_topic["ret/long"].properties, 0x02);
    REQUIRE(left);
    CHECK(*left <= 599);  // the clock ran while the broker was down
    CHECK(*left >= 590);
    s.disconnect();
}

TEST_CASE("subscriptions keep their options and identifiers") {
    SqliteNode b("restart-subs");
    {
        Mqtt s(b.port(), 5);
        REQUIRE(s.connect("subs", true, 600));
        // SUBSCRIBE with subscription identifier 7 and No Local.
        Bytes body = pkt::u16(1) + pkt::varint(2) + Bytes{char(0x0B)} + pkt::varint(7) + pkt::str("sub/a/#") +
                     char(0x01 | 0x04);
        REQUIRE(s.send(pkt::packet(0x82, body)));
        auto ack = s.raw().read_until(pkt::SUBACK, durable_ack_timeout);
        REQUIRE(ack);
        REQUIRE(s.subscribe(2, "sub/b", 2));
        s.disconnect();
    }
    CHECK_STOPS_CLEANLY(b);
    b.start();
    Mqtt s(b.port(), 5);
    auto present = s.connect("subs", false, 600);
    REQUIRE(present);
    CHECK(*present);
    {
        Mqtt p(b.port(), 5);
        REQUIRE(p.connect("subs-pub", true));
        REQUIRE(p.publish("sub/a/x", "a", 2));
        REQUIRE(p.publish("sub/b", "b", 2));
        p.disconnect();
    }
    auto got = s.receive(2, 3s);
    REQUIRE_MESSAGE(got.size() == 2, describe(got));
    CHECK(got[0].topic == "sub/a/x");
    CHECK(got[0].qos == 1);
    CHECK(got[0].properties.find(std::string("\x0B\x07", 2)) != std::string::npos);
    CHECK(got[1].topic == "sub/b");
    CHECK(got[1].qos == 2);
    // No Local: the session's own publish to sub/a/# does not come back.
    REQUIRE(s.publish("sub/a/own", "own", 1));
    auto own = s.receive(1, 500ms);
    CHECK_MESSAGE(own.empty(), describe(own));
    s.disconnect();
}

TEST_CASE("session expiry counts the downtime") {
    SqliteNode b("restart-expiry");
    for (auto [id, expiry] : {std::pair<const char*, uint32_t>{"short", 2}, {"long", 600}}) {
        Mqtt s(b.port(), 5);
        REQUIRE(s.connect(id, true, expiry));
        REQUIRE(s.subscribe(1, "exp/#", 1));
        s.disconnect();
    }
    CHECK_STOPS_CLEANLY(b);
    std::this_thread::sleep_for(2500ms);
    b.start();
    Mqtt s1(b.port(), 5);
    auto p1 = s1.connect("short", false, 2);
    REQUIRE(p1);
    CHECK_FALSE(*p1);
    s1.disconnect();
    Mqtt s2(b.port(), 5);
    auto p2 = s2.connect("long", false, 600);
    REQUIRE(p2);
    CHECK(*p2);
    s2.disconnect();
}

TEST_CASE("a delayed will is published when its delay ends, restart or not") {
    SqliteNode b("restart-will");
    Mqtt watcher(b.port(), 5);
    REQUIRE(watcher.connect("will-watch", true, 600));
    REQUIRE(watcher.subscribe(1, "will/#", 1));
    watcher.disconnect();
    {
        // Will delay 3 s, session expiry 600 s: the connection drops, the broker stops 0.5 s later.
        pkt::Connect c = pkt::conn(5, "will-client", true);
        c.properties = pkt::prop_u32(0x11, 600);
        pkt::Will will;
        will.topic = "will/gone";
        will.payload = "bye";
        will.qos = 1;
        will.properties = pkt::prop_u32(0x18, 3);
        c.will = will;
        RawClient raw(b.port());
        auto ack = raw.handshake(c, durable_ack_timeout);
        REQUIRE(ack);
        raw.close();  // no DISCONNECT: the will is due
    }
    auto dropped = SteadyClock::now();
    std::this_thread::sleep_for(500ms);
    CHECK_STOPS_CLEANLY(b);
    b.start();
    // The will is due 3 s after the drop; if the restart itself took longer (sanitizers, a loaded
    // machine) it is overdue and goes out at once. Either way, never before its delay.
    auto restarted = std::chrono::duration_cast<Millis>(SteadyClock::now() - dropped).count();
    Mqtt s(b.port(), 5);
    REQUIRE(s.connect("will-watch", false, 600));
    auto got = s.receive(1, 8s);
    REQUIRE_MESSAGE(got.size() == 1, tail(b.log()));
    CHECK(got[0].topic == "will/gone");
    CHECK(got[0].payload == "bye");
    auto after = std::chrono::duration_cast<Millis>(SteadyClock::now() - dropped).count();
    CHECK_MESSAGE(after >= 2900, "the will came " << after << " ms after the drop, before its 3 s delay");
    CHECK_MESSAGE(after < std::max<long>(3000, restarted) + 3000,
                  "the will came " << after << " ms after the drop (restart done at " << restarted << " ms)");
    s.disconnect();
}

TEST_CASE("queued messages expire by wall clock across the downtime") {
    SqliteNode b("restart-msg-expiry");
    {
        Mqtt s(b.port(), 5);
        REQUIRE(s.connect("mexp", true, 600));
        REQUIRE(s.subscribe(1, "mexp/#", 1));
        s.disconnect();
    }
    {
        Mqtt p(b.port(), 5);
        REQUIRE(p.connect("mexp-pub", true));
        REQUIRE(p.publish("mexp/short", "short", 1, false, pkt::prop_u32(0x02, 1)));
        REQUIRE(p.publish("mexp/long", "long", 1, false, pkt::prop_u32(0x02, 600)));
        p.disconnect();
    }
    CHECK_STOPS_CLEANLY(b);
    std::this_thread::sleep_for(1500ms);
    b.start();
    Mqtt s(b.port(), 5);
    REQUIRE(s.connect("mexp", false, 600));
    auto got = s.receive_n_and_extra(1, 3s);
    REQUIRE_MESSAGE(got.size() == 1, describe(got));
    CHECK(got[0].topic == "mexp/long");
    auto left = u32_property(got[0].properties, 0x02);
    REQUIRE(left);
    CHECK(*left <= 599);
    CHECK(*left >= 590);
    s.disconnect();
}

TEST_CASE("a shared subscription's unacknowledged messages, handed between members, survive a restart") {
    // Spec 4.8.2: the messages a member left unacknowledged go to another member of the group
    // (an offline one with a stored session too). With workers = 2 the two members are on
    // different workers (connections are handed out in turn): each hand-off saves the new
    // member's delivery on its worker and deletes the old one there, after the save.
    SqliteNode b("restart-shared");
    Mqtt a(b.port(), 5), m(b.port(), 5);
    REQUIRE(a.connect("share-a", true, 600));
    REQUIRE(a.subscribe(1, "$share/g/sh/t", 1));
    REQUIRE(m.connect("share-b", true, 600));
    REQUIRE(m.subscribe(1, "$share/g/sh/t", 1));
    constexpr size_t kMessages = 10;
    {
        Mqtt p(b.port(), 5);
        REQUIRE(p.connect("share-pub", true));
        for (size_t i = 0; i < kMessages; i++)
            REQUIRE(p.publish("sh/t", std::to_string(i), 1));
        p.disconnect();
    }
    // Neither member acknowledges anything.
    size_t at_a = 0, at_b = 0;
    auto deadline = SteadyClock::now() + 5s;
    while (at_a + at_b < kMessages && SteadyClock::now() < deadline) {
        at_a += a.receive(kMessages, 50ms, false).size();
        at_b += m.receive(kMessages, 50ms, false).size();
    }
    REQUIRE(at_a + at_b == kMessages);
    REQUIRE(at_a > 0);
    a.drop();  // share-a leaves: its messages go to share-b
    REQUIRE(b.wait_line({"client 'share-a': left its shared subscriptions"}));
    auto moved = m.receive(at_a, 5s, false);
    REQUIRE_MESSAGE(moved.size() == at_a, describe(moved) << tail(b.log()));
    m.drop();  // share-b leaves too: all ten go to share-a's stored session
    REQUIRE(b.wait_line({"client 'share-b': left its shared subscriptions"}));
    CHECK_STOPS_CLEANLY(b);
    b.start();
    // Between the two stored sessions, each message comes back exactly once.
    Mqtt a2(b.port(), 5), m2(b.port(), 5);
    REQUIRE(a2.connect("share-a", false, 600));
    REQUIRE(m2.connect("share-b", false, 600));
    std::multiset<std::string> payloads;
    std::string seen;
    deadline = SteadyClock::now() + 5s;
    while (payloads.size() < kMessages && SteadyClock::now() < deadline)
        for (Mqtt* c : {&a2, &m2})
            for (auto& g : c->receive(kMessages, 50ms)) {
                payloads.insert(g.payload);
                seen += describe({g});
            }
    for (Mqtt* c : {&a2, &m2})
        for (auto& g : c->receive(1, 300ms)) {
            payloads.insert(g.payload);
            seen += describe({g});
        }
    CHECK_MESSAGE(payloads.size() == kMessages, seen << tail(b.log()));
    for (size_t i = 0; i < kMessages; i++)
        CHECK_MESSAGE(payloads.count(std::to_string(i)) == 1, "message " << i << ": " << seen);
}
