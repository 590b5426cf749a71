// MQTT topic matching for scripts (roost.topic_matches, roost.filter_covers). Pure functions.
#pragma once
#include <string_view>

namespace roost_lua {

// True when the topic name `topic` matches the subscription filter `filter` (MQTT 4.7): `+` is
// one level, a trailing `#` is the parent level and everything below it, and a filter that starts
// with a wildcard does not match a topic that starts with `$` (4.7.2).
bool topic_matches(std::string_view filter, std::string_view topic);

// True when every topic `filter` can match is also matched by `rule`: a subscription to `filter`
// asks for nothing outside `rule` ("a/#" covers "a/+/b"; "a/+" does not cover "a/#").
bool filter_covers(std::string_view rule, std::string_view filter);

// True when `s` may be an MQTT UTF-8 string (1.5.4): at most 65,535 bytes of well-formed UTF-8
// (no overlong forms, no surrogates, nothing past U+10FFFF) without U+0000. A script's rewritten
// topic and user properties are checked with it, since a subscriber's client may drop the
// connection over a malformed string.
bool valid_mqtt_utf8(std::string_view s);

}  // namespace roost_lua
