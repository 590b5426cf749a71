// The subscription index: a topic trie from filters to subscribers, with shared subscriptions.
// Single-threaded (the owning worker's); the multi-worker design reads it under a lock.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/packet.hpp"

namespace roost {

using SessionKey = uint64_t;  // a session's broker-wide number; never reused while it lives

struct SubscriberMatch {
    SessionKey session = 0;
    mqtt::SubscriptionOptions options;
    uint32_t subscription_id = 0;  // 0 = none
    bool shared = false;           // chosen from a $share group (no-local and retain rules differ)
};

class SubscriptionTree {
  public:
    SubscriptionTree();
    ~SubscriptionTree();
    SubscriptionTree(const SubscriptionTree&) = delete;
    SubscriptionTree& operator=(const SubscriptionTree&) = delete;

    // Adds or replaces `session`'s subscription to `filter` (which may be "$share/group/f").
    // Returns true when it is new, false when it replaced one with the same filter.
    bool subscribe(SessionKey session, std::string_view filter, const mqtt::SubscriptionOptions& options,
                   uint32_t subscription_id);

    // Removes it; returns false when there was none.
    bool unsubscribe(SessionKey session, std::string_view filter);

    // Appends to `out` every subscription matching `topic` (a topic name). Non-shared
    // subscriptions all match; of each shared group one member is chosen, round robin, skipping
    // members for which `available` returns false unless none is available. One session can
    // appear more than once (overlapping filters); the caller merges.
    void match(std::string_view topic, std::vector<SubscriberMatch>& out,
               const std::function<bool(SessionKey)>& available) const;

    size_t size() const { return _count; }

  private:
    struct Node;
    std::unique_ptr<Node> _root;
    size_t _count = 0;
};

}  // namespace roost
