// One connection's WebSocket after the upgrade (RFC 6455 section 5), server side. wslay parses
// what the client sends (masking, fragmentation, control frames, the close handshake) in its
// no-buffering mode, so message payloads reach the sink in the chunks they arrive in and are
// never gathered; ping gets pong, close gets close. Outgoing MQTT bytes go out as binary frames
// written here (a server frame is a 2 to 10 byte header and the bytes, unmasked).
//
// Refused, each with a close frame and its status code, after which nothing more is delivered:
//   an unmasked client frame, a reserved bit or opcode  1002 protocol error (wslay)
//   a text frame                                        1003 unsupported data (MQTT is binary)
//   a frame over max_frame_size, a message over
//   max_message_size                                    1009 message too big
//   invalid UTF-8 in a close reason                     1007 (wslay)
// Pure but for wslay: no host; the sink decides what delivering and sending mean (the plugin,
// or the fuzz target).
#pragma once
#include <wslay/wslay.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roost_ws {

class FrameSink {
  public:
    virtual ~FrameSink() = default;
    virtual void deliver(const uint8_t* data, size_t len) = 0;  // payload of binary messages, in order
    virtual void send(const uint8_t* data, size_t len) = 0;     // wire bytes to the client
};

class Frames {
  public:
    Frames(FrameSink& sink, size_t max_frame_size, size_t max_message_size);
    ~Frames();
    Frames(const Frames&) = delete;
    Frames& operator=(const Frames&) = delete;
    bool ok() const { return _ctx != nullptr; }  // false when wslay could not allocate

    // Wire bytes from the client; answers what needs answering (pong, close) at once.
    void feed(const uint8_t* data, size_t len);
    // One binary message, unless a close frame was sent already (then dropped).
    void send_binary(const uint8_t* data, size_t len);
    // Whether send_binary() would send (no close frame queued yet).
    bool can_send() const { return _ctx && !_close_queued; }
    // A server's (unmasked) binary frame header for a `len`-byte payload: what send_binary()
    // puts before the data. Returns its length.
    static constexpr size_t kMaxHeader = 10;
    static size_t binary_header(size_t len, uint8_t out[kMaxHeader]);
    void send_ping();
    // Starts the close handshake with `code` (and `reason` for the log and the frame).
    void close(uint16_t code, const std::string& reason);

    bool close_sent() const;
    bool close_received() const;
    bool reading() const;  // false once the peer's frames are no longer read
    // The code of the close frame we sent, and why (ours, or wslay's for protocol errors).
    uint16_t close_code_sent() const;
    const std::string& close_reason() const { return _close_reason; }
    uint16_t close_code_received() const;
    // The client began the close handshake (we only answered it).
    bool client_closed() const { return _client_closed; }
    // Everything is said: our close went out and either the peer's came or we read no more.
    bool finished() const { return close_sent() && (close_received() || !reading()); }
    uint64_t pongs() const { return _pongs; }

  private:
    static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int flags, void* user);
    static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int flags, void* user);
    static void frame_start_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg,
                               void* user);
    static void frame_chunk_cb(wslay_event_context_ptr, const wslay_event_on_frame_recv_chunk_arg* arg,
                               void* user);
    static void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);
    void reject(uint16_t code, const std::string& reason);
    void pump();  // sends what wslay queued

    FrameSink& _sink;
    wslay_event_context_ptr _ctx = nullptr;
    size_t _max_frame, _max_message;
    const uint8_t* _in = nullptr;  // the bytes feed() is handing to wslay
    size_t _in_len = 0;
    bool _frame_is_data = false;  // the frame being received is text/binary/continuation
    bool _rejected = false;       // we refused something: deliver nothing more
    bool _close_queued = false;   // a close frame is queued or sent: send no more data
    bool _client_closed = false;  // the client's close came before ours
    uint64_t _message_bytes = 0;  // payload of the data message being received
    std::string _close_reason;
    uint64_t _pongs = 0;
};

}  // namespace roost_ws
