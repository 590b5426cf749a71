// Byte-level reading and writing of the MQTT data types (spec 1.5): big-endian integers,
// variable byte integers, length-prefixed strings and binary data. Internal to the codec.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roost::mqtt::wire {

// Reads from a packet body. Every read returns false when the body is too short, and leaves the
// reader in an unspecified position: the caller reports a malformed packet and stops.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> data) : _data(data) {}

    size_t remaining() const { return _data.size() - _pos; }
    bool empty() const { return _pos == _data.size(); }

    bool u8(uint8_t& v) {
        if (remaining() < 1) return false;
        v = _data[_pos++];
        return true;
    }
    bool u16(uint16_t& v) {
        if (remaining() < 2) return false;
        v = static_cast<uint16_t>(_data[_pos] << 8 | _data[_pos + 1]);
        _pos += 2;
        return true;
    }
    bool u32(uint32_t& v) {
        if (remaining() < 4) return false;
        v = uint32_t{_data[_pos]} << 24 | uint32_t{_data[_pos + 1]} << 16 | uint32_t{_data[_pos + 2]} << 8 |
            uint32_t{_data[_pos + 3]};
        _pos += 4;
        return true;
    }
    // A Variable Byte Integer: at most 4 bytes, and in the fewest (spec 1.5.5-1: a last byte of
    // 0 after others, as 0x80 0x00 for 0, is a second encoding of a shorter value).
    bool varint(uint32_t& v) {
        v = 0;
        for (int i = 0; i < 4; ++i) {
            uint8_t b = 0;
            if (!u8(b)) return false;
            v |= uint32_t{b & 0x7Fu} << (7 * i);
            if ((b & 0x80) == 0) return i == 0 || b != 0;
        }
        return false;
    }
    // Two-byte length then that many bytes; UTF-8 checks are the caller's.
    bool binary(std::string& v) {
        uint16_t len = 0;
        if (!u16(len) || remaining() < len) return false;
        v.assign(reinterpret_cast<const char*>(_data.data() + _pos), len);
        _pos += len;
        return true;
    }
    // The next `n` bytes as a sub-reader (for a property block).
    bool sub(size_t n, Reader& out) {
        if (remaining() < n) return false;
        out = Reader(_data.subspan(_pos, n));
        _pos += n;
        return true;
    }
    // Everything left, as bytes (a PUBLISH payload).
    std::string rest() {
        std::string s(reinterpret_cast<const char*>(_data.data() + _pos), remaining());
        _pos = _data.size();
        return s;
    }

  private:
    std::span<const uint8_t> _data;
    size_t _pos = 0;
};

inline size_t varint_size(uint32_t v) {
    return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

// Where encoded bytes go. The encoder is written once against this shape and run with either
// sink, so encoded_size() is equal to what encode() appends by construction.
struct VectorSink {
    std::vector<uint8_t>& out;
    void byte(uint8_t b) { out.push_back(b); }
    void bytes(const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
};
struct CountSink {
    size_t n = 0;
    void byte(uint8_t) { ++n; }
    void bytes(const void*, size_t len) { n += len; }
};

template <class Sink>
void put_u8(Sink& s, uint8_t v) {
    s.byte(v);
}
template <class Sink>
void put_u16(Sink& s, uint16_t v) {
    s.byte(static_cast<uint8_t>(v >> 8));
    s.byte(static_cast<uint8_t>(v));
}
template <class Sink>
void put_u32(Sink& s, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        s.byte(static_cast<uint8_t>(v >> shift));
}
template <class Sink>
void put_varint(Sink& s, uint32_t v) {
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        if (v != 0) b |= 0x80;
        s.byte(b);
    } while (v != 0);
}
// Strings longer than 65535 bytes cannot be represented; they are cut so the packet stays
// well-formed (the broker never builds such strings).
template <class Sink>
void put_binary(Sink& s, std::string_view v) {
    const size_t len = v.size() > 0xFFFF ? 0xFFFF : v.size();
    put_u16(s, static_cast<uint16_t>(len));
    s.bytes(v.data(), len);
}

}  // namespace roost::mqtt::wire
