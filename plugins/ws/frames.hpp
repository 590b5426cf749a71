// One connection's WebSocket after the upgrade (RFC 6455 section 5), server side.
//
// Incoming: data frames (binary, continuation) are parsed here and their payloads unmasked a
// word at a time straight into a per-thread batch, which goes up to the sink in one deliver()
// per feed() (or per 64 KiB): the bytes are read once, and a 16 KiB MQTT packet arrives whole
// rather than in wslay's 4 KiB pieces. Control frames (ping, pong, close) are checked here and
// then handed whole to wslay, which answers them (pong, the close handshake) and validates the
// close frame's status code and reason. Outgoing MQTT bytes go out as binary frames written
// here (a server frame is a 2 to 10 byte header and the bytes, unmasked).
//
// Refused, each with a close frame and its status code, after which nothing more is delivered:
//   an unmasked client frame, a reserved bit or opcode,
//   a bad control frame (fragmented, > 125 bytes), a close
//   frame of 1 byte, a length not in its shortest form or of
//   2^63 and more, a continuation with no message
//   or a new message inside a fragmented one                1002 protocol error (reading stops)
//   a close frame with a reserved status code                1002 (wslay)
//   a text frame                                             1003 unsupported data (MQTT is binary)
//   a frame over max_frame_size                              1009 message too big (reading stops)
//   a message over max_message_size                          1009
//   invalid UTF-8 in a close reason                          1007 (wslay)
// After a 1003 or a message-size 1009 the client's frames are still read (payloads dropped) so
// that its close frame completes the handshake.
// Pure but for wslay: no host; the sink decides what delivering and sending mean (the plugin,
// or the fuzz target).
//
// Threads: a Frames is used on one thread. The unmasked batch is one buffer per thread, shared
// by that thread's Frames: it is empty whenever feed() returns, and a sink's deliver() must not
// feed() another Frames of the same thread (the host delivers up and never reads a socket from
// there).
#pragma once
#include <wslay/wslay.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace roost_ws {

class FrameSink {
  public:
    virtual ~FrameSink() = default;
    // Payload of binary messages, in order, unmasked; `data` is valid only during the call.
    virtual void deliver(const uint8_t* data, size_t len) = 0;
    virtual void send(const uint8_t* data, size_t len) = 0;  // wire bytes to the client
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
    // The code of the close frame we sent, and why (ours, or wslay's for a bad close frame).
    uint16_t close_code_sent() const;
    const std::string& close_reason() const { return _close_reason; }
    uint16_t close_code_received() const;
    // The client began the close handshake (we only answered it).
    bool client_closed() const { return _client_closed; }
    // Everything is said: our close went out and either the peer's came or we read no more.
    bool finished() const { return close_sent() && (close_received() || !reading()); }
    uint64_t pongs() const { return _pongs; }

  private:
    enum class Stage : uint8_t { header, data, control };
    // The largest client frame header: 2 bytes, an 8-byte length, the 4-byte masking key.
    static constexpr size_t kMaxClientHeader = 14;

    static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int flags, void* user);
    static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int flags, void* user);
    static void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);
    // Takes header bytes from [p, end); true once the header is whole (then it was checked).
    bool read_header(const uint8_t*& p, const uint8_t* end);
    bool check_first_bytes();                  // the first two header bytes; false when refused
    void start_frame();                        // the whole header is in _header
    void up(const uint8_t* data, size_t len);  // unmasked into the batch
    void flush_up();                           // the batch to the sink
    void control_frame_done();                 // _control holds a whole frame: to wslay
    void protocol_error(const std::string& what);
    void reject(uint16_t code, const std::string& reason);
    void pump();  // sends what wslay queued

    FrameSink& _sink;
    wslay_event_context_ptr _ctx = nullptr;
    size_t _max_frame, _max_message;
    const uint8_t* _in = nullptr;  // the control frame handed to wslay
    size_t _in_len = 0;
    Stage _stage = Stage::header;
    uint8_t _header[kMaxClientHeader];
    uint8_t _header_len = 0;      // bytes of the current header read so far
    uint8_t _header_need = 2;     // its size, once the first two bytes told it
    uint8_t _mask[4] = {};        // the current frame's masking key
    unsigned _mask_phase = 0;     // payload offset of the next byte, modulo 4
    uint64_t _left = 0;           // payload bytes of the current frame still to read
    bool _in_message = false;     // a fragmented data message awaits its continuation
    bool _rejected = false;       // we refused something: deliver nothing more
    bool _close_queued = false;   // a close frame is queued or sent: send no more data
    bool _client_closed = false;  // the client's close came before ours
    uint64_t _message_bytes = 0;  // payload of the data message being received
    size_t _batched = 0;          // unmasked bytes in this thread's batch, not yet delivered
    std::string _control;         // the control frame being gathered (<= 14 + 125 bytes)
    std::string _close_reason;
    uint64_t _pongs = 0;
};

}  // namespace roost_ws
