#include "plugin/client_handles.hpp"

namespace roost {

void ClientHandles::add(roost_client* handle) {
    std::lock_guard lock(_mutex);
    handle->ref = (_next++ << kWorkerBits) | _worker;
    _live.insert(handle);
}

void ClientHandles::remove(roost_client* handle) {
    std::lock_guard lock(_mutex);
    _live.erase(handle->ref);
}

roost_client* ClientHandles::find(roost_client_ref ref) const {
    std::lock_guard lock(_mutex);
    return _live.find(ref);
}

bool ClientHandles::alive(roost_client_ref ref) const {
    return find(ref) != nullptr;
}

}  // namespace roost

// ---- the host functions -------------------------------------------------------------------

#include "broker/client.hpp"
#include "plugin/hooks.hpp"
#include "plugin/host_functions.hpp"
#include "plugin/plugin_host.hpp"

namespace roost::host_v1 {
namespace {
// The client's worker is the calling thread.
bool owned_here(const roost_client* c) {
    return c && on_worker(ClientHandles::worker_of(c->ref));
}
}  // namespace

int client_data_set(roost_plugin* self, roost_client* client, void* data) {
    if (!self || !owned_here(client)) return ROOST_EINVAL;
    if (client->released) return ROOST_EGONE;
    if (!client->plugin_data || client->plugin_data->size() <= self->index) {
        if (!data) return ROOST_OK;
        if (!client->plugin_data) client->plugin_data.emplace();
        client->plugin_data->resize(self->index + 1, nullptr);
    }
    (*client->plugin_data)[self->index] = data;
    return ROOST_OK;
}

void* client_data_get(roost_plugin* self, const roost_client* client) {
    if (!self || !owned_here(client) || !client->plugin_data || client->plugin_data->size() <= self->index)
        return nullptr;
    return (*client->plugin_data)[self->index];
}

int acl_cache_clear(roost_plugin* self, roost_client* client) {
    if (!self) return ROOST_EINVAL;
    if (!client) {
        // Each worker sees the new count at its next check: every kept answer is stale then.
        g_acl_memo_epoch.fetch_add(1, std::memory_order_relaxed);
        return ROOST_OK;
    }
    if (!owned_here(client)) return ROOST_EINVAL;
    client->acl_memo.reset();
    return ROOST_OK;
}

roost_client_ref client_ref(const roost_client* client) {
    return client ? client->ref : 0;
}

int client_from_ref(roost_client_ref ref, roost_client** client) {
    if (!client) return ROOST_EINVAL;
    *client = nullptr;
    if (ref == 0) return ROOST_EGONE;
    if (!on_worker(ClientHandles::worker_of(ref))) return ROOST_EINVAL;
    PluginWorker* w = current_worker();
    if (!w) return ROOST_EGONE;
    roost_client* c = w->clients().find(ref);
    if (!c || c->released) return ROOST_EGONE;
    *client = c;
    return ROOST_OK;
}

int client_ref_disconnect(roost_client_ref ref, uint8_t reason_code) {
    AnyThreadCall guard;
    PluginHost* host = guard.host();
    if (!host || ref == 0) return ROOST_EGONE;
    PluginWorker* w = host->worker(ClientHandles::worker_of(ref));
    if (!w) return ROOST_EGONE;
    auto disconnect_here = [w, ref, reason_code] {
        roost_client* c = w->clients().find(ref);
        if (!c || c->released || c->client->closing()) return ROOST_EGONE;
        disconnect_for_plugin(*c->client, reason_code, "; from a kept client ref");
        return ROOST_OK;
    };
    if (on_worker(ClientHandles::worker_of(ref))) return disconnect_here();
    // Another thread: ask the client's worker. Whether the client is there now is answered at
    // once (one lock); the disconnect itself happens on its worker, which checks again.
    if (!w->clients().alive(ref)) return ROOST_EGONE;
    bool posted = w->inbox().post([disconnect_here] { disconnect_here(); });
    return posted ? ROOST_OK : ROOST_EGONE;
}

}  // namespace roost::host_v1
