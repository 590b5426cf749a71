// MQTT encoder: packets out as bytes, for the given protocol version.
#pragma once
#include <cstdint>
#include <vector>

#include "mqtt/packet.hpp"

namespace roost::mqtt {

// Appends the wire form of `p` to `out`. Properties are written for MQTT 5 only; fields that
// 3.1.1 lacks are dropped; a CONNACK reason code is mapped down with to_connack_311().
void encode(const Packet& p, ProtocolVersion version, std::vector<uint8_t>& out);

// The number of bytes encode() would append.
size_t encoded_size(const Packet& p, ProtocolVersion version);

}  // namespace roost::mqtt
