// Unmasking a client's WebSocket payload (RFC 6455 section 5.3): every byte XORed with the
// 4-byte masking key, byte i of the payload with key byte i % 4. Done a machine word at a time
// while copying, since this runs over every byte a client sends (16 KiB per message for some).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace roost_ws {

// Copies `n` bytes from `src` to `dst` unmasked, `phase` being the payload offset of src[0]
// modulo 4 (a frame's payload may arrive in pieces). dst and src may be the same; they must not
// overlap otherwise.
inline void unmask_copy(uint8_t* dst, const uint8_t* src, size_t n, const uint8_t key[4], unsigned phase) {
    uint8_t rotated[8];
    for (unsigned i = 0; i < 8; i++)
        rotated[i] = key[(phase + i) & 3];
    uint64_t word_key;
    std::memcpy(&word_key, rotated, 8);  // the key in memory order, whatever the byte order
    size_t i = 0;
    // memcpy for unaligned loads and stores: compilers turn it into plain moves (and vectorise
    // the loop at -O3).
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, src + i, 8);
        w ^= word_key;
        std::memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ rotated[i & 3];  // rotated[j] is key[(phase + j) % 4]
}

}  // namespace roost_ws
