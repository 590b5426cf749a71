#include "broker/retained_store.hpp"

#include <atomic>
#include <string>
#include <unordered_map>
#include <utility>

#include "broker/topic_levels.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
std::atomic<uint32_t> g_max_messages{100000};
std::atomic<uint32_t> g_max_payload{1048576};
}  // namespace

void RetainedStore::set_limits(uint32_t max_messages, uint32_t max_payload) {
    g_max_messages = max_messages;
    g_max_payload = max_payload;
}

// One node per topic level; topics hold no wildcards, so unlike the subscription trie there are
// only named children.
struct RetainedStore::Node {
    std::unordered_map<std::string, std::unique_ptr<Node>, LevelHash, std::equal_to<>> children;
    MessagePtr message;  // null when no retained message has exactly this topic

    bool empty() const { return children.empty() && !message; }

    // Clears the message of the topic with these levels and prunes the nodes left empty. Returns
    // false when there was none.
    static bool erase(Node& root, const std::vector<std::string_view>& levels) {
        std::vector<Node*> path{&root};
        for (std::string_view level : levels) {
            auto it = path.back()->children.find(level);
            if (it == path.back()->children.end()) return false;
            path.push_back(it->second.get());
        }
        if (!path.back()->message) return false;
        path.back()->message.reset();
        for (size_t depth = levels.size(); depth > 0 && path[depth]->empty(); --depth) {
            Node* parent = path[depth - 1];
            parent->children.erase(parent->children.find(levels[depth - 1]));
        }
        return true;
    }
};

RetainedStore::RetainedStore() : _root(std::make_unique<Node>()) {}

RetainedStore::~RetainedStore() {
    destroy_trie(std::move(_root), [](Node& node, auto push) {
        for (auto& [level, child] : node.children)
            push(child);
    });
}

bool RetainedStore::set(MessagePtr message) {
    if (!message) return false;
    std::vector<std::string_view> levels = split_levels(message->topic);

    if (!message->payload.empty()) {
        if (message->payload.size() > g_max_payload) {
            log::limit("max_retained_payload",
                       "client '{}': retained message on '{}' not kept: {} bytes, over [limits] "
                       "max_retained_payload = {} (the message is still delivered)",
                       message->origin_client_id, message->topic, message->payload.size(),
                       g_max_payload.load());
            return false;
        }
        // The broker's own $SYS topics do not count: a client cannot crowd them out, nor they it.
        const uint32_t max_messages = g_max_messages;
        const bool sys = message->topic.starts_with("$SYS/");
        if (!sys && max_messages != 0 && _count - _sys_count >= max_messages && !contains(levels)) {
            log::limit("max_retained_messages",
                       "client '{}': retained message on '{}' not kept: the store holds {} messages, "
                       "[limits] max_retained_messages = {} (the message is still delivered)",
                       message->origin_client_id, message->topic, _count - _sys_count, max_messages);
            return false;
        }
        Node* node = _root.get();
        for (std::string_view level : levels) {
            auto it = node->children.find(level);
            if (it == node->children.end()) {
                it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
            }
            node = it->second.get();
        }
        if (!node->message) {
            ++_count;
            _sys_count += sys;
        }
        node->message = std::move(message);
        return true;
    }

    // An empty payload clears the topic (spec 3.3.1.3).
    if (Node::erase(*_root, levels)) {
        --_count;
        _sys_count -= message->topic.starts_with("$SYS/");
    }
    return true;
}

bool RetainedStore::contains(const std::vector<std::string_view>& levels) const {
    const Node* node = _root.get();
    for (std::string_view level : levels) {
        auto it = node->children.find(level);
        if (it == node->children.end()) return false;
        node = it->second.get();
    }
    return node->message != nullptr;
}

void RetainedStore::match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out) {
    std::vector<MessagePtr> expired;
    match(filter, now, out, expired);
    // Erased after the walk, not during it, so that no node is freed while the walk holds it.
    for (const MessagePtr& message : expired)
        erase_if_current(message);
}

bool RetainedStore::erase_if_current(const MessagePtr& message) {
    std::vector<std::string_view> levels = split_levels(message->topic);
    const Node* node = _root.get();
    for (std::string_view level : levels) {
        auto it = node->children.find(level);
        if (it == node->children.end()) return false;
        node = it->second.get();
    }
    if (node->message != message) return false;  // replaced since: the new one stays
    if (Node::erase(*_root, levels)) {
        --_count;
        _sys_count -= message->topic.starts_with("$SYS/");
    }
    return true;
}

void RetainedStore::match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out,
                          std::vector<MessagePtr>& expired) const {
    auto take = [&](const Node* node) {
        if (!node->message) return;
        if (node->message->expired(now)) {
            expired.push_back(node->message);
        } else {
            out.push_back(node->message);
        }
    };

    // Depth-first over the branches the filter selects, with an explicit stack (no recursion depth
    // tied to the number of levels). `start` is where the filter's level for the node's children
    // begins; npos when the filter has no levels left.
    struct Step {
        const Node* node;
        size_t start;
    };
    std::vector<Step> stack{{_root.get(), 0}};
    std::vector<const Node*> subtree;
    while (!stack.empty()) {
        auto [node, start] = stack.back();
        stack.pop_back();

        if (start == std::string_view::npos) {
            take(node);
            continue;
        }

        // Spec 4.7.2: a wildcard in the first level of a filter does not match a '$' topic.
        const bool first = start == 0;
        size_t slash = filter.find('/', start);
        std::string_view level =
            filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        size_t next = slash == std::string_view::npos ? std::string_view::npos : slash + 1;

        if (level == "#") {
            // Everything below, and the node itself: "a/#" matches "a" (spec 4.7.1.2).
            take(node);
            for (const auto& [name, child] : node->children) {
                if (!(first && is_dollar(name))) subtree.push_back(child.get());
            }
            while (!subtree.empty()) {
                const Node* n = subtree.back();
                subtree.pop_back();
                take(n);
                for (const auto& [name, child] : n->children)
                    subtree.push_back(child.get());
            }
        } else if (level == "+") {
            for (const auto& [name, child] : node->children) {
                if (!(first && is_dollar(name))) stack.push_back({child.get(), next});
            }
        } else if (auto it = node->children.find(level); it != node->children.end()) {
            stack.push_back({it->second.get(), next});
        }
    }
}

}  // namespace roost
