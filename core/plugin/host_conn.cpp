// Host functions for transports (a connection's timers, backlog, reading, facts) and
// timer_stop. Each is for the connection's (the timer's) worker thread.
#include <cstring>

#include "net/connection.hpp"
#include "plugin/host_functions.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost::host_v1 {
namespace {
roost_bytes bytes_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

int timer_stop(roost_timer timer) {
    if (timer == 0) return ROOST_EGONE;
    if (!on_worker(HostTimers::worker_of(timer))) return ROOST_EINVAL;
    PluginWorker* w = current_worker();
    return w ? w->timers().stop(timer) : ROOST_EGONE;
}

int conn_timer_start(roost_conn* conn, uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void*), void* arg,
                     roost_timer* timer) {
    PluginWorker* w = current_worker();
    if (!w || !conn) return ROOST_EINVAL;
    net::TransportFilter* transport = conn->connection->transport();
    if (!transport || conn->connection->closing()) return ROOST_EGONE;
    roost_timer id = 0;
    int rc = w->timers().start(delay_ms, repeat_ms, fn, arg, &id);
    if (rc != ROOST_OK) return rc;
    // Stopped before the transport's close(), whatever closes the connection (on its worker).
    transport->on_close([w, id] { w->timers().stop(id); });
    if (timer) *timer = id;
    return ROOST_OK;
}

size_t conn_backlog(const roost_conn* conn) {
    return conn ? conn->connection->backlog() : 0;
}

int conn_pause_reading(roost_conn* conn) {
    if (!conn) return ROOST_EINVAL;
    if (conn->connection->closing()) return ROOST_EGONE;
    conn->connection->pause_reading(net::Connection::kPauseTransport);
    return ROOST_OK;
}

int conn_resume_reading(roost_conn* conn) {
    if (!conn) return ROOST_EINVAL;
    if (conn->connection->closing()) return ROOST_EGONE;
    conn->connection->resume_reading(net::Connection::kPauseTransport);
    return ROOST_OK;
}

int conn_info(const roost_conn* conn, roost_client_field field, roost_bytes* out) {
    if (!conn || !out) return ROOST_EINVAL;
    const net::Connection& c = *conn->connection;
    switch (field) {
        case ROOST_CLIENT_ADDRESS:
            *out = bytes_of(c.peer());
            return ROOST_OK;
        case ROOST_CLIENT_LISTENER:
            *out = bytes_of(c.listener_address());
            return ROOST_OK;
        case ROOST_CLIENT_TRANSPORT: {
            const char* name = c.transport_name();
            *out = {reinterpret_cast<const uint8_t*>(name), std::strlen(name)};
            return ROOST_OK;
        }
    }
    return ROOST_EINVAL;
}

int conn_set_address(roost_conn* conn, roost_bytes address) {
    constexpr size_t kMaxAddress = 255;
    if (!conn || !address.data || address.len == 0 || address.len > kMaxAddress) return ROOST_EINVAL;
    net::Connection& c = *conn->connection;
    if (c.closing()) return ROOST_EGONE;
    std::string text(reinterpret_cast<const char*>(address.data), address.len);
    log::debug("connection from {}: its transport '{}' says the client is {}", c.peer(), c.transport_name(),
               text);
    c.set_peer(std::move(text));
    return ROOST_OK;
}

}  // namespace roost::host_v1
