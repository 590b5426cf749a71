#include "broker/subscription_tree.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "broker/topic_levels.hpp"
#include "mqtt/topic.hpp"

namespace roost {

struct SubscriptionTree::Node {
    struct Subscription {
        mqtt::SubscriptionOptions options;
        uint32_t subscription_id = 0;
        const SessionRef* ref = nullptr;

        unsigned worker() const { return ref ? ref->worker.load(std::memory_order_relaxed) : 0; }
        bool congested() const { return ref && ref->congested.load(std::memory_order_relaxed); }
    };
    struct Member {
        SessionKey session = 0;
        Subscription subscription;
    };
    // Members are kept in two runs: members[0, online) have a client attached, the rest do not
    // (a member without a SessionRef counts as online). A publish picks from the first run in
    // O(1), however many offline members the group holds (20k offline members cost 0.35 ms per
    // publish when every pick scanned them). The owning worker moves a member between the runs
    // after its SessionRef::online flips (SubscriptionTree::sync_online, under the exclusive
    // lock); until then the atomic itself may already say otherwise, which only means that one
    // message queues for a member that just left, as it could a moment earlier.
    struct SharedGroup {
        SharedGroup() = default;
        SharedGroup(SharedGroup&& other) noexcept
            : members(std::move(other.members)),
              index(std::move(other.index)),
              online(other.online),
              next(other.next.load(std::memory_order_relaxed)),
              share(std::move(other.share)) {}
        std::vector<Member> members;
        std::unordered_map<SessionKey, size_t> index;  // session -> its position in `members`
        size_t online = 0;                             // members[0, online) are online
        // The round-robin turn. `match` runs under a shared lock on several workers at once and a
        // delivery advances the turn: an atomic, where a lost update only repeats a turn.
        mutable std::atomic<size_t> next{0};
        std::string share;  // "$share/group/filter", what a delivery from it carries

        void swap_members(size_t a, size_t b) {
            if (a == b) return;
            std::swap(members[a], members[b]);
            index[members[a].session] = a;
            index[members[b].session] = b;
        }
        // Moves the member at `i` into the run its SessionRef says; returns its new position.
        size_t place(size_t i) {
            const SessionRef* ref = members[i].subscription.ref;
            bool is_online = !ref || ref->online.load(std::memory_order_relaxed);
            if (is_online && i >= online) {
                swap_members(i, online);
                return online++;
            }
            if (!is_online && i < online) {
                swap_members(i, --online);
                return online;
            }
            return i;
        }
        void add(Member m) {
            members.push_back(std::move(m));
            index[members.back().session] = members.size() - 1;
            place(members.size() - 1);
        }
        void remove(size_t i) {
            if (i < online) swap_members(i, --online), i = online;  // now the first offline one
            swap_members(i, members.size() - 1);
            index.erase(members.back().session);
            members.pop_back();
        }
    };

    // Wildcard levels get their own slots: every match looks at them, so no hashing.
    std::unordered_map<std::string, std::unique_ptr<Node>, LevelHash, std::equal_to<>> children;
    std::unique_ptr<Node> plus;
    std::unique_ptr<Node> hash;
    std::unordered_map<SessionKey, Subscription> subscribers;
    std::unordered_map<std::string, SharedGroup, LevelHash, std::equal_to<>> groups;

    bool empty() const { return children.empty() && !plus && !hash && subscribers.empty() && groups.empty(); }

    // The slot holding the child for `level` (which may be a wildcard); null when `create` is false
    // and the map has no entry for it.
    std::unique_ptr<Node>* slot(std::string_view level, bool create) {
        if (level == "+") return &plus;
        if (level == "#") return &hash;
        auto it = children.find(level);
        if (it != children.end()) return &it->second;
        if (!create) return nullptr;
        return &children.emplace(std::string(level), nullptr).first->second;
    }

    const Node* child(std::string_view level) const {
        auto it = children.find(level);
        return it == children.end() ? nullptr : it->second.get();
    }

