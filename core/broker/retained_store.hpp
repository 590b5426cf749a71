// Retained messages by topic, matched against subscription filters (wildcards included).
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "broker/message.hpp"

namespace roost {

class RetainedStore {
  public:
    RetainedStore();
    ~RetainedStore();
    RetainedStore(const RetainedStore&) = delete;
    RetainedStore& operator=(const RetainedStore&) = delete;

    // Stores `message` as the retained message of its topic; an empty payload clears the topic.
    // Returns false when the limits refused it (nothing changed; the caller still routes it).
    bool set(MessagePtr message);

    // Bounds for every store in the process (issue 12, item 9), set once at start: at most
    // `max_messages` messages (0 = unlimited) and payloads of at most `max_payload` bytes.
    // Over them, set() refuses the message and logs (rate limited) which limit it crossed.
    static void set_limits(uint32_t max_messages, uint32_t max_payload);

    // Appends to `out` the retained messages whose topics match `filter` (not a $share filter),
    // skipping expired ones (which it also drops). '$' topics follow the rule of spec 4.7.2.
    void match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out);
    // The same without changing the store (safe under a shared lock): expired messages met on
    // the way go to `expired` instead, for erase_if_current() under the exclusive lock.
    void match(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out,
               std::vector<MessagePtr>& expired) const;
    // Erases `message` if it is still its topic's retained message; true when it did.
    bool erase_if_current(const MessagePtr& message);

    size_t size() const { return _count; }

  private:
    struct Node;
    bool contains(const std::vector<std::string_view>& levels) const;
    std::unique_ptr<Node> _root;
    size_t _count = 0;
    size_t _sys_count = 0;  // of _count, the $SYS/ topics (not held to max_retained_messages)
};

}  // namespace roost
