// MQTT UTF-8 validation: a hand-rolled decoder, because std has none that rejects overlongs,
// surrogates and U+0000 the way the spec requires.
#include "mqtt/utf8.hpp"

#include <cstdint>

namespace roost::mqtt {

bool valid_mqtt_utf8(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto b0 = static_cast<uint8_t>(s[i]);
        if (b0 < 0x80) {
            if (b0 == 0) return false;  // U+0000 is forbidden in MQTT strings
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        uint32_t min;  // smallest code point this length may carry: anything less is overlong
        if ((b0 & 0xE0) == 0xC0) {
            len = 2, cp = b0 & 0x1F, min = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3, cp = b0 & 0x0F, min = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4, cp = b0 & 0x07, min = 0x10000;
        } else {
            return false;  // stray continuation byte or 0xF8..0xFF
        }
        if (n - i < len) return false;  // truncated sequence
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<uint8_t>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // UTF-16 surrogates are not characters
        i += len;
    }
    return true;
}

}  // namespace roost::mqtt
