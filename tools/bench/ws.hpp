// --ws: MQTT over WebSocket (RFC 6455) on roost-bench's connections, client side. The upgrade
// request goes out first and the CONNECT waits for the 101; from then on the MQTT bytes the
// scenarios append to Conn::out are wrapped in masked binary frames at each flush, and the
// server's frames are unwrapped into Conn::in, so the scenarios never see WebSocket at all.
// Pings get pongs; a close frame ends the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Conn;

namespace ws {

// Per connection, inside Conn.
struct ConnWs {
    bool open = false;         // the 101 arrived
    size_t framed = 0;         // Conn::out up to here is wire bytes already (framed or the request)
    std::string held;          // MQTT bytes queued before the 101 (the CONNECT)
    std::vector<uint8_t> raw;  // bytes from the server not yet unwrapped
    uint32_t mask_seed = 0;
};

// start_connect: puts the upgrade request in c.out and moves what follows it (the CONNECT) to
// c.ws.held.
void begin(Conn& c, size_t mqtt_from, const std::string& host, int port, const std::string& path);
// flush: frames the MQTT bytes appended to c.out since the last flush.
void frame_out(Conn& c);
// on_readable: `n` bytes from the socket. Appends unwrapped MQTT bytes to c.in. Returns "" or
// why the connection must close.
std::string on_bytes(Conn& c, const uint8_t* data, size_t n);

}  // namespace ws
}  // namespace bench
