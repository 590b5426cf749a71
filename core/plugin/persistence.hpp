// The broker's side of the persistence hooks: turns session, subscription, delivery and retained
// changes into calls of the loaded persistence plugins (config order, first answer other than
// NEXT wins). Only sessions that outlive their connection (expiry > 0) are stored.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/message.hpp"
#include "broker/session.hpp"
#include "roost/plugin.h"

namespace roost {

class PluginWorker;
class WorkerInbox;
struct LoadedPlugin;

// How many stored deliveries refer to each stored message, over all workers: the message is
// stored with its first reference and released with its last. Shared by every worker's
// Persistence; `lock` guards `refs`.
struct StoredMessageRefs {
    std::mutex lock;
    std::unordered_map<uint64_t, size_t> refs;
};

// What one publish's acknowledgement waits for: the durable stores its deliveries raised, on
// every worker they reached (DESIGN.md "Per-publish state is explicit"). Always owned by a
// shared_ptr (make_shared). Any thread may hold and release a part; `done` runs once, on the publisher's
// worker, after the last part.
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

class Persistence {
  public:
    Persistence(PluginWorker* plugins, StoredMessageRefs* refs);

    bool enabled() const { return !_plugins.empty(); }

    // Each returns the call to wait on when a plugin answered PENDING, else nullptr. Only the
    // publish path waits (its PUBACK/PUBREC goes once the data is durable); elsewhere a late
    // answer is only logged if it is a failure.
    roost_call* save_session(const Session& s);
    // The plugins' restore(), once at start, before any listener opens.
    int restore(const roost_restore_sink& sink);
    void delete_session(const std::string& client_id);
    // The session is gone for good: session_delete, then message_release for every stored
    // message only its deliveries referred to.
    void end_session(const Session& s);
    // The call the SUBACK waits for (PENDING), else nullptr.
    roost_call* save_subscription(const Session& s, const std::string& filter, const SubscriptionRecord& r);
    // An incoming QoS 2 id awaiting PUBREL (the PUBREC waits for the call) and its release by
    // PUBREL (the PUBCOMP waits). nullptr when nothing is to wait for.
    roost_call* save_incoming_qos2(const Session& s, uint16_t packet_id);
    roost_call* delete_incoming_qos2(const Session& s, uint16_t packet_id);
    void delete_subscription(const Session& s, const std::string& filter);
    // The call a retained PUBLISH's acknowledgement waits for (PENDING), else nullptr.
    roost_call* set_retained(const Message& m);
    // A delivery to a stored session: stores its message first if this is the first reference.
    // Marks `d` persisted the first time. Calls still PENDING are appended to `waits` (if given).
    void save_delivery(const Session& s, Delivery& d, uint16_t packet_id, roost_delivery_state state,
                       std::vector<roost_call*>* waits = nullptr);
    void delete_delivery(const Session& s, const Delivery& d);
    // A delivery handed back by restore(): counts as a reference to its stored message.
    void note_restored(const Delivery& d);

    // Runs `done` on the worker once every call in `calls` completed (at once if none). With
    // !ok, `reason` is the reason code of a failed call (0 if it gave none or timed out).
    void when_done(std::vector<roost_call*> calls, std::function<void(bool ok, uint8_t reason)> done);
    // when_done for a publisher's wait: each call holds a part of `wait` and releases it when it
    // completes (no barrier in between: one resume per call, the publish path's hot spot).
    void join(const std::vector<roost_call*>& calls, const std::shared_ptr<PublishWait>& wait);

  private:
    template <class Invoke>
    roost_call* run(const char* what, Invoke invoke);
    roost_call* store_message(const Message& m);
    void release_message(const Delivery& d);

    PluginWorker* _host;
    std::vector<LoadedPlugin*> _plugins;
    StoredMessageRefs* _refs;
};

// Encodes the end-to-end MQTT 5 properties of a message as a property block (length first), the
// form roost_stored_message.properties carries; and back.
std::vector<uint8_t> encode_message_properties(const mqtt::Properties& p);
bool decode_message_properties(roost_bytes block, mqtt::Properties& out);

}  // namespace roost
