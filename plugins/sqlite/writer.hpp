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

  private:
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
    bool _stopping = false;
    std::thread _thread;

    // Writer thread only.
    bool _disk_full = false;
    uint64_t _commits = 0, _operations = 0, _messages = 0, _failed_batches = 0;
    uint64_t _last_commits = 0, _last_operations = 0, _last_messages = 0;
    std::chrono::steady_clock::time_point _started, _last_stats;
};

}  // namespace roost_sqlite
