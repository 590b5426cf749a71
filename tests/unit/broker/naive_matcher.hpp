// The reference matcher for the tries' differential tests: level by level, no trie, written
// straight from spec 4.7 so that it is easy to believe.
#pragma once
#include <string>
#include <vector>

namespace roost::test {

inline std::vector<std::string> split_levels_naive(const std::string& s) {
    std::vector<std::string> levels;
    size_t start = 0;
    while (true) {
        size_t slash = s.find('/', start);
        levels.push_back(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) return levels;
        start = slash + 1;
    }
}

inline bool naive_matches(const std::string& filter, const std::string& topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) {
        return false;
    }
    std::vector<std::string> f = split_levels_naive(filter);
    std::vector<std::string> t = split_levels_naive(topic);
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") return true;  // also when t has exactly i levels: "a/#" matches "a"
        if (i >= t.size()) return false;
        if (f[i] != "+" && f[i] != t[i]) return false;
    }
    return f.size() == t.size();
}

}  // namespace roost::test
