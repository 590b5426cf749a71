// Auth plugins: a table (ALLOW, DENY 0x86, NEXT), a chain that ends in a plugin answering from
// its own thread, the listener's auth_default, and misbehaving plugins: one that never answers,
// one that answers twice, one that returns a verdict that does not exist, one that blocks.
// Every client gets a correct answer and the broker says what happened.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "plugin_harness.hpp"

using namespace roost_pt;
using Clock = std::chrono::steady_clock;

namespace {

struct Answer {
    std::optional<uint8_t> code;  // CONNACK reason (v5) or return code (3.1.1); nullopt: none came
    long ms = 0;                  // how long it took
    int rc() const { return code ? int(*code) : -1; }  // printable; -1: no CONNACK
};

Answer connect_as(const PluginBroker& b, uint8_t version, const std::string& id,
                  std::optional<std::string> user, std::optional<std::string> password, Millis timeout = 3s,
                  size_t listener = 0) {
    WireClient c(b.port(listener));
    auto start = Clock::now();
    Answer a;
    if (!c.send(connect_with(version, id, user, password))) return a;
    auto p = c.read_until(pkt::CONNACK, timeout);
    a.ms = long(std::chrono::duration_cast<Millis>(Clock::now() - start).count());
    if (p) a.code = p->reason();
    return a;
}

PluginSpec table(std::string users = "alice:secret,bob:hunter2") {
    return {ROOST_PLUGIN_AUTH_TABLE, {{"users", users}}};
}

// "name<i>" (appended, not "name" + ...: GCC 12 -O3 -Wrestrict).
std::string numbered(const char* name, size_t i) {
    std::string s(name);
    s += std::to_string(i);
    return s;
}

bool is_refusal(uint8_t version, std::optional<uint8_t> code) {
    if (!code) return false;
    return version == 5 ? (*code == 0x86 || *code == 0x87) : (*code == 4 || *code == 5);
}

}  // namespace

TEST_CASE("auth_table: right password ALLOW, wrong password DENY 0x86 (3.1.1: 4)") {
    Setup s;
    s.plugins.push_back(table());
    PluginBroker b(s);
    CHECK(connect_as(b, 5, "a5", "alice", "secret").rc() == 0x00);
    CHECK(connect_as(b, 4, "a4", "bob", "hunter2").rc() == 0);
    CHECK(connect_as(b, 5, "w5", "alice", "wrong").rc() == 0x86);
    CHECK(connect_as(b, 4, "w4", "alice", "wrong").rc() == 4);
    CHECK(connect_as(b, 5, "n5", "alice", std::nullopt).rc() == 0x86);
    CHECK_MESSAGE(b.wait_line({"fixture: user alice client w5 wrong password: DENY 0x86"}), tail(b.log()));

    // mosquitto_pub as a real client: the right password publishes, a wrong one fails.
    auto ok = run(pub(b, {"-t", "auth/x", "-m", "1", "-u", "alice", "-P", "secret", "-V", "mqttv5"}));
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    auto bad = run(pub(b, {"-t", "auth/x", "-m", "1", "-u", "alice", "-P", "nope", "-V", "mqttv5"}));
    CHECK(bad.exit_code != 0);
    auto bad4 = run(pub(b, {"-t", "auth/x", "-m", "1", "-u", "alice", "-P", "nope"}));
    CHECK(bad4.exit_code != 0);
}

TEST_CASE("all auth plugins NEXT: denied by default once an auth plugin is loaded") {
    Setup s;
    s.plugins.push_back(table());
    PluginBroker b(s);
    auto unknown5 = connect_as(b, 5, "u5", "mallory", "x");
    auto unknown4 = connect_as(b, 4, "u4", "mallory", "x");
    auto anonymous = connect_as(b, 5, "anon", std::nullopt, std::nullopt);
    INFO(tail(b.log()));
    CHECK(is_refusal(5, unknown5.code));
    CHECK(is_refusal(4, unknown4.code));
    CHECK(is_refusal(5, anonymous.code));
    CHECK(b.wait_line({"fixture: unknown user mallory client u5: NEXT"}));
}

