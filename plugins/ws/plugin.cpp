// The ws plugin's entry points: MQTT over WebSocket as a transport (`transport = "ws"` on a
// listener), built only against sdk/include. The work is in connection.cpp (one connection),
// frames.cpp (WebSocket frames on wslay), handshake.cpp and http_request.cpp (the upgrade),
// static_files.cpp (http_dir) and options.cpp ([plugin.options]).
#include <new>

#include "connection.hpp"
#include "options.hpp"
#include "roost/plugin.h"

namespace {
using roost_ws::Connection;
using roost_ws::Shared;

// The host's per-connection state is one pointer to our Connection.
Connection*& conn_of(void* state) {
    return *static_cast<Connection**>(state);
}

int ws_open(void* worker_data, roost_conn* conn, void* state) {
    auto* shared = static_cast<const Shared*>(worker_data);
    auto* c = new (std::nothrow) Connection(*shared, conn);
    if (!c) return ROOST_ENOMEM;
    conn_of(state) = c;
    return ROOST_OK;
}

// Each hook checks for its Connection: the ABI promises calls only between open() and close(),
// and a host that slips (a hook before open()) must not crash the broker.
int ws_decode(void* state, roost_conn*, roost_bytes wire) {
    Connection* c = conn_of(state);
    return c ? c->decode(wire) : ROOST_EINVAL;
}

int ws_encode(void* state, roost_conn*, roost_bytes mqtt) {
    Connection* c = conn_of(state);
    return c ? c->encode(mqtt) : ROOST_EINVAL;
}

int ws_encode_prefix(void* state, roost_conn*, size_t len, uint8_t* out, size_t cap) {
    Connection* c = conn_of(state);
    return c ? c->encode_prefix(len, out, cap) : ROOST_EINVAL;
}

int ws_flush(void* state, roost_conn*) {
    Connection* c = conn_of(state);
    return c ? c->flush() : ROOST_OK;
}

void ws_drained(void* state, roost_conn*) {
    if (Connection* c = conn_of(state)) c->drained();
}

void ws_close(void* state, roost_conn*) {
    delete conn_of(state);
    conn_of(state) = nullptr;
}
}  // namespace

extern "C" {

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    roost_ws::Options o;
    return roost_ws::read_options(host, self, options, option_count, &o);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    auto* shared = new (std::nothrow) Shared;
    if (!shared) return ROOST_ENOMEM;
    shared->host = host;
    shared->self = self;
    int rc = roost_ws::read_options(host, self, options, option_count, &shared->options);
    if (rc != ROOST_OK) {
        delete shared;
        return rc;
    }
    if (!shared->options.trusted_proxies.empty() && !ROOST_HAS(host, roost_host, conn_set_address))
        host->log(self, ROOST_LOG_WARNING,
                  "trusted_proxies is set but this broker cannot take a client's address from a transport "
                  "(no conn_set_address): clients keep the proxy's address");
    roost_transport_hooks hooks = {};
    hooks.struct_size = sizeof hooks;
    hooks.name = "ws";
    hooks.conn_state_size = sizeof(Connection*);
    hooks.open = ws_open;
    hooks.decode = ws_decode;
    hooks.encode = ws_encode;
    hooks.close = ws_close;
    hooks.flush = ws_flush;
    hooks.drained = ws_drained;
    hooks.encode_prefix = ws_encode_prefix;
    *plugin_data = shared;
    rc = host->hook_register(self, ROOST_HOOK_TRANSPORT, &hooks);
    if (rc != ROOST_OK) return rc;
    const roost_ws::Options& o = shared->options;
    host->log(self, ROOST_LOG_INFO, "MQTT over WebSocket on path %s%s%s (origins: %s%s)", o.path.c_str(),
              o.http_dir.empty() ? "" : ", static files from ", o.http_dir.c_str(),
              o.any_origin                ? "any"
              : o.allowed_origins.empty() ? "same host only"
                                          : "allowed_origins",
              o.trusted_proxies.empty() ? "" : "; forwarding headers from trusted_proxies");
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    delete static_cast<Shared*>(plugin_data);
}

}  // extern "C"
