#include "plugin/plugin_host.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "plugin/host_functions.hpp"
#include "plugin/plugin_check.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
using VersionFn = uint32_t (*)(const uint32_t*, size_t);
using InitFn = int (*)(const roost_host*, roost_plugin*, const roost_option*, size_t, void**);
using CleanupFn = void (*)(void*);

// Newest first. A release that adds v2 offers {2, 1}; a v1 plugin keeps loading.
constexpr uint32_t kOfferedVersions[] = {ROOST_ABI_V1};

std::string executable_dir() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    buf[n] = '\0';
    return std::filesystem::path(buf).parent_path().string();
}
}  // namespace

void register_global_host(PluginHost* host);  // host_table.cpp

PluginHost::PluginHost(const Config& config) : _config(config) {
    register_global_host(this);
}

void PluginHost::size_worker_table(size_t n) {
    if (n <= _worker_slots) return;
    auto bigger = std::make_unique<std::atomic<PluginWorker*>[]>(n);  // value-initialised: nullptr
    for (size_t i = 0; i < _worker_slots; ++i)
        bigger[i].store(_workers[i].load());
    _workers = std::move(bigger);
    _worker_slots = n;
}

void PluginHost::add_worker(PluginWorker* worker) {
    size_worker_table(worker->index() + 1);  // a no-op after load_all(), which made room for all
    _workers[worker->index()].store(worker, std::memory_order_release);
}

PluginHost::~PluginHost() {
    _closing = true;  // a plugin thread completing during cleanup hears EGONE
    register_global_host(nullptr);
    host_v1::stop_any_thread_calls();
    // Reverse order: a plugin loaded later may use one loaded earlier.
    for (auto it = _plugins.rbegin(); it != _plugins.rend(); ++it) {
        LoadedPlugin& p = **it;
        if (p.cleanup) p.cleanup(p.plugin_data);
            // Sanitizer builds keep the code mapped so that leak reports can name plugin frames.
#if !defined(__SANITIZE_ADDRESS__)
        if (p.handle) dlclose(p.handle);
#endif
    }
}

std::string find_plugin(const PluginConfig& pc) {
    if (!pc.path.empty()) return pc.path;
    // A plugin named without a path: the build tree first when roost runs from it (so example
    // configs work straight after a build), then the install location.
    std::string file = pc.name + ".so";
    std::vector<std::filesystem::path> dirs;
    std::filesystem::path exe = executable_dir();
    if (!exe.empty()) {
        dirs.push_back(exe.parent_path() / "plugins");  // build/core/roost -> build/plugins
        dirs.push_back(exe.parent_path() / "lib" / "roost" /
                       "plugins");  // prefix/bin/roost -> prefix/lib/...
    }
    dirs.emplace_back(ROOST_PLUGIN_DIR);
    for (const auto& d : dirs) {
        std::error_code ec;
        if (std::filesystem::exists(d / file, ec)) return (d / file).string();
    }
    std::string searched;
    for (const auto& d : dirs)
        searched += (searched.empty() ? "" : ", ") + d.string();
    throw PluginConfigError(
        fmt::format("plugin '{}' ({}): {} not found in {} (set `path` in its [[plugin]] table)", pc.name,
                    pc.source, file, searched));
}

void PluginHost::load_all(unsigned workers) {
    _worker_count = workers;
    // Before any init: a thread a plugin starts there may call host->publish or post at once.
    size_worker_table(workers);
    for (const PluginConfig& pc : _config.plugins)
        load(pc);
}

void PluginHost::load(const PluginConfig& pc) {
    auto fail = [&](const std::string& why) {
        return PluginError(fmt::format("plugin '{}' ({}): {}", pc.name, pc.source, why));
    };
    auto unusable = [&](const std::string& why) { return PluginConfigError(fail(why).what()); };
    std::string path = find_plugin(pc);
    auto plugin = std::make_unique<LoadedPlugin>();
    plugin->name = pc.name;
    plugin->path = path;
    plugin->source = pc.source;
    plugin->host = this;
    plugin->worker_data.assign(_worker_count, nullptr);
    // RTLD_LOCAL: two plugins may define the same symbols without meeting.
    plugin->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!plugin->handle) throw unusable(fmt::format("cannot load {}: {}", path, dlerror()));
    LoadedPlugin& p = *plugin;
    _plugins.push_back(std::move(plugin));

    auto version = reinterpret_cast<VersionFn>(dlsym(p.handle, "roost_plugin_version"));
    auto init = reinterpret_cast<InitFn>(dlsym(p.handle, "roost_plugin_init"));
    p.cleanup = reinterpret_cast<CleanupFn>(dlsym(p.handle, "roost_plugin_cleanup"));
    if (!version || !init)
        throw unusable(missing_exports_message(path, reinterpret_cast<const void*>(version),
                                               reinterpret_cast<const void*>(init)));
    uint32_t chosen = version(kOfferedVersions, std::size(kOfferedVersions));
    if (std::find(std::begin(kOfferedVersions), std::end(kOfferedVersions), chosen) ==
        std::end(kOfferedVersions))
        throw unusable(abi_mismatch_message(chosen));

    p.self.index = _plugins.size() - 1;
    std::vector<roost_option> options = option_array(pc);
    p.check = reinterpret_cast<PluginCheckFn>(dlsym(p.handle, "roost_plugin_check"));
    if (p.check) {
        if (int rc = run_plugin_check(p.check, pc, options); rc < 0) {
            p.cleanup = nullptr;  // never initialised
            throw PluginConfigError(
                fail(fmt::format("its options are refused ({}); its log lines above say why",
                                 return_code_text(rc)))
                    .what());
        }
    }
    p.initialising = true;
    int rc = init(host_table(), &p.self, options.data(), options.size(), &p.plugin_data);
    p.initialising = false;
    if (rc < 0) {
        p.cleanup = nullptr;  // init failed: nothing to clean up, by the contract
        std::string why =
            fmt::format("initialisation failed ({}); its log lines above say why", return_code_text(rc));
        if (rc == ROOST_EINVAL) throw PluginConfigError(fail(why).what());
        throw fail(why);
    }
    std::vector<std::string> kinds;
    if (p.auth) kinds.push_back("auth");
    if (p.acl) kinds.push_back("acl");
    if (p.message) kinds.push_back("message");
    if (p.transport)
        kinds.push_back(fmt::format("transport '{}'", p.transport->name ? p.transport->name : ""));
    if (p.persistence) kinds.push_back("persistence");
    if (p.lifecycle) kinds.push_back("lifecycle");
    log::info("plugin '{}' loaded from {} (ABI v{}; hooks: {})", p.name, path, chosen,
              kinds.empty() ? "none" : fmt::format("{}", fmt::join(kinds, ", ")));
}

