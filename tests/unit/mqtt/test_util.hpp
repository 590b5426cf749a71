// Helpers shared by the codec tests: byte literals, one-shot encode/decode, error assertions.
#pragma once
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

// Hex dumps in failure messages.
template <>
struct doctest::StringMaker<std::vector<uint8_t>> {
    static doctest::String convert(const std::vector<uint8_t>& v) {
        std::string s;
        char buf[4];
        for (uint8_t b : v) {
            std::snprintf(buf, sizeof buf, "%02X ", b);
            s += buf;
        }
        return s.c_str();
    }
};

namespace roost::mqtt::test {

using Bytes = std::vector<uint8_t>;

inline constexpr ProtocolVersion V4 = ProtocolVersion::V311;
inline constexpr ProtocolVersion V5 = ProtocolVersion::V5;

// Builds a byte vector from a mix of byte values and string pieces: B({0x10, 0x02}) + S("ab").
inline Bytes B(std::initializer_list<int> v) {
    Bytes out;
    for (int b : v)
        out.push_back(static_cast<uint8_t>(b));
    return out;
}
inline Bytes S(std::string_view s) {
    return Bytes(s.begin(), s.end());
}
inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline Bytes encode_bytes(const Packet& p, ProtocolVersion v) {
    Bytes out;
    encode(p, v, out);
    return out;
}

struct Decoded {
    DecodeStatus status = DecodeStatus::NeedMore;
    Packet packet;
    DecodeError error;
};

// Decodes exactly one packet from `bytes` and requires that nothing is left over.
inline Decoded decode_one(const Bytes& bytes, ProtocolVersion v) {
    Decoder d;
    d.set_version(v);
    d.feed(bytes);
    Decoded r;
    r.status = d.next(r.packet, r.error);
    if (r.status == DecodeStatus::Packet) CHECK(d.buffered() == 0);
    return r;
}

// The wire form of `p` is `wire`, and `wire` decodes back to `p`.
inline void check_exact(const Packet& p, ProtocolVersion v, const Bytes& wire) {
    CHECK(encode_bytes(p, v) == wire);
    CHECK(encoded_size(p, v) == wire.size());
    const Decoded d = decode_one(wire, v);
    REQUIRE_MESSAGE(d.status == DecodeStatus::Packet, d.error.message);
    CHECK(d.packet == p);
}

inline void check_roundtrip(const Packet& p, ProtocolVersion v) {
    const Bytes wire = encode_bytes(p, v);
    CHECK(encoded_size(p, v) == wire.size());
    const Decoded d = decode_one(wire, v);
    REQUIRE_MESSAGE(d.status == DecodeStatus::Packet, d.error.message);
    CHECK(d.packet == p);
}

// `wire` is rejected with `reason`.
inline void check_error(const Bytes& wire, ProtocolVersion v, ReasonCode reason) {
    const Decoded d = decode_one(wire, v);
    REQUIRE(d.status == DecodeStatus::Error);
    CHECK_MESSAGE(d.error.reason == reason, d.error.message);
    CHECK(!d.error.message.empty());
}

inline void check_ok(const Bytes& wire, ProtocolVersion v) {
    const Decoded d = decode_one(wire, v);
    CHECK_MESSAGE(d.status == DecodeStatus::Packet, d.error.message);
}

}  // namespace roost::mqtt::test
