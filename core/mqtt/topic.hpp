// Topic names and filters: validation and matching (MQTT 5 spec 4.7, 4.8.2).
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace roost::mqtt {

// Whether `text` holds '+' or '#'. One pass: std::string_view::find_first_of calls memchr on
// its set once per character of `text`, which was 5 % of a worker's time in a QoS 0 relay.
bool has_wildcard(std::string_view text);

// A topic name as a PUBLISH carries it: at least one character, no '+' or '#', valid UTF-8.
bool valid_topic_name(std::string_view name);

// A topic filter as a SUBSCRIBE carries it: '#' only as the last level and alone in it, '+' alone
// in its level, valid UTF-8, not empty. A "$share/group/filter" is valid when the group is
// non-empty and has no '+', '#' or '/', and the filter after it is valid.
bool valid_topic_filter(std::string_view filter);

// Whether `filter` (not a shared one) matches `topic`. Topics starting with '$' are not matched
// by a filter whose first level is '+' or '#' (spec 4.7.2).
bool topic_matches(std::string_view filter, std::string_view topic);

struct SharedFilter {
    std::string_view group;
    std::string_view filter;
};

// Splits "$share/group/filter"; nullopt when `filter` is not a shared subscription. Call only on a
// filter that passed valid_topic_filter.
std::optional<SharedFilter> parse_shared_filter(std::string_view filter);

// The number of levels: one more than the number of '/' ("a/b" has 2, "" and "a" have 1).
size_t topic_levels(std::string_view topic);

// Whether `text` holds a control character (U+0001 to U+001F or U+007F; U+0000 is never valid
// MQTT UTF-8 anyway). Refused in ids and topics unless [broker] allow_control_characters.
bool has_control_characters(std::string_view text);

}  // namespace roost::mqtt
