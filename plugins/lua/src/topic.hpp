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

}  // namespace roost_lua
