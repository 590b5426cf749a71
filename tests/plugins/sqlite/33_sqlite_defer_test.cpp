// Deferred storing ([broker] persist_delay_ms) with the sqlite plugin in sync = "normal": a QoS 1
// delivery sent at once to a connected stored session is stored only if its subscriber has not
// acknowledged it within the window. What must hold (DESIGN.md "Durability"):
// - the publisher's PUBACK arrives only after the subscriber's PUBACK, or after the delivery was
//   stored and committed (the window passed): then it survives kill -9;
// - a takeover of the subscriber's client id while deliveries are deferred (on the same worker
//   or on another) stores them first: nothing acknowledged is lost;
// - persist_delay_ms = 0 stores at once (the other sqlite tests run with the default window;
//   30_sqlite_crash covers the connected subscriber under kill -9 with both).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#ifdef ROOST_HAVE_PAHO
#include "paho.hpp"
#endif
#include "restart_harness.hpp"

using namespace roost_pt;

namespace {

Setup defer_setup(const std::string& db, int delay_ms) {
    Setup setup;
    setup.broker = {"persist_delay_ms = " + std::to_string(delay_ms), "sys_interval = 1"};
    setup.plugins.push_back(PluginSpec{ROOST_PLUGIN_SQLITE, {{"path", db}, {"sync", "normal"}}});
    return setup;
}

// The broker's count of deliveries acknowledged before they needed storing, once it reaches
// `at_least` (or the last value seen when it does not within the timeout).
long unstored_count(uint16_t port, long at_least, Millis timeout = 8s) {
    Mqtt sys(port, 5);
    if (!sys.connect("defer-sys", true)) return -1;
    if (!sys.subscribe(1, "$SYS/broker/messages/acknowledged unstored", 0)) return -1;
    long last = -1;
    auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
        for (const Got& g : sys.receive(1, 1500ms))
            last = std::stol(g.payload);
        if (last >= at_least) break;
    }
    sys.disconnect();
    return last;
}

// A raw publisher that sends QoS 1 PUBLISHes and reads their PUBACKs separately.
struct Publisher {
    Mqtt m;
    uint16_t next = 0;
    explicit Publisher(uint16_t port) : m(port, 5) {}
    bool send(const std::string& topic, const std::string& payload) {
        return m.send(pkt::publish(topic, payload, 1, ++next, false, 5));
    }
    // The PUBACK of the next id waited for, within `timeout`.
    std::optional<Packet> puback(Millis timeout) { return m.raw().read_until(pkt::PUBACK, timeout); }
};

}  // namespace

TEST_CASE("defer: the publisher's PUBACK waits for the subscriber's PUBACK, and nothing is stored") {
    std::string db = make_dir("sqlite-defer-ack") + "/roost.db";
    RestartNode node(defer_setup(db, 1000));
    Mqtt sub(node.port(), 5);
    REQUIRE(sub.connect("defer-sub", false, 3600));
    REQUIRE(sub.subscribe(1, "defer/t", 1));
    Publisher pub(node.port());
    REQUIRE(pub.m.connect("defer-pub", true));
    REQUIRE(pub.send("defer/t", "one"));
    // The subscriber has it and holds its PUBACK: the publisher hears nothing meanwhile (the
    // window is 1 s, so the delivery is not stored either).
    auto got = sub.receive(1, 5s, false);
    REQUIRE(got.size() == 1u);
    CHECK_FALSE(pub.puback(300ms));
    REQUIRE(sub.send(pkt::ack(pkt::PUBACK, got[0].packet_id)));
    auto ack = pub.puback(5s);
    REQUIRE(ack);
    CHECK(ack->packet_id() == 1);
    CHECK(unstored_count(node.port(), 1) == 1);
    sub.disconnect();
    pub.m.disconnect();
    CHECK_STOPS_CLEANLY(node);
}

#ifdef ROOST_HAVE_PAHO
TEST_CASE("defer: a Paho C subscriber (3.1.1, clean session 0) acknowledges, its messages are never stored") {
    std::string db = make_dir("sqlite-defer-paho") + "/roost.db";
    RestartNode node(defer_setup(db, 1000));
    constexpr int n = 50;
    roost_it::Paho sub(node.port(), "defer-paho", MQTTVERSION_3_1_1);
    REQUIRE(sub.connect(false).rc == MQTTCLIENT_SUCCESS);
    REQUIRE(sub.subscribe("defer/paho", 1) == 1);
    std::vector<roost_it::PahoMessage> got;
    std::thread reader([&] { got = sub.receive_all(3000ms); });
    {
        Mqtt pub(node.port(), 5);
        REQUIRE(pub.connect("defer-paho-pub", true));
        for (int i = 0; i < n; ++i)
            REQUIRE(pub.publish("defer/paho", "p" + std::to_string(i), 1));
        pub.disconnect();
    }
    reader.join();
    REQUIRE(got.size() == size_t(n));
    for (int i = 0; i < n; ++i)
        CHECK(got[size_t(i)].payload == "p" + std::to_string(i));
    // Every one acknowledged within the 1 s window: none reached the plugin.
    CHECK(unstored_count(node.port(), n) == n);
    sub.disconnect();
    CHECK_STOPS_CLEANLY(node);
}
#endif

