#include "http_request.hpp"

#include <cctype>

namespace roost_ws {
namespace {
constexpr size_t kMaxHeaders = 100;

// tchar of RFC 9110 5.6.2: what a method and a field name are made of.
bool is_tchar(unsigned char c) {
    if (std::isalnum(c)) return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
    }
    return false;
}

// A field value may hold visible characters, spaces, tabs and obs-text, nothing else.
bool valid_value(std::string_view v) {
    for (unsigned char c : v)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

// Bytes that can appear in a request target (RFC 3986 plus the ones browsers send raw).
bool valid_target(std::string_view t) {
    if (t.empty() || t[0] != '/') return false;
    for (unsigned char c : t)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

ParseResult fail(int status, std::string reason) {
    ParseResult r;
    r.status = ParseStatus::error;
    r.http_status = status;
    r.reason = std::move(reason);
    return r;
}

// What arrived so far can still begin a request line: a method (token chars), a space and a
// target starting with '/'. Lets garbage (an MQTT CONNECT sent to a WebSocket port, TLS to a
// plain port) be refused at once.
bool plausible_start(std::string_view bytes) {
    size_t i = 0;
    while (i < bytes.size() && is_tchar(static_cast<unsigned char>(bytes[i])))
        i++;
    if (i == bytes.size()) return i <= 16;  // a method still arriving
    if (i == 0 || bytes[i] != ' ') return false;
    return i + 1 == bytes.size() || bytes[i + 1] == '/';
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); i++)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool header_has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            auto hex = [](char h) -> int {
                if (h >= '0' && h <= '9') return h - '0';
                if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                return -1;
            };
            int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return &v;
    return nullptr;
}

std::string HttpRequest::joined(std::string_view name, std::string_view separator) const {
    std::string out;
    for (const auto& [k, v] : headers) {
        if (k != name) continue;
        if (!out.empty()) out += separator;
        out += v;
    }
    return out;
}

ParseResult parse_http_request(std::string_view bytes, size_t max_head, HttpRequest& out, size_t scanned) {
    if (scanned > bytes.size()) scanned = 0;
    if (scanned < 32 && !plausible_start(bytes.substr(0, 32)))
        return fail(400, "not an HTTP request (the first bytes are not a method and a path)");
    // Only what arrived since the last call is scanned (the three bytes before it too, for a
    // blank line split across reads): a head sent a byte at a time costs its length, not its square.
    size_t end = bytes.find("\r\n\r\n", scanned < 3 ? 0 : scanned - 3);
    if (end == std::string_view::npos || end + 4 > max_head) {
        if (bytes.size() >= max_head || (end != std::string_view::npos && end + 4 > max_head))
            return fail(431,
                        "request head larger than max_request_size (" + std::to_string(max_head) + " bytes)");
        // A bare LF (not CRLF) would never end the head: refuse it early.
        for (size_t lf = bytes.find('\n', scanned); lf != std::string_view::npos;
             lf = bytes.find('\n', lf + 1))
            if (lf == 0 || bytes[lf - 1] != '\r') return fail(400, "lines must end with CRLF");
        return {};
    }
    out = HttpRequest{};
    std::string_view head = bytes.substr(0, end + 2);  // each line keeps its CRLF

    // Request line: method SP request-target SP HTTP-version.
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return fail(400, "malformed request line");
    std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                     version = line.substr(sp2 + 1);
    for (unsigned char c : method)
        if (!is_tchar(c)) return fail(400, "malformed method");
    if (!valid_target(target))
        return fail(400, "malformed request target (it must be a path starting with '/')");
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
        return fail(400, "not HTTP/1.x");
    out.method = method;
    out.target = target;
    out.minor_version = version[7] - '0';
    size_t q = target.find('?');
    out.path = target.substr(0, q);
    if (q != std::string_view::npos) out.query = target.substr(q + 1);
    size_t hash = out.query.find('#');
    if (hash != std::string::npos) out.query.resize(hash);

    // Header fields: name ":" OWS value OWS CRLF. No obs-fold (a line starting with whitespace).
    size_t pos = eol + 2;
    while (pos < head.size()) {
        size_t next = head.find("\r\n", pos);
        std::string_view field = head.substr(pos, next - pos);
        pos = next + 2;
        if (field.empty()) break;
        if (out.headers.size() == kMaxHeaders)
            return fail(431, "more than " + std::to_string(kMaxHeaders) + " header fields");
        size_t colon = field.find(':');
        if (colon == 0 || colon == std::string_view::npos) return fail(400, "malformed header field");
        std::string name(field.substr(0, colon));
        for (char& c : name) {
            if (!is_tchar(static_cast<unsigned char>(c))) return fail(400, "malformed header field name");
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string_view value = trim(field.substr(colon + 1));
        if (!valid_value(value)) return fail(400, "control character in header field '" + name + "'");
        out.headers.emplace_back(std::move(name), std::string(value));
    }
    ParseResult r;
    r.status = ParseStatus::done;
    r.consumed = end + 4;
    return r;
}

}  // namespace roost_ws
