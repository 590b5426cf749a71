// The host functions ABI v1 gained at its final review, each with its rules in plugin.h:
// client refs and data (client_handles.cpp), timers and connections (host_conn.cpp). The
// roost_host table in host_table.cpp lists them.
#pragma once
#include <cstdint>
#include <string_view>

#include "roost/plugin.h"

namespace roost {
class Client;
class PluginHost;
class PluginWorker;
namespace host_v1 {

// host_table.cpp: the broker's plugin host (nullptr before start and after stop), and whether
// the calling thread is worker `worker`.
PluginHost* global_host();
PluginWorker* current_worker();  // the calling thread's worker, or nullptr
bool on_worker(uint32_t worker);
// A plugin's disconnect of `client` (on its worker): the log line names the reason code,
// "disconnected by a plugin (0x98 Administrative action<how>)".
void disconnect_for_plugin(Client& client, uint8_t reason_code, std::string_view how = {});

// Held by a host function that a plugin may call from any thread (complete, complete_many,
// client_ref_disconnect) for as long as it uses the host or a worker's state. The host's
// shutdown (PluginHost::stop_any_thread_calls, before the workers are destroyed) refuses new
// ones and waits for those in progress, so that a plugin thread completing a call as the broker
// stops hears EGONE instead of touching a worker being freed (TSan found that race).
class AnyThreadCall {
  public:
    AnyThreadCall();
    ~AnyThreadCall();
    AnyThreadCall(const AnyThreadCall&) = delete;
    AnyThreadCall& operator=(const AnyThreadCall&) = delete;
    // The host, or nullptr when there is none or it is stopping (answer EGONE).
    PluginHost* host() const { return _host; }

  private:
    PluginHost* _host = nullptr;
};
// Refuses new AnyThreadCalls and waits for those in progress to end.
void stop_any_thread_calls();

int timer_stop(roost_timer timer);
int conn_timer_start(roost_conn* conn, uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void*), void* arg,
                     roost_timer* timer);
size_t conn_backlog(const roost_conn* conn);
int conn_pause_reading(roost_conn* conn);
int conn_resume_reading(roost_conn* conn);
int conn_info(const roost_conn* conn, roost_client_field field, roost_bytes* out);
// Appended after v1's release: the address a transport learnt (a trusted proxy's header).
int conn_set_address(roost_conn* conn, roost_bytes address);

int client_data_set(roost_plugin* self, roost_client* client, void* data);
void* client_data_get(roost_plugin* self, const roost_client* client);
roost_client_ref client_ref(const roost_client* client);
int client_from_ref(roost_client_ref ref, roost_client** client);
int client_ref_disconnect(roost_client_ref ref, uint8_t reason_code);
// Appended after v1's release: forgets ACL answers kept for cache_ms (plugin/hooks.cpp).
int acl_cache_clear(roost_plugin* self, roost_client* client);

}  // namespace host_v1
}  // namespace roost
