// wss: the ws plugin on a TLS listener. What the TLS layer must refuse before the plugin sees a
// byte (a handshake that never finishes, plain HTTP on the TLS port) is closed with a log line,
// while a WebSocket client (the canary, on the plain ws listener) and TLS clients carry on. The
// MQTT.js and browser tests over wss:// are in tests/integration/js (17_websocket, 18_browser).
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"
#include "tls_support.hpp"
#include "ws_client.hpp"

using namespace roost_pt;
using namespace roost_ws_test;

TEST_CASE(
    "wss: half-finished TLS handshakes and plain HTTP on the TLS port are closed; the others carry on") {
    Setup s;
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});  // 1: ws
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});  // 2: wss
    s.listener_lines.resize(3);
    s.listener_lines[2] = roost_tls::tls_lines({"tls_handshake_timeout = 1"});
    s.plugins.push_back({ROOST_PLUGIN_WS, {{"path", "/mqtt"}}});
    PluginBroker b(s);

    WsClient canary(b.port(1));
    auto up = canary.upgrade();
    REQUIRE(up);
    REQUIRE(up->status == 101);
    REQUIRE(canary.send_mqtt(pkt::connect(pkt::conn(4, "canary"))));
    REQUIRE(canary.read_mqtt_until(pkt::CONNACK));
    REQUIRE(canary.send_mqtt(pkt::subscribe(1, "canary/#", 0, 4)));
    REQUIRE(canary.read_mqtt_until(pkt::SUBACK));
    int n = 0;
    auto check_canary = [&] {
        std::string payload = cat({"alive ", std::to_string(++n)});
        REQUIRE(run(pub(b, {"-t", "canary/x", "-m", payload})).exit_code == 0);
        auto p = canary.read_mqtt_until(pkt::PUBLISH, 5s);
        REQUIRE_MESSAGE(p, tail(b.log()));
        CHECK(p->publish_payload(4) == payload);
    };

    // The start of a ClientHello, then nothing: the handshake timeout closes it.
    size_t from = b.log_size();
    WsClient half(b.port(2));
    REQUIRE(half.send_raw(std::string("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11) +
                          std::string(16, '\x42')));
    check_canary();
    CHECK_MESSAGE(b.wait_line({"TLS handshake with", "not finished within 1 s"}, 4s, from), tail(b.log()));
    CHECK(half.wait_eof(2s));

    // A plain WebSocket upgrade sent to the TLS port: no HTTP answer, the handshake fails.
    from = b.log_size();
    WsClient plain(b.port(2));
    CHECK_FALSE(plain.upgrade());
    CHECK(plain.wait_eof(3s));
    CHECK_MESSAGE(b.wait_line({"TLS handshake with 127.0.0.1:", "failed"}, 3s, from), tail(b.log()));

    // A TLS client that finishes its handshake is served.
    roost_tls::TlsClient good(b.port(2));
    CHECK_MESSAGE(good.connected(), good.error());
    check_canary();
    CHECK(b.running());
}
