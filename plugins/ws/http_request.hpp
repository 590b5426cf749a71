// An HTTP/1.1 request head (request line and header fields, RFC 9112), parsed from the bytes a
// WebSocket listener received before the upgrade. Pure: no I/O, no host; fuzzed by
// tests/fuzz/ws_http_fuzz.cpp.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost_ws {

struct HttpRequest {
    std::string method;     // "GET"
    std::string target;     // as sent: "/mqtt?token=abc"
    std::string path;       // target up to '?', still percent-encoded
    std::string query;      // after '?', without it
    int minor_version = 1;  // HTTP/1.<minor>
    // Field names lowercased, values without surrounding whitespace, in the order received.
    std::vector<std::pair<std::string, std::string>> headers;

    // The first field named `name` (lowercase), or nullptr.
    const std::string* header(std::string_view name) const;
    // Every field named `name` joined with `separator` (", " for lists, "; " for cookies); "" if none.
    std::string joined(std::string_view name, std::string_view separator = ", ") const;
};

enum class ParseStatus { need_more, done, error };

struct ParseResult {
    ParseStatus status = ParseStatus::need_more;
    size_t consumed = 0;  // done: bytes of the head, the blank line included
    int http_status = 0;  // error: 400 or 431
    std::string reason;   // error: what was wrong, for the response body and the log
};

// Parses the head at the start of `bytes` (everything received so far). need_more until the blank
// line arrives; an error as soon as the bytes cannot be a request head (garbage is refused at its
// first byte, not after max_head bytes) or the head grows past `max_head` bytes (431).
// `scanned`: how many of `bytes` an earlier call that returned need_more already saw (its
// `bytes.size()`); only the rest is searched for the end of the head.
ParseResult parse_http_request(std::string_view bytes, size_t max_head, HttpRequest& out, size_t scanned = 0);

// True when the comma-separated `list` (a header value) holds `token`, case-insensitively.
bool header_has_token(std::string_view list, std::string_view token);
// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);
// Percent-decodes `in` into `out`; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

}  // namespace roost_ws
