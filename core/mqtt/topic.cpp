// Topic name/filter validation and matching (MQTT 5 spec 4.7, shared subscriptions 4.8.2).
#include "mqtt/topic.hpp"

#include <algorithm>

#include "mqtt/utf8.hpp"

namespace roost::mqtt {

namespace {

constexpr std::string_view kSharePrefix = "$share/";

// The part of a filter that is matched against topics: every level checked for wildcard placement.
bool valid_plain_filter(std::string_view f) {
    if (f.empty()) return false;
    size_t start = 0;
    while (true) {
        const size_t slash = f.find('/', start);
        const bool last = slash == std::string_view::npos;
        const std::string_view level = f.substr(start, last ? std::string_view::npos : slash - start);
        if (level.find('#') != std::string_view::npos && (level.size() != 1 || !last)) return false;
        if (level.find('+') != std::string_view::npos && level.size() != 1) return false;
        if (last) return true;
        start = slash + 1;
    }
}

}  // namespace

bool has_wildcard(std::string_view text) {
    for (char c : text)
        if (c == '+' || c == '#') return true;
    return false;
}

bool valid_topic_name(std::string_view name) {
    return !name.empty() && !has_wildcard(name) && valid_mqtt_utf8(name);
}

bool valid_topic_filter(std::string_view filter) {
    if (!valid_mqtt_utf8(filter)) return false;
    if (filter.starts_with(kSharePrefix)) {
        const std::string_view rest = filter.substr(kSharePrefix.size());
        const size_t slash = rest.find('/');
        if (slash == std::string_view::npos) return false;  // "$share/group" has no filter
        const std::string_view group = rest.substr(0, slash);
        if (group.empty() || has_wildcard(group)) return false;
        return valid_plain_filter(rest.substr(slash + 1));
    }
    return valid_plain_filter(filter);
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    // Spec 4.7.2: wildcards in the first level never match the server's "$..." topics.
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#'))
        return false;
    size_t f = 0;
    size_t t = 0;
    while (true) {
        const size_t fend = std::min(filter.find('/', f), filter.size());
        const std::string_view flevel = filter.substr(f, fend - f);
        if (flevel == "#") return true;  // matches this level, all below, and the parent ("a/#" matches "a")
        if (t > topic.size()) {
            // The topic ran out of levels; only a trailing "/#" could still match, handled above.
            return false;
        }
        const size_t tend = std::min(topic.find('/', t), topic.size());
        const std::string_view tlevel = topic.substr(t, tend - t);
        if (flevel != "+" && flevel != tlevel) return false;
        const bool fdone = fend == filter.size();
        const bool tdone = tend == topic.size();
        if (fdone) {
            return tdone;
        }
        f = fend + 1;
        // When the topic has no more levels, t moves past its end so that only "#" can match next.
        t = tdone ? topic.size() + 1 : tend + 1;
    }
}

std::optional<SharedFilter> parse_shared_filter(std::string_view filter) {
    if (!filter.starts_with(kSharePrefix)) return std::nullopt;
    const std::string_view rest = filter.substr(kSharePrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    return SharedFilter{rest.substr(0, slash), rest.substr(slash + 1)};
}

size_t topic_levels(std::string_view topic) {
    size_t n = 1;
    for (char c : topic)
        n += c == '/';
    return n;
}

bool has_control_characters(std::string_view text) {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

}  // namespace roost::mqtt
