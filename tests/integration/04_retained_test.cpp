// 04 retained: a retained message is stored per topic, replaced, delivered to new subscribers with
// the retain flag, and cleared by an empty retained payload.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("retained set, replace, deliver to a late subscriber, clear") {
    Broker b;
    for (std::string version : {"mqttv311", "mqttv5"}) {
        CAPTURE(version);
        std::string topic = "ret/" + version;
        CHECK(run(pub_args(b, {"-V", version, "-r", "-q", "1", "-t", topic, "-m", "first"})).exit_code == 0);
        CHECK(run(pub_args(b, {"-V", version, "-r", "-q", "1", "-t", topic, "-m", "second"})).exit_code == 0);
        // A late subscriber gets the latest retained value only.
        RunResult r = run(sub_args(b, {"-V", version, "-t", topic, "-C", "1", "-W", "5", "-F", "%r|%p"}));
        CHECK(r.exit_code == 0);
        CHECK(r.out == "1|second\n");
        // Clear with an empty retained message; a new subscriber then gets nothing.
        CHECK(run(pub_args(b, {"-V", version, "-r", "-q", "1", "-t", topic, "-n"})).exit_code == 0);
        RunResult none = run(sub_args(b, {"-V", version, "-t", topic, "-C", "1", "-W", "1"}));
        CHECK(none.out.empty());
    }
}

TEST_CASE("retained messages match wildcard subscriptions") {
    Broker b;
    for (std::string t : {"rw/a", "rw/b/c", "other/x"})
        CHECK(run(pub_args(b, {"-r", "-t", t, "-m", t})).exit_code == 0);
    RunResult r = run(sub_args(b, {"-t", "rw/#", "-C", "2", "-W", "5", "-F", "%t"}));
    CHECK(r.exit_code == 0);
    CHECK((r.out == "rw/a\nrw/b/c\n" || r.out == "rw/b/c\nrw/a\n"));
}

TEST_CASE("a live subscriber gets a retained publish with retain 0; a new one with retain 1") {
    Broker b;
    RawClient live(b.port());
    REQUIRE(live.handshake(pkt::conn(4, "live")));
    REQUIRE(live.send(pkt::subscribe(1, "ret/flag", 0)));
    REQUIRE(live.read_until(pkt::SUBACK));
    CHECK(run(pub_args(b, {"-r", "-t", "ret/flag", "-m", "v"})).exit_code == 0);
    auto p = live.read_until(pkt::PUBLISH);
    REQUIRE(p);
    CHECK((p->flags & 1) == 0);  // 3.3.1.3: retain 0 for a match with a live subscription
    RawClient late(b.port());
    REQUIRE(late.handshake(pkt::conn(4, "late")));
    REQUIRE(late.send(pkt::subscribe(1, "ret/flag", 0)));
    auto q = late.read_until(pkt::PUBLISH);
    REQUIRE(q);
    CHECK((q->flags & 1) == 1);
    CHECK(q->publish_payload(4) == "v");
}

TEST_CASE("a retained QoS 1 message is delivered at the subscription's QoS") {
    Broker b;
    CHECK(run(pub_args(b, {"-r", "-q", "1", "-t", "ret/qos", "-m", "q"})).exit_code == 0);
    RawClient c(b.port());
    REQUIRE(c.handshake(pkt::conn(5, "retqos")));
    REQUIRE(c.send(pkt::subscribe(3, "ret/qos", 1, 5)));
    auto p = c.read_until(pkt::PUBLISH);
    REQUIRE(p);
    CHECK(((p->flags >> 1) & 3) == 1);
    CHECK(p->publish_payload(5) == "q");
    REQUIRE(c.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
}
