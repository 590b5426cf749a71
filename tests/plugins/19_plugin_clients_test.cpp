// Per-client plugin data, client refs kept past the hook, and the documented order of lifecycle
// events (client_data fixture): data released exactly once on every path (refused CONNECT,
// takeover, lost socket, a normal DISCONNECT, shutdown); a kept ref answers EGONE once its client
// left; a ref disconnects from another thread; a takeover tells the old connection first.
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

Setup client_data_setup(std::vector<std::pair<std::string, std::string>> options = {}) {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_CLIENT_DATA, std::move(options)});
    return s;
}

// The serial the fixture gave the n-th client data set for `id` (0-based), or "" if none yet.
std::string serial_of(const std::string& log, const std::string& id, size_t n = 0) {
    auto lines = lines_with(log, {cat({"fixture: set id=", id, " serial="})});
    if (lines.size() <= n) return "";
    const std::string& line = lines[n];
    size_t at = line.find("serial=") + 7;
    return line.substr(at, line.find(' ', at) - at);
}

size_t pos_of(const std::string& log, std::vector<std::string> needles) {
    auto lines = lines_with(log, std::move(needles));
    return lines.empty() ? std::string::npos : log.find(lines[0]);
}

// "sets=N releases=M double=D" of the fixture's totals line at `where` ("worker_stop 0", "cleanup").
std::string totals(const std::string& log, const std::string& where) {
    auto lines = lines_with(log, {cat({"fixture: totals at ", where})});
    if (lines.empty()) return "";
    return lines.back().substr(lines.back().find("sets="));
}

}  // namespace

TEST_CASE("client data is released exactly once on every path, with the data that was set") {
    PluginBroker b(client_data_setup());

    // 1. A CONNECT that auth refuses: data set during auth, released, no on_connect/on_disconnect.
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "refused1", std::string("bad"), std::string("pw"))));
        auto ack = c.read_until(pkt::CONNACK);
        REQUIRE(ack);
        CHECK(ack->reason() == 0x87);
    }
    REQUIRE_MESSAGE(b.wait_line({"fixture: release id=refused1"}), tail(b.log()));

    // 2. A lost socket.
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(4, "lost1", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        REQUIRE(b.wait_line({"fixture: connect id=lost1", "data=ok"}));
        c.close();
    }
    REQUIRE_MESSAGE(b.wait_line({"fixture: release id=lost1"}), tail(b.log()));

    // 3. A normal DISCONNECT.
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(5, "normal1", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        REQUIRE(c.send(pkt::disconnect(5, 0)));
        CHECK(c.wait_closed());
    }
    REQUIRE_MESSAGE(b.wait_line({"fixture: release id=normal1"}), tail(b.log()));

    // 4. A takeover: both the old and the new connection's data, each once.
    WireClient old_conn(b.port());
    REQUIRE(old_conn.send(connect_with(5, "take1", std::nullopt, std::nullopt)));
    REQUIRE(old_conn.read_until(pkt::CONNACK));
    WireClient new_conn(b.port());
    REQUIRE(new_conn.send(connect_with(5, "take1", std::nullopt, std::nullopt)));
    REQUIRE(new_conn.read_until(pkt::CONNACK));
    std::vector<Packet> before;
    CHECK(old_conn.wait_closed(3s, &before));
    REQUIRE_MESSAGE(b.wait_line({"fixture: release id=take1"}), tail(b.log()));

    // 5. Shutdown: the clients still connected (the new take1, and stay1).
    WireClient stay(b.port());
    REQUIRE(stay.send(connect_with(4, "stay1", std::nullopt, std::nullopt)));
    REQUIRE(stay.read_until(pkt::CONNACK));
    REQUIRE(b.wait_line({"fixture: connect id=stay1"}));
    CHECK(b.stop() == 0);

    std::string log = b.log();
    INFO(tail(log, 6000));
    for (const char* id : {"refused1", "lost1", "normal1", "stay1"}) {
        std::string serial = serial_of(log, id);
        REQUIRE(!serial.empty());
        CHECK_MESSAGE(
            lines_with(log, {cat({"fixture: release id=", id, " serial=", serial, " "})}).size() == 1, id);
    }
    std::string old_serial = serial_of(log, "take1", 0), new_serial = serial_of(log, "take1", 1);
    REQUIRE(!new_serial.empty());
    CHECK(lines_with(log, {cat({"fixture: release id=take1 serial=", old_serial, " "})}).size() == 1);
    CHECK(lines_with(log, {cat({"fixture: release id=take1 serial=", new_serial, " "})}).size() == 1);
    // The refused CONNECT had neither on_connect nor on_disconnect.
    CHECK(lines_with(log, {"fixture: connect id=refused1"}).empty());
    CHECK(lines_with(log, {"fixture: disconnect id=refused1"}).empty());
    // Shutdown: on_disconnect before client_release, and every release before the last
    // worker_stop (each worker releases its clients before its own worker_stop).
    CHECK(pos_of(log, {"fixture: disconnect id=stay1"}) < pos_of(log, {"fixture: release id=stay1"}));
    CHECK(log.rfind("fixture: release id=") < log.rfind("fixture: totals at worker_stop"));
    CHECK(totals(log, "worker_stop") == "sets=6 releases=6 double=0");
    CHECK(totals(log, "cleanup") == "sets=6 releases=6 double=0");
    CHECK_FALSE(contains_ci(log, "WRONG"));
}

