#include "broker/publish_wait.hpp"

#include "net/worker_inbox.hpp"

namespace roost {

void PublishWait::release(bool ok, uint8_t reason) {
    if (!ok) {
        _failed.store(true, std::memory_order_relaxed);
        if (reason) _failure_reason.store(reason, std::memory_order_relaxed);
    }
    if (_holds.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // The last part: `done` runs on the publisher's worker. A worker that stopped runs nothing.
    _home.post([self = shared_from_this()] {
        self->_done(self->ok(), self->was_quota_exceeded(), self->failure_reason());
    });
}

void PublishWait::release_on(WorkerInbox& here, bool ok, uint8_t reason) {
    if (&here != &_home) return release(ok, reason);
    if (!ok) {
        _failed.store(true, std::memory_order_relaxed);
        if (reason) _failure_reason.store(reason, std::memory_order_relaxed);
    }
    if (_holds.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Already on the publisher's worker, in a loop callback (a call's resume): no post needed.
    _done(this->ok(), was_quota_exceeded(), failure_reason());
}

}  // namespace roost
