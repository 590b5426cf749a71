// The ws plugin's parts without the broker: the request parser, the upgrade answer (subprotocols,
// Origin, accept key), forwarding headers from trusted proxies, static paths, options.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "forwarded.hpp"
#include "handshake.hpp"
#include "http_request.hpp"
#include "static_files.hpp"

using namespace roost_ws;

namespace {
HttpRequest parse(const std::string& text) {
    HttpRequest r;
    ParseResult p = parse_http_request(text, 8192, r);
    REQUIRE_MESSAGE(p.status == ParseStatus::done, p.reason);
    return r;
}

std::string upgrade_request(const std::string& extra = "", const std::string& path = "/mqtt") {
    return "GET " + path +
           " HTTP/1.1\r\nHost: example.com:8083\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extra + "\r\n";
}
}  // namespace

TEST_CASE("the request head: parts, lowercased names, trimmed values, need more, errors") {
    HttpRequest r;
    CHECK(parse_http_request("GET /mq", 8192, r).status == ParseStatus::need_more);
    r = parse("GET /mqtt?token=a%20b HTTP/1.1\r\nHost:  x \r\nX-Thing: 1\r\nx-thing: 2\r\n\r\nrest");
    CHECK(r.method == "GET");
    CHECK(r.path == "/mqtt");
    CHECK(r.query == "token=a%20b");
    CHECK(*r.header("host") == "x");
    CHECK(r.joined("x-thing") == "1, 2");
    auto error = [](const std::string& text) {
        HttpRequest q;
        ParseResult p = parse_http_request(text, 64, q);
        return p.status == ParseStatus::error ? p.http_status : 0;
    };
    CHECK(error("\x10\x0c\x00\x04MQTT") == 400);
    CHECK(error("GET mqtt HTTP/1.1\r\n\r\n") == 400);
    CHECK(error("GET /mqtt HTTP/2.0\r\n\r\n") == 400);
    CHECK(error("GET /mqtt HTTP/1.1\nHost: x\n\n") == 400);
    CHECK(error("GET /mqtt HTTP/1.1\r\nBad Name: x\r\n\r\n") == 400);
    CHECK(error("GET /mqtt HTTP/1.1\r\nA: b\x01\r\n\r\n") == 400);
    CHECK(error("GET /mqtt HTTP/1.1\r\nA: " + std::string(100, 'x')) == 431);
}

// The plugin parses again after every read, passing how much it already scanned: a head that
// arrives a byte at a time must give what it gives whole, errors included, and be scanned once.
TEST_CASE("the request head, a byte at a time, resuming the scan: same answer as whole") {
    auto trickled = [](const std::string& text, size_t max_head, HttpRequest& out) {
        std::string got;
        ParseResult p;
        for (char c : text) {
            size_t scanned = got.size();
            got += c;
            p = parse_http_request(got, max_head, out, scanned);
            if (p.status != ParseStatus::need_more) break;
        }
        return p;
    };
    HttpRequest whole, slow;
    const std::string ok = upgrade_request("Sec-WebSocket-Protocol: mqtt\r\n") + "after";
    ParseResult a = parse_http_request(ok, 8192, whole), b = trickled(ok, 8192, slow);
    REQUIRE(b.status == ParseStatus::done);
    CHECK(b.consumed == a.consumed);
    CHECK(slow.headers == whole.headers);
    CHECK(slow.target == whole.target);
    // The bare LF arrives after a CRLF line that was already scanned; the blank line split.
    CHECK(trickled("GET /mqtt HTTP/1.1\r\nHost: x\nY: z\r\n\r\n", 8192, slow).http_status == 400);
    CHECK(trickled("\x10\x0c\x00\x04MQTT", 8192, slow).http_status == 400);
    CHECK(trickled("GET /mqtt HTTP/1.1\r\nA: " + std::string(100, 'x'), 64, slow).http_status == 431);
    // A 60 KB head, a byte at a time: quadratic rescanning would make this 1.8e9 byte reads.
    const std::string big = "GET /mqtt HTTP/1.1\r\nX-Pad: " + std::string(60000, 'p') + "\r\n\r\n";
    ParseResult c = trickled(big, 65536, slow);
    CHECK(c.status == ParseStatus::done);
    CHECK(c.consumed == big.size());
}

