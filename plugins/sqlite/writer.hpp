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
#include <string_view>
#include <thread>
#include <unordered_set>
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

    // Which operations of a batch a later one in the same batch makes moot (a delivery saved
    // and then saved again or deleted, a message stored and then released): the commit skips
    // them. The keys borrow the batch's strings. Writer thread only.
    struct DeliveryKey {
        std::string_view client_id;
        uint64_t sequence;
        bool operator==(const DeliveryKey&) const = default;
    };
    struct DeliveryKeyHash {
        size_t operator()(const DeliveryKey& k) const {
            return std::hash<std::string_view>()(k.client_id) ^ (k.sequence * 0x9e3779b97f4a7c15ull);
        }
    };
    struct AbsorbSets {
        std::unordered_set<DeliveryKey, DeliveryKeyHash> later_delivery;
        std::unordered_set<uint64_t> later_release;
    };

  private:
    // Under _lock: a DeliveryDelete (with `release`, its message's too) or MessageRelease whose
    // DeliverySave or MessageStore still waits in _queue cancels it (nothing to write) and puts
    // the calls they held into `calls` (room for two), which push() completes at once; returns
    // how many. Indexes `op` if it is a save or store (`calls` unused then).
    size_t cancel_queued(const Operation& op, roost_call** calls);
    // Under _lock: the queued, not cancelled operation indexed under `key`, forgotten by the index.
    Operation* take_queued(uint64_t key);
    void cancel(Operation& queued, roost_call** calls, size_t& n);
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
    AbsorbSets _absorb;
    bool _disk_full = false;
    uint64_t _commits = 0, _operations = 0, _messages = 0, _failed_batches = 0;
    std::atomic<uint64_t> _cancelled{0};  // saves and stores undone in the queue (any worker)
    uint64_t _last_commits = 0, _last_operations = 0, _last_messages = 0, _last_statements = 0;
    std::chrono::steady_clock::time_point _started, _last_stats;
};

}  // namespace roost_sqlite
