// What the ACL contract promises (acl_multi fixture): the publish check runs before on_publish;
// a DELIVER check carries the subscriber, with the publisher's id in publisher_id; a SUBSCRIBE
// with several filters asks about all of them at once (one round trip, not one per filter);
// disconnect from inside a check is safe.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup acl_setup() {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_ACL_MULTI, {{"delay_ms", "400"}}});
    return s;
}

// SUBSCRIBE (MQTT 5) with several filters, QoS 1 each.
Bytes subscribe_many(uint16_t id, const std::vector<std::string>& filters) {
    Bytes body = pkt::u16(id) + pkt::varint(0);
    for (auto& f : filters)
        body += pkt::str(f) + char(1);
    return pkt::packet(0x82, body);
}

}  // namespace

TEST_CASE("a SUBSCRIBE with several filters: every check asked at once, SUBACK in filter order") {
    PluginBroker b(acl_setup());
    WireClient c(b.port());
    REQUIRE(c.send(connect_with(5, "multi", std::nullopt, std::nullopt)));
    REQUIRE(c.read_until(pkt::CONNACK));
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(c.send(subscribe_many(3, {"a/1", "b/deny", "c/3", "d/4"})));
    auto suback = c.read_until(pkt::SUBACK, 5s);
    auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
    REQUIRE_MESSAGE(suback, tail(b.log()));
    CHECK(suback_codes(*suback, 5) == std::vector<uint8_t>{1, 0x87, 1, 1});
    // Four answers of 400 ms each, asked at once: well under 4 x 400 ms.
    CHECK_MESSAGE(took < 1200ms, "took " << took.count() << " ms");
    std::string log = b.log();
    INFO(tail(log));
    size_t last_pending = log.rfind("fixture: subscribe d/4 PENDING");
    size_t first_completed = log.find("completed rc=");
    REQUIRE(last_pending != std::string::npos);
    REQUIRE(first_completed != std::string::npos);
    CHECK(last_pending < first_completed);
}

TEST_CASE("publish check before on_publish; a DELIVER check carries the subscriber and publisher_id") {
    PluginBroker b(acl_setup());
    WireClient s(b.port());
    REQUIRE(s.send(connect_with(4, "subscriber1", std::nullopt, std::nullopt)));
    REQUIRE(s.read_until(pkt::CONNACK));
    REQUIRE(s.send(pkt::subscribe(1, "news/#", 0, 4)));
    REQUIRE(s.read_until(pkt::SUBACK, 5s));
    auto r = run(pub(b, {"-t", "news/today", "-m", "hi", "-i", "publisher1"}));
    CHECK(r.exit_code == 0);
    auto msg = s.read_until(pkt::PUBLISH, 5s);
    REQUIRE(msg);
    CHECK_MESSAGE(b.wait_line({"fixture: deliver news/today to=subscriber1 from=publisher1"}), tail(b.log()));
    std::string log = b.log();
    CHECK(log.find("fixture: publish check news/today by publisher1") <
          log.find("fixture: on_publish news/today"));
    CHECK(log.find("fixture: on_publish news/today") < log.find("fixture: deliver news/today"));
}

TEST_CASE("disconnect from inside a publish or a deliver check is safe") {
    PluginBroker b(acl_setup());
    // The subscriber is disconnected from inside the DELIVER check of a message to it.
    WireClient s(b.port());
    REQUIRE(s.send(connect_with(5, "victim", std::nullopt, std::nullopt)));
    REQUIRE(s.read_until(pkt::CONNACK));
    REQUIRE(s.send(pkt::subscribe(1, "kick/#", 0, 5)));
    REQUIRE(s.read_until(pkt::SUBACK, 5s));
    WireClient other(b.port());
    REQUIRE(other.send(connect_with(4, "bystander", std::nullopt, std::nullopt)));
    REQUIRE(other.read_until(pkt::CONNACK));
    REQUIRE(other.send(pkt::subscribe(1, "kick/#", 0, 4)));
    REQUIRE(other.read_until(pkt::SUBACK, 5s));
    run(pub(b, {"-t", "kick/subscriber", "-m", "x"}));
    auto d = s.read_until(pkt::DISCONNECT, 5s);
    REQUIRE_MESSAGE(d, tail(b.log()));
    CHECK(d->reason() == 0x98);
    CHECK(b.wait_line({"fixture: disconnect in deliver check rc=0"}));
    CHECK(other.read_until(pkt::PUBLISH, 5s));  // the others still get it

    // The publisher is disconnected from inside its own PUBLISH check.
    WireClient p(b.port());
    REQUIRE(p.send(connect_with(5, "kicked-publisher", std::nullopt, std::nullopt)));
    REQUIRE(p.read_until(pkt::CONNACK));
    REQUIRE(p.send(pkt::publish("kick/publisher", "y", 1, 5, false, 5)));
    auto d2 = p.read_until(pkt::DISCONNECT, 5s);
    REQUIRE_MESSAGE(d2, tail(b.log()));
    CHECK(d2->reason() == 0x98);
    CHECK(b.wait_line({"fixture: disconnect in publish check rc=0"}));
    CHECK(b.running());
    auto r = run(pub(b, {"-t", "after/kick", "-m", "ok"}));
    CHECK(r.exit_code == 0);
}
