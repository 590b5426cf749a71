// The roost_host function table: everything a plugin may ask of the broker.
#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "broker/worker_thread.hpp"
#include "mqtt/reason_codes.hpp"
#include "mqtt/topic.hpp"
#include "net/connection.hpp"
#include "plugin/host_functions.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// Each worker thread sets its index as it starts (worker 0 runs on the thread that loads the
// plugins); other threads are the plugins' own.
std::atomic<PluginHost*> g_host{nullptr};
// AnyThreadCalls in progress, and whether new ones are refused (host_functions.hpp). Sequentially
// consistent on purpose: a call counts itself, then reads g_stopping; the stop sets g_stopping,
// then reads the count. One of the two always sees the other.
std::atomic<int> g_any_thread_calls{0};
std::atomic<bool> g_stopping{false};  // for complete() and the ref functions, which name no plugin

// The worker whose thread calls, or nullptr off the workers.
PluginWorker* calling_worker(PluginHost* host) {
    const unsigned index = worker_thread::index();
    return index != worker_thread::kNone && host ? host->worker(index) : nullptr;
}

roost_bytes bytes_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string string_of(roost_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.len) : "";
}
}  // namespace

struct HostTable {
    static int hook_register(roost_plugin* self, roost_hook_kind kind, const void* hooks) {
        if (!self || !hooks) return ROOST_EINVAL;
        LoadedPlugin& p = *self->plugin;
        if (!p.initialising) {
            log::error("plugin '{}': hook_register called outside roost_plugin_init; ignored", p.name);
            return ROOST_EINVAL;
        }
        // Every table starts with struct_size and has at least one member after it: a size that
        // does not reach past the first member is garbage (or a table of nothing).
        uint32_t size = *static_cast<const uint32_t*>(hooks);
        if (size < offsetof(roost_acl_hooks, check) + sizeof(void*)) {
            log::error("plugin '{}': hook_register with struct_size {}, smaller than any hook table", p.name,
                       size);
            return ROOST_EINVAL;
        }
        // The host keeps its own copy, zeroed past what the plugin's header knew: a member an
        // older plugin lacks reads as NULL, and the plugin's table may be a local.
        auto set = [&](auto& slot, auto& table, const char* what) {
            if (slot) {
                log::error("plugin '{}': registered {} hooks twice", p.name, what);
                return ROOST_EINVAL;
            }
            using Table = std::remove_reference_t<decltype(table)>;
            table = Table{};
            std::memcpy(&table, hooks, std::min<size_t>(size, sizeof(Table)));
            table.struct_size = sizeof(Table);
            slot = &table;
            return ROOST_OK;
        };
        switch (kind) {
            case ROOST_HOOK_AUTH:
                return set(p.auth, p.auth_table, "auth");
            case ROOST_HOOK_ACL:
                return set(p.acl, p.acl_table, "acl");
            case ROOST_HOOK_MESSAGE:
                return set(p.message, p.message_table, "message");
            case ROOST_HOOK_PERSISTENCE:
                return set(p.persistence, p.persistence_table, "persistence");
            case ROOST_HOOK_LIFECYCLE:
                return set(p.lifecycle, p.lifecycle_table, "lifecycle");
            case ROOST_HOOK_TRANSPORT: {
                auto* t = static_cast<const roost_transport_hooks*>(hooks);
                if (size < offsetof(roost_transport_hooks, close) || !t->name || !*t->name || !t->decode ||
                    !t->encode) {
                    log::error("plugin '{}': transport hooks need a name, decode and encode", p.name);
                    return ROOST_EINVAL;
                }
                return set(p.transport, p.transport_table, "transport");
            }
        }
        log::error("plugin '{}': hook_register with unknown kind {}", p.name, kind);
        return ROOST_EINVAL;
    }

    static void log_line(roost_plugin* self, int level, const char* fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        plugin_log_v(self ? self->plugin->name.c_str() : "?", level, fmt, ap);
        va_end(ap);
    }

