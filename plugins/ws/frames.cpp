#include "frames.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "unmask.hpp"

namespace roost_ws {
namespace {

// Unmasked payload waits here until it goes up: one deliver() for many small frames, and a
// large packet in one piece (the host decodes straight from it, copying only a partial packet).
constexpr size_t kBatch = 64 * 1024;
uint8_t* batch() {
    static thread_local uint8_t buffer[kBatch];
    return buffer;
}

constexpr uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA;

uint64_t big_endian(const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

}  // namespace

Frames::Frames(FrameSink& sink, size_t max_frame_size, size_t max_message_size)
    : _sink(sink), _max_frame(max_frame_size), _max_message(max_message_size) {
    wslay_event_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof callbacks);
    callbacks.recv_callback = recv_cb;
    callbacks.send_callback = send_cb;
    callbacks.on_msg_recv_callback = msg_cb;
    // wslay sees control frames only (<= 125 bytes, checked here first), so its own message
    // length limit never applies; data frames are limited in start_frame().
    if (wslay_event_context_server_init(&_ctx, &callbacks, this) != 0) _ctx = nullptr;
}

Frames::~Frames() {
    if (_ctx) wslay_event_context_free(_ctx);
}

ssize_t Frames::recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
    auto* self = static_cast<Frames*>(user);
    if (self->_in_len == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < self->_in_len ? len : self->_in_len;
    std::memcpy(buf, self->_in, n);
    self->_in += n;
    self->_in_len -= n;
    return static_cast<ssize_t>(n);
}

// The host queues every byte it is given, so a frame always goes out whole: our own binary
// frames never interleave with the middle of one of wslay's.
ssize_t Frames::send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user) {
    static_cast<Frames*>(user)->_sink.send(data, len);
    return static_cast<ssize_t>(len);
}

void Frames::msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    if (arg->opcode == WSLAY_PONG) static_cast<Frames*>(user)->_pongs++;
}

// Queues the close; feed() sends it before it returns. The first reason is the one logged.
void Frames::reject(uint16_t code, const std::string& reason) {
    flush_up();  // what came before the bad frame is the client's and goes up first
    _rejected = _close_queued = true;
    if (_close_reason.empty()) _close_reason = reason;
    std::string short_reason = reason.substr(0, 100);
    wslay_event_queue_close(_ctx, code, reinterpret_cast<const uint8_t*>(short_reason.data()),
                            short_reason.size());
}

// Nothing after a protocol error can be trusted to be framed as it says: reading stops, as it
// does when wslay finds one.
void Frames::protocol_error(const std::string& what) {
    reject(1002, "protocol error: " + what);
    wslay_event_shutdown_read(_ctx);
}

void Frames::feed(const uint8_t* data, size_t len) {
    if (!_ctx) return;
    const uint8_t* p = data;
    const uint8_t* const end = data + len;
    while (p < end && reading()) {
        switch (_stage) {
            case Stage::header:
                if (read_header(p, end)) start_frame();
                break;
            case Stage::data: {
                size_t n = static_cast<size_t>(std::min<uint64_t>(_left, static_cast<uint64_t>(end - p)));
                if (!_rejected && !_close_queued) up(p, n);  // once we close, nothing more goes up
                p += n;
                _left -= n;
                if (_left == 0) _stage = Stage::header;
                break;
            }
            case Stage::control: {
                size_t n = static_cast<size_t>(std::min<uint64_t>(_left, static_cast<uint64_t>(end - p)));
                _control.append(reinterpret_cast<const char*>(p), n);
                p += n;
                _left -= n;
                if (_left == 0) control_frame_done();
                break;
            }
        }
    }
    flush_up();
    pump();
    // wslay refused a close frame (1002, 1007) or the peer closed: nothing more goes up.
    if (close_sent()) _rejected = _close_queued = true;
}

bool Frames::read_header(const uint8_t*& p, const uint8_t* end) {
    while (p < end) {
        size_t n = std::min<size_t>(_header_need - _header_len, static_cast<size_t>(end - p));
        std::memcpy(_header + _header_len, p, n);
        _header_len = static_cast<uint8_t>(_header_len + n);
        p += n;
        if (_header_len < _header_need) return false;
        if (_header_len > 2) return true;
        if (!check_first_bytes()) return false;
        uint8_t len7 = _header[1] & 0x7f;
        _header_need = static_cast<uint8_t>(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
    }
    return false;
}

// The checks wslay made on the first two bytes, in its order.
bool Frames::check_first_bytes() {
    uint8_t opcode = _header[0] & 0x0f;
    bool control = opcode & 0x8;
    if (control && (!(_header[0] & 0x80) || (_header[1] & 0x7f) > 125)) {
        protocol_error("a fragmented control frame, or one of more than 125 bytes");
        return false;
    }
    if (_header[0] & 0x70) {
        protocol_error("a reserved bit set (no extension was negotiated)");
        return false;
    }
    if (!(_header[1] & 0x80)) {
        protocol_error("an unmasked client frame");
        return false;
    }
    if (opcode != kContinuation && opcode != kText && opcode != kBinary && opcode != kClose &&
        opcode != kPing && opcode != kPong) {
        protocol_error("reserved opcode " + std::to_string(opcode));
        return false;
    }
    return true;
}

void Frames::start_frame() {
    uint8_t opcode = _header[0] & 0x0f;
    bool fin = _header[0] & 0x80;
    uint8_t len7 = _header[1] & 0x7f;
    size_t ext = _header_need - 6;  // 0, 2 or 8 length bytes after the first two
    uint64_t len = ext ? big_endian(_header + 2, ext) : len7;
    std::memcpy(_mask, _header + 2 + ext, 4);
    _header_len = 0;
    _header_need = 2;
    _mask_phase = 0;
    _left = len;
    if (ext == 8 && (len >> 63)) {  // RFC 6455 5.2: the most significant bit MUST be 0
        protocol_error("a 64-bit frame length with its most significant bit set");
        return;
    }
    if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xffff)) {
        protocol_error("a frame length not in its shortest form");
        return;
    }
    if (opcode == kClose && len == 1) {  // RFC 6455 5.5.1: a body starts with a 2-byte code
        protocol_error("a close frame of 1 byte (a status code takes 2)");
        return;
    }
    if (opcode & 0x8) {
        // Gathered whole (header as it came, masked payload) for wslay.
        _control.assign(reinterpret_cast<const char*>(_header), 2 + ext + 4);
        _stage = Stage::control;
        if (_left == 0) control_frame_done();
        return;
    }
    if (opcode == kContinuation && !_in_message) {
        protocol_error("a continuation frame with no message to continue");
        return;
    }
    if (opcode != kContinuation && _in_message) {
        protocol_error("a new data frame inside a fragmented message");
        return;
    }
    if (len > _max_frame) {
        reject(1009, "frame of more than max_frame_size (" + std::to_string(_max_frame) + " bytes)");
        wslay_event_shutdown_read(_ctx);  // what follows is that frame's payload
        return;
    }
    _in_message = !fin;
    _stage = _left ? Stage::data : Stage::header;
    if (_rejected) return;  // read on to the client's close frame, delivering nothing
    if (opcode == kText) {
        reject(1003, "text frame (MQTT over WebSocket is binary)");
        return;
    }
    if (opcode != kContinuation) _message_bytes = 0;
    _message_bytes += len;
    if (_message_bytes > _max_message)
        reject(1009, "message of more than max_message_size (" + std::to_string(_max_message) + " bytes)");
}

