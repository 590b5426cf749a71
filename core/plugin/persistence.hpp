// The broker's DurableStore (broker/durable_store.hpp) over the persistence hooks: turns session,
// subscription, delivery and retained changes into calls of the loaded persistence plugins (config
// order, first answer other than NEXT wins). Only sessions that outlive their connection (expiry > 0) are
// stored.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/durable_store.hpp"
#include "roost/plugin.h"

namespace roost {

class PluginWorker;
class WorkerInbox;
struct LoadedPlugin;

// How many stored deliveries refer to each stored message, over all workers: the message is
// stored with its first reference and released with its last. Shared by every worker's
// Persistence, in shards by message id (every worker counts every message it delivers, twice:
// one lock for all of them was a cache line the workers passed back and forth); each shard's
// `lock` guards its `refs`.
//
// Known gap: the plugin call that stores a message (its first reference) and the one that
// releases it (its last) are made after the shard's lock is released, so a message whose last
// delivery was deleted on one worker while another worker saved a new one (a fan-out batch
// arriving late) can reach a plugin as "store" and then "release". Holding the lock through the
// calls ordered them, but ThreadSanitizer reported a lock-order inversion with a plugin's own
// lock (a hook that takes it and calls back into the host); a "releasing" mark that a new first
// store waits on would order them without holding the lock through a hook.
struct StoredMessageRefs {
    struct alignas(64) Shard {
        std::mutex lock;
        std::unordered_map<uint64_t, size_t> refs;
    };
    static constexpr size_t kShards = 16;
    Shard shards[kShards];
    Shard& of(uint64_t message_id) { return shards[message_id % kShards]; }
};

class Persistence final : public DurableStore {
  public:
    Persistence(PluginWorker* plugins, StoredMessageRefs* refs);

    // DurableStore; what each does is said there.

    roost_call* save_session(const Session& s) override;
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
    // Drops one reference to a stored message; true when it was the last (release it then).
    bool drop_reference(uint64_t message_id);

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
