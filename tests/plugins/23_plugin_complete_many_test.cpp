// Group commit (persistence_batch fixture): every store answers PENDING, one writer thread
// completes each committed batch with complete_many; PUBACKs wait for it; at shutdown the calls
// still queued answer EGONE.
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

TEST_CASE("complete_many from a writer thread completes a batch; the PUBACKs follow it") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_PERSISTENCE_BATCH, {{"commit_ms", "150"}}});
    PluginBroker b(s);
    // A persistent session that stays offline: every QoS 1 message for it is stored.
    {
        WireClient sub(b.port());
        pkt::Connect c = pkt::conn(5, "batch-sub", false);
        c.properties = pkt::prop_u32(0x11, 300);  // session expiry
        REQUIRE(sub.handshake(c, 5s));
        REQUIRE(sub.send(pkt::subscribe(1, "batch/#", 1, 5)));
        REQUIRE(sub.read_until(pkt::SUBACK, 5s));
        REQUIRE(sub.send(pkt::disconnect(5, 0)));
    }
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
