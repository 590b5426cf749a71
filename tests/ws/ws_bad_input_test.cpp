// The ws plugin against bad input, each case answered as specified while a WebSocket client
// (the canary) keeps working: HTTP errors for what is not a valid upgrade (400, 403, 404, 426,
// 431), close codes for bad frames (1002, 1003, 1009), static files that never leave http_dir;
// and what it does right: subprotocols, fragmentation, ping/pong, the close handshake,
// attributes for auth plugins, the client address from a trusted proxy, backpressure.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"
#include "ws_canary.hpp"
#include "ws_client.hpp"

using namespace roost_pt;
using namespace roost_ws_test;
namespace fs = std::filesystem;

namespace {

constexpr size_t kBigFile = 3 * 1024 * 1024;  // http_dir's big.bin

// An http_dir with a page, a hidden file, a subfolder, and a symlink that points outside it.
std::string make_http_dir() {
    static std::string dir;
    if (!dir.empty()) return dir;
    std::string base = temp_path("ws-files");
    fs::create_directories(base + "/www/sub");
    fs::create_directories(base + "/outside");
    write_file(base + "/www/index.html", "<!doctype html><p>the page</p>\n");
    write_file(base + "/www/app.js", "console.log('hi');\n");
    write_file(base + "/www/style.css", "p { color: red }\n");
    write_file(base + "/www/sub/index.html", "sub\n");
    write_file(base + "/www/big.bin", std::string(kBigFile, 'b'));
    write_file(base + "/www/.secret", "SECRET-HIDDEN\n");
    write_file(base + "/outside/passwd", "SECRET-OUTSIDE\n");
    fs::create_directory_symlink(base + "/outside", base + "/www/escape");
    fs::create_symlink(base + "/outside/passwd", base + "/www/link.txt");
    dir = base + "/www";
    return dir;
}

// Option values as the harness takes them (it quotes them for TOML).
std::string q(const std::string& s) {
    return s;
}

// Listener 0: MQTT over TCP; listener 1: ws.
Setup ws_setup(std::vector<std::pair<std::string, std::string>> extra = {}) {
    Setup s;
    s.listeners.push_back(ListenerSpec{"ws", "", "", 0});
    PluginSpec ws{ROOST_PLUGIN_WS,
                  {{"path", q("/mqtt")},
                   {"http_dir", q(make_http_dir())},
                   {"max_frame_size", "4096"},
                   {"max_message_size", "8192"},
                   {"max_request_size", "2048"},
                   {"close_timeout_ms", "500"}}};
    for (auto& kv : extra)
        ws.options.push_back(kv);
    s.plugins.push_back(ws);
    return s;
}

// An upgrade (or request) answered with `status`; the body and log say `why`.
void expect_refused(const PluginBroker& b, WsClient& c, std::optional<HttpResponse> r, int status,
                    const std::string& why) {
    REQUIRE_MESSAGE(r, "no HTTP response; log:\n" << tail(b.log()));
    CHECK_MESSAGE(r->status == status, r->status << " " << r->body);
    CHECK_MESSAGE(contains_ci(r->body, why), r->body);
    CHECK(r->headers["connection"] == "close");
    CHECK(c.wait_eof());
    CHECK_MESSAGE(b.wait_line({"plugin 'ws'", std::to_string(status), why}), tail(b.log()));
}

}  // namespace

