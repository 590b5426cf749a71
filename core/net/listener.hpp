// A TCP listener on one address. Accepted sockets become Connections handed to `on_accept`.
// Owned by its worker; close() before the loop ends, destroy after.
#pragma once
#include <uv.h>

#include <functional>
#include <string>

#include "config/config.hpp"
#include "net/connection.hpp"

namespace roost::net {

class Listener {
  public:
    using AcceptFn = std::function<void(Connection*)>;

    Listener(uv_loop_t* loop, FlushQueue& flush_queue, ListenerConfig config, AcceptFn on_accept);
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Binds and listens; on failure returns a message naming the address and the cause.
    std::string start();
    void close();

    // "127.0.0.1:1883"; after start() with port 0, the port the kernel chose.
    std::string address() const;

  private:
    static void on_connection(uv_stream_t* server, int status);

    uv_loop_t* _loop;
    FlushQueue& _flush_queue;
    ListenerConfig _config;
    AcceptFn _on_accept;
    uv_tcp_t _tcp{};
    bool _open = false;
};

}  // namespace roost::net
