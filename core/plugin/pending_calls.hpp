// Decisions a plugin promised to finish later (PENDING), and their completion from any thread.
//
// A roost_call* handed to a plugin is a number, never a pointer the host dereferences: a plugin
// that completes late, twice, or after its client left can only hit a lookup that fails, never
// freed memory. An entry lives until the plugin completed it and the worker ran the result;
// abandoned entries (timed out, client gone) stay until the plugin completes them, answered
// with ROOST_EGONE, and completed ones linger a minute so a second completion can be named.
#pragma once
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "roost/plugin.h"

namespace roost {

class WorkerInbox;

struct CallResult {
    roost_verdict verdict = ROOST_DENY;
    uint8_t reason_code = 0;
    std::string reply;
    bool timed_out = false;
};

class PendingCalls {
  public:
    using Resume = std::function<void(const CallResult&)>;
    using Clock = std::chrono::steady_clock;

    explicit PendingCalls(WorkerInbox& inbox) : _inbox(inbox) {}

    // A call to hand to a hook of `plugin`, before it runs: it may complete from another thread
    // before it even returns PENDING.
    roost_call* create(const std::string& plugin, std::chrono::milliseconds timeout);
    // The hook answered PENDING: `resume` runs on the worker with the result or the timeout.
    void await(roost_call* call, Resume resume);
    // The hook answered now: the call is void; completing it later is an error the log names.
    void discard(roost_call* call);
    // Any thread: the plugin's answer. ROOST_OK, ROOST_EGONE (abandoned) or ROOST_EINVAL.
    int complete(roost_call* call, roost_verdict verdict, uint8_t reason_code, const roost_bytes* reply);
    // On the worker: the client that waits is gone; `resume` will not run.
    void cancel(roost_call* call);
    // On the worker, once a second: calls past their deadline resume with a timeout.
    void expire(Clock::time_point now);
    size_t waiting() const;

  private:
    enum class State { Waiting, Completed, Abandoned };
    struct Entry {
        std::string plugin;
        State state = State::Waiting;
        Clock::time_point deadline;
        Clock::time_point completed_at;
        Resume resume;
    };
    void run(uint64_t id, CallResult result);  // on the worker

    WorkerInbox& _inbox;
    mutable std::mutex _mutex;
    std::unordered_map<uint64_t, Entry> _entries;
    uint64_t _next_id = 1;
};

}  // namespace roost
