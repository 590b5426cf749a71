// When offline sessions of one worker next need attention: a will whose delay ran out, or the
// session's own expiry. A min-heap, so that the worker looks at what is due and at nothing else
// (walking every session instead cost 75 ms a second at 272k sessions), and so that its timer
// can be set for the earliest entry (Broker::_deadline_timer).
//
// Owned by one Broker and used on its worker's thread only. Entries are hints: the session's
// own fields decide what is due, and an entry whose session left this worker, came online, or
// was scheduled again earlier is skipped when it comes up (Session::deadline_queued tells).
// A session has at most one entry that is not stale, so the heap stays as large as the number
// of offline sessions with a deadline, plus the entries made stale by an earlier deadline.
#pragma once
#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "broker/message.hpp"
#include "broker/subscription_tree.hpp"

namespace roost {

class SessionDeadlines {
  public:
    struct Entry {
        Clock::time_point at;
        SessionKey session;
        bool operator>(const Entry& other) const { return at > other.at; }
    };

    void push(Clock::time_point at, SessionKey session) { _heap.push({at, session}); }
    // The earliest entry due by `now`, removed; false when none is.
    bool pop_due(Clock::time_point now, Entry& out) {
        if (_heap.empty() || _heap.top().at > now) return false;
        out = _heap.top();
        _heap.pop();
        return true;
    }
    // The earliest entry's moment, stale or not; nullopt when there is none.
    std::optional<Clock::time_point> earliest() const {
        if (_heap.empty()) return std::nullopt;
        return _heap.top().at;
    }
    size_t size() const { return _heap.size(); }

  private:
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> _heap;
};

}  // namespace roost
