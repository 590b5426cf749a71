// "Any thread" host functions called from a thread the plugin started in roost_plugin_init, for
// its whole life (thread_from_init fixture): host->publish and host->post while the workers are
// being made, while they run and while they are torn down. Before the workers run and after they
// stop both answer ROOST_EGONE (not the plugin's fault), never EINVAL, and never touch a worker
// that is being made or freed (the ASan and TSan builds check that part).
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

TEST_CASE(
    "thread_from_init: publish and post from init to cleanup answer OK or EGONE, and reach the workers") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_THREAD_FROM_INIT, {{"topic", "tfi"}}});
    PluginBroker b(s);
    Sub tfi(b, {"-t", "tfi/#"});
    REQUIRE(tfi.wait_subscribed());
    REQUIRE_MESSAGE(tfi.wait_messages(1, 5s), tail(b.log()));  // the thread's publishes arrive
    Millis took{};
    int code = b.stop(10s, &took);
    CHECK_MESSAGE(code == 0, "broker exit code " << code << "; log tail:\n" << tail(b.log()));
    std::string log = b.log();
    auto counts = lines_with(log, {"fixture: publish ok="});
    REQUIRE_MESSAGE(counts.size() == 1, tail(log));
    const std::string& line = counts[0];
    // The first round ran inside init, before any worker existed: EGONE, not EINVAL.
    CHECK_MESSAGE(line.find("einval=0 other=0; post") != std::string::npos, line);
    CHECK_MESSAGE(line.find("post ok=0 ") == std::string::npos, line);  // posts reached the workers
    CHECK_MESSAGE(line.find(" einval=0 other=0; ran=") != std::string::npos, line);
    CHECK_MESSAGE(line.find("ran=0") == std::string::npos, line);  // and the posted fns ran there
}
