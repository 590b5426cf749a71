// What a WebSocket listener answers to an HTTP request (RFC 6455 section 4.2): the upgrade on
// the configured path with its checks (version, key, Origin, subprotocol), a static file from
// http_dir, or an HTTP error that says what was wrong. Pure: no I/O, no host; fuzzed with the
// request parser.
#pragma once
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "options.hpp"

namespace roost_ws {

enum class Route { upgrade, static_file, error };

struct HttpAnswer {
    Route route = Route::error;
    int status = 0;        // 101, or the error's status (400, 403, 404, 405, 426, 431)
    std::string reason;    // error: why, for the log and the response body
    std::string response;  // upgrade: the 101 response; error: the whole error response
    std::string protocol;  // upgrade: the subprotocol chosen ("mqtt" or "mqttv3.1"), or ""
};

// Decides what `request` gets. A static_file answer has no response yet (static_files.hpp
// makes it).
HttpAnswer answer_request(const HttpRequest& request, const Options& options);

// "HTTP/1.1 <status> <text>" with a text/plain body of `reason`, Connection: close, and
// `extra_headers` (each ending in CRLF).
std::string http_error(int status, std::string_view reason, std::string_view extra_headers = {});
const char* status_text(int status);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept(std::string_view key);

}  // namespace roost_ws
