// The ws plugin against clients that try to hold the broker's memory or its sockets: frame
// lengths of 2^63, oversize control frames, bad close frames, a message in 100,000 one-byte
// fragments, ping floods from a client that does not read, an upgrade request sent a byte at a
// time, and silent sockets on ws and wss. Each is answered as the plugin's README says while a
// WebSocket client on another listener (the canary) keeps publishing and receiving, and the
// broker's resident memory (/proc/PID/status) stays within a generous bound.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <memory>
#include <string>

#include "plugin_harness.hpp"
#include "tls_support.hpp"
#include "ws_canary.hpp"
#include "ws_client.hpp"

using namespace roost_pt;
using namespace roost_ws_test;

namespace {

constexpr size_t kMiB = 1024 * 1024;

// Listener 0: MQTT over TCP; 1: ws (the canary's); 2: ws (the hostile clients'); 3: wss.
Setup hostile_setup(std::vector<std::string> limits = {}) {
    Setup s;
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});
    s.listener_lines.resize(4);
    s.listener_lines[3] = roost_tls::tls_lines({"tls_handshake_timeout = 30"});
    s.plugins.push_back({ROOST_PLUGIN_WS, {{"path", "/mqtt"}, {"close_timeout_ms", "500"}}});
    if (!limits.empty()) {
        s.broker.push_back("[limits]");
        s.broker.insert(s.broker.end(), limits.begin(), limits.end());
    }
    return s;
}

// A client past the upgrade with its CONNACK, on listener 2.
void open_mqtt(WsClient& c, const std::string& id) {
    auto r = c.upgrade();
    REQUIRE(r);
    REQUIRE(r->status == 101);
    REQUIRE(c.send_mqtt(pkt::connect(pkt::conn(4, id))));
    REQUIRE(c.read_mqtt_until(pkt::CONNACK));
}

// The close code the server sends after `send`, its log line, and the TCP close.
void expect_close(const PluginBroker& b, uint16_t code, const std::string& words, auto&& send) {
    WsClient c(b.port(2));
    open_mqtt(c, "hostile");
    size_t from = b.log_size();
    send(c);
    auto close = c.read_close();
    REQUIRE_MESSAGE(close, "no close frame; log:\n" << tail(b.log()));
    CHECK(close->close_code() == code);
    CHECK(c.wait_eof(3s));
    CHECK_MESSAGE(b.wait_line({"plugin 'ws'", "127.0.0.1:", std::to_string(code), words}, 3s, from),
                  tail(b.log()));
}

void set_send_timeout(int fd, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

TEST_CASE("ws: bad frame lengths, control frames and close frames are refused with their codes") {
    PluginBroker b(hostile_setup());
    Canary canary(b);
    {
        INFO("a 64-bit length with its top bit set (2^63): 1002 at the header");
        expect_close(b, 1002, "most significant bit",
                     [](WsClient& c) { c.send_frame_header(0x2, uint64_t{1} << 63); });
    }
    canary.check();
    {
        INFO("2^62 announced (over max_frame_size): 1009 at the header, nothing buffered");
        expect_close(b, 1009, "max_frame_size", [](WsClient& c) {
            c.send_frame_header(0x2, uint64_t{1} << 62);
            c.send_raw(std::string(4096, 'z'));
        });
    }
    canary.check();
    {
        INFO("a ping of 126 bytes (control frames hold at most 125): 1002");
        expect_close(b, 1002, "more than 125 bytes",
                     [](WsClient& c) { c.send_frame(0x9, std::string(126, 'p')); });
    }
    {
        INFO("a fragmented ping: 1002");
        expect_close(b, 1002, "fragmented control frame", [](WsClient& c) { c.send_frame(0x9, "p", false); });
    }
    {
        INFO("a close frame whose reason is not UTF-8: 1007");
        expect_close(b, 1007, "invalid UTF-8",
                     [](WsClient& c) { c.send_frame(0x8, std::string("\x03\xe8\xc3\x28\xff", 5)); });
    }
    {
        INFO("a close frame with status code 999 (not a valid code): 1002");
        expect_close(b, 1002, "reserved status code",
                     [](WsClient& c) { c.send_frame(0x8, std::string("\x03\xe7", 2)); });
    }
    {
        INFO("a close frame of 1 byte (a status code is 2): 1002");
        expect_close(b, 1002, "protocol error",
                     [](WsClient& c) { c.send_frame(0x8, std::string("\x03", 1)); });
    }
    canary.check();
    CHECK(b.running());
}

TEST_CASE("ws: a message in 100,000 one-byte fragments arrives; 100,000 empty ones cost nothing") {
    PluginBroker b(hostile_setup());
    Canary canary(b);
    const pid_t pid = b.pid();
    REQUIRE(pid > 0);
    const size_t before = resident_bytes(pid);

    WsClient c(b.port(2));
    open_mqtt(c, "fragments");
    // One PUBLISH of 100,000 bytes to the canary, a byte per frame, with an empty continuation
    // after each: 200,000 frames, built here and sent in large writes.
    std::string payload(100000 - 17, 'f');  // 1 + 3 (length) + 2 + 11 (topic) before it
    for (size_t i = 0; i < payload.size(); i += 7)
        payload[i] = static_cast<char>('a' + i % 26);
    const std::string whole = pkt::publish("canary/frag", payload, 0);
    REQUIRE(whole.size() == 100000);
    std::string wire;
    wire.reserve(whole.size() * 12);
    for (size_t i = 0; i < whole.size(); i++) {
        // A masked frame: opcode (binary first, then continuation), FIN on the last, the
        // all-zero mask (payload bytes unchanged).
        wire += static_cast<char>((i == 0 ? 0x2 : 0x0) | (i + 1 == whole.size() ? 0x80 : 0));
        wire += static_cast<char>(0x80 | 1);
        wire += std::string(4, '\0');
        wire += whole[i];
        if (i + 1 < whole.size()) wire += std::string("\x00\x80\x00\x00\x00\x00", 6);  // empty
    }
    REQUIRE(c.send_raw(wire));
    auto p = canary.ws().read_mqtt_until(pkt::PUBLISH, 30s);
    REQUIRE_MESSAGE(p, tail(b.log()));
    CHECK(p->publish_payload(4) == payload);
    // The sender is still served.
    REQUIRE(c.send_mqtt(pkt::pingreq()));
    CHECK(c.read_mqtt_until(pkt::PINGRESP, 5s));
    canary.check();
    const size_t after = resident_bytes(pid);
    MESSAGE("RSS before " << before / 1024 << " KiB, after 200,000 frames " << after / 1024 << " KiB");
    CHECK(after < before + memory_bound(16 * kMiB));
}

TEST_CASE("ws: a ping flood from a client that does not read stops being read; memory stays flat") {
    PluginBroker b(hostile_setup({"send_timeout = 300"}));
    Canary canary(b);
    const pid_t pid = b.pid();
    REQUIRE(pid > 0);
    const size_t before = resident_bytes(pid);
    size_t from = b.log_size();
    WsClient deaf(b.port(2), 4096);
    open_mqtt(deaf, "deaf");
    // 125-byte pings (each answered by a 127-byte pong) in 64 KiB writes, until the writes block
    // for a second: the broker no longer reads this client.
    set_send_timeout(deaf.fd(), 1000);
    std::string ping;
    ping += static_cast<char>(0x89);
    ping += static_cast<char>(0x80 | 125);
    ping += std::string(4, '\0');
    ping += std::string(125, 'p');
    std::string burst;
    for (int i = 0; i < 500; i++)
        burst += ping;
    size_t sent = 0;
    bool blocked = false;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!blocked && std::chrono::steady_clock::now() < deadline) {
        blocked = !deaf.send_raw(burst);
        sent += blocked ? 0 : 500;
    }
    MESSAGE(sent << " pings sent before the broker stopped reading");
    REQUIRE_MESSAGE(blocked, tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"plugin 'ws'", "reading paused"}, 3s, from), tail(b.log()));
    canary.check();
    const size_t after = resident_bytes(pid);
    MESSAGE("RSS before " << before / 1024 << " KiB, with the flood held " << after / 1024 << " KiB");
    // max_backlog (1 MiB) and one read's pongs, with room for the sanitizers.
    CHECK(after < before + memory_bound(16 * kMiB));
}

