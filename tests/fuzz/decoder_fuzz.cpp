// Decoder fuzz target. The first input byte picks the protocol version and a chunking seed; the
// rest is fed to a Decoder in pieces of pseudo-random size. Every decoded packet must encode to
// something that decodes back to the same packet (and encoded_size must agree with encode).
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

using namespace roost::mqtt;

namespace {

void check_roundtrip(const Packet& p, ProtocolVersion version) {
    std::vector<uint8_t> wire;
    encode(p, version, wire);
    if (wire.size() != encoded_size(p, version)) std::abort();
    Decoder again;
    again.set_version(version);
    again.feed(wire);
    Packet q;
    DecodeError e;
    if (again.next(q, e) != DecodeStatus::Packet) std::abort();
    if (!(q == p) || again.buffered() != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t control = data[0];
    std::span<const uint8_t> input(data + 1, size - 1);

    // Small limits on half the inputs, so the user-property count and topic-level checks run.
    static const DecodeLimits small{.max_topic_levels = 4,
                                    .max_user_properties = 3,
                                    .allow_control_characters = false,
                                    .max_packet_size = 512};
    Decoder d(control & 0x40 ? &small : &Decoder::kNoLimits);
    d.set_version(control & 0x80 ? ProtocolVersion::V311 : ProtocolVersion::V5);
    uint32_t rng = control | 1u;  // xorshift: chunk sizes from the control byte, reproducible
    size_t pos = 0;
    while (pos < input.size()) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
        const size_t chunk = (control & 0x3F) == 0 ? input.size() : 1 + rng % ((control & 0x3F) + 1);
        const size_t n = std::min(chunk, input.size() - pos);
        // Borrowed and copied feeding alternate, as a client's reads do.
        const bool borrow = rng & 0x100;
        if (borrow)
            d.feed_borrowed(input.subspan(pos, n));
        else
            d.feed(input.subspan(pos, n));
        pos += n;
        Packet p;
        DecodeError e;
        DecodeStatus st;
        while ((st = d.next(p, e)) == DecodeStatus::Packet)
            check_roundtrip(p, d.version());
        if (borrow) d.keep();
        if (st == DecodeStatus::Error) {
            if (e.message.empty()) std::abort();
            return 0;
        }
    }
    return 0;
}
