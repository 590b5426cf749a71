#include "net/listener.hpp"

#include "net/address.hpp"
#include "util/log.hpp"

namespace roost::net {

Listener::Listener(uv_loop_t* loop, FlushQueue& flush_queue, ListenerConfig config, AcceptFn on_accept)
    : _loop(loop), _flush_queue(flush_queue), _config(std::move(config)), _on_accept(std::move(on_accept)) {}

std::string Listener::start() {
    sockaddr_storage addr{};
    std::string where = _config.bind + ":" + std::to_string(_config.port);
    if (uv_ip4_addr(_config.bind.c_str(), _config.port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
        uv_ip6_addr(_config.bind.c_str(), _config.port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
        return "listener " + where + ": '" + _config.bind + "' is not an IPv4 or IPv6 address";
    }
    uv_tcp_init(_loop, &_tcp);
    _tcp.data = this;
    _open = true;
    int rc = uv_tcp_bind(&_tcp, reinterpret_cast<sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&_tcp), 1024, on_connection);
    if (rc != 0) {
        std::string hint;
        if (rc == UV_EADDRINUSE)
            hint = " (another process uses this port: `ss -ltnp 'sport = :" + std::to_string(_config.port) +
                   "'` names it; or change the [[listener]] port, or use --listen or -p)";
        else if (rc == UV_EACCES && _config.port < 1024)
            hint =
                " (ports below 1024 need root or CAP_NET_BIND_SERVICE: `setcap "
                "cap_net_bind_service=+ep` on the roost binary, or use a port above 1023)";
        else if (rc == UV_EADDRNOTAVAIL)
            hint = " (no interface of this machine has the address '" + _config.bind + "')";
        return "listener " + where + " (" + _config.source + "): cannot listen: " + uv_strerror(rc) + hint;
    }
    return {};
}

void Listener::close() {
    if (!_open) return;
    _open = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&_tcp), nullptr);
}

std::string Listener::address() const {
    sockaddr_storage addr{};
    int len = sizeof addr;
    if (uv_tcp_getsockname(&_tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return _config.bind + ":" + std::to_string(_config.port);
    return format_address(addr);
}

void Listener::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<Listener*>(server->data);
    if (status < 0) {
        log::warn("listener {}: accept failed: {}", self->address(), uv_strerror(status));
        return;
    }
    auto* conn = new Connection(self->_loop, self->_flush_queue);
    if (int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(conn->handle())); rc != 0) {
        log::warn("listener {}: accept failed: {}", self->address(), uv_strerror(rc));
        conn->close("accept failed");  // deleted in its close callback; no handler yet
        return;
    }
    conn->accepted();
    // Counted from accept, whatever worker the connection goes to, and refused at once when
    // over a limit: closing costs less than a connection that holds an fd until its CONNECT
    // times out (issue 12, item 7).
    const NetLimits& l = limits();
    const NetCounts n = counts();
    const char* over = nullptr;
    uint32_t limit = 0;
    if (l.max_connections != 0 && n.open > l.max_connections) {
        over = "max_connections";
        limit = l.max_connections;
    } else if (l.max_pending_connects != 0 && n.pending > l.max_pending_connects) {
        over = "max_pending_connects";
        limit = l.max_pending_connects;
    } else if (l.max_connections_per_address != 0 &&
               Connection::connections_from(conn->peer_ip()) > l.max_connections_per_address) {
        over = "max_connections_per_address";
        limit = l.max_connections_per_address;
    }
    if (over) {
        log::limit(over, "listener {}: connection from {} closed: over [limits] {} = {}", self->address(),
                   conn->peer(), over, limit);
        conn->close(std::string("over [limits] ") + over);
        return;
    }
    conn->set_listener_address(self->address());  // ROOST_CLIENT_LISTENER, before a transport opens
    self->_on_accept(conn);
}

}  // namespace roost::net
