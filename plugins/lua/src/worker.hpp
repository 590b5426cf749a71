// The plugin's state: one Plugin (made in init, on the main thread) and one Worker per worker
// thread (made in worker_start). Thread rules: a Worker and its Scripts are touched only on
// their own worker thread; Plugin::mutex guards `workers`, `settings` and `source`, which reload
// (main thread) and worker_start/stop (each worker) change.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <roost/plugin.h>

#include "options.hpp"
#include "script.hpp"

namespace roost_lua {

struct Plugin {
    HostContext host;
    std::mutex mutex;
    std::shared_ptr<const Settings> settings;  // what the running script was loaded with
    std::string source;                        // its text
    std::vector<struct Worker*> workers;       // by worker index; nullptr before start, after stop
    std::atomic<uint64_t> next_round{1};
    bool registered[Script::hook_count] = {};  // hook kinds registered at init (a reload cannot add one)
};

struct Worker {
    Plugin* plugin = nullptr;
    uint32_t index = 0;
    std::unique_ptr<Script> script;   // the running script
    std::unique_ptr<Script> pending;  // a reload's new script, compiled and waiting for the switch
    uint64_t pending_round = 0;
    uint64_t generation = 1;  // changes with each switch: decision cache entries of older ones are stale

    // Buffers the hooks fill and the host copies when the hook returns.
    std::string cache_key;
    std::string new_topic, new_payload;
    std::vector<std::string> property_text;
    std::vector<roost_user_property> properties;
};

// The hook tables' functions (hooks.cpp).
roost_verdict hook_authenticate(void* worker_data, roost_auth_event* ev);
roost_verdict hook_acl_check(void* worker_data, roost_acl_event* ev);
roost_verdict hook_on_publish(void* worker_data, roost_message_event* ev);
void hook_on_connect(void* worker_data, roost_client* client);
void hook_on_disconnect(void* worker_data, roost_client* client, uint8_t reason_code);
void hook_client_release(void* worker_data, roost_client* client, void* client_data);

// Reload on SIGHUP (reload.cpp): checks the new script on the main thread, then has every worker
// compile it and switches all of them only when each one succeeded.
int reload_script(Plugin* plugin, const roost_option* options, size_t count);

}  // namespace roost_lua