TEST_CASE("ws: an upgrade sent a byte at a time and silent sockets are bounded by connect_timeout") {
    PluginBroker b(hostile_setup({"connect_timeout = 2", "max_pending_connects = 8"}));
    settle(300ms);  // the harness's start-up probes of the ports are gone
    Canary canary(b);

    // The request a byte every 100 ms: still arriving at 2 s, and closed then.
    size_t from = b.log_size();
    WsClient slow(b.port(2));
    const std::string request =
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    auto start = std::chrono::steady_clock::now();
    size_t i = 0;
    for (; i < request.size() && slow.send_raw(request.substr(i, 1)); i++) {
        if (slow.wait_eof(100ms)) break;
    }
    auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    MESSAGE("closed after " << i << " bytes, " << took.count() << " ms");
    CHECK(i < request.size());
    CHECK(took < 6s);
    CHECK_MESSAGE(b.wait_line({"no CONNECT within 2 s", "transport ws, 0 bytes of MQTT"}, 3s, from),
                  tail(b.log()));
    canary.check();

    // Silent sockets on ws and wss hold pending places like TCP ones: of 12, 8 stay open (the
    // canary sent its CONNECT and holds none), the others are refused at once; connect_timeout
    // frees the places.
    // A publisher connected before them, since new connections wait for a free place too.
    WireClient publisher(b.port(0));
    REQUIRE(publisher.send(pkt::connect(pkt::conn(4, "publisher"))));
    REQUIRE(publisher.read_until(pkt::CONNACK));
    from = b.log_size();
    std::vector<std::unique_ptr<WsClient>> silent;
    for (int k = 0; k < 12; k++)
        silent.push_back(std::make_unique<WsClient>(b.port(k % 2 ? 3 : 2)));
    settle(300ms);
    int open = 0;
    for (auto& s : silent)
        open += !s->wait_eof(200ms);
    CHECK(open <= 8);
    CHECK_MESSAGE(b.wait_line({"over [limits] max_pending_connects = 8"}, 3s, from), tail(b.log()));
    REQUIRE(publisher.send(pkt::publish("canary/held", "while the places are full", 0)));
    auto p = canary.ws().read_mqtt_until(pkt::PUBLISH, 5s);
    REQUIRE_MESSAGE(p, tail(b.log()));
    CHECK(p->publish_payload(4) == "while the places are full");
    for (auto& s : silent)
        CHECK(s->wait_eof(5s));
    // The places are free again: a new client connects.
    settle(200ms);  // the broker frees a place in its close callback, a moment after the EOF
    from = b.log_size();
    WsClient late(b.port(2));
    auto r = late.upgrade();
    REQUIRE_MESSAGE(r, tail(b.log().substr(from)));
    REQUIRE(r->status == 101);
    REQUIRE(late.send_mqtt(pkt::connect(pkt::conn(4, "late"))));
    REQUIRE(late.read_mqtt_until(pkt::CONNACK));
    canary.check();
}