TEST_CASE("the upgrade answer: accept key, subprotocols, Origin, errors") {
    Options o;
    HttpAnswer a = answer_request(parse(upgrade_request("Sec-WebSocket-Protocol: mqtt\r\n")), o);
    REQUIRE(a.route == Route::upgrade);
    CHECK(a.protocol == "mqtt");
    CHECK(a.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    CHECK(a.response.find("Sec-WebSocket-Protocol: mqtt\r\n") != std::string::npos);
    CHECK(answer_request(parse(upgrade_request("Sec-WebSocket-Protocol: foo, mqttv3.1\r\n")), o).protocol ==
          "mqttv3.1");
    CHECK(answer_request(parse(upgrade_request("Sec-WebSocket-Protocol: foo\r\n")), o).status == 400);
    CHECK(answer_request(parse(upgrade_request()), o).protocol.empty());
    // Origin: same host by default; the default port may be left out on one side.
    CHECK(answer_request(parse(upgrade_request("Origin: http://example.com:8083\r\n")), o).status == 101);
    CHECK(answer_request(parse(upgrade_request("Origin: http://evil.example\r\n")), o).status == 403);
    CHECK(answer_request(parse(upgrade_request("Origin: null\r\n")), o).status == 403);
    o.allowed_origins = {"https://app.example.com"};
    CHECK(answer_request(parse(upgrade_request("Origin: https://app.example.com\r\n")), o).status == 101);
    CHECK(answer_request(parse(upgrade_request("Origin: http://example.com:8083\r\n")), o).status == 403);
    o.any_origin = true;
    CHECK(answer_request(parse(upgrade_request("Origin: http://evil.example\r\n")), o).status == 101);
    // Not an upgrade, or a broken one.
    CHECK(answer_request(parse("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n"), o).status == 426);
    CHECK(answer_request(parse(upgrade_request("", "/other")), o).status == 404);
    std::string v8 = upgrade_request();
    v8.replace(v8.find("Version: 13"), 11, "Version: 8");
    CHECK(answer_request(parse(v8), o).status == 426);
    std::string nokey = upgrade_request();
    nokey.replace(nokey.find("dGhlIHNhbXBsZSBub25jZQ=="), 24, "dGhlIHNhbXBsZSBub25jZR==");
    CHECK(answer_request(parse(nokey), o).status == 400);
}

TEST_CASE("forwarding headers count only from trusted proxies, right to left past the trusted ones") {
    std::vector<IpRange> trusted = {*parse_ip_range("127.0.0.1"), *parse_ip_range("10.0.0.0/8")};
    auto client = [&](const std::string& headers, const std::string& peer = "127.0.0.1:5000") {
        return forwarded_client(parse("GET / HTTP/1.1\r\n" + headers + "\r\n"), peer, trusted);
    };
    CHECK(client("X-Forwarded-For: 203.0.113.7\r\n") == "203.0.113.7");
    CHECK(client("X-Forwarded-For: 198.51.100.1, 203.0.113.7, 10.2.3.4\r\n") == "203.0.113.7");
    CHECK(client("X-Forwarded-For: 203.0.113.7\r\n", "192.0.2.1:5000") == std::nullopt);
    CHECK(client("X-Forwarded-For: unknown\r\n") == std::nullopt);
    CHECK(client("Forwarded: for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"\r\n") ==
          "[2001:db8:cafe::17]");
    CHECK(client("Forwarded: For=192.0.2.60:1234\r\nX-Forwarded-For: 203.0.113.7\r\n") == "192.0.2.60");
    CHECK(client("X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n") == "10.0.0.1");  // all trusted: the first
    CHECK_FALSE(parse_ip_range("10.0.0.0/33"));
    CHECK(parse_ip_range("::1/128"));
    CHECK(parse_ip_range("2001:db8::/32")->contains(*parse_ip("2001:db8::5")));
    CHECK_FALSE(parse_ip_range("2001:db8::/32")->contains(*parse_ip("2001:db9::5")));
}

TEST_CASE("static paths stay inside http_dir") {
    namespace fs = std::filesystem;
    fs::path base = fs::temp_directory_path() / ("roost-ws-unit-" + std::to_string(::getpid()));
    fs::create_directories(base / "www");
    fs::create_directories(base / "out");
    std::ofstream(base / "www" / "index.html") << "hi";
    std::ofstream(base / "out" / "secret") << "no";
    std::error_code ec;
    fs::create_directory_symlink(base / "out", base / "www" / "link", ec);
    std::string root = fs::canonical(base / "www");
    auto status = [&](const std::string& path) {
        StaticFile f = open_static(root, parse("GET " + path + " HTTP/1.1\r\n\r\n"));
        if (f.fd >= 0) ::close(f.fd);
        return f.status;
    };
    CHECK(status("/") == 200);
    CHECK(status("/index.html") == 200);
    CHECK(status("/./index.html") == 200);
    CHECK(status("/../out/secret") == 400);
    CHECK(status("/%2e%2e/out/secret") == 400);
    CHECK(status("/link/secret") == 404);
    CHECK(status("/index.html%00") == 400);
    CHECK(status("/%") == 400);
    CHECK(status("/nothing") == 404);
    CHECK(std::string(content_type("a/b.js")) == "text/javascript; charset=utf-8");
    CHECK(std::string(content_type("x.unknown")) == "application/octet-stream");
    fs::remove_all(base, ec);
}
