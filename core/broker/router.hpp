// What every worker shares (DESIGN.md "Threads"): the subscription index and the retained store,
// the session directory (which worker owns which client id), and numbers unique across workers.
//
// Locking, per member:
//   _subscriptions  reader-writer lock _subscriptions_lock, one reader slot per worker
//                   (worker_shared_mutex.hpp): match() and choose_member() under the calling
//                   worker's shared slot, on any worker at once; subscribe, unsubscribe and
//                   sync_online under every slot.
//   _retained       reader-writer lock _retained_lock, the same way; expired entries met by a
//                   match are erased afterwards under the exclusive lock.
//   _directory      mutex _directory_lock, taken at CONNECT, at a takeover, when a session ends and
//                   when a worker looks a session of its own up by client id (it keeps no table
//                   by id: the directory gives the session's number, its table is by number).
//   counters        atomics.
//   _workers        written before any worker starts, read-only afterwards.
// No lock is held while calling out of the Router, so no lock order exists to get wrong.
//
// Lifetime: created by the Server before its workers and destroyed after them.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/message.hpp"
#include "broker/retained_store.hpp"
#include "broker/session_directory.hpp"
#include "broker/subscription_tree.hpp"
#include "broker/worker_shared_mutex.hpp"

namespace roost {

class Broker;

class Router {
  public:
    explicit Router(unsigned workers)
        : _worker_count(workers), _workers(workers, nullptr), _subscriptions_lock(workers) {}
    ~Router();
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    unsigned worker_count() const { return _worker_count; }
    // Before the workers start: worker i's engine, for what one worker hands another.
    void set_worker(unsigned index, Broker* broker) { _workers[index] = broker; }
    Broker* worker(unsigned index) const { return _workers[index]; }

    // ---- subscriptions
    bool subscribe(const SessionRef& ref, std::string_view filter, const mqtt::SubscriptionOptions& options,
                   uint32_t subscription_id);
    bool unsubscribe(SessionKey session, std::string_view filter);
    // SubscriptionTree::match: true when a session may appear more than once in `out`.
    bool match(std::string_view topic, std::vector<SubscriberMatch>& out) const;
    size_t subscription_count() const;
    std::optional<SubscriberMatch> choose_member(std::string_view share, SessionKey except) const;
    // The session's SessionRef::online flipped: its shared-group memberships `shares` follow.
    void sync_online(SessionKey session, const std::vector<std::string_view>& shares);

    // ---- retained messages
    bool set_retained(MessagePtr message);  // false: refused by the retained store's limits
    void match_retained(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out);
    size_t retained_count() const;

    // ---- the session directory: client id -> the worker that owns its session
    using Owner = SessionDirectory::Owner;
    // Records `worker` as the owner of `client_id` with session `key` if nobody owns it, and
    // returns nothing; otherwise returns the owner and changes nothing. `client_id` must be the
    // session's own `Session::client_id` (or, for a clean session not made yet, its Client's id):
    // the directory keeps a pointer to it, not a copy, until release() (session_directory.hpp).
    std::optional<Owner> claim(const std::string& client_id, unsigned worker, SessionKey key);
    // The session moved to `worker` (a takeover from another worker).
    void move(std::string_view client_id, unsigned worker);
    // The entry of `key` points at `client_id` from now on (an equal string: the Session made for
    // a client that had none; session_directory.hpp).
    void repoint(const std::string& client_id, SessionKey key);
    // The session `key` of `client_id` ended (a newer one with the same id is left alone).
    void release(std::string_view client_id, SessionKey key);
    std::optional<Owner> owner(std::string_view client_id) const;
    size_t session_count() const;

    // ---- numbers unique across workers
    SessionKey next_session_key() { return _next_session_key.fetch_add(1, std::memory_order_relaxed); }
    // Message ids go to workers in blocks (Broker::next_message_id): one counter bumped per
    // publish by every worker was a cache line the cores fought over (half of finish_publish's
    // time with two workers). The first id of `count` new ones.
    uint64_t reserve_message_ids(uint64_t count) {
        return _next_message_id.fetch_add(count, std::memory_order_relaxed);
    }
    // Restored messages keep their ids: new ones start past them. Raising the counter also bumps
    // the epoch, so that a worker drops a block it took before (which may hold restored ids).
    void message_id_seen(uint64_t id);
    uint64_t message_id_epoch() const { return _message_id_epoch.load(std::memory_order_relaxed); }
    uint64_t next_assigned_id() { return _next_assigned_id.fetch_add(1, std::memory_order_relaxed); }

    // Clients past CONNACK, over all workers ([limits] max_connections).
    std::atomic<size_t> connected{0};
    const Clock::time_point started = Clock::now();

  private:
    const unsigned _worker_count;
    std::vector<Broker*> _workers;

    mutable WorkerSharedMutex _subscriptions_lock;
    SubscriptionTree _subscriptions;
    mutable std::shared_mutex _retained_lock;
    RetainedStore _retained;
    mutable std::mutex _directory_lock;
    SessionDirectory _directory;

    std::atomic<SessionKey> _next_session_key{1};
    // Written once per block of ids; kept off the lines the other counters and locks share.
    alignas(64) std::atomic<uint64_t> _next_message_id{1};
    std::atomic<uint64_t> _message_id_epoch{0};  // read on every id, written only by a restore
    std::atomic<uint64_t> _next_assigned_id{1};
};

}  // namespace roost
