#include "writer.hpp"

#include <sqlite3.h>

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_set>

namespace roost_sqlite {

using SteadyClock = std::chrono::steady_clock;

void Writer::start() {
    _started = _last_stats = SteadyClock::now();
    _thread = std::thread([this] { run(); });
}

void Writer::stop() {
    if (!_thread.joinable()) return;
    {
        std::lock_guard lock(_lock);
        _stopping = true;
    }
    _wake.notify_one();
    _thread.join();
    log_stats(true);
}

namespace {
// A delivery by (client id, sequence), a message by its id; the kinds never share a key.
uint64_t delivery_key(const Operation& op) {
    return (std::hash<std::string>()(op.client_id) * 0x9e3779b97f4a7c15ull) ^ op.sequence ^
           0x8000000000000000ull;
}
uint64_t message_key(uint64_t message_id) {
    return message_id & 0x7fffffffffffffffull;
}
}  // namespace

Operation* Writer::take_queued(uint64_t key) {
    uint32_t pos;
    if (!_queued.take(key, pos)) return nullptr;
    Operation& queued = _queue[pos];
    return queued.cancelled ? nullptr : &queued;
}

void Writer::cancel(Operation& queued, roost_call** calls, size_t& n) {
    // The delivery was acknowledged (or dropped, or its session ended) before anything was
    // written: the row would be deleted by the very next statement. Its caller (the publisher's
    // PUBACK or PUBREC) has nothing left to wait for.
    if (queued.call) calls[n++] = queued.call;
    queued.cancelled = true;
    queued.call = nullptr;
    _cancelled.fetch_add(1, std::memory_order_relaxed);
}

size_t Writer::cancel_queued(const Operation& op, roost_call** calls) {
    size_t n = 0;
    switch (op.kind) {
        case OpKind::DeliverySave:
            _queued.put(delivery_key(op), uint32_t(_queue.size()));
            return 0;
        case OpKind::MessageStore:
            _queued.put(message_key(op.msg.id), uint32_t(_queue.size()));
            return 0;
        case OpKind::DeliveryDelete:
        case OpKind::MessageRelease:
            break;
        default:
            return 0;
    }
    // The delete itself still goes in: a row an earlier commit wrote must go (Database skips it
    // when there is none). A hash collision cancels nothing: both are written.
    auto same_delivery = [&](const Operation& q) {
        return q.kind == OpKind::DeliverySave && !q.cancelled && q.sequence == op.sequence &&
               q.client_id == op.client_id;
    };
    bool delivery_done = op.kind != OpKind::DeliveryDelete;
    if (op.kind == OpKind::MessageRelease || op.release) {
        uint64_t id = op.message_id;
        if (Operation* store = take_queued(message_key(id));
            store && store->kind == OpKind::MessageStore && store->msg.id == id) {
            // message_delivery_save pushed the store and its first delivery side by side: when
            // that delivery is the one deleted here, no second lookup is needed.
            size_t pos = size_t(store - _queue.data());
            if (!delivery_done && pos + 1 < _queue.size() && same_delivery(_queue[pos + 1])) {
                cancel(_queue[pos + 1], calls, n);
                delivery_done = true;
            }
            cancel(*store, calls, n);
        }
    }
    if (!delivery_done)
        if (Operation* save = take_queued(delivery_key(op)); save && same_delivery(*save))
            cancel(*save, calls, n);
    return n;
}

void Writer::push(Operation&& op) {
    bool first;
    roost_call* done[2];
    size_t n;
    {
        std::lock_guard lock(_lock);
        first = _queue.empty();
        n = cancel_queued(op, done);
        _queue.push_back(std::move(op));
    }
    if (n) _host->complete_many(done, n, ROOST_ALLOW, 0, nullptr);
    // The writer sleeps only on an empty queue; periodic mode wakes on its own clock.
    if (first && _options.sync != SyncMode::Periodic) _wake.notify_one();
}

void Writer::push_pair(Operation&& first_op, Operation&& second_op) {
    second_op.call = nullptr;
    bool first;
    {
        // Saves and stores cancel nothing (cancel_queued only indexes them).
        std::lock_guard lock(_lock);
        first = _queue.empty();
        cancel_queued(first_op, nullptr);
        _queue.push_back(std::move(first_op));
        cancel_queued(second_op, nullptr);
        _queue.push_back(std::move(second_op));
    }
    if (first && _options.sync != SyncMode::Periodic) _wake.notify_one();
}

void Writer::run() {
    std::vector<Operation> batch;
    const auto interval = std::chrono::milliseconds(_options.commit_interval_ms);
    auto last_vacuum = SteadyClock::now();
    size_t last_batch = 0;
    const auto delay = std::chrono::milliseconds(_options.commit_delay_ms);
    constexpr size_t kBusyBatch = 32;
    for (;;) {
        bool stopping;
        {
            std::unique_lock lock(_lock);
            if (_options.sync == SyncMode::Periodic) {
                // Commit on the clock: what arrived meanwhile is one transaction.
                _wake.wait_for(lock, interval, [&] { return _stopping; });
            } else {
                // Durable modes: at once when idle. While a commit runs the next batch gathers, so
                // the busier the broker, the more each commit carries (group commit).
                _wake.wait(lock, [&] { return _stopping || !_queue.empty(); });
                // Busy (the last batch was large): gather commit_delay longer. Most deliveries to
                // connected subscribers are acknowledged within it, and their save and delete
                // cancel in the queue (cancel_queued) with nothing written; their publishers are
                // answered at once then. What is still to write waits up to commit_delay more.
                if (delay.count() > 0 && last_batch >= kBusyBatch)
                    _wake.wait_for(lock, delay, [&] { return _stopping; });
            }
            batch.swap(_queue);
            _queued.clear();
            last_batch = batch.size();
            stopping = _stopping;
        }
        if (!batch.empty()) commit(batch);
        batch.clear();
        auto now = SteadyClock::now();
        if (now - last_vacuum >= std::chrono::seconds(1)) {
            last_vacuum = now;
            if (_db.begin() == SQLITE_OK) {
                _db.vacuum_if_worthwhile();
                if (_db.commit() != SQLITE_OK) _db.rollback();
            }
        }
        if (_options.stats_interval_ms &&
            now - _last_stats >= std::chrono::milliseconds(_options.stats_interval_ms))
            log_stats(false);
        if (stopping) {
            std::lock_guard lock(_lock);
            if (_queue.empty()) return;
        }
    }
}

namespace {
// Which operations of a batch a later one in the same batch makes moot: a delivery saved and
// then saved again or deleted, a message stored and then released. Under load most messages to
// connected subscribers are stored, delivered, acknowledged and released within one batch, and
// then the commit writes nothing for them. The deletes stay (cheap when the row never existed).
std::vector<bool> absorbed(const std::vector<Operation>& batch, Writer::AbsorbSets& sets) {
    std::vector<bool> skip(batch.size());
    // Kept from batch to batch (their keys borrow from the batch): no bucket array allocated per
    // commit. Under load most operations are cancelled in the queue and never get here.
    sets.later_delivery.clear();
    sets.later_release.clear();
    auto key = [](const Operation& op) { return Writer::DeliveryKey{op.client_id, op.sequence}; };
    for (size_t i = batch.size(); i-- > 0;) {
        const Operation& op = batch[i];
        if (op.cancelled) continue;  // undone in the queue already
        if (op.kind == OpKind::DeliveryDelete) {
            sets.later_delivery.insert(key(op));
            if (op.release) sets.later_release.insert(op.message_id);
        } else if (op.kind == OpKind::DeliverySave) {
            skip[i] = !sets.later_delivery.insert(key(op)).second;
        } else if (op.kind == OpKind::MessageRelease) {
            sets.later_release.insert(op.message_id);
        } else if (op.kind == OpKind::MessageStore) {
            skip[i] = sets.later_release.count(op.msg.id) != 0;
        } else if (op.kind == OpKind::SessionDelete) {
            break;  // keep it simple around a session's end: nothing before it is absorbed
        }
    }
    return skip;
}
}  // namespace

void Writer::commit(std::vector<Operation>& batch) {
    int rc = _db.begin();
    uint64_t messages = 0;
    std::vector<bool> skip = absorbed(batch, _absorb);
    for (size_t i = 0; rc == SQLITE_OK && i < batch.size(); ++i) {
        if (batch[i].kind == OpKind::MessageStore) ++messages;
        if (!skip[i] && !batch[i].cancelled) rc = _db.apply(batch[i]);
    }
    if (rc == SQLITE_OK) rc = _db.commit();

    std::vector<roost_call*> ok, failed;
    ok.reserve(batch.size());
    if (rc == SQLITE_OK) {
        for (const Operation& op : batch)
            if (op.call) ok.push_back(op.call);
        ++_commits;
        _operations += batch.size();
        _messages += messages;
        if (_disk_full) {
            _disk_full = false;
            _host->log(_self, ROOST_LOG_WARNING,
                       "%s: writing again: new QoS 1/2 messages are stored once more", _db.path().c_str());
        }
    } else {
        std::string why = _db.errmsg();
        _db.rollback();
        ++_failed_batches;
        // What only removes rows goes in on its own, so that delivered messages still free their
        // space while the disk is full, and the store recovers by itself when space returns.
        int shrink_rc = _db.begin();
        for (size_t i = 0; shrink_rc == SQLITE_OK && i < batch.size(); ++i)
            if (shrinks(batch[i].kind)) shrink_rc = _db.apply(batch[i]);
        if (shrink_rc == SQLITE_OK) shrink_rc = _db.commit();
        if (shrink_rc != SQLITE_OK) _db.rollback();
        for (const Operation& op : batch) {
            if (!op.call) continue;
            (shrink_rc == SQLITE_OK && shrinks(op.kind) ? ok : failed).push_back(op.call);
        }
        bool full = rc == SQLITE_FULL;
        if (!_disk_full || !full)
            _host->log(_self, ROOST_LOG_ERROR,
                       "%s: a commit of %zu operations failed (%s%s): %s. New QoS 1/2 messages are refused "
                       "(MQTT 5: 0x97 Quota exceeded) until a commit succeeds again; QoS 0 goes on",
                       _db.path().c_str(), batch.size(), why.c_str(),
                       full && _options.max_size_bytes ? ", or max_size reached" : "",
                       full ? "free some space (or raise max_size)" : "see the file system's state");
        _disk_full = _disk_full || full;
    }
    if (!ok.empty()) _host->complete_many(ok.data(), ok.size(), ROOST_ALLOW, 0, nullptr);
    if (!failed.empty())
        _host->complete_many(failed.data(), failed.size(), ROOST_DENY,
                             rc == SQLITE_FULL ? ROOST_RC_QUOTA_EXCEEDED : ROOST_RC_UNSPECIFIED_ERROR,
                             nullptr);
}

void Writer::log_stats(bool final) {
    auto now = SteadyClock::now();
    if (final) {
        double seconds = std::chrono::duration<double>(now - _started).count();
        _host->log(_self, ROOST_LOG_INFO,
                   "%s: stopped after %.1f s: %llu commits (%.1f/s), %llu operations (%.1f per commit), %llu "
                   "messages stored (%.1f per commit), %llu failed commits, %llu statements run (%.1f per "
                   "commit)",
                   _db.path().c_str(), seconds, (unsigned long long)_commits,
                   seconds > 0 ? double(_commits) / seconds : 0.0, (unsigned long long)_operations,
                   _commits ? double(_operations) / double(_commits) : 0.0, (unsigned long long)_messages,
                   _commits ? double(_messages) / double(_commits) : 0.0, (unsigned long long)_failed_batches,
                   (unsigned long long)_db.statements(),
                   _commits ? double(_db.statements()) / double(_commits) : 0.0);
        return;
    }
    double seconds = std::chrono::duration<double>(now - _last_stats).count();
    uint64_t commits = _commits - _last_commits, ops = _operations - _last_operations,
             messages = _messages - _last_messages, statements = _db.statements() - _last_statements;
    _last_statements = _db.statements();
    _last_stats = now;
    _last_commits = _commits;
    _last_operations = _operations;
    _last_messages = _messages;
    if (commits == 0) return;
    _host->log(_self, ROOST_LOG_INFO,
               "%s: last %.0f s: %llu commits (%.1f/s), %.1f operations and %.1f messages per commit (%.1f "
               "statements run); file %.1f MB",
               _db.path().c_str(), seconds, (unsigned long long)commits, double(commits) / seconds,
               double(ops) / double(commits), double(messages) / double(commits),
               double(statements) / double(commits), double(_db.size_bytes()) / (1024.0 * 1024.0));
}

}  // namespace roost_sqlite
