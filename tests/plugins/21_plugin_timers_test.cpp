// Timers (timers fixture): ids, one-shots, timer_stop from inside the callback and from another
// timer, a second stop answering EGONE, and timer_start refused off the workers.
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

TEST_CASE("timers: one-shot fires once, repeating timers stop, a second stop is EGONE") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_TIMERS, {}});
    PluginBroker b(s);
    CHECK_MESSAGE(b.wait_line({"fixture: started rc=0 distinct=1"}), tail(b.log()));
    CHECK(b.wait_line({"fixture: init timer_start rc=-1"}));  // off the workers
    CHECK(b.wait_line({"fixture: zero timer rc=-1"}));
    CHECK_MESSAGE(b.wait_line({"fixture: one-shot fired"}), tail(b.log()));
    CHECK(b.wait_line({"fixture: stop fired one-shot rc=-3"}));
    CHECK(b.wait_line({"fixture: repeat B run 3 stop rc=0"}));
    CHECK_MESSAGE(b.wait_line({"fixture: stop C rc=0 after"}), tail(b.log()));
    CHECK(b.wait_line({"fixture: stop C again rc=-3"}));
    CHECK(b.wait_line({"fixture: stop 0 rc=-3"}));
    CHECK_MESSAGE(b.wait_line({"fixture: C runs after stop: 0"}), tail(b.log()));
    settle(200ms);
    std::string log = b.log();
    CHECK(lines_with(log, {"fixture: one-shot fired"}).size() == 1);
    CHECK_FALSE(contains_ci(log, "WRONG"));
}
