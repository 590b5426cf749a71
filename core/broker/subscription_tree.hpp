// The subscription index: a topic trie from filters to subscribers, with shared subscriptions.
// Not locked itself: the Router holds it under a reader-writer lock. match() is a reader (a
// shared group's round-robin turn is an atomic); subscribe and unsubscribe are writers.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/packet.hpp"

namespace roost {

using SessionKey = uint64_t;  // a session's broker-wide number; never reused while it lives

// Where a session lives, for every worker that routes to it. Embedded in the Session; the
// session unsubscribes everything (under the Router's exclusive lock) before it dies, so a
// pointer the trie holds is valid under the shared lock. Fields are atomics: the owning worker
// writes them, routing workers read them.
struct SessionRef {
    explicit SessionRef(SessionKey k = 0, unsigned owner = 0) : key(k), worker(owner) {}
    SessionKey key;
    std::atomic<unsigned> worker;     // the worker that owns the session (changes on a handover)
    std::atomic<bool> online{false};  // a client is attached (shared groups prefer online members)
    // The session's queue is at its bound while its client is connected: publishers apply
    // [limits] queue_full_policy before routing to it (wait, or be refused).
    std::atomic<bool> congested{false};
};

struct SubscriberMatch {
    SessionKey session = 0;
    unsigned worker = 0;     // the worker that owned the session when it matched
    bool congested = false;  // its queue was full (SessionRef::congested) when it matched
    mqtt::SubscriptionOptions options;
    uint32_t subscription_id = 0;  // 0 = none
    bool shared = false;           // chosen from a $share group (no-local and retain rules differ)
    std::string share{};           // with shared: "$share/group/filter" (copied: used after the lock)
};

class SubscriptionTree {
  public:
    SubscriptionTree();
    ~SubscriptionTree();
    SubscriptionTree(const SubscriptionTree&) = delete;
    SubscriptionTree& operator=(const SubscriptionTree&) = delete;

    // Adds or replaces `session`'s subscription to `filter` (which may be "$share/group/f").
    // Returns true when it is new, false when it replaced one with the same filter.
    // `ref`, when given, says where the session lives and whether it is online (and is then used
    // instead of match()'s `available`).
    bool subscribe(SessionKey session, std::string_view filter, const mqtt::SubscriptionOptions& options,
                   uint32_t subscription_id, const SessionRef* ref = nullptr);

    // Removes it; returns false when there was none.
    bool unsubscribe(SessionKey session, std::string_view filter);

    // Appends to `out` every subscription matching `topic` (a topic name). Non-shared
    // subscriptions all match; of each shared group one member is chosen, round robin, skipping
    // members for which `available` returns false unless none is available. One session can
    // appear more than once (overlapping filters); the caller merges. Returns false when no
    // session can appear twice (all of them came from one filter's subscribers), so the caller
    // can skip the merge.
    bool match(std::string_view topic, std::vector<SubscriberMatch>& out,
               const std::function<bool(SessionKey)>& available = {}) const;

    // Another member of the shared group `share` ("$share/group/filter") than `except`, online if
    // any is, in the group's turn: where a leaving member's messages go (spec 4.8.2 SHOULD).
    std::optional<SubscriberMatch> choose_member(std::string_view share, SessionKey except) const;

    // `session`'s SessionRef::online flipped: its member of the group `share` moves to the run
    // of online or offline members (a writer: the owning worker calls it after the flip).
    void sync_online(SessionKey session, std::string_view share);

    size_t size() const { return _count; }

  private:
    struct Node;
    std::unique_ptr<Node> _root;
    size_t _count = 0;
};

}  // namespace roost
