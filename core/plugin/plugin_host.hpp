// The loaded plugins and what the broker offers them. Two parts:
//   PluginHost    shared by every worker: dlopen and version negotiation, the hook tables each
//                 plugin registered. Written only while loading (main thread, before any worker
//                 runs); read-only afterwards, so workers read it without a lock.
//   PluginWorker  one per worker, used only on that worker's thread (except where noted): each
//                 plugin's worker_data, the PENDING calls the worker's hooks raised, its inbox,
//                 the timers plugins started on it.
//
// Lifetime: the PluginHost is created by the Server before its listeners start and destroyed
// after every worker's loop ended; plugins are initialised in config order and cleaned up in
// reverse. Each PluginWorker lives as long as its worker's loop and is closed before it ends.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/worker_inbox.hpp"
#include "plugin/client_handles.hpp"
#include "plugin/handles.hpp"
#include "plugin/host_timers.hpp"
#include "plugin/pending_calls.hpp"
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
    // What worker_start stored, by worker index (nullptr: none, hooks get plugin_data). Sized
    // before any worker starts; each worker writes only its own slot.
    std::vector<void*> worker_data;
    void (*cleanup)(void*) = nullptr;
    bool initialising = false;  // hook_register is allowed only now

    const roost_auth_hooks* auth = nullptr;
    const roost_acl_hooks* acl = nullptr;
    const roost_message_hooks* message = nullptr;
    const roost_transport_hooks* transport = nullptr;
    const roost_persistence_hooks* persistence = nullptr;
    const roost_lifecycle_hooks* lifecycle = nullptr;
    // The host's copies of the registered tables: hook_register copies min(struct_size, sizeof)
    // bytes of the plugin's table into a zeroed one, so members an older plugin lacks are NULL.
    // The pointers above point here once a table is registered.
    roost_auth_hooks auth_table{};
    roost_acl_hooks acl_table{};
    roost_message_hooks message_table{};
    roost_transport_hooks transport_table{};
    roost_persistence_hooks persistence_table{};
    roost_lifecycle_hooks lifecycle_table{};
    int (*check)(const roost_host*, roost_plugin*, const roost_option*, size_t) = nullptr;

    // What every hook of this plugin gets as its first argument on `worker`.
    void* hook_data(unsigned worker) const {
        void* d = worker < worker_data.size() ? worker_data[worker] : nullptr;
        return d ? d : plugin_data;
    }
};

// A plugin that cannot be loaded; the message names the plugin, its config file:line and why.
// Marks the calling thread as worker `index`, for host->worker_index(); plugins' own threads
// stay unmarked.
void set_current_worker(unsigned index);

// What host->log does, for a plugin named `plugin`: one log line prefixed with its name.
void plugin_log_v(const char* plugin, int level, const char* fmt, va_list ap);

// What host->strerror answers: the text of a ROOST_E* code (host_table.cpp).
const char* host_strerror(int code);

class PluginError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};
// A configured plugin that cannot be used as it is: its file does not load, lacks an export or
// speaks another ABI version, or it refused its options (roost_plugin_check, or init returning
// ROOST_EINVAL). A configuration error, exit status 2, as `--check-config` says of the same file.
// (A PluginError is what fails at run time: init returning anything else.)
class PluginConfigError : public PluginError {
  public:
    using PluginError::PluginError;
};

// Where the shared object of a [[plugin]] table is: its `path`, or `name`.so in the build tree
// beside the running roost, then in the install location. Throws PluginError naming the folders
// searched.
std::string find_plugin(const PluginConfig& pc);

class PluginWorker;

class PluginHost {
  public:
    explicit PluginHost(const Config& config);
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    // Loads and initialises every [[plugin]] in config order; throws PluginError. `workers` is
    // how many workers will run (host->worker_count() during init).
    void load_all(unsigned workers);
    // Each worker's part registers itself here before any worker thread starts, so that any
    // thread can find worker i (complete, post, publish). Not called while workers run. A
    // plugin's own thread, started in its init, may already look workers up meanwhile: the
    // table is sized by load_all() before any init and each slot is an atomic written once, so
    // it reads either nullptr (not made yet) or a worker that is whole.
    void add_worker(PluginWorker* worker);
    PluginWorker* worker(unsigned index) const {
        return index < _worker_slots ? _workers[index].load(std::memory_order_acquire) : nullptr;
    }
    unsigned worker_count() const { return _worker_count; }

    const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const { return _plugins; }
    const LoadedPlugin* transport(const std::string& name) const;
    bool has_auth() const;
    // SIGHUP, on the main thread: hands each plugin with a lifecycle reload its options from
    // `fresh` (the re-read config), after its roost_plugin_check. Logs what it did.
    void reload(const Config& fresh);
    // Set once the broker stops (the first worker closes): complete() answers ROOST_EGONE.
    bool closing() const { return _closing.load(); }
    void set_closing() { _closing = true; }
    std::chrono::milliseconds call_timeout() const {
        return std::chrono::milliseconds(_config.broker.plugin_timeout_ms);
    }
    const Config& config() const { return _config; }

    static const roost_host* host_table();

  private:
    void load(const PluginConfig& pc);

    const Config& _config;
    unsigned _worker_count = 1;
    // Makes room for `n` workers. Only before any plugin is initialised (load_all), or without
    // plugins (unit tests): nothing else reads the table while it moves.
    void size_worker_table(size_t n);

    // By index; sized by load_all() before any plugin's init, never moved after it (above).
    std::unique_ptr<std::atomic<PluginWorker*>[]> _workers;
    size_t _worker_slots = 0;
    std::vector<std::unique_ptr<LoadedPlugin>> _plugins;
    std::atomic<bool> _closing{false};
};

// One worker's side of the plugins. Used on that worker's thread, except calls().complete() and
// inbox().post(), which any thread may call.
class PluginWorker {
  public:
    PluginWorker(PluginHost& host, unsigned index, uv_loop_t* loop);
    ~PluginWorker();
    PluginWorker(const PluginWorker&) = delete;
    PluginWorker& operator=(const PluginWorker&) = delete;

    unsigned index() const { return _index; }
    PluginHost& host() const { return _host; }
    uv_loop_t* loop() const { return _loop; }
    PendingCalls& calls() { return _calls; }
    WorkerInbox& inbox() { return _inbox; }
    // The broker engine of this worker, for what plugins ask of it (host->publish).
    Broker* broker() const { return _broker; }
    void set_broker(Broker* broker) { _broker = broker; }
    void* hook_data(const LoadedPlugin& p) const { return p.hook_data(_index); }
    const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const { return _host.plugins(); }
    std::chrono::milliseconds call_timeout() const { return _host.call_timeout(); }

    // worker_start of every lifecycle hook, on this worker's thread; throws PluginError.
    void start();
    void stop();
    // Before the loop ends: no more completions, posts or timers.
    void close();
    // The clients of this worker as plugins keep them (refs), and the plugins' timers on it.
    ClientHandles& clients() { return _clients; }
    HostTimers& timers() { return _timers; }

  private:
    PluginHost& _host;
    unsigned _index;
    uv_loop_t* _loop;
    WorkerInbox _inbox;
    PendingCalls _calls;
    Broker* _broker = nullptr;
    bool _started = false;
    ClientHandles _clients;
    HostTimers _timers;    // started by host->timer_start and conn_timer_start; closed by close()
    uv_timer_t _expiry{};  // times out PENDING calls, at a tenth of the timeout
};

}  // namespace roost