TEST_CASE("defer: a subscriber that does not acknowledge: stored when the window passes, kept over kill -9") {
    std::string db = make_dir("sqlite-defer-stall") + "/roost.db";
    RestartNode node(defer_setup(db, 100));
    constexpr int n = 20;
    {
        Mqtt sub(node.port(), 5);
        REQUIRE(sub.connect("defer-stall", false, 3600));
        REQUIRE(sub.subscribe(1, "defer/stall", 1));
        Publisher pub(node.port());
        REQUIRE(pub.m.connect("defer-stall-pub", true));
        for (int i = 0; i < n; ++i)
            REQUIRE(pub.send("defer/stall", payload_of(i)));
        // The subscriber reads them and never acknowledges: each PUBACK to the publisher comes
        // once the window passed and the store committed the delivery.
        CHECK(sub.receive(n, 5s, false).size() == size_t(n));
        for (int i = 0; i < n; ++i) {
            auto ack = pub.puback(durable_ack_timeout);
            REQUIRE(ack);
            CHECK(ack->packet_id() == i + 1);
        }
        CHECK(unstored_count(node.port(), 0) == 0);  // none was acknowledged in time
        node.kill9();
    }
    node.start();
    Mqtt sub(node.port(), 5);
    REQUIRE(sub.connect("defer-stall", false, 3600) == std::optional<bool>(true));
    auto got = sub.receive(n, durable_ack_timeout);
    INFO(describe(got));
    REQUIRE(got.size() == size_t(n));
    for (int i = 0; i < n; ++i)
        CHECK(got[size_t(i)].payload == payload_of(i));
    sub.disconnect();
    CHECK_STOPS_CLEANLY(node);
}

// The subscriber's client id is taken over while its deliveries wait in the window (1 s): the
// takeover stores them first, so the publisher's PUBACKs come and a kill -9 loses none. With
// workers = 2 the connections are handed to the workers in turn: the second takeover comes one
// connection later than the first, so one of the two crosses workers and the other does not.
TEST_CASE("defer: takeover of the subscriber while deliveries are deferred loses nothing acknowledged") {
    std::string db = make_dir("sqlite-defer-takeover") + "/roost.db";
    RestartNode node(defer_setup(db, 1000));
    constexpr int n = 10;
    int sent = 0;
    for (int round = 0; round < 2; ++round) {
        Mqtt sub(node.port(), 5);
        REQUIRE(sub.connect("defer-take", false, 3600));
        if (round == 0) REQUIRE(sub.subscribe(1, "defer/take", 1));  // then the session has it
        Publisher pub(node.port());
        REQUIRE(pub.m.connect("defer-take-pub-" + std::to_string(round), true));
        for (int i = 0; i < n; ++i)
            REQUIRE(pub.send("defer/take", payload_of(sent + i)));
        // Held, not acknowledged (after a first round, the earlier ones come again first).
        REQUIRE(sub.receive(size_t(sent + n), 5s, false).size() == size_t(sent + n));
        std::optional<Mqtt> spacer;
        if (round == 1) {
            spacer.emplace(node.port(), 5);  // the next connection goes to the other worker
            REQUIRE(spacer->connect("defer-spacer", true));
        }
        Mqtt taker(node.port(), 5);
        REQUIRE(taker.connect("defer-take", false, 3600) == std::optional<bool>(true));
        for (int i = 0; i < n; ++i) {
            auto ack = pub.puback(durable_ack_timeout);
            REQUIRE(ack);
            CHECK(ack->packet_id() == i + 1);
        }
        sent += n;
        // The new connection gets them again (DUP) and does not acknowledge either.
        CHECK(taker.receive(size_t(sent), 5s, false).size() == size_t(sent));
        taker.drop();
        pub.m.drop();
        sub.drop();
    }
    node.kill9();
    node.start();
    Mqtt sub(node.port(), 5);
    REQUIRE(sub.connect("defer-take", false, 3600) == std::optional<bool>(true));
    auto got = sub.receive(size_t(sent), durable_ack_timeout);
    INFO(describe(got));
    std::set<std::string> payloads;
    for (const Got& g : got)
        payloads.insert(g.payload);
    for (int i = 0; i < sent; ++i)
        CHECK(payloads.count(payload_of(i)) == 1);
    sub.disconnect();
    CHECK_STOPS_CLEANLY(node);
}

TEST_CASE(
    "defer: persist_delay_ms = 0 stores at once (the publisher's PUBACK does not wait for the subscriber)") {
    std::string db = make_dir("sqlite-defer-off") + "/roost.db";
    RestartNode node(defer_setup(db, 0));
    Mqtt sub(node.port(), 5);
    REQUIRE(sub.connect("defer-off", false, 3600));
    REQUIRE(sub.subscribe(1, "defer/off", 1));
    Publisher pub(node.port());
    REQUIRE(pub.m.connect("defer-off-pub", true));
    REQUIRE(pub.send("defer/off", "x"));
    REQUIRE(sub.receive(1, 5s, false).size() == 1u);
    // Stored and committed at once: the PUBACK comes while the subscriber still holds its own.
    REQUIRE(pub.puback(durable_ack_timeout));
    node.kill9();
    node.start();
    Mqtt again(node.port(), 5);
    REQUIRE(again.connect("defer-off", false, 3600) == std::optional<bool>(true));
    auto got = again.receive(1, durable_ack_timeout);
    REQUIRE(got.size() == 1u);
    CHECK(got[0].payload == "x");
    // Acknowledged at once, yet stored first: none counts as acknowledged unstored.
    std::thread reader([&] { again.receive(5, durable_ack_timeout); });
    {
        Mqtt pub2(node.port(), 5);
        REQUIRE(pub2.connect("defer-off-pub2", true));
        for (int i = 0; i < 5; ++i)
            CHECK(pub2.publish("defer/off", "y", 1));
        pub2.disconnect();
    }
    reader.join();
    CHECK(unstored_count(node.port(), 0) == 0);
    again.disconnect();
    CHECK_STOPS_CLEANLY(node);
}
