// MQTT encoder: packets out as bytes, for the given protocol version.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "mqtt/packet.hpp"

namespace roost::mqtt {

// Appends the wire form of `p` to `out`. Properties are written for MQTT 5 only; fields that
// 3.1.1 lacks are dropped; a CONNACK reason code is mapped down with to_connack_311().
void encode(const Packet& p, ProtocolVersion version, std::vector<uint8_t>& out);

// The number of bytes encode() would append.
size_t encoded_size(const Packet& p, ProtocolVersion version);

// A PUBLISH whose topic and payload live elsewhere (a broker's shared message), so that sending
// it to many subscribers copies them only into the wire bytes. Same bytes as encode(Publish).
struct PublishView {
    bool dup = false;
    uint8_t qos = 0;
    bool retain = false;
    std::string_view topic;
    uint16_t packet_id = 0;
    const Properties* properties = nullptr;  // MQTT 5; nullptr = none
    std::string_view payload;
    const PublishExtras* extras = nullptr;  // MQTT 5: per-delivery values replacing some of them
};
void encode_publish(const PublishView& p, ProtocolVersion version, std::vector<uint8_t>& out);
size_t encoded_publish_size(const PublishView& p, ProtocolVersion version);
// Everything of encode_publish(p) but the payload (whose length the Remaining Length still
// counts): the part a sender puts before a payload it writes from where it already is.
void encode_publish_head(const PublishView& p, ProtocolVersion version, std::vector<uint8_t>& out);

}  // namespace roost::mqtt