TEST_CASE("what is not a valid upgrade gets a clear HTTP error; the canary carries on") {
    PluginBroker b(ws_setup());
    Canary canary(b);
    uint16_t port = b.port(1);

    {  // one broker for every case: each one must leave it working
        INFO("wrong subprotocol: 400");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/mqtt", {{"Sec-WebSocket-Protocol", "chat, superchat"}}), 400,
                       "unsupported Sec-WebSocket-Protocol");
    }
    {  // one broker for every case: each one must leave it working
        INFO("an Origin of another site: 403 (cross-site WebSocket hijacking)");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/mqtt", {{"Origin", "http://evil.example"}}), 403, "Origin");
    }
    {  // one broker for every case: each one must leave it working
        INFO("no upgrade on the MQTT path: 426 with the version");
        WsClient c(port);
        REQUIRE(c.send_raw("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        auto r = c.read_response();
        expect_refused(b, c, r, 426, "WebSocket upgrade");
        CHECK(r->headers["sec-websocket-version"] == "13");
    }
    {  // one broker for every case: each one must leave it working
        INFO("an unsupported WebSocket version: 426");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/mqtt", {{"Sec-WebSocket-Version", "8"}}), 426,
                       "Sec-WebSocket-Version");
    }
    {  // one broker for every case: each one must leave it working
        INFO("a malformed key: 400");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/mqtt", {{"Sec-WebSocket-Key", "short"}}), 400, "Sec-WebSocket-Key");
    }
    {  // one broker for every case: each one must leave it working
        INFO("another path: 404");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/other"), 404, "not found");
    }
    {  // one broker for every case: each one must leave it working
        INFO("garbage before the upgrade (an MQTT CONNECT on the WebSocket port): 400 at once");
        WsClient c(port);
        REQUIRE(c.send_raw(pkt::connect(pkt::conn(4, "lost"))));
        expect_refused(b, c, c.read_response(), 400, "not an HTTP request");
    }
    {  // one broker for every case: each one must leave it working
        INFO("garbage before the upgrade (binary noise): 400 at once");
        WsClient c(port);
        REQUIRE(c.send_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
        expect_refused(b, c, c.read_response(), 400, "not an HTTP request");
    }
    {  // one broker for every case: each one must leave it working
        INFO("a request head over max_request_size: 431");
        WsClient c(port);
        expect_refused(b, c, c.upgrade("/mqtt", {{"Cookie", std::string(4000, 'c')}}), 431,
                       "max_request_size");
    }
    {  // one broker for every case: each one must leave it working
        INFO("a malformed header line: 400");
        WsClient c(port);
        REQUIRE(c.send_raw("GET /mqtt HTTP/1.1\r\nHost: x\r\n bad fold\r\n\r\n"));
        expect_refused(b, c, c.read_response(), 400, "malformed header");
    }
    canary.check();
    CHECK(b.running());
}

TEST_CASE("subprotocols: mqtt and mqttv3.1 are echoed, none offered is accepted without one") {
    PluginBroker b(ws_setup());
    for (std::string offered : {"mqtt", "mqttv3.1", "chat, mqttv3.1", "mqtt, mqttv3.1"}) {
        WsClient c(b.port(1));
        auto r = c.upgrade("/mqtt", {{"Sec-WebSocket-Protocol", offered}});
        REQUIRE(r);
        CHECK(r->status == 101);
        std::string expected =
            offered.find("mqtt,") != std::string::npos || offered == "mqtt" ? "mqtt" : "mqttv3.1";
        CHECK_MESSAGE(r->headers["sec-websocket-protocol"] == expected, offered);
        CHECK(r->headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455's example
    }
    WsClient none(b.port(1));
    auto r = none.upgrade("/mqtt", {{"Sec-WebSocket-Protocol", ""}});
    REQUIRE(r);
    CHECK(r->status == 101);
    CHECK(r->headers.count("sec-websocket-protocol") == 0);
    // Same origin (the page the broker served) is fine without allowed_origins.
    WsClient same(b.port(1));
    std::string host = cat({"127.0.0.1:", b.port_str(1)});
    r = same.upgrade("/mqtt", {{"Host", host}, {"Origin", cat({"http://", host})}});
    REQUIRE(r);
    CHECK(r->status == 101);
}

TEST_CASE("allowed_origins lists the sites that may connect") {
    PluginBroker b(ws_setup({{"allowed_origins", q("https://app.example.com, http://localhost:3000")}}));
    WsClient ok(b.port(1));
    auto r = ok.upgrade("/mqtt", {{"Origin", "https://APP.example.com"}});
    REQUIRE(r);
    CHECK(r->status == 101);
    WsClient bad(b.port(1));
    expect_refused(b, bad, bad.upgrade("/mqtt", {{"Origin", "https://app.example.com.evil.example"}}), 403,
                   "not in allowed_origins");
}

TEST_CASE("bad frames get the right close code; the canary carries on") {
    PluginBroker b(ws_setup());
    Canary canary(b);
    struct Case {
        const char* what;
        uint16_t code;
    };
    auto bad = [&](uint16_t code, const std::string& log_words, auto&& send) {
        WsClient c(b.port(1));
        auto r = c.upgrade();
        REQUIRE(r);
        REQUIRE(r->status == 101);
        REQUIRE(c.send_mqtt(pkt::connect(pkt::conn(4, "bad-frames"))));
        REQUIRE(c.read_mqtt_until(pkt::CONNACK));
        size_t from = b.log_size();
        send(c);
        auto close = c.read_close();
        REQUIRE_MESSAGE(close, "no close frame; log:\n" << tail(b.log()));
        CHECK(close->close_code() == code);
        // We answer the close (a handshake), then the server closes the TCP connection.
        c.send_frame(0x8, close->payload.substr(0, 2));
        CHECK(c.wait_eof(2s));
        CHECK_MESSAGE(b.wait_line({"plugin 'ws'", std::to_string(code), log_words}, 3s, from), tail(b.log()));
        canary.check();
    };
    {  // one broker for every case: each one must leave it working
        INFO("an unmasked client frame: 1002");
        bad(1002, "protocol error", [](WsClient& c) { c.send_frame(0x2, pkt::pingreq(), true, false); });
    }
    {  // one broker for every case: each one must leave it working
        INFO("a text frame: 1003");
        bad(1003, "text frame", [](WsClient& c) { c.send_frame(0x1, "hello"); });
    }
    {  // one broker for every case: each one must leave it working
        INFO("a frame over max_frame_size (1 GiB announced, refused at its first bytes): 1009");
        bad(1009, "max_frame_size", [](WsClient& c) {
            c.send_frame_header(0x2, 1u << 30);
            c.send_raw(std::string(64, 'z'));
        });
    }
    {  // one broker for every case: each one must leave it working
        INFO("a message over max_message_size in frames under max_frame_size: 1009");
        bad(1009, "max_message_size", [](WsClient& c) {
            // One PUBLISH of 12 KB (so the broker waits for the rest of it) in three frames.
            std::string whole = pkt::publish("big/t", std::string(12000, 'x'));
            c.send_frame(0x2, whole.substr(0, 4000), false);
            c.send_frame(0x0, whole.substr(4000, 4000), false);
            c.send_frame(0x0, whole.substr(8000), true);
        });
    }
    {  // one broker for every case: each one must leave it working
        INFO("a close frame with a reserved status code: 1002");
        bad(1002, "protocol error", [](WsClient& c) { c.send_frame(0x8, std::string("\x03\xec", 2)); });
    }
}

TEST_CASE("fragmentation, ping/pong and the close handshake") {
    PluginBroker b(ws_setup());
    WsClient c(b.port(1));
    auto r = c.upgrade();
    REQUIRE(r);
    REQUIRE(r->status == 101);
    // A CONNECT in three fragments with a ping between them (control frames may interleave).
    std::string connect = pkt::connect(pkt::conn(5, "fragments"));
    REQUIRE(c.send_frame(0x2, connect.substr(0, 3), false));
    REQUIRE(c.send_frame(0x9, "between"));
    REQUIRE(c.send_frame(0x0, connect.substr(3, 5), false));
    REQUIRE(c.send_frame(0x0, connect.substr(8), true));
    auto pong = c.read_control();  // the CONNACK may come first: it waits for read_mqtt
    REQUIRE(pong);
    CHECK(pong->opcode == 0xA);
    CHECK(pong->payload == "between");
    auto ack = c.read_mqtt_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 0);
    // Two MQTT packets in one frame, and one packet across two frames.
    std::string two = pkt::subscribe(1, "frag/#", 0, 5) + pkt::pingreq();
    REQUIRE(c.send_frame(0x2, two));
    REQUIRE(c.read_mqtt_until(pkt::SUBACK));
    REQUIRE(c.read_mqtt_until(pkt::PINGRESP));
    // The client closes: the server answers 1000 and closes the TCP connection.
    REQUIRE(c.send_frame(0x8, std::string("\x03\xe8", 2) + "bye"));
    auto close = c.read_close();
    REQUIRE(close);
    CHECK(close->close_code() == 1000);
    CHECK(c.wait_eof());
    CHECK(b.wait_line({"client 'fragments'", "disconnected"}));
}

TEST_CASE("static files: content types, index.html, and nothing outside http_dir") {
    PluginBroker b(ws_setup());
    Canary canary(b);
    auto get = [&](const std::string& path) {
        WsClient c(b.port(1));
        REQUIRE(c.send_raw(cat({"GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"})));
        auto r = c.read_response();
        REQUIRE_MESSAGE(r, path);
        CHECK(c.wait_eof());
        CHECK_FALSE(contains_ci(r->body, "SECRET"));
        return *r;
    };
    auto page = get("/");
    CHECK(page.status == 200);
    CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
    CHECK(page.body == "<!doctype html><p>the page</p>\n");
    CHECK(get("/app.js").headers["content-type"] == "text/javascript; charset=utf-8");
    CHECK(get("/style.css").headers["content-type"] == "text/css; charset=utf-8");
    CHECK(get("/sub/").body == "sub\n");
    auto redirect = get("/sub");
    CHECK(redirect.status == 301);
    CHECK(redirect.headers["location"] == "/sub/");
    CHECK(get("//sub").headers["location"] == "/sub/");  // never "//sub/", another host
    CHECK(get("/index.html?x=1").status == 200);

    CHECK(get("/../outside/passwd").status == 400);
    CHECK(get("/%2e%2e/outside/passwd").status == 400);
    CHECK(get("/%2E%2E%2Foutside%2Fpasswd").status == 400);
    CHECK(get("/sub/../../outside/passwd").status == 400);
    CHECK(get("/escape/passwd").status == 404);  // a symlink out of http_dir
    CHECK(get("/link.txt").status == 404);       // the same, to a file
    CHECK(get("/index.html%00.js").status == 400);
    CHECK(get("/.secret").status == 404);
    CHECK(get("/%2esecret").status == 404);
    CHECK(get("/missing.html").status == 404);
    CHECK(get("/a%zz").status == 400);
    {
        WsClient c(b.port(1));
        REQUIRE(c.send_raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 405);
    }
    CHECK(b.wait_line({"plugin 'ws'", "resolves outside http_dir"}));
    canary.check();
}

TEST_CASE("a static file that takes longer than connect_timeout to read arrives whole") {
    // The connection of a file download never sends CONNECT; its wait for one must not cut a
    // page short on a slow link (send_timeout still ends a reader that stops).
    Setup s = ws_setup();
    s.broker = {"[limits]", "connect_timeout = 1"};
    PluginBroker b(s);
    WsClient c(b.port(1), 4096);
    REQUIRE(c.send_raw(cat({"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"})));
    // At most 4 KiB (the receive buffer) per 5 ms: 3 MiB take 4 s or more, four times
    // connect_timeout.
    std::string got;
    std::vector<char> buf(16384);
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < 20s) {
        ssize_t n = ::recv(c.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n == 0) break;
        if (n > 0) got.append(buf.data(), static_cast<size_t>(n));
        std::this_thread::sleep_for(5ms);
    }
    auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    size_t head = got.find("\r\n\r\n");
    REQUIRE_MESSAGE(head != std::string::npos, tail(b.log()));
    CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
    CHECK_MESSAGE(got.size() - head - 4 == kBigFile, "body " << got.size() - head - 4 << " bytes in "
                                                             << took.count() << " ms; log:\n"
                                                             << tail(b.log()));
    CHECK(took > 2s);  // it did outlast connect_timeout
    CHECK(lines_with(b.log(), {"no CONNECT within"}).empty());
}