TEST_CASE("auth_default = allow / deny on the listener decides after every NEXT") {
    Setup s;
    s.listeners[0].auth_default = "allow";
    s.listeners.push_back(ListenerSpec{"", "deny", "", 0});
    s.plugins.push_back(table());
    PluginBroker b(s);
    CHECK(connect_as(b, 5, "d1", "mallory", "x", 3s, 0).rc() == 0x00);
    CHECK(connect_as(b, 5, "d2", std::nullopt, std::nullopt, 3s, 0).rc() == 0x00);
    CHECK(is_refusal(5, connect_as(b, 5, "d3", "mallory", "x", 3s, 1).code));
    CHECK(is_refusal(4, connect_as(b, 4, "d4", "mallory", "x", 3s, 1).code));
    // A DENY is a DENY whatever the default.
    CHECK(connect_as(b, 5, "d5", "alice", "wrong", 3s, 0).rc() == 0x86);
    // An ALLOW is an ALLOW whatever the default.
    CHECK(connect_as(b, 5, "d6", "alice", "secret", 3s, 1).rc() == 0x00);
}

TEST_CASE("chain: auth_table says NEXT for unknown users, auth_pending_thread decides from a thread") {
    Setup s;
    s.listeners[0].auth_default = "allow";
    s.plugins.push_back(table());
    s.plugins.push_back(
        {ROOST_PLUGIN_AUTH_PENDING_THREAD,
         {{"allow", "carol"}, {"deny", "eve,alice"}, {"delay_ms", "150"}, {"reason", "0x8A"}}});
    PluginBroker b(s);

    auto carol = connect_as(b, 5, "c-carol", "carol", "any");
    CHECK(carol.rc() == 0x00);
    CHECK(carol.ms >= 140);  // the answer came from the thread, after its delay
    CHECK_MESSAGE(b.wait_line({"fixture: completed user carol client c-carol with ALLOW", "rc=0"}),
                  tail(b.log()));

    auto eve5 = connect_as(b, 5, "c-eve5", "eve", "any");
    CHECK(eve5.rc() == 0x8A);  // the plugin's own reason code reaches an MQTT 5 client
    auto eve4 = connect_as(b, 4, "c-eve4", "eve", "any");
    CHECK(eve4.rc() == 5);  // 0x8A maps to 5 (not authorized) for 3.1.1

    // alice is decided by the first plugin: the second is never asked (it would deny her).
    CHECK(connect_as(b, 5, "c-alice", "alice", "secret").rc() == 0x00);
    CHECK(lines_with(b.log(), {"fixture:", "user alice client c-alice: PENDING"}).empty());

    // Unknown to both: NEXT, NEXT, then auth_default = allow.
    CHECK(connect_as(b, 5, "c-zed", "zed", "x").rc() == 0x00);
    CHECK(b.wait_line({"auth_pending_thread", "fixture: user zed client c-zed: NEXT"}));

    // Real clients, with the pending answer in the way.
    auto r = run(pub(b, {"-t", "chain/x", "-m", "1", "-u", "carol", "-P", "x", "-V", "mqttv5"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    auto e = run(pub(b, {"-t", "chain/x", "-m", "1", "-u", "eve", "-P", "x", "-V", "mqttv5"}));
    CHECK(e.exit_code != 0);
}

TEST_CASE("chain: a PENDING answer of NEXT, given from a thread, passes the client on to the next plugin") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_AUTH_PENDING_THREAD, {{"later_next", "alice"}, {"delay_ms", "100"}}});
    s.plugins.push_back(table());
    PluginBroker b(s);
    auto ok = connect_as(b, 5, "n-ok", "alice", "secret");
    CHECK(ok.rc() == 0x00);
    CHECK(ok.ms >= 90);
    CHECK(connect_as(b, 5, "n-bad", "alice", "wrong").rc() == 0x86);
    CHECK(connect_as(b, 4, "n-bad4", "alice", "wrong").rc() == 4);
    CHECK_MESSAGE(b.wait_line({"fixture: completed user alice client n-ok with NEXT", "rc=0"}),
                  tail(b.log()));
    CHECK(b.wait_line({"auth_table", "fixture: user alice client n-ok transport=tcp: ALLOW"}));
}

TEST_CASE("PENDING answered at once from a thread (maybe before the hook returned), 40 clients in a row") {
    Setup s;
    s.plugins.push_back(
        {ROOST_PLUGIN_AUTH_PENDING_THREAD, {{"allow", "carol"}, {"deny", "eve"}, {"delay_ms", "0"}}});
    PluginBroker b(s);
    int right = 0;
    for (int i = 0; i < 40; i++) {
        bool allow = i % 2 == 0;
        auto a = connect_as(b, 5, numbered("race", size_t(i)), allow ? "carol" : "eve", "x");
        right += a.rc() == (allow ? 0x00 : 0x87);
    }
    CHECK(right == 40);
    CHECK(b.running());
}

