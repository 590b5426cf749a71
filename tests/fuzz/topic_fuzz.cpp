// Differential fuzz of topic_matches against a naive matcher that splits both strings into levels
// and walks them side by side. Also checks that validation never crashes and that
// parse_shared_filter agrees with valid_topic_filter.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/topic.hpp"

using namespace roost::mqtt;

namespace {

std::vector<std::string_view> levels(std::string_view s) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (true) {
        const size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, slash - start));
        start = slash + 1;
    }
}

// The spec's rules written as plainly as possible.
bool naive_matches(std::string_view filter, std::string_view topic) {
    const auto f = levels(filter);
    const auto t = levels(topic);
    if (!topic.empty() && topic[0] == '$' && (f[0] == "+" || f[0] == "#")) return false;
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") return true;  // this level and everything below, or nothing below
        if (i >= t.size()) return false;
        if (f[i] != "+" && f[i] != t[i]) return false;
    }
    return f.size() == t.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Input: filter, a 0xFF separator byte, topic.
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const size_t sep = in.find('\xFF');
    const std::string_view filter = in.substr(0, sep);
    const std::string_view topic = sep == std::string_view::npos ? std::string_view{} : in.substr(sep + 1);

    const bool filter_ok = valid_topic_filter(filter);
    const bool matched = topic_matches(filter, topic);  // must not crash on any input
    valid_topic_name(topic);
    if (const auto shared = parse_shared_filter(filter); shared && filter_ok) {
        // The inner filter is not itself read as a shared one ("$share/g/$share/x" is fine).
        if (shared->group.empty() || shared->group.find_first_of("+#/") != std::string_view::npos ||
            shared->filter.empty())
            std::abort();
    }
    if (filter_ok && !parse_shared_filter(filter) && valid_topic_name(topic)) {
        if (matched != naive_matches(filter, topic)) std::abort();
    }
    return 0;
}
