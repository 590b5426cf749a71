// The last PUBLISH a worker encoded, kept for the next subscriber of the same message in the same
// variant (protocol version, QoS, retain flag, remaining expiry). A fan-out then encodes
// each message once per variant: every further subscriber costs one copy of the wire bytes into
// its connection's output, with its own packet id and DUP flag patched in.
//
// Owned by one Broker and used on its worker's thread only. Holds the message it encoded (so
// that the pointer it compares cannot be reused) until the next one replaces it. Callers encode
// packets above kMaxCached themselves, so that one large message is not held after delivery
// (Client::send_publish sends payloads of 4 KiB and more without a copy, by reference).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "broker/message.hpp"
#include "mqtt/encoder.hpp"

namespace roost {

class PublishEncodingCache {
  public:
    static constexpr size_t kMaxCached = 64 * 1024;

    // The wire bytes of `view` (whose topic, payload and properties are `message`'s, with no
    // subscription identifier and no topic alias; at most kMaxCached bytes encoded), valid until
    // the next call.
    std::span<const uint8_t> encode(const MessagePtr& message, const mqtt::PublishView& view,
                                    mqtt::ProtocolVersion version);

  private:
    struct Variant {
        mqtt::ProtocolVersion version;
        uint8_t qos;
        bool retain;
        std::optional<uint32_t> expiry;
        bool operator==(const Variant&) const = default;
    };
    MessagePtr _message;
    Variant _variant{};
    std::vector<uint8_t> _bytes;
    size_t _packet_id_at = 0;  // where the packet id's two bytes are in _bytes
};

}  // namespace roost