TEST_CASE("a PENDING answer for a client that already left: complete returns ROOST_EGONE, no crash") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_AUTH_PENDING_THREAD, {{"allow", "carol"}, {"delay_ms", "400"}}});
    PluginBroker b(s);
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "leaver", "carol", "x")));
        REQUIRE(b.wait_line({"fixture: user carol client leaver: PENDING"}));
    }  // closed before the answer
    CHECK_MESSAGE(b.wait_line({"fixture: completed user carol client leaver", "rc=-3"}, 3s), tail(b.log()));
    CHECK(connect_as(b, 5, "stayer", "carol", "x").rc() == 0x00);
}

TEST_CASE("auth_never: the PENDING answer times out after plugin_timeout_ms and denies") {
    Setup s;
    s.broker.push_back("plugin_timeout_ms = 500");
    s.plugins.push_back(table());
    s.plugins.push_back({ROOST_PLUGIN_AUTH_NEVER, {}});
    PluginBroker b(s);

    // Two clients wait at once; alice (decided by the table) is served meanwhile.
    Answer v5, v4;
    std::thread t5([&] { v5 = connect_as(b, 5, "never5", "nobody", "x", 5s); });
    std::thread t4([&] { v4 = connect_as(b, 4, "never4", "nobody", "x", 5s); });
    settle(100ms);
    CHECK(connect_as(b, 5, "served", "alice", "secret").rc() == 0x00);
    t5.join();
    t4.join();
    INFO(tail(b.log()));
    CHECK(v5.rc() == 0x87);
    CHECK(v4.rc() == 5);
    // Denied when plugin_timeout_ms has passed: not before, and not much after.
    MESSAGE("time-out answers after " << v5.ms << " ms (MQTT 5) and " << v4.ms
                                      << " ms (3.1.1); plugin_timeout_ms = 500");
    CHECK(v5.ms >= 450);
    CHECK(v5.ms < 750);
    CHECK(v4.ms < 750);
    // The broker says so, naming the plugin.
    bool logged = false;
    for (auto& line : broker_lines_with(b.log(), {"auth_never"}))
        logged = logged || contains_ci(line, "time");
    CHECK_MESSAGE(logged, "no broker line naming auth_never and the time-out");
}

TEST_CASE("auth_never: a client that leaves while its answer is pending costs nothing") {
    Setup s;
    s.broker.push_back("plugin_timeout_ms = 300");
    s.plugins.push_back({ROOST_PLUGIN_AUTH_NEVER, {}});
    PluginBroker b(s);
    for (int i = 0; i < 5; i++) {
        WireClient c(b.port());
        c.send(connect_with(5, numbered("gone", size_t(i)), "x", "y"));
    }
    settle(700ms);  // past the time-out of every abandoned call
    CHECK(b.running());
    // The destructor checks the broker still stops cleanly with the calls behind it.
}

TEST_CASE("auth_twice: the first complete stands, the second returns ROOST_EINVAL and is logged") {
    SUBCASE("ALLOW then DENY") {
        Setup s;
        s.plugins.push_back({ROOST_PLUGIN_AUTH_TWICE, {{"verdict", "allow"}}});
        PluginBroker b(s);
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "twice-a", "u", "p")));
        auto ack = c.read_until(pkt::CONNACK);
        REQUIRE(ack);
        CHECK(ack->reason() == 0x00);
        CHECK_MESSAGE(b.wait_line({"fixture: client twice-a: first complete(ALLOW) rc=0",
                                   "repeat complete(DENY) rc=-1 as the ABI says"}),
                      tail(b.log()));
        // The client stays connected: the late DENY did not touch it.
        REQUIRE(c.send(pkt::pingreq()));
        CHECK(c.read_until(pkt::PINGRESP));
        // The broker logs the second completion too. The plugin's name contains "twice": look
        // past the name.
        bool logged = false;
        for (auto& line : broker_lines_with(b.log(), {"auth_twice"})) {
            std::string rest = line;
            for (size_t p; (p = rest.find("auth_twice")) != std::string::npos;)
                rest.erase(p, 10);
            logged = logged || contains_ci(rest, "twice") || contains_ci(rest, "already") ||
                     contains_ci(rest, "again") || contains_ci(rest, "second") ||
                     contains_ci(rest, "more than once");
        }
        CHECK_MESSAGE(logged, "no broker line about auth_twice's second completion:\n" << tail(b.log()));
    }
    SUBCASE("DENY then ALLOW") {
        Setup s;
        s.plugins.push_back({ROOST_PLUGIN_AUTH_TWICE, {{"verdict", "deny"}}});
        PluginBroker b(s);
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "twice-d", "u", "p")));
        auto ack = c.read_until(pkt::CONNACK);
        REQUIRE(ack);
        CHECK(ack->reason() == 0x87);
        CHECK(c.wait_closed());
        CHECK_MESSAGE(b.wait_line({"fixture: client twice-d: first complete(DENY) rc=0",
                                   "repeat complete(ALLOW) rc=-1 as the ABI says"}),
                      tail(b.log()));
    }
}

