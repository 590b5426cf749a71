// 08 $SYS: the broker publishes its version, uptime and counters under $SYS/broker/ (the test
// config sets [broker] sys_interval = 1).
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("$SYS/broker/version has a value") {
    Broker b;
    RunResult r = run(sub_args(b, {"-t", "$SYS/broker/version", "-C", "1", "-W", "5"}));
    CHECK(r.exit_code == 0);
    CHECK(r.out.size() > 1);
    MESSAGE("version: " << r.out);
}

TEST_CASE("$SYS uptime, connected clients and received messages exist") {
    Broker b;
    CHECK(run(pub_args(b, {"-t", "sys/test", "-m", "x"})).exit_code == 0);
    for (std::string topic :
         {"$SYS/broker/uptime", "$SYS/broker/clients/connected", "$SYS/broker/messages/received"}) {
        CAPTURE(topic);
        RunResult r = run(sub_args(b, {"-t", topic, "-C", "1", "-W", "5"}));
        CHECK(r.exit_code == 0);
        CHECK(r.out.size() > 1);
    }
}

TEST_CASE("$SYS counters are numbers and clients/connected counts us") {
    Broker b;
    RunResult r = run(sub_args(b, {"-t", "$SYS/broker/clients/connected", "-C", "2", "-W", "5"}));
    CHECK(r.exit_code == 0);
    // The last value was published while this subscriber was connected.
    auto last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
    CAPTURE(r.out);
    CHECK(std::stoi(last) >= 1);
}

TEST_CASE("# does not match $SYS topics") {
    Broker b;
    RunResult r = run(sub_args(b, {"-t", "#", "-C", "1", "-W", "2", "-F", "%t"}));
    CHECK(r.out.empty());
}