TEST_CASE(
    "request headers and query parameters are attributes for auth plugins; the address from a trusted "
    "proxy") {
    Setup s = ws_setup({{"trusted_proxies", q("127.0.0.1, 10.0.0.0/8")}});
    s.listeners[0].auth_default = "allow";
    s.listeners[1].auth_default = "allow";
    s.plugins.push_back(
        {ROOST_PLUGIN_AUTH_TABLE,
         {{"users", q("tok:pw@ws.query.token,hdr:pw@ws.header.authorization,ck:pw@ws.header.cookie")}}});
    PluginBroker b(s);
    struct Try {
        std::string user, path;
        std::map<std::string, std::string> headers;
        std::string attribute, address;
    };
    std::vector<Try> tries = {
        {"tok",
         "/mqtt?a=1&token=abc%20def&token=second",
         {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}},
         "ws.query.token=abc def",
         "(203.0.113.7"},
        {"hdr",
         "/mqtt",
         {{"Authorization", "Bearer xyz"}, {"Forwarded", "for=\"[2001:db8::1]:4711\";proto=https"}},
         "ws.header.authorization=Bearer xyz",
         "([2001:db8::1]"},
        {"ck",
         "/mqtt",
         {{"Cookie", "session=s1"}, {"X-Forwarded-For", "203.0.113.9, 10.1.2.3"}},
         "ws.header.cookie=session=s1",
         "(203.0.113.9"},
    };
    for (auto& t : tries) {
        WsClient c(b.port(1));
        auto r = c.upgrade(t.path, t.headers);
        REQUIRE(r);
        REQUIRE(r->status == 101);
        REQUIRE(c.send_mqtt(connect_with(4, cat({"c-", t.user}), t.user, std::string("pw"))));
        auto ack = c.read_mqtt_until(pkt::CONNACK);
        REQUIRE(ack);
        CHECK_MESSAGE(ack->reason() == 0, t.user << "\n" << tail(b.log()));
        CHECK_MESSAGE(b.wait_line({"fixture: user", t.user, t.attribute}), tail(b.log()));
        CHECK_MESSAGE(b.wait_line({cat({"client 'c-", t.user, "'"}), t.address, "connected"}), tail(b.log()));
    }
    // Without the attribute the auth plugin refuses.
    WsClient c(b.port(1));
    REQUIRE(c.upgrade("/mqtt?other=1"));
    REQUIRE(c.send_mqtt(connect_with(4, "no-token", std::string("tok"), std::string("pw"))));
    auto ack = c.read_mqtt_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 5);  // 3.1.1 not authorized
}

