// Transport additions (transport_flow fixture): conn_info, one flush per batch of encodes,
// reading paused under backpressure and resumed when the backlog drained, connection timers
// stopped by the host when the connection closes.
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup flow_setup() {
    Setup s;
    s.listeners.push_back(ListenerSpec{"flow", "", "", 0});
    s.plugins.push_back({ROOST_PLUGIN_TRANSPORT_FLOW, {{"high", "65536"}}});
    return s;
}

}  // namespace

TEST_CASE("conn_info names the peer; connection timers stop before close()") {
    PluginBroker b(flow_setup());
    size_t from = 0;
    {
        WireClient c(b.port(1));
        REQUIRE(c.send(connect_with(4, "flow1", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        CHECK_MESSAGE(b.wait_line({"fixture: open peer=127.0.0.1:",
                                   cat({"listener=127.0.0.1:", b.port_str(1)}), "transport=flow"}),
                      tail(b.log()));
        settle(200ms);        // the connection timer runs a few times
        from = b.log_size();  // what follows is flow1's close, not the start probe's
    }
    REQUIRE_MESSAGE(b.wait_line({"fixture: close conn timer runs=", "stop after close rc=-3"}, 3s, from),
                    tail(b.log()));
    auto line = lines_with(b.log().substr(from), {"fixture: close conn timer runs="}).back();
    CHECK(std::stoi(line.substr(line.find("runs=") + 5)) >= 2);
    settle(150ms);
    CHECK_FALSE(contains_ci(b.log(), "WRONG"));
}

TEST_CASE("a batch of packets leaves in one flush; reading pauses under backpressure and resumes") {
    PluginBroker b(flow_setup());
    WireClient slow(b.port(1));
    REQUIRE(slow.send(connect_with(4, "slow", std::nullopt, std::nullopt)));
    REQUIRE(slow.read_until(pkt::CONNACK));
    REQUIRE(slow.send(pkt::subscribe(1, "flood/#", 0, 4)));
    REQUIRE(slow.read_until(pkt::SUBACK));

    // The slow subscriber stops reading; a publisher floods it until the broker's queue for it
    // passes `high` (64 KiB) beyond what the socket buffers take.
    WireClient p(b.port(0));
    REQUIRE(p.send(connect_with(4, "flooder", std::nullopt, std::nullopt)));
    REQUIRE(p.read_until(pkt::CONNACK));
    std::string payload(32 * 1024, 'x');
    std::string burst;
    for (int i = 0; i < 16; i++)
        burst += pkt::publish("flood/a", payload, 0);
    // Loopback socket buffers take megabytes: flood until reading is paused and stays paused
    // (a pause without its resume yet), which needs the kernel's buffers full.
    auto count = [&](const char* what) { return lines_with(b.log(), {what}).size(); };
    bool held = false;
    for (int round = 0; round < 200 && !held; round++) {
        REQUIRE(p.send(burst));
        settle(20ms);
        held = count("fixture: paused at backlog") > count("fixture: resumed after drain (backlog 0) rc=0");
    }
    REQUIRE_MESSAGE(held, tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: flush of"}), tail(b.log()));  // a batch of several publishes

    // The subscriber reads everything: the backlog drains, reading resumes, and it is served
    // again (a PINGREQ it sends is read and answered).
    bool resumed = false;
    for (int round = 0; round < 40 && !resumed; round++) {
        while (slow.read_packet(300ms)) {
        }  // until nothing more comes for a while
        resumed =
            count("fixture: paused at backlog") == count("fixture: resumed after drain (backlog 0) rc=0");
    }
    REQUIRE_MESSAGE(resumed, tail(b.log()));
    REQUIRE(slow.send(pkt::pingreq()));
    CHECK(slow.read_until(pkt::PINGRESP, 5s));
}