    static int complete(roost_call* call, roost_verdict verdict, uint8_t reason_code,
                        const roost_bytes* reply) {
        if (!call) return ROOST_EINVAL;
        host_v1::AnyThreadCall guard;
        PluginHost* host = guard.host();
        if (!host) return ROOST_EGONE;  // the broker stops: not the plugin's fault
        PluginWorker* worker = host->worker(PendingCalls::worker_of(call));
        if (!worker) return ROOST_EINVAL;
        return worker->calls().complete(call, verdict, reason_code, reply);
    }

    static int complete_many(roost_call* const* calls, size_t n, roost_verdict verdict, uint8_t reason_code,
                             int* results) {
        if (!calls && n) return ROOST_EINVAL;
        host_v1::AnyThreadCall guard;
        PluginHost* host = guard.host();
        if (!host) {
            if (results)
                for (size_t i = 0; i < n; ++i)
                    results[i] = ROOST_EGONE;
            return n ? ROOST_EGONE : ROOST_OK;
        }
        // Grouped by the worker each call's id names: one lock and one post per worker, however
        // many calls. A batch from one worker (the common case) is passed through as it is.
        unsigned first = n ? PendingCalls::worker_of(calls[0]) : 0;
        bool one_worker = true;
        for (size_t i = 1; i < n && one_worker; ++i)
            one_worker = PendingCalls::worker_of(calls[i]) == first;
        if (one_worker) {
            PluginWorker* w = host->worker(first);
            if (!w) return ROOST_EINVAL;
            return w->calls().complete_many(calls, n, verdict, reason_code, results);
        }
        std::vector<std::vector<size_t>> by_worker(PendingCalls::kMaxWorkers);
        for (size_t i = 0; i < n; ++i)
            by_worker[PendingCalls::worker_of(calls[i])].push_back(i);
        int rc = ROOST_OK;
        std::vector<roost_call*> group;
        std::vector<int> group_results;
        for (unsigned w = 0; w < by_worker.size(); ++w) {
            if (by_worker[w].empty()) continue;
            group.clear();
            for (size_t i : by_worker[w])
                group.push_back(calls[i]);
            group_results.assign(group.size(), ROOST_EINVAL);
            PluginWorker* worker = host->worker(w);
            int grc = worker ? worker->calls().complete_many(group.data(), group.size(), verdict, reason_code,
                                                             group_results.data())
                             : ROOST_EINVAL;
            if (rc == ROOST_OK) rc = grc;
            if (results)
                for (size_t k = 0; k < group.size(); ++k)
                    results[by_worker[w][k]] = group_results[k];
        }
        return rc;
    }

    // post and publish are any-thread calls: a plugin's own thread may make them from its init
    // to its cleanup. The guard refuses them (EGONE) once the workers are being freed; before
    // a worker exists (the plugin's init, or its thread racing the start) they answer EGONE too.
    static int post(roost_plugin* self, uint32_t worker, void (*fn)(void*), void* arg) {
        if (!self || !fn) return ROOST_EINVAL;
        host_v1::AnyThreadCall guard;
        PluginHost* host = guard.host();
        if (!host) return ROOST_EGONE;  // the broker stops: not the plugin's fault
        if (worker >= host->worker_count()) return ROOST_EINVAL;
        PluginWorker* w = host->worker(worker);
        if (!w) return ROOST_EGONE;  // not made yet: the broker is starting
        return w->inbox().post([fn, arg] { fn(arg); }) ? ROOST_OK : ROOST_EGONE;
    }

