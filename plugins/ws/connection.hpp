// One connection on a WebSocket listener, from its first byte to its close: the HTTP request
// head, then either the WebSocket (MQTT bytes up and down through Frames), a static file, or an
// HTTP error. It talks to the broker only through the host table (sdk/include/roost/plugin.h).
//
// Lifetime and threads: created by the transport's open() and deleted by its close(), both on
// the connection's worker; every call on it comes from that worker (transport hooks and the
// connection's timers, which the host stops before close()). Shared is read-only after init.
#pragma once
#include <memory>
#include <string>

#include "frames.hpp"
#include "http_request.hpp"
#include "options.hpp"
#include "roost/plugin.h"

namespace roost_ws {

// What every connection of the plugin shares: written once in roost_plugin_init.
struct Shared {
    const roost_host* host = nullptr;
    roost_plugin* self = nullptr;
    Options options;
};

class Connection final : public FrameSink {
  public:
    Connection(const Shared& shared, roost_conn* conn);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int decode(roost_bytes wire);
    int encode(roost_bytes mqtt);
    // The frame header for a packet the host sends by reference (encode_prefix hook), or -1.
    int encode_prefix(size_t len, uint8_t* out, size_t cap);
    int flush();
    void drained();

  private:
    enum class Phase { request, websocket, file, done };

    void deliver(const uint8_t* data, size_t len) override;
    void send(const uint8_t* data, size_t len) override;

    void on_request(const HttpRequest& request, const std::string& rest);
    void upgrade(const HttpRequest& request, const std::string& protocol, const std::string& response);
    void set_attributes(const HttpRequest& request, const std::string& protocol);
    void serve_file(const HttpRequest& request);
    void send_file_chunks();
    void refuse(int status, const std::string& reason, const std::string& response,
                const HttpRequest* request);
    void after_frames();  // closes once the close handshake is done, or after close_timeout
    void check_backlog();
    void finish();  // conn_close: written out, then closed
    void send_text(const std::string& s) { send(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
    static void on_close_timeout(void* arg);
    static void on_ping(void* arg);

    const Shared& _shared;
    const roost_host* _host;
    roost_conn* _conn;
    std::string _peer;  // the socket's peer, for the log
    Phase _phase = Phase::request;
    std::string _head;         // the request head as it arrives
    size_t _head_scanned = 0;  // how much of _head the parser has searched for its end
    std::unique_ptr<Frames> _frames;
    bool _paused = false;
    bool _close_timer = false;
    int _fd = -1;             // the static file being sent
    uint64_t _file_left = 0;  // its bytes not yet sent
};

}  // namespace roost_ws