TEST_CASE("forwarding headers from a peer that is not a trusted proxy are ignored") {
    PluginBroker b(ws_setup({{"trusted_proxies", q("10.0.0.0/8")}}));
    WsClient c(b.port(1));
    auto r = c.upgrade("/mqtt", {{"X-Forwarded-For", "203.0.113.7"}});
    REQUIRE(r);
    REQUIRE(r->status == 101);
    REQUIRE(c.send_mqtt(pkt::connect(pkt::conn(4, "direct"))));
    REQUIRE(c.read_mqtt_until(pkt::CONNACK));
    CHECK(b.wait_line({"client 'direct' (127.0.0.1:", "connected"}));
    CHECK_FALSE(contains_ci(b.log(), "203.0.113.7"));
}

TEST_CASE("backpressure: a WebSocket client that does not read stops being read past max_backlog") {
    // The smallest max_backlog: every 16 KiB message queued at a flush crosses it, however fast
    // the kernel takes the bytes (deterministic under the sanitizers too).
    PluginBroker b(ws_setup({{"max_backlog", "4096"}}));
    WsClient slow(b.port(1), 65536);
    REQUIRE(slow.upgrade());
    REQUIRE(slow.send_mqtt(pkt::connect(pkt::conn(4, "slow"))));
    REQUIRE(slow.read_mqtt_until(pkt::CONNACK));
    REQUIRE(slow.send_mqtt(pkt::subscribe(1, "flood/#", 0, 4)));
    REQUIRE(slow.read_mqtt_until(pkt::SUBACK));
    size_t from = b.log_size();
    WireClient p(b.port(0));
    REQUIRE(p.send(pkt::connect(pkt::conn(4, "flooder"))));
    REQUIRE(p.read_until(pkt::CONNACK));
    std::string payload(16 * 1024, 'x');
    for (int i = 0; i < 40; i++)
        REQUIRE(p.send(pkt::publish("flood/a", payload, 0)));
    CHECK_MESSAGE(b.wait_line({"plugin 'ws'", "reading paused"}, 5s, from), tail(b.log()));
    // Pings while paused are not read, so they cannot make the broker queue pongs.
    for (int i = 0; i < 50; i++)
        slow.send_frame(0x9, std::string(100, 'p'));
    // The client reads again: what waited arrives, then reading resumes and pings are answered.
    size_t got = 0;
    bool ponged = false;
    for (int i = 0; i < 2000 && !ponged; i++) {
        auto f = slow.read_frame(3s);
        if (!f) break;
        if (f->opcode == 0x2) got += f->payload.size();
        if (f->opcode == 0xA) ponged = true;
    }
    CHECK(got > 4096);
    CHECK(ponged);
    CHECK_MESSAGE(b.wait_line({"plugin 'ws'", "reading resumed"}, 3s, from), tail(b.log()));
}

// The ws plugin checks nobody's user name: loaded alone on a network listener, it must not
// silence the warning that anyone who reaches the broker may publish and subscribe (any loaded
// plugin did).
TEST_CASE("a ws listener on 0.0.0.0 without an authentication plugin: the open-access warning") {
    const uint16_t port = free_port();
    const std::string conf = temp_path("ws-open.toml");
    write_file(conf, "[[listener]]\nbind = \"0.0.0.0\"\nport = " + std::to_string(port) +
                         "\ntransport = \"ws\"\n\n[[plugin]]\npath = \"" ROOST_PLUGIN_WS "\"\n");
    Process open({ROOST_BINARY, "-c", conf});
    for (int i = 0; i < 100 && !contains_ci(open.err(), "reachable from the network"); ++i)
        settle(50ms);
    CHECK_MESSAGE(contains_ci(open.err(), "reachable from the network, no authentication plugin is loaded"),
                  open.err());
    CHECK(open.stop(5s) == 0);
}
