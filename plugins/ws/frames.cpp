#include "frames.hpp"

#include <cstring>

namespace roost_ws {

Frames::Frames(FrameSink& sink, size_t max_frame_size, size_t max_message_size)
    : _sink(sink), _max_frame(max_frame_size), _max_message(max_message_size) {
    wslay_event_callbacks callbacks;
    std::memset(&callbacks, 0, sizeof callbacks);
    callbacks.recv_callback = recv_cb;
    callbacks.send_callback = send_cb;
    callbacks.on_frame_recv_start_callback = frame_start_cb;
    callbacks.on_frame_recv_chunk_callback = frame_chunk_cb;
    callbacks.on_msg_recv_callback = msg_cb;
    if (wslay_event_context_server_init(&_ctx, &callbacks, this) != 0) {
        _ctx = nullptr;
        return;
    }
    // Data messages stream through frame_chunk_cb; wslay buffers control frames only (<= 125 B).
    wslay_event_config_set_no_buffering(_ctx, 1);
    // In no-buffering mode wslay checks this per frame: frames over it get 1009 from wslay.
    wslay_event_config_set_max_recv_msg_length(_ctx, _max_frame);
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

void Frames::frame_start_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                            void* user) {
    auto* self = static_cast<Frames*>(user);
    self->_frame_is_data = !(arg->opcode & 0x8);
    if (!self->_frame_is_data || self->_rejected) return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        self->reject(1003, "text frame (MQTT over WebSocket is binary)");
        return;
    }
    if (arg->opcode != WSLAY_CONTINUATION_FRAME) self->_message_bytes = 0;
    self->_message_bytes += arg->payload_length;
    if (self->_message_bytes > self->_max_message)
        self->reject(
            1009, "message of more than max_message_size (" + std::to_string(self->_max_message) + " bytes)");
}

void Frames::frame_chunk_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                            void* user) {
    auto* self = static_cast<Frames*>(user);
    if (!self->_frame_is_data || self->_rejected || arg->data_length == 0) return;
    self->_sink.deliver(arg->data, arg->data_length);
}

void Frames::msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    if (arg->opcode == WSLAY_PONG) static_cast<Frames*>(user)->_pongs++;
}

// From inside wslay_event_recv: queues the close; feed() sends it once wslay returns.
void Frames::reject(uint16_t code, const std::string& reason) {
    _rejected = _close_queued = true;
    if (_close_reason.empty()) _close_reason = reason;
    std::string short_reason = reason.substr(0, 100);
    wslay_event_queue_close(_ctx, code, reinterpret_cast<const uint8_t*>(short_reason.data()),
                            short_reason.size());
}

void Frames::feed(const uint8_t* data, size_t len) {
    if (!_ctx) return;
    _in = data;
    _in_len = len;
    int rc = wslay_event_recv(_ctx);
    _in = nullptr;
    _in_len = 0;
    if (rc != 0 && !close_sent()) {
        _rejected = true;
        wslay_event_shutdown_read(_ctx);
        if (_close_reason.empty()) _close_reason = "wslay could not read a frame (out of memory)";
    }
    pump();
    // wslay refused a frame itself (1002 unmasked or reserved bits, 1009 frame too big, 1007),
    // or the peer closed: nothing more goes up.
    if (close_sent()) _rejected = _close_queued = true;
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
                _close_reason =
                    "protocol error (an unmasked client frame, a reserved bit or opcode, a bad control "
                    "frame)";
                break;
            case 1007:
                _close_reason = "invalid UTF-8 in a close frame";
                break;
            case 1009:
                _close_reason =
                    "frame of more than max_frame_size (" + std::to_string(_max_frame) + " bytes)";
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