    static int publish(roost_plugin* self, roost_bytes topic, roost_bytes payload, uint8_t qos,
                       uint8_t retain) {
        if (!self || qos > 2) return ROOST_EINVAL;
        std::string t = string_of(topic);
        if (!mqtt::valid_topic_name(t)) return ROOST_EINVAL;
        auto m = std::make_shared<Message>();
        m->topic = std::move(t);
        m->payload = string_of(payload);
        m->qos = qos;
        m->retain = retain != 0;
        host_v1::AnyThreadCall guard;
        PluginHost* host = guard.host();
        if (!host) return ROOST_EGONE;  // the broker stops
        // Routed from the calling worker, or from worker 0 when a thread of the plugin's calls.
        PluginWorker* w = calling_worker(host);
        if (!w) w = host->worker(0);
        if (!w) return ROOST_EGONE;
        bool posted = w->inbox().post([w, m]() mutable {
            if (w->broker()) w->broker()->publish_from_plugin(std::move(m));
        });
        return posted ? ROOST_OK : ROOST_EGONE;
    }

    static int client_info(const roost_client* c, roost_client_field field, roost_bytes* out) {
        if (!c || !out) return ROOST_EINVAL;
        const Client& client = *c->client;
        switch (field) {
            case ROOST_CLIENT_ID:
                *out = bytes_of(client.client_id());
                return ROOST_OK;
            case ROOST_CLIENT_USERNAME:
                if (!client.username()) return ROOST_EGONE;
                *out = bytes_of(*client.username());
                return ROOST_OK;
            case ROOST_CLIENT_ADDRESS:
                *out = bytes_of(client.address());
                return ROOST_OK;
            case ROOST_CLIENT_LISTENER:
                if (!client.connection()) return ROOST_EGONE;
                *out = bytes_of(client.connection()->listener_address());
                return ROOST_OK;
            case ROOST_CLIENT_TRANSPORT: {
                const char* name = client.connection() ? client.connection()->transport_name() : "tcp";
                *out = {reinterpret_cast<const uint8_t*>(name), std::strlen(name)};
                return ROOST_OK;
            }
        }
        return ROOST_EINVAL;
    }

    static int client_protocol(const roost_client* c) {
        if (!c) return ROOST_EINVAL;
        return static_cast<int>(c->client->version());
    }

    static int client_attribute(const roost_client* c, const char* name, roost_bytes* out) {
        if (!c || !name || !out) return ROOST_EINVAL;
        const net::Connection* conn = c->client->connection();
        const std::string* value = conn ? conn->attribute(name) : nullptr;
        if (!value) return ROOST_EGONE;
        *out = bytes_of(*value);
        return ROOST_OK;
    }

    static int disconnect(roost_client* c, uint8_t reason_code) {
        if (!c) return ROOST_EINVAL;
        if (c->client->closing()) return ROOST_EGONE;
        host_v1::disconnect_for_plugin(*c->client, reason_code);
        return ROOST_OK;
    }

    static int conn_deliver(roost_conn* conn, roost_bytes mqtt) {
        if (!conn) return ROOST_EINVAL;
        conn->connection->deliver_up({mqtt.data, mqtt.len});
        return ROOST_OK;
    }

    static int conn_send(roost_conn* conn, roost_bytes wire) {
        if (!conn) return ROOST_EINVAL;
        conn->connection->write_wire({wire.data, wire.len});
        return ROOST_OK;
    }

    static int conn_set_attribute(roost_conn* conn, const char* name, roost_bytes value) {
        if (!conn || !name) return ROOST_EINVAL;
        conn->connection->set_attribute(name, string_of(value));
        return ROOST_OK;
    }

    static int conn_close(roost_conn* conn) {
        if (!conn) return ROOST_EINVAL;
        conn->connection->close_after_flush("closed by its transport");
        return ROOST_OK;
    }

    static int timer_start(roost_plugin* self, uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void*),
                           void* arg, roost_timer* out) {
        // Timers run on a worker's loop: from a worker thread, not from init (which runs on the
        // thread that becomes worker 0, but is not a worker yet).
        if (!self || self->plugin->initialising) return ROOST_EINVAL;
        PluginWorker* w = calling_worker(self->plugin->host);
        if (!w) return ROOST_EINVAL;
        return w->timers().start(delay_ms, repeat_ms, fn, arg, out);
    }

    static uint32_t worker_index() { return worker_thread::index(); }  // kNone is (uint32_t)-1
    static uint32_t worker_count() {
        PluginHost* host = g_host.load();
        return host ? host->worker_count() : 1;
    }

    static const char* strerror(int code) { return host_strerror(code); }
};