    // Returns how many lists it drew from (this filter's subscribers, each shared group): within
    // one list a session appears once.
    int collect(std::vector<SubscriberMatch>& out, const std::function<bool(SessionKey)>& available) const {
        for (const auto& [session, sub] : subscribers) {
            out.push_back({session, sub.worker(), sub.congested(), sub.options, sub.subscription_id, false});
        }
        for (const auto& [name, group] : groups) {
            const Member& chosen = choose(group, available);
            out.push_back({chosen.session, chosen.subscription.worker(), chosen.subscription.congested(),
                           chosen.subscription.options, chosen.subscription.subscription_id, true,
                           group.share});
        }
        return (subscribers.empty() ? 0 : 1) + int(groups.size());
    }

    // Round robin over the online members (those `available` accepts, for members without a
    // SessionRef); when none is, an offline member gets the message anyway (queued in its
    // session), so a group never drops a message.
    static const Member& choose(const SharedGroup& group, const std::function<bool(SessionKey)>& available) {
        size_t turn = group.next.load(std::memory_order_relaxed);
        size_t pick = turn % group.members.size();
        for (size_t i = 0; i < group.online; ++i) {
            size_t candidate = (turn + i) % group.online;
            const Member& m = group.members[candidate];
            if (m.subscription.ref || !available || available(m.session)) {
                pick = candidate;
                break;
            }
        }
        group.next.store(pick + 1, std::memory_order_relaxed);
        return group.members[pick];
    }
};

SubscriptionTree::SubscriptionTree() : _root(std::make_unique<Node>()) {}

SubscriptionTree::~SubscriptionTree() {
    destroy_trie(std::move(_root), [](Node& node, auto push) {
        for (auto& [level, child] : node.children)
            push(child);
        push(node.plus);
        push(node.hash);
    });
}

bool SubscriptionTree::subscribe(SessionKey session, std::string_view filter,
                                 const mqtt::SubscriptionOptions& options, uint32_t subscription_id,
                                 const SessionRef* ref) {
    std::string_view full_filter = filter;
    std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(filter);
    if (shared) filter = shared->filter;

    Node* node = _root.get();
    for (std::string_view level : split_levels(filter)) {
        std::unique_ptr<Node>& next = *node->slot(level, true);
        if (!next) next = std::make_unique<Node>();
        node = next.get();
    }

    Node::Subscription sub{options, subscription_id, ref};
    if (!shared) {
        bool inserted = node->subscribers.insert_or_assign(session, sub).second;
        if (inserted) ++_count;
        return inserted;
    }

    auto group = node->groups.find(shared->group);
    if (group == node->groups.end())
        group = node->groups.emplace(std::string(shared->group), Node::SharedGroup{}).first;
    if (group->second.share.empty()) group->second.share = std::string(full_filter);
    Node::SharedGroup& g = group->second;
    if (auto it = g.index.find(session); it != g.index.end()) {
        g.members[it->second].subscription = sub;  // keeps its place in the round robin
        return false;
    }
    g.add({session, sub});
    ++_count;
    return true;
}

bool SubscriptionTree::unsubscribe(SessionKey session, std::string_view filter) {
    std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(filter);
    if (shared) filter = shared->filter;

    // Remember the path so that nodes left empty can be pruned bottom-up afterwards.
    std::vector<std::string_view> levels = split_levels(filter);
    std::vector<Node*> path{_root.get()};
    for (std::string_view level : levels) {
        std::unique_ptr<Node>* next = path.back()->slot(level, false);
        if (!next || !*next) return false;
        path.push_back(next->get());
    }

    Node* node = path.back();
    if (!shared) {
        if (node->subscribers.erase(session) == 0) return false;
    } else {
        auto group = node->groups.find(shared->group);
        if (group == node->groups.end()) return false;
        Node::SharedGroup& g = group->second;
        auto it = g.index.find(session);
        if (it == g.index.end()) return false;
        g.remove(it->second);
        if (g.members.empty()) node->groups.erase(group);
    }
    --_count;

    for (size_t depth = levels.size(); depth > 0 && path[depth]->empty(); --depth) {
        Node* parent = path[depth - 1];
        std::string_view level = levels[depth - 1];
        if (level == "+") {
            parent->plus.reset();
        } else if (level == "#") {
            parent->hash.reset();
        } else {
            parent->children.erase(parent->children.find(level));
        }
    }
    return true;
}

bool SubscriptionTree::match(std::string_view topic, std::vector<SubscriberMatch>& out,
                             const std::function<bool(SessionKey)>& available) const {
    // Spec 4.7.2: a wildcard in the first level of a filter does not match a '$' topic.
    const bool dollar = !topic.empty() && topic[0] == '$';

    // Depth-first over the branches the topic can reach, with an explicit stack (no recursion
    // depth tied to the number of levels). `start` is where the node's next topic level begins;
    // npos when the topic has no levels left.
    struct Step {
        const Node* node;
        size_t start;
    };
    // One stack per thread, kept between calls: a match is made per PUBLISH, and a fresh vector
    // was one malloc and free of every message (under several workers at once, so no member).
    thread_local std::vector<Step> stack;
    stack.clear();
    stack.push_back({_root.get(), 0});
    int lists = 0;
    while (!stack.empty()) {
        auto [node, start] = stack.back();
        stack.pop_back();

        if (start == std::string_view::npos) {
            lists += node->collect(out, available);
            // "a/#" matches "a" as well (spec 4.7.1.2).
            if (node->hash) lists += node->hash->collect(out, available);
            continue;
        }

        const bool first = start == 0;
        size_t slash = topic.find('/', start);
        std::string_view level =
            topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        size_t next = slash == std::string_view::npos ? std::string_view::npos : slash + 1;

        if (node->hash && !(first && dollar)) lists += node->hash->collect(out, available);
        if (node->plus && !(first && dollar)) stack.push_back({node->plus.get(), next});
        if (const Node* exact = node->child(level)) stack.push_back({exact, next});
    }
    return lists > 1;
}

std::optional<SubscriberMatch> SubscriptionTree::choose_member(std::string_view share,
                                                               SessionKey except) const {
    std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(share);
    if (!shared) return std::nullopt;
    const Node* node = _root.get();
    for (std::string_view level : split_levels(shared->filter)) {
        const std::unique_ptr<Node>* next = level == "+" ? &node->plus : level == "#" ? &node->hash : nullptr;
        if (!next) {
            const Node* child = node->child(level);
            if (!child) return std::nullopt;
            node = child;
            continue;
        }
        if (!*next) return std::nullopt;
        node = next->get();
    }
    auto group = node->groups.find(shared->group);
    if (group == node->groups.end()) return std::nullopt;
    const Node::SharedGroup& g = group->second;
    const auto& members = g.members;
    // An online member other than `except` in the group's turn, else any offline one.
    size_t turn = g.next.load(std::memory_order_relaxed);
    std::optional<size_t> pick;
    for (size_t i = 0; i < g.online && !pick; ++i)
        if (size_t candidate = (turn + i) % g.online; members[candidate].session != except) pick = candidate;
    for (size_t i = g.online; i < members.size() && !pick; ++i)
        if (members[i].session != except) pick = i;
    if (!pick) return std::nullopt;
    g.next.store(*pick + 1, std::memory_order_relaxed);
    const Node::Member& m = members[*pick];
    return SubscriberMatch{m.session,
                           m.subscription.worker(),
                           m.subscription.congested(),
                           m.subscription.options,
                           m.subscription.subscription_id,
                           true,
                           g.share};
}

void SubscriptionTree::sync_online(SessionKey session, std::string_view share) {
    std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(share);
    if (!shared) return;
    Node* node = _root.get();
    for (std::string_view level : split_levels(shared->filter)) {
        std::unique_ptr<Node>* next = node->slot(level, false);
        if (!next || !*next) return;
        node = next->get();
    }
    auto group = node->groups.find(shared->group);
    if (group == node->groups.end()) return;
    if (auto it = group->second.index.find(session); it != group->second.index.end())
        group->second.place(it->second);
}

}  // namespace roost
