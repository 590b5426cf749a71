// The broker's side of the persistence hooks: turns session, subscription, delivery and retained
// changes into calls of the loaded persistence plugins (config order, first answer other than
// NEXT wins). Only sessions that outlive their connection (expiry > 0) are stored.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/message.hpp"
#include "broker/session.hpp"
#include "roost/plugin.h"

namespace roost {

class PluginWorker;
struct LoadedPlugin;

class Persistence {
  public:
    explicit Persistence(PluginWorker* plugins);

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
    void save_subscription(const Session& s, const std::string& filter, const SubscriptionRecord& r);
    void delete_subscription(const Session& s, const std::string& filter);
    void set_retained(const Message& m);
    // A delivery to a stored session: stores its message first if this is the first reference.
    // Marks `d` persisted the first time.
    roost_call* save_delivery(const Session& s, Delivery& d, uint16_t packet_id, roost_delivery_state state);
    void delete_delivery(const Session& s, const Delivery& d);
    // A delivery handed back by restore(): counts as a reference to its stored message.
    void note_restored(const Delivery& d) { ++_message_refs[d.message->id]; }

    // The answers that a waiting publish needs, collected while it routes.
    std::vector<roost_call*> take_waits() { return std::exchange(_waits, {}); }
    // Runs `done` on the worker once every call in `calls` completed (at once if none).
    void when_done(std::vector<roost_call*> calls, std::function<void(bool ok)> done);

  private:
    template <class Invoke>
    roost_call* run(const char* what, Invoke invoke);
    roost_call* store_message(const Message& m);
    void release_message(const Delivery& d);

    PluginWorker* _host;
    std::vector<LoadedPlugin*> _plugins;
    std::unordered_map<uint64_t, size_t> _message_refs;  // stored message id -> deliveries referring to it
    std::vector<roost_call*> _waits;
};

// Encodes the end-to-end MQTT 5 properties of a message as a property block (length first), the
// form roost_stored_message.properties carries; and back.
std::vector<uint8_t> encode_message_properties(const mqtt::Properties& p);
bool decode_message_properties(roost_bytes block, mqtt::Properties& out);

}  // namespace roost
