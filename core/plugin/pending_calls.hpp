// Decisions a plugin promised to finish later (PENDING), and their completion from any thread.
//
// A roost_call* handed to a plugin is a number, never a pointer the host dereferences: a plugin
// that completes late, twice, or after its client left can only hit a lookup that fails, never
// freed memory. Handing out a number costs one atomic increment; bookkeeping starts only when a
// hook answers PENDING (await) or a plugin completes early, from its own thread, before the hook
// even returned. Abandoned entries (timed out, client gone) stay until the plugin completes
// them, answered with ROOST_EGONE; completed ones are dropped once their resume ran, their ids
// remembered in a window of the last kDoneWindow ids issued (a ring indexed by the id's sequence,
// since ids are issued in order) so that a second completion can be named in the log
// (ROOST_EINVAL). A persistence plugin completes tens of thousands of calls a second: the
// per-call cost here is one hash-map node and one lock for await, one lock per batch to run.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

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

    // Call ids carry their worker in the low bits, so that complete() from any thread finds
    // the worker whose hook raised the call.
    static constexpr unsigned kWorkerBits = 8;
    static constexpr unsigned kMaxWorkers = 1u << kWorkerBits;
    static unsigned worker_of(roost_call* call) {
        return static_cast<unsigned>(reinterpret_cast<uintptr_t>(call) & (kMaxWorkers - 1));
    }

    PendingCalls(WorkerInbox& inbox, unsigned worker) : _inbox(inbox), _worker(worker) {}

    // A call to hand to a hook, before it runs. Lock-free.
    roost_call* create() {
        uint64_t id = (_next_id.fetch_add(1) << kWorkerBits) | _worker;
        return reinterpret_cast<roost_call*>(static_cast<uintptr_t>(id));
    }
    // The hook of `plugin` answered PENDING: `resume` runs on the worker with the result, or
    // with a timeout after `timeout`. Called again for the same call, it replaces `resume`.
    void await(roost_call* call, const std::string& plugin, std::chrono::milliseconds timeout, Resume resume);
    // Any thread: the plugin's answer. ROOST_OK, ROOST_EGONE (abandoned) or ROOST_EINVAL.
    int complete(roost_call* call, roost_verdict verdict, uint8_t reason_code, const roost_bytes* reply);
    // Any thread: complete() for n calls with one verdict, under one lock, handed to the worker in
    // one post. results[i] (if results) gets what complete() would have returned.
    int complete_many(roost_call* const* calls, size_t n, roost_verdict verdict, uint8_t reason_code,
                      int* results);
    // The broker is stopping: every later completion answers ROOST_EGONE.
    void close();
    // On the worker: the client that waits is gone; `resume` will not run.
    void cancel(roost_call* call);
    // On the worker, once a second: calls past their deadline resume with a timeout.
    void expire(Clock::time_point now);

  private:
    enum class State {
        Early,      // completed before its hook returned PENDING: the result waits for await()
        Waiting,    // awaited, not completed
        Completed,  // completed and handed to the worker
        Abandoned,  // timed out or its client left; the plugin still owes the completion
    };
    struct Entry {
        uint16_t plugin = 0;  // index into _names
        State state = State::Waiting;
        Clock::time_point deadline;
        Clock::time_point completed_at;
        Resume resume;
        CallResult result;  // kept while Early
    };
    void run(uint64_t id, CallResult result);  // on the worker
    // On the worker: run() for a batch of ids with one result, taking the lock once.
    void run_many(const std::vector<uint64_t>& ids, const CallResult& result);
    // Under _mutex: the index of a plugin's name in _names (a handful of names, never shrinks).
    uint16_t name_index(const std::string& plugin);
    // Under _mutex: remembers that `id` completed and ran; the plugin of a remembered id, if any.
    void remember_done(uint64_t id, uint16_t plugin);
    const std::string* done_by(uint64_t id) const;
    // Under _mutex: records a completion; true when it must be run on the worker.
    int complete_locked(uint64_t id, CallResult& result, bool& post);

    WorkerInbox& _inbox;
    unsigned _worker;
    mutable std::mutex _mutex;
    std::unordered_map<uint64_t, Entry> _entries;  // awaited, early or abandoned calls
    // Completed and run calls, by the sequence part of their id modulo kDoneWindow: the id with
    // (its plugin's name index + 1) in the top byte; 0 for an empty slot. Sized on first use.
    static constexpr size_t kDoneWindow = size_t(1) << 16;
    std::vector<uint64_t> _done;
    std::vector<std::string> _names;
    std::atomic<uint64_t> _next_id{1};
    bool _closed = false;  // under _mutex
};

}  // namespace roost