TEST_CASE("auth_garbage: verdict 42 is a DENY, and the broker names the plugin") {
    Setup s;
    s.listeners[0].auth_default = "allow";  // a garbage answer must not fall through to allow
    s.plugins.push_back({ROOST_PLUGIN_AUTH_GARBAGE, {}});
    PluginBroker b(s);
    auto v5 = connect_as(b, 5, "g5", "u", "p");
    auto v4 = connect_as(b, 4, "g4", "u", "p");
    INFO(tail(b.log()));
    REQUIRE(v5.code);
    CHECK(*v5.code >= 0x80);
    REQUIRE(v4.code);
    CHECK(*v4.code != 0);
    bool logged = false;
    for (auto& line : broker_lines_with(b.log(), {"auth_garbage"}))
        logged = logged || contains_ci(line, "42") || contains_ci(line, "verdict");
    CHECK_MESSAGE(logged, "no broker line naming auth_garbage and its bad verdict");
    CHECK(b.running());
}

TEST_CASE("auth_slow: a hook that blocks 2.5 s is named in the log: the worker's loop was held") {
    // Nothing else tells an operator why every client of a worker waited seconds: the tick after
    // the stall comes late, and says so.
    Setup s;
    s.broker.push_back("workers = 1");
    s.plugins.push_back({ROOST_PLUGIN_AUTH_SLOW, {{"delay_ms", "2500"}}});
    PluginBroker b(s);
    size_t from = b.log_size();
    Answer a = connect_as(b, 5, "stalls-the-worker", "u", "p", 10s);
    CHECK(a.rc() == 0x00);
    CHECK_MESSAGE(b.wait_line({"worker 0: its event loop was held for more than",
                               "blocks instead of "
                               "answering PENDING"},
                              3s, from),
                  b.log());
}

TEST_CASE("auth_slow: a hook that blocks 200 ms delays its worker, yet every client is answered") {
    // auth_slow sleeps inside the hook, on the worker thread that owns the client. With one
    // worker nobody else is served meanwhile: this is why slow checks answer PENDING. The test
    // checks the broker stays correct (every CONNACK, the PINGRESP) and reports the delay.
    Setup s;
    s.broker.push_back("workers = 1");
    s.plugins.push_back({ROOST_PLUGIN_AUTH_SLOW, {{"delay_ms", "200"}}});
    PluginBroker b(s);
    WireClient early(b.port());
    REQUIRE(early.send(connect_with(5, "early", "u", "p")));
    REQUIRE(early.read_until(pkt::CONNACK));

    std::vector<Answer> answers(3);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < answers.size(); i++)
        threads.emplace_back(
            [&, i] { answers[i] = connect_as(b, 5, numbered("slow", size_t(i)), "u", "p", 5s); });
    settle(50ms);
    auto start = Clock::now();
    REQUIRE(early.send(pkt::pingreq()));
    auto pong = early.read_until(pkt::PINGRESP, 5s);
    long ping_ms = long(std::chrono::duration_cast<Millis>(Clock::now() - start).count());
    for (auto& t : threads)
        t.join();
    CHECK(pong);
    MESSAGE("PINGRESP of a connected client took " << ping_ms << " ms while 3 slow auths ran on its worker");
    long slowest = 0;
    for (auto& a : answers) {
        CHECK(a.rc() == 0x00);
        slowest = std::max(slowest, a.ms);
    }
    CHECK(slowest >= 200);
}
