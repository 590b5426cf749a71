// What one publish's acknowledgement waits for: the durable stores its deliveries raised, on
// every worker they reached (DESIGN.md "Per-publish state is explicit").
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace roost {

class WorkerInbox;

// Always owned by a shared_ptr (make_shared). Any thread may hold and release a part; `done`
// runs once, on the publisher's worker, after the last part.
class PublishWait : public std::enable_shared_from_this<PublishWait> {
  public:
    // `done(ok, quota_exceeded)`: ok = every store was durable; quota_exceeded = a worker's full
    // queue refused the message (queue_full_policy = "refuse"). With !ok, failure_reason() is
    // what a store answered (0x97 for a full disk, 0x80 when it gave none).
    PublishWait(WorkerInbox& home,
                std::function<void(bool ok, bool quota_exceeded, uint8_t failure_reason)> done)
        : _home(home), _done(std::move(done)) {}

    // One more part to wait for.
    void hold() { _holds.fetch_add(1, std::memory_order_relaxed); }
    // A part is durable (ok) or failed, from any thread: the last one posts `done` home.
    void release(bool ok, uint8_t reason = 0);
    // release() from a loop callback on the worker whose inbox is `here`: when that is the
    // publisher's worker, the last part runs `done` at once instead of posting it there.
    void release_on(WorkerInbox& here, bool ok, uint8_t reason);
    uint8_t failure_reason() const { return _failure_reason.load(std::memory_order_relaxed); }
    // The publisher's own part, on its worker: true when it was the last, and the caller then
    // acknowledges at once with ok() (`done` does not run).
    bool release_here() { return _holds.fetch_sub(1, std::memory_order_acq_rel) == 1; }
    bool ok() const { return !_failed.load(std::memory_order_relaxed); }
    // Any thread, before releasing its part.
    void quota_exceeded() { _quota_exceeded.store(true, std::memory_order_relaxed); }
    bool was_quota_exceeded() const { return _quota_exceeded.load(std::memory_order_relaxed); }

  private:
    std::atomic<int> _holds{1};  // the publisher's own part
    std::atomic<bool> _failed{false};
    std::atomic<bool> _quota_exceeded{false};
    std::atomic<uint8_t> _failure_reason{0};
    WorkerInbox& _home;
    std::function<void(bool, bool, uint8_t)> _done;
};

}  // namespace roost