void plugin_log_v(const char* plugin, int level, const char* fmt, va_list ap) {
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt ? fmt : "", ap);
    LogLevel l = level <= ROOST_LOG_ERROR     ? LogLevel::Error
                 : level == ROOST_LOG_WARNING ? LogLevel::Warning
                 : level == ROOST_LOG_INFO    ? LogLevel::Info
                                              : LogLevel::Debug;
    if (l > log::level()) return;
    log::write(l, fmt::format("plugin '{}': {}", plugin, buf));
}

const char* host_strerror(int code) {
    switch (code) {
        case ROOST_OK:
            return "ok";
        case ROOST_EINVAL:
            return "invalid argument";
        case ROOST_ENOMEM:
            return "out of memory";
        case ROOST_EGONE:
            // Also what client_info and client_attribute answer for a fact the client lacks: a
            // plugin that logs strerror() for it must not read "the client is gone".
            return "gone or absent (the client, connection, timer or call is gone, the workers do not run, "
                   "or "
                   "the client has no such attribute or user name)";
        case ROOST_ENOTSUP:
            return "not supported";
    }
    return "unknown error";
}

const roost_host* PluginHost::host_table() {
    static const roost_host table = {
        sizeof(roost_host),
        ROOST_ABI_V1,
        ROOST_VERSION,
        HostTable::hook_register,
        HostTable::log_line,
        HostTable::complete,
        HostTable::post,
        HostTable::publish,
        HostTable::client_info,
        HostTable::client_protocol,
        HostTable::client_attribute,
        HostTable::disconnect,
        HostTable::conn_deliver,
        HostTable::conn_send,
        HostTable::conn_set_attribute,
        HostTable::conn_close,
        HostTable::timer_start,
        HostTable::worker_index,
        HostTable::worker_count,
        HostTable::strerror,
        host_v1::timer_stop,
        host_v1::conn_timer_start,
        host_v1::conn_backlog,
        host_v1::conn_pause_reading,
        host_v1::conn_resume_reading,
        host_v1::conn_info,
        host_v1::client_data_set,
        host_v1::client_data_get,
        host_v1::client_ref,
        host_v1::client_from_ref,
        host_v1::client_ref_disconnect,
        HostTable::complete_many,
        host_v1::conn_set_address,
        host_v1::acl_cache_clear,
    };
    return &table;
}

void register_global_host(PluginHost* host) {
    g_host = host;
    if (host) g_stopping = false;  // a new broker in the same process (the unit tests make several)
}

namespace host_v1 {
PluginHost* global_host() {
    return g_host.load();
}

AnyThreadCall::AnyThreadCall() {
    g_any_thread_calls.fetch_add(1);
    if (g_stopping.load()) return;
    PluginHost* host = g_host.load();
    if (host && !host->closing()) _host = host;
}

AnyThreadCall::~AnyThreadCall() {
    g_any_thread_calls.fetch_sub(1);
}

void stop_any_thread_calls() {
    g_stopping.store(true);
    while (g_any_thread_calls.load() != 0)
        std::this_thread::yield();
}
PluginWorker* current_worker() {
    return calling_worker(g_host.load());
}
bool on_worker(uint32_t worker) {
    const unsigned index = worker_thread::index();
    return index != worker_thread::kNone && index == worker;
}
void disconnect_for_plugin(Client& client, uint8_t reason_code, std::string_view how) {
    auto reason = static_cast<mqtt::ReasonCode>(reason_code);
    client.disconnect(reason, fmt::format("disconnected by a plugin (0x{:02x} {}{})", reason_code,
                                          mqtt::reason_name(reason), how));
}
}  // namespace host_v1

void set_current_worker(unsigned index) {
    worker_thread::set(index);
}

}  // namespace roost
