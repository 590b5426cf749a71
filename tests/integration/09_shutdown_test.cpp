// 09 shutdown: SIGTERM ends the broker promptly with exit code 0, with clients connected, and
// their wills are published on the way down (MQTT 5 3.1.2.5: server shutdown counts as a close
// without DISCONNECT).
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("SIGTERM on an idle broker: exit 0 within 3 s") {
    Broker b;
    Millis took{};
    CHECK(b.stop(10s, &took) == 0);
    CHECK(took < 3s);
}

TEST_CASE("SIGTERM with clients connected and a subscriber running: exit 0, clients closed") {
    Broker b;
    Subscriber sub(b, {"-q", "1", "-t", "shutdown/#", "-W", "20"});
    REQUIRE(sub.wait_subscribed());
    RawClient idle(b.port());
    REQUIRE(idle.handshake(pkt::conn(5, "idle5")));
    RawClient idle4(b.port());
    REQUIRE(idle4.handshake(pkt::conn(4, "idle4")));
    Millis took{};
    CHECK(b.stop(10s, &took) == 0);
    CHECK(took < 3s);
    std::vector<Packet> before;
    CHECK(idle.wait_closed(2s, &before));
    if (!before.empty() && !broker_is_mosquitto()) {
        CHECK(before.back().type == pkt::DISCONNECT);
        CHECK(before.back().reason() == 0x8B);  // Server shutting down
    }
    CHECK(idle4.wait_closed(2s));
    sub.finish(5s);
}

TEST_CASE("wills of connected clients are published at shutdown") {
    ROOST_ONLY();  // mosquitto drops wills on shutdown by default
    Broker b;
    RawClient watcher(b.port());
    REQUIRE(watcher.handshake(pkt::conn(5, "will-watcher")));
    REQUIRE(watcher.send(pkt::subscribe(1, "shutdown/will", 0, 5)));
    REQUIRE(watcher.read_until(pkt::SUBACK));
    RawClient holder(b.port());
    pkt::Connect c = pkt::conn(5, "will-holder");
    c.will = pkt::Will{"shutdown/will", "bye", 0, false, {}};
    REQUIRE(holder.handshake(c));
    CHECK(b.stop() == 0);
    std::vector<Packet> before;
    CHECK(watcher.wait_closed(2s, &before));
    bool got_will = false;
    for (auto& p : before)
        if (p.type == pkt::PUBLISH && p.publish_payload(5) == "bye") got_will = true;
    CHECK(got_will);
}

TEST_CASE("restart on the same port after a clean stop") {
    Broker b;
    CHECK(b.stop() == 0);
    b.start();
    CHECK(run(pub_args(b, {"-t", "restart", "-m", "x"})).exit_code == 0);
    CHECK(b.stop() == 0);
}
