#include <doctest/doctest.h>

#include <string>

#include "mqtt/utf8.hpp"

using roost::mqtt::valid_mqtt_utf8;

TEST_CASE("utf8: valid strings") {
    CHECK(valid_mqtt_utf8(""));
    CHECK(valid_mqtt_utf8("hello/world"));
    CHECK(valid_mqtt_utf8("\xC2\xA9"));          // U+00A9, 2 bytes
    CHECK(valid_mqtt_utf8("\xDF\xBF"));          // U+07FF, largest 2-byte
    CHECK(valid_mqtt_utf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
    CHECK(valid_mqtt_utf8("\xE2\x82\xAC"));      // U+20AC euro sign
    CHECK(valid_mqtt_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
    CHECK(valid_mqtt_utf8("\xEE\x80\x80"));      // U+E000, just above the surrogates
    CHECK(valid_mqtt_utf8("\xEF\xBF\xBF"));      // U+FFFF (a non-character, allowed by MQTT)
    CHECK(valid_mqtt_utf8("\xF0\x9F\x98\x80"));  // U+1F600, 4 bytes
    CHECK(valid_mqtt_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
    CHECK(valid_mqtt_utf8("\x01\x7F"));          // control characters are SHOULD NOT, not MUST NOT
}

TEST_CASE("utf8: invalid strings") {
    CHECK_FALSE(valid_mqtt_utf8(std::string("a\0b", 3)));  // U+0000
    CHECK_FALSE(valid_mqtt_utf8("\xC0\x80"));              // overlong U+0000
    CHECK_FALSE(valid_mqtt_utf8("\xC1\xBF"));              // overlong 2-byte
    CHECK_FALSE(valid_mqtt_utf8("\xE0\x9F\xBF"));          // overlong 3-byte
    CHECK_FALSE(valid_mqtt_utf8("\xF0\x8F\xBF\xBF"));      // overlong 4-byte
    CHECK_FALSE(valid_mqtt_utf8("\xED\xA0\x80"));          // U+D800 surrogate
    CHECK_FALSE(valid_mqtt_utf8("\xED\xBF\xBF"));          // U+DFFF surrogate
    CHECK_FALSE(valid_mqtt_utf8("\xF4\x90\x80\x80"));      // U+110000
    CHECK_FALSE(valid_mqtt_utf8("\xF5\x80\x80\x80"));      // lead byte beyond U+10FFFF
    CHECK_FALSE(valid_mqtt_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
    CHECK_FALSE(valid_mqtt_utf8("\xFF"));
    CHECK_FALSE(valid_mqtt_utf8("\x80"));          // lone continuation byte
    CHECK_FALSE(valid_mqtt_utf8("\xC2"));          // truncated 2-byte
    CHECK_FALSE(valid_mqtt_utf8("\xE2\x82"));      // truncated 3-byte
    CHECK_FALSE(valid_mqtt_utf8("\xF0\x9F\x98"));  // truncated 4-byte
    CHECK_FALSE(valid_mqtt_utf8("\xE2\x28\xA1"));  // bad continuation byte
    CHECK_FALSE(valid_mqtt_utf8("ok\xC2"));        // truncated at the end of valid text
}
