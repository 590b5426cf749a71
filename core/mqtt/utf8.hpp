// UTF-8 checks for MQTT strings (3.1.1 spec 1.5.3, MQTT 5 spec 1.5.4).
#pragma once
#include <string_view>

namespace roost::mqtt {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates U+D800..U+DFFF, nothing above
// U+10FFFF) and contains no U+0000. These are the MUST rules; a violation is a malformed packet.
bool valid_mqtt_utf8(std::string_view s);

}  // namespace roost::mqtt