void Frames::up(const uint8_t* data, size_t len) {
    while (len > 0) {
        if (_batched == kBatch) flush_up();
        size_t n = std::min(len, kBatch - _batched);
        unmask_copy(batch() + _batched, data, n, _mask, _mask_phase);
        _mask_phase = (_mask_phase + static_cast<unsigned>(n)) & 3;
        _batched += n;
        data += n;
        len -= n;
    }
}

void Frames::flush_up() {
    if (_batched == 0) return;
    size_t n = std::exchange(_batched, 0);
    _sink.deliver(batch(), n);
}

void Frames::control_frame_done() {
    _stage = Stage::header;
    flush_up();  // the data before a close frame goes up before the close is answered
    _in = reinterpret_cast<const uint8_t*>(_control.data());
    _in_len = _control.size();
    int rc = wslay_event_recv(_ctx);
    _in = nullptr;
    _in_len = 0;
    _control.clear();
    if (rc != 0 && !close_sent()) {
        _rejected = true;
        wslay_event_shutdown_read(_ctx);
        if (_close_reason.empty()) _close_reason = "wslay could not read a control frame (out of memory)";
    }
}

void Frames::pump() {
    if (!_ctx) return;
    if (wslay_event_want_write(_ctx)) wslay_event_send(_ctx);
    if (close_sent() && _close_reason.empty()) {
        if (close_received() && !_close_queued) {
            // The client began the close handshake and wslay answered it.
            _client_closed = true;
            _close_reason = "the client closed (code " + std::to_string(close_code_received()) + ")";
            return;
        }
        switch (close_code_sent()) {
            case 1000:
                _close_reason = close_received() ? "the client closed" : "normal closure";
                break;
            case 1002:
                _close_reason = "protocol error: a close frame with a reserved status code";
                break;
            case 1007:
                _close_reason = "invalid UTF-8 in a close frame";
                break;
            default:
                _close_reason = "closed with code " + std::to_string(close_code_sent());
        }
    }
}

size_t Frames::binary_header(size_t len, uint8_t out[kMaxHeader]) {
    size_t n = 0;
    out[n++] = 0x82;  // FIN, binary
    if (len < 126) {
        out[n++] = static_cast<uint8_t>(len);
    } else if (len <= 0xffff) {
        out[n++] = 126;
        out[n++] = static_cast<uint8_t>(len >> 8);
        out[n++] = static_cast<uint8_t>(len);
    } else {
        out[n++] = 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> shift);
    }
    return n;
}

void Frames::send_binary(const uint8_t* data, size_t len) {
    if (!can_send()) return;
    uint8_t header[kMaxHeader];
    _sink.send(header, binary_header(len, header));
    if (len) _sink.send(data, len);
}

void Frames::send_ping() {
    if (!_ctx || _close_queued) return;
    wslay_event_msg msg = {WSLAY_PING, nullptr, 0};
    wslay_event_queue_msg(_ctx, &msg);
    pump();
}

void Frames::close(uint16_t code, const std::string& reason) {
    if (!_ctx || _close_queued) return;
    _close_queued = true;
    if (_close_reason.empty()) _close_reason = reason;
    // The frame's reason is a short version: control frames hold at most 125 bytes.
    std::string short_reason = reason.substr(0, 100);
    wslay_event_queue_close(_ctx, code, reinterpret_cast<const uint8_t*>(short_reason.data()),
                            short_reason.size());
    pump();
}

bool Frames::close_sent() const {
    return _ctx && wslay_event_get_close_sent(_ctx);
}
bool Frames::close_received() const {
    return _ctx && wslay_event_get_close_received(_ctx);
}
bool Frames::reading() const {
    return _ctx && wslay_event_get_read_enabled(_ctx);
}
uint16_t Frames::close_code_sent() const {
    return _ctx ? wslay_event_get_status_code_sent(_ctx) : 0;
}
uint16_t Frames::close_code_received() const {
    return _ctx ? wslay_event_get_status_code_received(_ctx) : 0;
}

}  // namespace roost_ws
