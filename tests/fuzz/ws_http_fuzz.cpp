// The ws plugin's HTTP side: the request-head parser fed in pseudo-random chunks as a socket
// would deliver them, then the answer (upgrade checks, Origin, subprotocols), the forwarding
// headers and the static-file path checks for whatever parsed. Invariants: parsing in pieces
// decides exactly as parsing at once; an error is 400 or 431; an upgrade answer is a 101 with
// an accept key; a static file is never outside http_dir.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "forwarded.hpp"
#include "handshake.hpp"
#include "http_request.hpp"
#include "static_files.hpp"

using namespace roost_ws;

namespace {

struct Fixture {
    Options options;
    std::string root;
    Fixture() {
        namespace fs = std::filesystem;
        std::string base = fs::temp_directory_path() / ("roost-ws-fuzz-" + std::to_string(getpid()));
        fs::create_directories(base + "/www/sub");
        fs::create_directories(base + "/outside");
        std::FILE* f = std::fopen((base + "/www/index.html").c_str(), "w");
        if (f) std::fclose(f);
        f = std::fopen((base + "/outside/secret").c_str(), "w");
        if (f) std::fclose(f);
        std::error_code ec;
        fs::create_directory_symlink(base + "/outside", base + "/www/escape", ec);
        root = fs::canonical(base + "/www");
        options.http_dir = root;
        options.max_request_size = 4096;
        options.allowed_origins = {"https://app.example.com"};
        options.trusted_proxies = {*parse_ip_range("127.0.0.0/8"), *parse_ip_range("::1")};
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Fixture fx;
    if (size == 0) return 0;
    uint32_t seed = data[0];
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    HttpRequest whole;
    ParseResult at_once = parse_http_request(input, fx.options.max_request_size, whole);

    // The same bytes as a socket delivers them: the head grows until it parses or fails.
    std::string head;
    HttpRequest pieces;
    ParseResult r;
    size_t pos = 0;
    while (pos < input.size()) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        head.append(input.substr(pos, n));
        pos += n;
        r = parse_http_request(head, fx.options.max_request_size, pieces);
        if (r.status != ParseStatus::need_more) break;
    }
    // A decision taken on a prefix must be the one the whole input gets.
    if (r.status == ParseStatus::done) {
        if (at_once.status != ParseStatus::done || at_once.consumed != r.consumed) std::abort();
        if (whole.target != pieces.target || whole.headers != pieces.headers) std::abort();
    }
    if (r.status == ParseStatus::error && r.http_status != 400 && r.http_status != 431) std::abort();
    if (at_once.status == ParseStatus::error && at_once.http_status != 400 && at_once.http_status != 431)
        std::abort();
    if (r.status != ParseStatus::done) return 0;
    if (r.consumed > head.size()) std::abort();

    HttpAnswer a = answer_request(pieces, fx.options);
    switch (a.route) {
        case Route::upgrade:
            if (a.response.rfind("HTTP/1.1 101 ", 0) != 0 ||
                a.response.find("Sec-WebSocket-Accept: ") == std::string::npos)
                std::abort();
            if (!a.protocol.empty() && a.protocol != "mqtt" && a.protocol != "mqttv3.1") std::abort();
            break;
        case Route::error:
            if (a.status < 400 || a.response.rfind("HTTP/1.1 4", 0) != 0) std::abort();
            break;
        case Route::static_file: {
            StaticFile f = open_static(fx.root, pieces);
            if (f.fd >= 0) ::close(f.fd);
            if (f.status == 200 && f.file.rfind(fx.root + "/", 0) != 0) std::abort();
            break;
        }
    }
    (void)forwarded_client(pieces, "127.0.0.1:5000", fx.options.trusted_proxies);
    (void)forwarded_client(pieces, "[::1]:5000", fx.options.trusted_proxies);
    return 0;
}
