// The one writer thread: every worker's hooks push operations into its queue (a short lock, never
// the disk), and the thread applies all that is queued in one transaction (group commit), then
// completes every call of the batch with host->complete_many.
//
// Threads: push() from any worker; start()/stop() from the main thread; everything else on the
// writer thread. `_lock` guards `_queue` and `_stopping`; the Database is the writer's alone once
// start() ran.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "database.hpp"
#include "operation.hpp"
#include "options.hpp"
#include "queue_index.hpp"

namespace roost_sqlite {

class Writer {
  public:
    Writer(const roost_host* host, roost_plugin* self, Database& db, const Options& options)
        : _host(host), _self(self), _db(db), _options(options) {}
    ~Writer() { stop(); }

    void start();
    // Commits what is queued, completes it, and joins the thread.
    void stop();
    void push(Operation&& op);
    // Two operations that must land in the same batch (a message's store and its first
    // delivery's save): the second's call, if any, is ignored.
    void push_pair(Operation&& first, Operation&& second);

  private:
    // Under _lock: a DeliveryDelete or MessageRelease whose DeliverySave or MessageStore still
    // waits in _queue cancels it (nothing to write) and returns the call it held, which push()
    // completes at once; nullptr otherwise. Then indexes `op` if it is a save or store.
    roost_call* cancel_queued(const Operation& op);
    void run();
    void commit(std::vector<Operation>& batch);
    void log_stats(bool final);

    const roost_host* _host;
    roost_plugin* _self;
    Database& _db;
    const Options& _options;

    std::mutex _lock;
    std::condition_variable _wake;
    std::vector<Operation> _queue;
    // The position in _queue of each DeliverySave and MessageStore, by a hash of its key
    // (verified against the operation before it is cancelled). Cleared when the writer takes
    // the queue.
    QueueIndex _queued;
    bool _stopping = false;
    std::thread _thread;

    // Writer thread only.
    bool _disk_full = false;
    uint64_t _commits = 0, _operations = 0, _messages = 0, _failed_batches = 0;
    std::atomic<uint64_t> _cancelled{0};  // saves and stores undone in the queue (any worker)
    uint64_t _last_commits = 0, _last_operations = 0, _last_messages = 0, _last_statements = 0;
    std::chrono::steady_clock::time_point _started, _last_stats;
};

}  // namespace roost_sqlite
