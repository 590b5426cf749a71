// The broker's DurableStore (broker/durable_store.hpp) over the persistence hooks: turns session,
// subscription, delivery and retained changes into calls of the loaded persistence plugins (config
// order, first answer other than NEXT wins). Only sessions that outlive their connection (expiry > 0) are
// stored.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/durable_store.hpp"
#include "plugin/stored_message_refs.hpp"
#include "roost/plugin.h"

namespace roost {

class PluginWorker;
class WorkerInbox;
struct LoadedPlugin;

class Persistence final : public DurableStore {
  public:
    Persistence(PluginWorker* plugins, StoredMessageRefs* refs);

    // DurableStore; what each does is said there.

    roost_call* save_session(Session& s) override;
    int restore(const roost_restore_sink& sink) override;
    void delete_session(const std::string& client_id) override;
    void end_session(const Session& s) override;
    roost_call* save_subscription(const Session& s, const std::string& filter,
                                  const SubscriptionRecord& r) override;
    roost_call* save_incoming_qos2(const Session& s, uint16_t packet_id) override;
    roost_call* delete_incoming_qos2(const Session& s, uint16_t packet_id) override;
    void delete_subscription(const Session& s, const std::string& filter) override;
    roost_call* set_retained(const Message& m) override;
    void save_delivery(const Session& s, Delivery& d, uint16_t packet_id, roost_delivery_state state,
                       std::vector<roost_call*>* waits = nullptr) override;
    void delete_delivery(const Session& s, const Delivery& d) override { delete_delivery_of(s.client_id, d); }
    void delete_delivery_of(const std::string& client_id, const Delivery& d) override;
    void note_restored(const Delivery& d) override;

    void when_done(std::vector<roost_call*> calls,
                   std::function<void(bool ok, uint8_t reason)> done) override;
    void join(const std::vector<roost_call*>& calls, const std::shared_ptr<PublishWait>& wait) override;

  private:
    template <class Invoke>
    roost_call* run(const char* what, Invoke invoke);
    roost_call* store_message(const Message& m);
    void release_message(const Delivery& d);

    PluginWorker* _host;
    std::vector<LoadedPlugin*> _plugins;
    StoredMessageRefs* _refs;
    // Every persistence plugin has message_delivery_save: a message's first stored delivery is
    // one call, not message_store and delivery_save.
    bool _combined = false;
    // Every persistence plugin has message_delivery_delete: a delivery's delete and its
    // message's release are one call, not delivery_delete and message_release.
    bool _combined_delete = false;
};

}  // namespace roost
