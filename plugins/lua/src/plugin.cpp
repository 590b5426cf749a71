// The lua plugin's exports: check the options and the script, register the hooks the script
// defines, one Lua state per worker (worker_start/worker_stop), reload on SIGHUP.
#include <roost/plugin.h>

#include <stdexcept>

#include "worker.hpp"

using namespace roost_lua;

namespace {

// The options and the script's text, checked: compiled (check) or also run (init). Logs why not.
std::shared_ptr<const Settings> load_settings(const roost_host* host, roost_plugin* self,
                                              const roost_option* options, size_t count, std::string* source,
                                              std::unique_ptr<Script>* run) {
    std::shared_ptr<const Settings> settings;
    try {
        settings = parse_settings(options, count);
    } catch (const std::invalid_argument& e) {
        host->log(self, ROOST_LOG_ERROR, "%s", e.what());
        return nullptr;
    }
    std::string error;
    if (!Script::read_source(*settings, source, &error)) {
        host->log(self, ROOST_LOG_ERROR, "%s", error.c_str());
        return nullptr;
    }
    if (run == nullptr) {
        if (!Script::compile(*settings, *source, &error)) {
            host->log(self, ROOST_LOG_ERROR, "%s", error.c_str());
            return nullptr;
        }
    } else if (!(*run = Script::load(settings, *source, HostContext{}, &error))) {
        host->log(self, ROOST_LOG_ERROR, "%s", error.c_str());
        return nullptr;
    }
    return settings;
}

int worker_start(void* plugin_data, uint32_t index, void** worker_data) {
    auto* p = static_cast<Plugin*>(plugin_data);
    std::shared_ptr<const Settings> settings;
    std::string source;
    {
        std::lock_guard<std::mutex> lock(p->mutex);
        settings = p->settings;
        source = p->source;
    }
    std::string error;
    auto w = std::make_unique<Worker>();
    w->plugin = p;
    w->index = index;
    w->script = Script::load(settings, source, p->host, &error);
    if (!w->script) {
        p->host.host->log(p->host.self, ROOST_LOG_ERROR, "worker %u: %s", index, error.c_str());
        return ROOST_EINVAL;
    }
    {
        std::lock_guard<std::mutex> lock(p->mutex);
        if (p->workers.size() <= index) p->workers.resize(index + 1, nullptr);
        p->workers[index] = w.get();
    }
    *worker_data = w.release();
    return ROOST_OK;
}

void worker_stop(void* plugin_data, uint32_t index, void* worker_data) {
    auto* p = static_cast<Plugin*>(plugin_data);
    {
        std::lock_guard<std::mutex> lock(p->mutex);
        if (index < p->workers.size()) p->workers[index] = nullptr;
    }
    delete static_cast<Worker*>(worker_data);
}

int reload(void* plugin_data, const roost_option* options, size_t count) {
    return reload_script(static_cast<Plugin*>(plugin_data), options, count);
}

}  // namespace

extern "C" {

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    for (size_t i = 0; i < count; ++i)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t count) {
    std::string source;
    return load_settings(host, self, options, count, &source, nullptr) ? ROOST_OK : ROOST_EINVAL;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t count, void** plugin_data) {
    std::string source;
    std::unique_ptr<Script> check;
    auto settings = load_settings(host, self, options, count, &source, &check);
    if (!settings) return ROOST_EINVAL;

    auto p = std::make_unique<Plugin>();
    p->host = HostContext{host, self};
    p->settings = settings;
    p->source = source;
    // Only the kinds the script answers: an auth hook that always says "next" would still make
    // the listener's auth_default deny everyone ("auto" denies once an auth plugin is loaded).
    std::string hooks;
    for (int h = 0; h < Script::hook_count; ++h) {
        p->registered[h] = check->has(static_cast<Script::Hook>(h));
        if (p->registered[h])
            hooks += std::string(hooks.empty() ? "" : ", ") + Script::hook_name(static_cast<Script::Hook>(h));
    }
    int rc = ROOST_OK;
    if (p->registered[Script::on_auth]) {
        roost_auth_hooks auth{};
        auth.struct_size = sizeof auth;
        auth.authenticate = hook_authenticate;
        rc = host->hook_register(self, ROOST_HOOK_AUTH, &auth);
    }
    if (rc == ROOST_OK && p->registered[Script::on_acl]) {
        roost_acl_hooks acl{};
        acl.struct_size = sizeof acl;
        acl.check = hook_acl_check;
        rc = host->hook_register(self, ROOST_HOOK_ACL, &acl);
    }
    if (rc == ROOST_OK && p->registered[Script::on_message]) {
        roost_message_hooks message{};
        message.struct_size = sizeof message;
        message.on_publish = hook_on_publish;
        rc = host->hook_register(self, ROOST_HOOK_MESSAGE, &message);
    }
    if (rc == ROOST_OK) {
        roost_lifecycle_hooks life{};
        life.struct_size = sizeof life;
        life.worker_start = worker_start;
        life.worker_stop = worker_stop;
        life.on_connect = hook_on_connect;
        life.on_disconnect = hook_on_disconnect;
        life.client_release = hook_client_release;
        life.reload = reload;
        rc = host->hook_register(self, ROOST_HOOK_LIFECYCLE, &life);
    }
    if (rc != ROOST_OK) {
        host->log(self, ROOST_LOG_ERROR, "cannot register hooks: %s", host->strerror(rc));
        return rc;
    }
    std::string script_options;
    for (auto& [k, v] : settings->script_options)
        script_options += (script_options.empty() ? "" : ", ") + k;
    const char* on_error = settings->on_error == OnError::deny    ? "deny"
                           : settings->on_error == OnError::allow ? "allow"
                                                                  : "next";
    host->log(
        self, ROOST_LOG_INFO,
        "%s: %s; instruction_budget %llu, memory_limit %zu MiB per worker, cache_ttl %llu ms, on_error %s; "
        "roost.options: %s",
        settings->script.c_str(), hooks.c_str(),
        static_cast<unsigned long long>(settings->instruction_budget), settings->memory_limit >> 20,
        static_cast<unsigned long long>(settings->cache_ttl_ms), on_error,
        script_options.empty() ? "(none)" : script_options.c_str());
    *plugin_data = p.release();
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    delete static_cast<Plugin*>(plugin_data);
}

}  // extern "C"
