#include "handshake.hpp"

#include <openssl/evp.h>

#include <cctype>

namespace roost_ws {
namespace {
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// The subprotocols of MQTT over WebSocket, in the order we prefer them: "mqtt" (MQTT 3.1.1 and
// 5, section 6 of both specs), "mqttv3.1" (what MQTT 3.1 era clients ask for).
constexpr std::string_view kProtocols[] = {"mqtt", "mqttv3.1"};

HttpAnswer error(int status, std::string reason, std::string_view extra = {}) {
    HttpAnswer a;
    a.route = Route::error;
    a.status = status;
    a.response = http_error(status, reason, extra);
    a.reason = std::move(reason);
    return a;
}

// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 base64 characters and "==".
bool valid_key(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (char c : key.substr(0, 22))
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
    // The 22nd character carries only 2 bits of the last byte: the rest must be zero.
    static constexpr std::string_view kLast = "AQgw";
    return kLast.find(key[21]) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Same-origin: the Origin's host[:port] is the Host the request was sent to.
bool same_origin(std::string_view origin, const std::string* host) {
    if (!host) return false;
    size_t scheme = origin.find("://");
    if (scheme == std::string_view::npos) return false;
    std::string authority = lower(origin.substr(scheme + 3));
    while (!authority.empty() && authority.back() == '/')
        authority.pop_back();
    std::string h = lower(*host);
    if (authority == h) return true;
    // The default port may be written on one side only.
    std::string_view s = origin.substr(0, scheme);
    std::string port = iequals(s, "https") ? ":443" : ":80";
    return authority + port == h || authority == h + port;
}

bool origin_allowed(const HttpRequest& r, const Options& o, std::string* why) {
    const std::string* origin = r.header("origin");
    if (!origin) return true;  // not a browser: no cross-site request to fear
    if (o.any_origin) return true;
    if (o.allowed_origins.empty()) {
        if (same_origin(*origin, r.header("host"))) return true;
        *why = "Origin '" + *origin + "' is not this host; allow it with the ws option allowed_origins";
        return false;
    }
    std::string wanted = lower(*origin);
    for (const std::string& allowed : o.allowed_origins)
        if (wanted == allowed) return true;
    *why = "Origin '" + *origin + "' is not in allowed_origins";
    return false;
}
}  // namespace

const char* status_text(int status) {
    switch (status) {
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 301:
            return "Moved Permanently";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 426:
            return "Upgrade Required";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
    }
    return "Error";
}

std::string http_error(int status, std::string_view reason, std::string_view extra_headers) {
    std::string body = std::string(reason) + "\n";
    std::string out =
        "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
        "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n";
    out += extra_headers;
    out += "\r\n";
    out += body;
    return out;
}

std::string websocket_accept(std::string_view key) {
    std::string input = std::string(key) + std::string(kGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) return {};
    unsigned char encoded[64];
    int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(encoded), n > 0 ? static_cast<size_t>(n) : 0);
}

HttpAnswer answer_request(const HttpRequest& r, const Options& o) {
    if (r.path != o.path) {
        if (!o.http_dir.empty()) {
            if (r.method != "GET" && r.method != "HEAD")
                return error(405, "only GET and HEAD are served here", "Allow: GET, HEAD\r\n");
            HttpAnswer a;
            a.route = Route::static_file;
            a.status = 200;
            return a;
        }
        return error(404, "no WebSocket endpoint here: MQTT over WebSocket is at " + o.path);
    }
    const std::string* upgrade = r.header("upgrade");
    if (!upgrade || !header_has_token(*upgrade, "websocket"))
        return error(426, "this is an MQTT over WebSocket endpoint: send a WebSocket upgrade request",
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    if (r.method != "GET") return error(400, "a WebSocket upgrade must be a GET");
    if (r.minor_version < 1) return error(400, "a WebSocket upgrade needs HTTP/1.1");
    const std::string* connection = r.header("connection");
    if (!connection || !header_has_token(r.joined("connection"), "upgrade"))
        return error(400, "the upgrade request lacks 'Connection: Upgrade'");
    const std::string* version = r.header("sec-websocket-version");
    if (!version || *version != "13")
        return error(426, "unsupported Sec-WebSocket-Version (this server speaks 13)",
                     "Sec-WebSocket-Version: 13\r\n");
    const std::string* key = r.header("sec-websocket-key");
    if (!key || !valid_key(*key)) return error(400, "missing or malformed Sec-WebSocket-Key");
    if (!r.header("host")) return error(400, "missing Host header");
    std::string why;
    if (!origin_allowed(r, o, &why)) return error(403, why);

    HttpAnswer a;
    if (r.header("sec-websocket-protocol")) {
        std::string offered = r.joined("sec-websocket-protocol");
        for (std::string_view p : kProtocols) {
            if (header_has_token(offered, p)) {
                a.protocol = p;
                break;
            }
        }
        if (a.protocol.empty())
            return error(400, "unsupported Sec-WebSocket-Protocol '" + offered +
                                  "' (this server speaks mqtt, mqttv3.1)");
    }
    a.route = Route::upgrade;
    a.status = 101;
    a.response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
        "Upgrade\r\nSec-WebSocket-Accept: " +
        websocket_accept(*key) + "\r\n";
    if (!a.protocol.empty()) a.response += "Sec-WebSocket-Protocol: " + a.protocol + "\r\n";
    a.response += "\r\n";
    return a;
}

}  // namespace roost_ws
