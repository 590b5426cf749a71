// The loaded plugins and what the broker offers them: dlopen and version negotiation, the hook
// tables each registered, per-worker state, pending calls and the inbox of the worker.
//
// Lifetime: created by the Server before its listeners start and destroyed after its loop ended;
// plugins are initialised in config order and cleaned up in reverse.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugin/handles.hpp"
#include "plugin/pending_calls.hpp"
#include "plugin/worker_inbox.hpp"
#include "roost/plugin.h"

namespace roost {

class Broker;
class PluginHost;

struct LoadedPlugin {
    std::string name;
    std::string path;
    std::string source;  // "roost.toml:12" of its [[plugin]] table
    PluginHost* host = nullptr;
    roost_plugin self{this};  // what the plugin passes back as `self`
    void* handle = nullptr;   // dlopen's
    void* plugin_data = nullptr;
    void* worker_data = nullptr;  // what worker_start stored for worker 0 (one worker today)
    void (*cleanup)(void*) = nullptr;
    bool initialising = false;  // hook_register is allowed only now

    const roost_auth_hooks* auth = nullptr;
    const roost_acl_hooks* acl = nullptr;
    const roost_message_hooks* message = nullptr;
    const roost_transport_hooks* transport = nullptr;
    const roost_persistence_hooks* persistence = nullptr;
    const roost_lifecycle_hooks* lifecycle = nullptr;

    // What every hook of this plugin gets as its first argument.
    void* hook_data() const { return worker_data ? worker_data : plugin_data; }
};

// A timer a plugin started (host->timer_start). Standard layout, handle first, so the libuv
// handle pointer is the object's pointer.
struct PluginTimer {
    uv_timer_t handle;
    void (*fn)(void*);
    void* arg;
};

// A plugin that cannot be loaded; the message names the plugin, its config file:line and why.
// Marks the calling thread as worker `index`, for host->worker_index(); plugins' own threads
// stay unmarked.
void set_current_worker(unsigned index);

class PluginError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Where the shared object of a [[plugin]] table is: its `path`, or `name`.so in the build tree
// beside the running roost, then in the install location. Throws PluginError naming the folders
// searched.
std::string find_plugin(const PluginConfig& pc);

class PluginHost {
  public:
    PluginHost(const Config& config, uv_loop_t* loop);
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    // Loads and initialises every [[plugin]] in config order; throws PluginError.
    void load_all();
    // worker_start of every lifecycle hook, on the worker's thread; throws PluginError.
    void start_worker(unsigned index);
    void stop_worker(unsigned index);
    void set_broker(Broker* broker) { _broker = broker; }

    const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const { return _plugins; }
    const LoadedPlugin* transport(const std::string& name) const;
    bool has_auth() const;
    PendingCalls& calls() { return _calls; }
    WorkerInbox& inbox() { return _inbox; }
    Broker* broker() const { return _broker; }
    uv_loop_t* loop() const { return _loop; }
    std::chrono::milliseconds call_timeout() const {
        return std::chrono::milliseconds(_config.broker.plugin_timeout_ms);
    }
    // Before the loop ends: no more completions, posts or timers.
    void close();

    static const roost_host* host_table();

  private:
    void load(const PluginConfig& pc);

    const Config& _config;
    uv_loop_t* _loop;
    WorkerInbox _inbox;
    PendingCalls _calls;
    Broker* _broker = nullptr;
    std::vector<std::unique_ptr<LoadedPlugin>> _plugins;
    std::vector<PluginTimer*> _timers;  // started by host->timer_start; closed by close()
    uv_timer_t _expiry{};               // times out PENDING calls, at a tenth of the timeout
    friend struct HostTable;
};

}  // namespace roost
