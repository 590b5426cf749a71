// Incremental MQTT decoder: bytes in at arbitrary boundaries, whole validated packets out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "mqtt/packet.hpp"
#include "mqtt/reason_codes.hpp"

namespace roost::mqtt {

struct DecodeError {
    // MalformedPacket, ProtocolError, TopicAliasInvalid or PacketTooLarge; for a CONNECT also
    // UnsupportedProtocolVersion, and (3.1.1 only, where it has return code 0x02)
    // ClientIdentifierNotValid.
    ReasonCode reason = ReasonCode::MalformedPacket;
    std::string message;  // for the log: what exactly was wrong
};

enum class DecodeStatus { NeedMore, Packet, Error };

// Bounds a broker sets on what a client may send (issue 12); the defaults bound nothing.
struct DecodeLimits {
    uint32_t max_topic_levels = 0;              // topic names in PUBLISH and will topics; 0 = no limit
    uint32_t max_user_properties = UINT32_MAX;  // per property block
    bool allow_control_characters = true;       // in topic names
    // Decoder only (decode_packet judges a body it already has): packets whose total size
    // (fixed header included) exceeds max_packet_size are rejected with PacketTooLarge as soon as
    // their length is known, before the body is buffered; a CONNECT (what comes before
    // authentication) may be held to less.
    uint32_t max_packet_size = 268435460;
    uint32_t max_connect_packet_size = UINT32_MAX;
};

// Decodes one whole packet body. `header` is the first byte of the fixed header, `body` the
// `remaining length` bytes after the length. Enforces every malformed/protocol-error rule that
// can be judged from the packet alone (reserved flags, QoS 3, packet id 0, UTF-8, topic rules,
// duplicated or misplaced properties, ...). Rules that need session state (topic alias range,
// receive maximum) are the broker's.
// A topic name over `limits` fails with TopicNameInvalid, too many user properties with
// QuotaExceeded.
DecodeStatus decode_packet(uint8_t header, std::span<const uint8_t> body, ProtocolVersion version,
                           Packet& out, DecodeError& error, const DecodeLimits& limits = {});

// Size: one per connection, idle ones included (tests/bench/RESULTS.md, "Idle connections"),
// so 32 bytes: the limits are the broker's (by pointer), a partial packet's bytes and their
// counters are one heap block that exists only while a partial packet does.
class Decoder {
  public:
    // `limits` is read at every packet, not copied: it must outlive the decoder and not change
    // while the decoder runs (a broker's lives as long as the broker and is set once, before its
    // first client). The default bounds nothing.
    explicit Decoder(const DecodeLimits* limits = &kNoLimits) : _limits(limits) {}
    ~Decoder() { release(); }
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // The version used for packets after CONNECT. A CONNECT sets it itself from its protocol
    // level, so a server needs no call; tests of client-side packets call it.
    void set_version(ProtocolVersion v) {
        _version = v;
        _version_known = true;
    }
    ProtocolVersion version() const { return _version; }
    // Whether version() is one the peer announced (or set_version() gave), rather than the
    // default. A CONNECT that fails still announces its version once its protocol level could be
    // read, so that the refusal is in the form the client reads (3.1.1 has a 2-byte CONNACK and
    // only return codes 1 to 5); before that, there is no form to answer in.
    bool version_known() const { return _version_known; }

    // Copies `bytes` in.
    void feed(std::span<const uint8_t> bytes);
    // Borrows `bytes` instead: packets are decoded straight from them, and nothing is copied
    // unless keep() is called. The caller must call keep() before `bytes` go away.
    void feed_borrowed(std::span<const uint8_t> bytes);
    // Copies what is left of borrowed bytes (a partial packet, or packets not taken yet) in.
    void keep();

    // Drops every byte fed and not taken (a connection that is being closed for running out of
    // memory frees its buffer at once).
    void discard() {
        release();
        _borrowed_data = nullptr;
        _borrowed_size = 0;
    }

    // Takes the next whole packet from what was fed. After Error the decoder is unusable (the
    // connection must be closed).
    DecodeStatus next(Packet& out, DecodeError& error);

    size_t buffered() const { return buffered_size() + _borrowed_size; }
    // Heap bytes the decoder holds (its buffer's capacity).
    size_t capacity() const { return _buffer ? _buffer->capacity : 0; }

    static const DecodeLimits kNoLimits;

  private:
    // Copied bytes: this header, then `capacity` bytes of which [offset, size) are not taken yet.
    // Made when bytes must be kept (a partial packet, or packets left while the client waits),
    // freed when they are taken: an idle connection holds none, and one large packet leaves
    // nothing behind.
    struct Buffer {
        uint32_t size;
        uint32_t capacity;
        uint32_t offset;  // bytes already consumed
        uint8_t* bytes() { return reinterpret_cast<uint8_t*>(this + 1); }
        const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(this + 1); }
    };
    size_t buffered_size() const { return _buffer ? _buffer->size - _buffer->offset : 0; }
    const uint8_t* buffered_data() const { return _buffer ? _buffer->bytes() + _buffer->offset : nullptr; }
    // Appends `bytes` to the buffer, making or growing it (throws std::bad_alloc when it cannot).
    void append(std::span<const uint8_t> bytes);
    void release();
    // After a failed CONNECT: the version its protocol level announces, from the `avail` bytes at
    // `p` (the packet's start), if they reach that far.
    void learn_version(const uint8_t* p, size_t avail);
    // Bytes the buffered partial packet still lacks, or 0 when its length is not all there yet.
    size_t missing_from_buffered_packet() const;
    std::span<const uint8_t> borrowed() const { return {_borrowed_data, _borrowed_size}; }

    Buffer* _buffer = nullptr;
    // feed_borrowed(): bytes read after what _buffer holds (when _buffer holds anything, it is one
    // whole packet that feed_borrowed() completed). At most one read's worth, so 32 bits.
    const uint8_t* _borrowed_data = nullptr;
    const DecodeLimits* _limits;
    uint32_t _borrowed_size = 0;
    ProtocolVersion _version = ProtocolVersion::V5;
    bool _version_known = false;
    bool _failed = false;
};

}  // namespace roost::mqtt