const LoadedPlugin* PluginHost::transport(const std::string& name) const {
    for (auto& p : _plugins)
        if (p->transport && p->transport->name && name == p->transport->name) return p.get();
    return nullptr;
}

bool PluginHost::has_auth() const {
    for (auto& p : _plugins)
        if (p->auth) return true;
    return false;
}

PluginWorker::PluginWorker(PluginHost& host, unsigned index, uv_loop_t* loop)
    : _host(host),
      _index(index),
      _loop(loop),
      _inbox(loop),
      _calls(_inbox, index),
      _clients(index),
      _timers(loop, index) {
    host.add_worker(this);
    // A PENDING answer that does not come is denied close to plugin_timeout_ms, not at the
    // next one-second tick: a client waits at most a tenth (10 to 100 ms) longer than configured.
    uv_timer_init(loop, &_expiry);
    _expiry.data = this;
    const Config& config = host.config();
    uint64_t every = std::clamp<uint64_t>(config.broker.plugin_timeout_ms / 10, 10, 100);
    if (!config.plugins.empty()) {
        uv_timer_start(
            &_expiry,
            [](uv_timer_t* t) {
                static_cast<PluginWorker*>(t->data)->_calls.expire(PendingCalls::Clock::now());
            },
            every, every);
        uv_unref(reinterpret_cast<uv_handle_t*>(&_expiry));
    }
}

PluginWorker::~PluginWorker() = default;

void PluginWorker::start() {
    for (auto& p : _host.plugins()) {
        if (!p->lifecycle || !p->lifecycle->worker_start) continue;
        void* data = p->plugin_data;
        int rc = p->lifecycle->worker_start(p->plugin_data, static_cast<uint32_t>(_index), &data);
        if (rc < 0)
            throw PluginError(fmt::format("plugin '{}' ({}): worker_start({}) failed ({})", p->name,
                                          p->source, _index, rc));
        p->worker_data[_index] = data;
    }
    _started = true;
}

void PluginWorker::stop() {
    if (!_started) return;
    _started = false;
    auto& plugins = _host.plugins();
    for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
        LoadedPlugin& p = **it;
        if (p.lifecycle && p.lifecycle->worker_stop)
            p.lifecycle->worker_stop(p.plugin_data, _index, hook_data(p));
    }
}

void PluginWorker::close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&_expiry), nullptr);
    _timers.close_all();
    _inbox.close();
    _calls.close();  // completions of this worker's calls answer EGONE from now on
}

void PluginHost::reload(const Config& fresh) {
    if (fresh.plugins.size() != _plugins.size())
        log::warn(
            "SIGHUP: the config file now has {} [[plugin]] tables, {} are loaded; plugins are added or "
            "removed at the next start",
            fresh.plugins.size(), _plugins.size());
    for (auto& p : _plugins) {
        auto it = std::find_if(fresh.plugins.begin(), fresh.plugins.end(),
                               [&](const PluginConfig& pc) { return pc.name == p->name; });
        if (it == fresh.plugins.end()) {
            log::warn(
                "SIGHUP: plugin '{}' is no longer in the config file; it stays loaded until the next start",
                p->name);
            continue;
        }
        if (!p->lifecycle || !p->lifecycle->reload) continue;
        std::vector<roost_option> options = option_array(*it);
        if (p->check) {
            if (int rc = run_plugin_check(p->check, *it, options); rc < 0) {
                log::error("SIGHUP: plugin '{}' ({}) refused its new options ({}); it keeps the old ones",
                           p->name, it->source, return_code_text(rc));
                continue;
            }
        }
        int rc = p->lifecycle->reload(p->plugin_data, options.data(), options.size());
        if (rc < 0)
            log::error("SIGHUP: plugin '{}' ({}): reload failed ({}); it keeps its old options", p->name,
                       it->source, return_code_text(rc));
        else
            log::info("SIGHUP: plugin '{}' reloaded its options ({})", p->name, it->source);
    }
}

}  // namespace roost
