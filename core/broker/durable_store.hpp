// What the broker asks of persistence, declared by the broker: session, subscription, delivery
// and retained changes to store, and what was stored to restore at start. The plugin host
// implements it over the persistence plugins (plugin/persistence.hpp); the broker never
// includes plugin/, so the build keeps the layers apart (core/README.md).
//
// Cost: enabled() is inline and fixed at construction; the broker tests it before the calls it
// makes per delivery, so a broker without persistence plugins makes no call there.
//
// Threads: one per worker, used on that worker's thread only.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/message.hpp"
#include "broker/session.hpp"
#include "roost/plugin.h"

namespace roost {

class PublishWait;

class DurableStore {
  public:
    virtual ~DurableStore() = default;
    DurableStore(const DurableStore&) = delete;
    DurableStore& operator=(const DurableStore&) = delete;

    // Whether anything stores at all; when not, every call below does nothing.
    bool enabled() const { return _enabled; }

    // Each returns the call to wait on when a plugin answered PENDING, else nullptr. Only the
    // publish path waits (its PUBACK/PUBREC goes once the data is durable); elsewhere a late
    // answer is only logged if it is a failure.
    // Marks the session `stored` when it asks the plugins to keep it (only those get a
    // session_delete at their end).
    virtual roost_call* save_session(Session& s) = 0;
    // The plugins' restore(), once at start, before any listener opens.
    virtual int restore(const roost_restore_sink& sink) = 0;
    virtual void delete_session(const std::string& client_id) = 0;
    // The session is gone for good: session_delete (if it was ever stored), then message_release
    // for every stored message only its deliveries referred to.
    virtual void end_session(const Session& s) = 0;
    // The call the SUBACK waits for (PENDING), else nullptr.
    virtual roost_call* save_subscription(const Session& s, const std::string& filter,
                                          const SubscriptionRecord& r) = 0;
    // An incoming QoS 2 id awaiting PUBREL (the PUBREC waits for the call) and its release by
    // PUBREL (the PUBCOMP waits). nullptr when nothing is to wait for.
    virtual roost_call* save_incoming_qos2(const Session& s, uint16_t packet_id) = 0;
    virtual roost_call* delete_incoming_qos2(const Session& s, uint16_t packet_id) = 0;
    virtual void delete_subscription(const Session& s, const std::string& filter) = 0;
    // The call a retained PUBLISH's acknowledgement waits for (PENDING), else nullptr.
    virtual roost_call* set_retained(const Message& m) = 0;
    // A delivery to a stored session: stores its message first if this is the first reference.
    // Marks `d` persisted the first time. Calls still PENDING are appended to `waits` (if given).
    virtual void save_delivery(const Session& s, Delivery& d, uint16_t packet_id, roost_delivery_state state,
                               std::vector<roost_call*>* waits = nullptr) = 0;
    virtual void delete_delivery(const Session& s, const Delivery& d) = 0;
    // delete_delivery for a delivery of the session named `client_id` that this worker does not
    // own: a shared subscription's message handed from a member that left (on another worker) is
    // deleted there only after the new member's delivery was saved here.
    virtual void delete_delivery_of(const std::string& client_id, const Delivery& d) = 0;
    // A delivery handed back by restore(): counts as a reference to its stored message.
    virtual void note_restored(const Delivery& d) = 0;

    // Runs `done` on the worker once every call in `calls` completed (at once if none). With
    // !ok, `reason` is the reason code of a failed call (0 if it gave none or timed out).
    virtual void when_done(std::vector<roost_call*> calls,
                           std::function<void(bool ok, uint8_t reason)> done) = 0;
    // when_done for a publisher's wait: each call holds a part of `wait` and releases it when it
    // completes (no barrier in between: one resume per call, the publish path's hot spot).
    virtual void join(const std::vector<roost_call*>& calls, const std::shared_ptr<PublishWait>& wait) = 0;

  protected:
    DurableStore() = default;
    // Once, by the implementation's constructor.
    void set_enabled(bool enabled) { _enabled = enabled; }

  private:
    bool _enabled = false;
};

// Encodes the end-to-end MQTT 5 properties of a message as a property block (length first), the
// form roost_stored_message.properties carries; and back.
std::vector<uint8_t> encode_message_properties(const mqtt::Properties& p);
bool decode_message_properties(roost_bytes block, mqtt::Properties& out);

}  // namespace roost
