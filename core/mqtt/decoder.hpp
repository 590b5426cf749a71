// Incremental MQTT decoder: bytes in at arbitrary boundaries, whole validated packets out.
#pragma once
#include <cstddef>
#include <cstdint>
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

// Decodes one whole packet body. `header` is the first byte of the fixed header, `body` the
// `remaining length` bytes after the length. Enforces every malformed/protocol-error rule that
// can be judged from the packet alone (reserved flags, QoS 3, packet id 0, UTF-8, topic rules,
// duplicated or misplaced properties, ...). Rules that need session state (topic alias range,
// receive maximum) are the broker's.
DecodeStatus decode_packet(uint8_t header, std::span<const uint8_t> body, ProtocolVersion version,
                           Packet& out, DecodeError& error);

class Decoder {
  public:
    // Packets whose total size (fixed header included) exceeds `max_packet_size` are rejected
    // with PacketTooLarge as soon as their length is known, before the body is buffered.
    explicit Decoder(uint32_t max_packet_size = 268435460) : _max_packet_size(max_packet_size) {}

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
    void set_max_packet_size(uint32_t n) { _max_packet_size = n; }

    void feed(std::span<const uint8_t> bytes);

    // Takes the next whole packet from what was fed. After Error the decoder is unusable (the
    // connection must be closed).
    DecodeStatus next(Packet& out, DecodeError& error);

    size_t buffered() const { return _buffer.size() - _offset; }

  private:
    // After a failed CONNECT: the version its protocol level announces, from the `avail` bytes at
    // `p` (the packet's start), if they reach that far.
    void learn_version(const uint8_t* p, size_t avail);

    std::vector<uint8_t> _buffer;
    size_t _offset = 0;  // bytes of _buffer already consumed
    uint32_t _max_packet_size;
    ProtocolVersion _version = ProtocolVersion::V5;
    bool _version_known = false;
    bool _failed = false;
};

}  // namespace roost::mqtt
