// Topic levels for the tries (subscription index, retained store): splitting on '/' and hashing
// levels as string_views, so that matching allocates no strings.
#pragma once
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace roost {

struct LevelHash {
    using is_transparent = void;
    size_t operator()(std::string_view level) const { return std::hash<std::string_view>{}(level); }
};

// The levels of a topic or filter. "a//b" has three levels, the middle one empty.
inline std::vector<std::string_view> split_levels(std::string_view topic) {
    std::vector<std::string_view> levels;
    size_t start = 0;
    while (true) {
        size_t slash = topic.find('/', start);
        if (slash == std::string_view::npos) {
            levels.push_back(topic.substr(start));
            return levels;
        }
        levels.push_back(topic.substr(start, slash - start));
        start = slash + 1;
    }
}

// Spec 4.7.2: a first level starting with '$' is not matched by a leading wildcard.
inline bool is_dollar(std::string_view level) {
    return !level.empty() && level[0] == '$';
}

// Tears a trie down with an explicit stack: a topic or filter of thousands of empty levels
// ("/////...") would otherwise recurse once per level in the node destructors. `children(node,
// push)` hands each child's unique_ptr to push.
template <class Node, class Children>
void destroy_trie(std::unique_ptr<Node> root, Children children) {
    std::vector<std::unique_ptr<Node>> pending;
    pending.push_back(std::move(root));
    auto push = [&pending](std::unique_ptr<Node>& child) {
        if (child) pending.push_back(std::move(child));
    };
    while (!pending.empty()) {
        std::unique_ptr<Node> node = std::move(pending.back());
        pending.pop_back();
        children(*node, push);
    }
}

}  // namespace roost
