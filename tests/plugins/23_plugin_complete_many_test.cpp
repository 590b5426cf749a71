// Group commit (persistence_batch fixture): every store answers PENDING, one writer thread
// completes each committed batch with complete_many; PUBACKs wait for it; at shutdown the calls
// still queued answer EGONE.
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

// A persistent MQTT 5 session subscribed to `filter` at QoS 1 that stays offline: every QoS 1
// message for it is stored.
void offline_subscriber(const PluginBroker& b, const std::string& id, const std::string& filter) {
    WireClient sub(b.port());
    pkt::Connect c = pkt::conn(5, id, false);
    c.properties = pkt::prop_u32(0x11, 300);  // session expiry
    REQUIRE(sub.handshake(c, 5s));
    REQUIRE(sub.send(pkt::subscribe(1, filter, 1, 5)));
    REQUIRE(sub.read_until(pkt::SUBACK, 5s));
    REQUIRE(sub.send(pkt::disconnect(5, 0)));
}

}  // namespace

TEST_CASE("complete_many from a writer thread completes a batch; the PUBACKs follow it") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_PERSISTENCE_BATCH, {{"commit_ms", "150"}}});
    PluginBroker b(s);
    offline_subscriber(b, "batch-sub", "batch/#");
    WireClient p(b.port());
    REQUIRE(p.send(connect_with(5, "batch-pub", std::nullopt, std::nullopt)));
    REQUIRE(p.read_until(pkt::CONNACK));
    size_t from = b.log_size();
    std::string burst;
    for (uint16_t id = 1; id <= 10; id++)
        burst += pkt::publish("batch/x", "m" + std::to_string(id), 1, id, false, 5);
    REQUIRE(p.send(burst));
    for (uint16_t id = 1; id <= 10; id++) {
        auto ack = p.read_until(pkt::PUBACK, 5s);
        REQUIRE_MESSAGE(ack, tail(b.log()));
        CHECK(ack->packet_id() == id);
        CHECK(ack_reason(*ack) == 0);
    }
    // One commit carried several calls, every one taken.
    bool big_batch = false;
    for (auto& line : lines_with(b.log().substr(from), {"fixture: committed batch of"})) {
        size_t n = std::stoul(line.substr(line.find("batch of ") + 9));
        CHECK_MESSAGE(contains_ci(line, cat({"rc=0 ok=", std::to_string(n), " gone=0 other=0"})), line);
        big_batch = big_batch || n >= 5;
    }
    CHECK_MESSAGE(big_batch, tail(b.log()));
    CHECK(b.stop() == 0);
    CHECK_MESSAGE(b.wait_line({"fixture: writer stopped"}), tail(b.log()));
}

TEST_CASE("a publisher keeps going while its PUBACKs wait for commits: its messages share them, in order") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_PERSISTENCE_BATCH, {{"commit_ms", "200"}}});
    PluginBroker b(s);
    offline_subscriber(b, "share-sub", "share/#");
    WireClient p(b.port());
    REQUIRE(p.send(connect_with(5, "share-pub", std::nullopt, std::nullopt)));
    REQUIRE(p.read_until(pkt::CONNACK));
    size_t from = b.log_size();
    // 200 QoS 1 publishes, one burst; a commit every 200 ms. Were the publisher to stop until
    // each PUBACK, this would take 200 commits (40 s); reading on, a few commits carry them all.
    const uint16_t count = 200;
    std::string burst;
    for (uint16_t id = 1; id <= count; id++)
        burst += pkt::publish("share/x", "m" + std::to_string(id), 1, id, false, 5);
    REQUIRE(p.send(burst));
    for (uint16_t id = 1; id <= count; id++) {
        auto ack = p.read_until(pkt::PUBACK, 5s);
        REQUIRE_MESSAGE(ack, tail(b.log()));
        CHECK(ack->packet_id() == id);  // in the order of the PUBLISHes (spec 4.6.0-2)
    }
    size_t commits = lines_with(b.log().substr(from), {"fixture: committed batch of"}).size();
    MESSAGE(count << " publishes acknowledged after " << commits << " commits");
    CHECK(commits <= 10);
    CHECK(b.stop() == 0);
}