TEST_CASE("a takeover: the old connection hears first (DISCONNECT 0x8E, on_disconnect), then the new one") {
    PluginBroker b(client_data_setup());
    WireClient old_conn(b.port());
    REQUIRE(old_conn.send(connect_with(5, "order1", std::nullopt, std::nullopt)));
    REQUIRE(old_conn.read_until(pkt::CONNACK));
    REQUIRE(b.wait_line({"fixture: connect id=order1"}));
    WireClient new_conn(b.port());
    REQUIRE(new_conn.send(connect_with(5, "order1", std::nullopt, std::nullopt)));
    auto ack = new_conn.read_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 0);
    auto d = old_conn.read_until(pkt::DISCONNECT);
    REQUIRE(d);
    CHECK(d->reason() == 0x8E);
    REQUIRE_MESSAGE(b.wait_line({"fixture: release id=order1"}), tail(b.log()));
    std::string log = b.log();
    INFO(tail(log));
    std::string old_serial = serial_of(log, "order1", 0), new_serial = serial_of(log, "order1", 1);
    size_t old_disconnect =
        pos_of(log, {cat({"fixture: disconnect id=order1 serial=", old_serial, " reason=0x8e"})});
    size_t new_connect = pos_of(log, {cat({"fixture: connect id=order1 serial=", new_serial, " "})});
    size_t old_release = pos_of(log, {cat({"fixture: release id=order1 serial=", old_serial, " "})});
    REQUIRE(old_disconnect != std::string::npos);
    REQUIRE(new_connect != std::string::npos);
    REQUIRE(old_release != std::string::npos);
    CHECK(old_disconnect < new_connect);
    CHECK(old_disconnect < old_release);
    // The old client's on_disconnect ran once only (not again when its socket closed).
    CHECK(lines_with(log, {cat({"fixture: disconnect id=order1 serial=", old_serial, " "})}).size() == 1);
}

TEST_CASE("a kept client ref answers EGONE once the client left, and never touches it again") {
    PluginBroker b(client_data_setup());
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_with(4, "gone1", std::nullopt, std::nullopt)));
        REQUIRE(c.read_until(pkt::CONNACK));
        REQUIRE(b.wait_line({"fixture: connect id=gone1"}));
        settle(300ms);  // the fixture's timer checks the live ref a few times
        CHECK(lines_with(b.log(), {"answers EGONE"}).empty());
    }
    std::string serial = serial_of(b.log(), "gone1");
    CHECK_MESSAGE(b.wait_line({cat({"fixture: ref of serial=", serial,
                                    " answers EGONE (client_from_ref=-3 disconnect=-3)"})}),
                  tail(b.log()));
    CHECK_FALSE(contains_ci(b.log(), "WRONG"));
}

TEST_CASE("a kept ref disconnects its client from a thread of the plugin's; afterwards EGONE") {
    PluginBroker b(client_data_setup({{"kick", "kickme"}}));
    WireClient c(b.port());
    REQUIRE(c.send(connect_with(5, "kickme", std::nullopt, std::nullopt)));
    REQUIRE(c.read_until(pkt::CONNACK));
    auto d = c.read_until(pkt::DISCONNECT, 3s);
    REQUIRE_MESSAGE(d, tail(b.log()));
    CHECK(d->reason() == 0x98);
    CHECK(c.wait_closed());
    CHECK_MESSAGE(b.wait_line({"fixture: kick serial=", "rc=0"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: kick again serial=", "rc=-3"}), tail(b.log()));
    CHECK(b.wait_line({"fixture: disconnect id=kickme", "reason=0x98"}));
    // The broker's own line says who closed it and with which reason code.
    CHECK_MESSAGE(b.wait_line({"client 'kickme'", "disconnected by a plugin (0x98"}), tail(b.log()));
}
