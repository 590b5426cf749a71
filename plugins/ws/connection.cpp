#include "connection.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "forwarded.hpp"
#include "handshake.hpp"
#include "static_files.hpp"

namespace roost_ws {
namespace {
// A static file goes out in chunks while the connection's backlog stays under this; drained()
// sends the next ones. So a large file never sits in memory whole.
constexpr size_t kFileChunk = 64 * 1024;
constexpr size_t kFileWindow = 256 * 1024;

std::string text_of(roost_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.len) : std::string();
}
roost_bytes bytes_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

Connection::Connection(const Shared& shared, roost_conn* conn)
    : _shared(shared), _host(shared.host), _conn(conn) {
    roost_bytes peer = {nullptr, 0};
    if (_host->conn_info(conn, ROOST_CLIENT_ADDRESS, &peer) == ROOST_OK) _peer = text_of(peer);
}

Connection::~Connection() {
    if (_fd >= 0) ::close(_fd);
}

int Connection::decode(roost_bytes wire) {
    switch (_phase) {
        case Phase::request: {
            _head.append(reinterpret_cast<const char*>(wire.data), wire.len);
            HttpRequest request;
            ParseResult r =
                parse_http_request(_head, _shared.options.max_request_size, request, _head_scanned);
            if (r.status == ParseStatus::need_more) {
                _head_scanned = _head.size();
                return ROOST_OK;
            }
            if (r.status == ParseStatus::error) {
                refuse(r.http_status, r.reason, http_error(r.http_status, r.reason), nullptr);
                return ROOST_OK;
            }
            std::string rest = _head.substr(r.consumed);
            _head.clear();
            _head.shrink_to_fit();
            on_request(request, rest);
            return ROOST_OK;
        }
        case Phase::websocket:
            _frames->feed(wire.data, wire.len);
            after_frames();
            check_backlog();
            return ROOST_OK;
        case Phase::file:
        case Phase::done:
            return ROOST_OK;  // nothing more is read from a connection we answered
    }
    return ROOST_OK;
}

void Connection::on_request(const HttpRequest& request, const std::string& rest) {
    HttpAnswer answer = answer_request(request, _shared.options);
    switch (answer.route) {
        case Route::error:
            refuse(answer.status, answer.reason, answer.response, &request);
            return;
        case Route::static_file:
            serve_file(request);
            return;
        case Route::upgrade:
            upgrade(request, answer.protocol, answer.response);
            // Frames the client sent right behind its request head.
            if (!rest.empty() && _phase == Phase::websocket)
                decode({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()});
            return;
    }
}

void Connection::upgrade(const HttpRequest& request, const std::string& protocol,
                         const std::string& response) {
    const Options& o = _shared.options;
    _frames = std::make_unique<Frames>(*this, o.max_frame_size, o.max_message_size);
    if (!_frames->ok()) {
        refuse(500, "out of memory", http_error(500, "out of memory"), &request);
        return;
    }
    set_attributes(request, protocol);
    // The real client behind a proxy we trust (before CONNECT: auth hooks see it).
    if (!o.trusted_proxies.empty()) {
        if (auto client = forwarded_client(request, _peer, o.trusted_proxies)) {
            if (ROOST_HAS(_host, roost_host, conn_set_address)) {
                _host->conn_set_attribute(_conn, "ws.proxy", bytes_of(_peer));
                _host->conn_set_address(_conn, bytes_of(*client));
            }
        }
    }
    send_text(response);
    _phase = Phase::websocket;
    _host->log(_shared.self, ROOST_LOG_DEBUG, "%s: WebSocket upgrade on %s (subprotocol %s)", _peer.c_str(),
               request.path.c_str(), protocol.empty() ? "none" : protocol.c_str());
    if (o.ping_interval_ms > 0)
        _host->conn_timer_start(_conn, o.ping_interval_ms, o.ping_interval_ms, on_ping, this, nullptr);
}

void Connection::set_attributes(const HttpRequest& request, const std::string& protocol) {
    auto set = [&](const std::string& name, const std::string& value) {
        _host->conn_set_attribute(_conn, name.c_str(), bytes_of(value));
    };
    set("ws.path", request.path);
    set("ws.query", request.query);
    if (!protocol.empty()) set("ws.protocol", protocol);
    for (const auto& [name, value] : request.headers) {
        (void)value;
        std::string key = "ws.header." + name;
        // Repeated fields are joined as HTTP says they may be: cookies with "; ", others ", ".
        set(key, request.joined(name, name == "cookie" ? "; " : ", "));
    }
    // Query parameters, percent-decoded; the first of a repeated name wins.
    std::vector<std::string> seen;
    std::string_view q = request.query;
    while (!q.empty()) {
        size_t amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        size_t eq = pair.find('=');
        std::string name, value;
        std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (percent_decode(pair.substr(0, eq), name, true) && !name.empty() &&
            name.find('\0') == std::string::npos && percent_decode(raw_value, value, true) &&
            std::find(seen.begin(), seen.end(), name) == seen.end()) {
            set("ws.query." + name, value);
            seen.push_back(std::move(name));
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
}

void Connection::serve_file(const HttpRequest& request) {
    StaticFile f = open_static(_shared.options.http_dir, request);
    if (f.status >= 400) {
        refuse(f.status, f.reason, f.head, &request);
        return;
    }
    _host->log(_shared.self, ROOST_LOG_DEBUG, "%s: %s %s: %d %s", _peer.c_str(), request.method.c_str(),
               request.path.c_str(), f.status, f.file.c_str());
    send_text(f.head);
    _phase = Phase::file;
    _fd = f.fd;
    _file_left = f.fd >= 0 ? f.size : 0;
    send_file_chunks();
}

void Connection::send_file_chunks() {
    static thread_local uint8_t buf[kFileChunk];
    while (_file_left > 0 && _host->conn_backlog(_conn) < kFileWindow) {
        size_t want = _file_left < kFileChunk ? static_cast<size_t>(_file_left) : kFileChunk;
        ssize_t n = ::read(_fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // The file shrank or failed under us: the length we promised cannot be kept, so the
            // connection ends here and the browser sees a short body.
            _host->log(_shared.self, ROOST_LOG_WARNING, "%s: reading a static file failed: %s", _peer.c_str(),
                       n < 0 ? std::strerror(errno) : "it got shorter");
            _file_left = 0;
            break;
        }
        send(buf, static_cast<size_t>(n));
        _file_left -= static_cast<uint64_t>(n);
    }
    if (_file_left == 0) finish();
}

void Connection::refuse(int status, const std::string& reason, const std::string& response,
                        const HttpRequest* request) {
    if (request)
        _host->log(_shared.self, ROOST_LOG_WARNING, "%s: %d %s for %s %s: %s", _peer.c_str(), status,
                   status_text(status), request->method.c_str(), request->path.c_str(), reason.c_str());
    else
        _host->log(_shared.self, ROOST_LOG_WARNING, "%s: %d %s: %s", _peer.c_str(), status,
                   status_text(status), reason.c_str());
    send_text(response);
    finish();
}

void Connection::after_frames() {
    if (!_frames || !_frames->close_sent()) return;
    if (_frames->finished()) {
        uint16_t code = _frames->close_code_sent();
        int level =
            (_frames->client_closed() || code == 1000 || code == 1001) ? ROOST_LOG_DEBUG : ROOST_LOG_WARNING;
        _host->log(_shared.self, level, "%s: WebSocket closed with %u: %s", _peer.c_str(), code,
                   _frames->close_reason().c_str());
        finish();
        return;
    }
    // We started the close handshake and still read: the peer has close_timeout_ms to answer.
    if (!_close_timer) {
        _close_timer = true;
        _host->log(_shared.self, ROOST_LOG_WARNING, "%s: closing the WebSocket with %u: %s", _peer.c_str(),
                   _frames->close_code_sent(), _frames->close_reason().c_str());
        _host->conn_timer_start(_conn, _shared.options.close_timeout_ms, 0, on_close_timeout, this, nullptr);
    }
}

void Connection::on_close_timeout(void* arg) {
    auto* self = static_cast<Connection*>(arg);
    self->_host->log(self->_shared.self, ROOST_LOG_INFO,
                     "%s: no close frame within close_timeout_ms (%llu ms): closing", self->_peer.c_str(),
                     static_cast<unsigned long long>(self->_shared.options.close_timeout_ms));
    self->finish();
}

void Connection::on_ping(void* arg) {
    auto* self = static_cast<Connection*>(arg);
    if (self->_phase == Phase::websocket) self->_frames->send_ping();
}

void Connection::finish() {
    if (_phase == Phase::done) return;
    _phase = Phase::done;
    _host->conn_close(_conn);
}

int Connection::encode(roost_bytes mqtt) {
    if (_phase == Phase::websocket) _frames->send_binary(mqtt.data, mqtt.len);
    return ROOST_OK;
}

int Connection::encode_prefix(size_t len, uint8_t* out, size_t cap) {
    // Each MQTT packet is one binary frame, so the frame is its header and then the packet.
    if (_phase != Phase::websocket || !_frames->can_send() || cap < Frames::kMaxHeader) return -1;
    return static_cast<int>(Frames::binary_header(len, out));
}

int Connection::flush() {
    check_backlog();
    return ROOST_OK;
}

// A client that does not read what we send (a slow browser) must not make us queue without
// bound: past max_backlog we stop reading it, so it can ask for nothing more (no pongs, no
// PUBLISH whose acknowledgement would queue) until what waits was written.
void Connection::check_backlog() {
    if (_paused || _phase != Phase::websocket) return;
    size_t backlog = _host->conn_backlog(_conn);
    if (backlog <= _shared.options.max_backlog) return;
    _paused = true;
    _host->log(_shared.self, ROOST_LOG_DEBUG, "%s: %zu bytes unsent (max_backlog %zu): reading paused",
               _peer.c_str(), backlog, _shared.options.max_backlog);
    _host->conn_pause_reading(_conn);
}

void Connection::drained() {
    if (_phase == Phase::file) {
        send_file_chunks();
        return;
    }
    if (_paused) {
        _paused = false;
        _host->log(_shared.self, ROOST_LOG_DEBUG, "%s: everything sent: reading resumed", _peer.c_str());
        _host->conn_resume_reading(_conn);
    }
}

void Connection::deliver(const uint8_t* data, size_t len) {
    _host->conn_deliver(_conn, {data, len});
}

void Connection::send(const uint8_t* data, size_t len) {
    _host->conn_send(_conn, {data, len});
}

}  // namespace roost_ws
