// Lifecycle hooks: worker_start/worker_stop on every worker with per-worker state handed back to
// every later hook, on_connect/on_disconnect with the reason, a tick every second, and cleanup.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup two_workers() {
    Setup s;
    s.broker.push_back("workers = 2");
    s.plugins.push_back({ROOST_PLUGIN_LIFECYCLE_COUNTER, {}});
    return s;
}

}  // namespace

TEST_CASE("worker_start runs on every worker, worker_stop and cleanup at stop") {
    // Asks for 2 workers; a release that runs fewer says so (worker_count), and every worker
    // that runs must get worker_start and worker_stop.
    PluginBroker b(two_workers());
    REQUIRE_MESSAGE(b.wait_line({"fixture: worker_start 0 of", "(worker_data was plugin_data)"}),
                    tail(b.log()));
    auto first = lines_with(b.log(), {"fixture: worker_start 0 of"}).at(0);
    unsigned count = unsigned(std::stoul(first.substr(first.find(" of ") + 4)));
    MESSAGE("workers running: " << count << " (asked for 2)");
    REQUIRE(count >= 1);
    for (unsigned i = 1; i < count; i++)
        CHECK_MESSAGE(b.wait_line({cat({"fixture: worker_start ", std::to_string(i), " of"}),
                                   "(worker_data was plugin_data)"}),
                      tail(b.log()));
    Millis took{};
    CHECK(b.stop(10s, &took) == 0);
    std::string log = b.log();
    INFO(tail(log));
    for (unsigned i = 0; i < count; i++)
        CHECK(lines_with(log, {cat({"fixture: worker_stop ", std::to_string(i), " "}), "worker_data=ok"})
                  .size() == 1);
    CHECK(contains_ci(log, "lifecycle_counter fixture: cleanup"));
    // cleanup comes after every worker_stop.
    CHECK(log.rfind("fixture: worker_stop") < log.find("lifecycle_counter fixture: cleanup"));
    CHECK_FALSE(contains_ci(log, "WRONG"));
}

TEST_CASE("on_connect and on_disconnect get their worker's worker_data and the reason") {
    PluginBroker b(two_workers());
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "life5", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        CHECK_MESSAGE(b.wait_line({"fixture: on_connect client=life5", "worker_data=ok", "protocol=5"}),
                      tail(b.log()));
        REQUIRE(c.send(pkt::disconnect(5, 0x04)));  // "disconnect with will message"
        CHECK(c.wait_closed());
    }
    CHECK_MESSAGE(b.wait_line({"fixture: on_disconnect client=life5 reason=0x04", "worker_data=ok"}),
                  tail(b.log()));
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(4, "life4", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        CHECK(b.wait_line({"fixture: on_connect client=life4", "worker_data=ok", "protocol=4"}));
    }  // connection lost, no DISCONNECT: reason 0
    CHECK_MESSAGE(b.wait_line({"fixture: on_disconnect client=life4 reason=0x00", "worker_data=ok"}),
                  tail(b.log()));
    // A real client.
    auto r = run(pub(b, {"-t", "life/x", "-m", "1", "-i", "life-pub"}));
    CHECK(r.exit_code == 0);
    CHECK(b.wait_line({"fixture: on_connect client=life-pub"}));
    CHECK(b.wait_line({"fixture: on_disconnect client=life-pub reason=0x00"}));
    CHECK_FALSE(contains_ci(b.log(), "WRONG"));
}

TEST_CASE("a client the broker refuses never gets on_connect") {
    Setup s = two_workers();
    s.plugins.push_back({ROOST_PLUGIN_AUTH_TABLE, {{"users", "alice:secret"}}});
    PluginBroker b(s);
    WireClient c(b.port());
    REQUIRE(c.send(connect_with(5, "refused", "alice", "wrong")));
    auto ack = c.read_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 0x86);
    settle(300ms);
    CHECK(lines_with(b.log(), {"fixture: on_connect client=refused"}).empty());
}

TEST_CASE("tick runs once a second on every worker") {
    PluginBroker b(two_workers());
    REQUIRE(b.wait_line({"fixture: worker_start 0 of"}));
    auto first = lines_with(b.log(), {"fixture: worker_start 0 of"}).at(0);
    unsigned count = unsigned(std::stoul(first.substr(first.find(" of ") + 4)));
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < count; i++)
        CHECK_MESSAGE(
            b.wait_line({cat({"fixture: tick worker=", std::to_string(i), " n=2"}), "worker_data=ok"}, 4s),
            tail(b.log()));
    // Two ticks, a second apart: not sooner than about a second after the start.
    CHECK(std::chrono::steady_clock::now() - start >= 500ms);
}
