// A reader-writer lock for state every worker reads on each publish and rarely writes (the
// subscription index). A std::shared_mutex keeps one reader count that every reader writes: with
// two workers its cache line moved between the cores on every publish (3.9 % of a two-worker
// broker's time in pthread_rwlock_rdlock/unlock). Here each worker reads under a lock of its
// own, on a cache line of its own; a writer takes every worker's lock, in index order.
//
// Thread rules: lock_shared()/unlock_shared() from any thread; a worker's thread takes its own
// slot (worker_thread::index()), any other thread the last, shared slot. A thread must release on
// the thread that locked (the slot is found again by thread). lock()/unlock() from any thread:
// writers are rare (SUBSCRIBE, UNSUBSCRIBE, a session with shared subscriptions going on or off
// line) and pay for one lock per worker. Not recursive, like std::shared_mutex.
#pragma once
#include <memory>
#include <shared_mutex>

#include "broker/worker_thread.hpp"

namespace roost {

class WorkerSharedMutex {
  public:
    explicit WorkerSharedMutex(unsigned workers)
        : _count(workers + 1), _slots(std::make_unique<Slot[]>(workers + 1)) {}
    WorkerSharedMutex(const WorkerSharedMutex&) = delete;
    WorkerSharedMutex& operator=(const WorkerSharedMutex&) = delete;

    void lock_shared() { slot().mutex.lock_shared(); }
    void unlock_shared() { slot().mutex.unlock_shared(); }

    void lock() {
        for (unsigned i = 0; i < _count; ++i)
            _slots[i].mutex.lock();
    }
    void unlock() {
        for (unsigned i = _count; i-- > 0;)
            _slots[i].mutex.unlock();
    }

  private:
    struct alignas(64) Slot {
        std::shared_mutex mutex;
    };

    Slot& slot() {
        const unsigned w = worker_thread::index();
        return _slots[w < _count - 1 ? w : _count - 1];
    }

    const unsigned _count;  // one per worker, and one for every other thread
    std::unique_ptr<Slot[]> _slots;
};

}  // namespace roost
