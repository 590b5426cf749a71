// A raw WebSocket client for the ws plugin's tests, written from RFC 6455 and sharing nothing
// with the plugin: it sends any bytes (a proper upgrade, garbage, unmasked or oversize frames)
// and reads back the HTTP response and the server's frames, every wait bounded.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace roost_ws_test {

using roost_it::Bytes;
using roost_it::Millis;
using namespace std::chrono_literals;

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;                            // what came after the head (Content-Length of it)
};

struct Frame {
    bool fin = true;
    uint8_t opcode = 0;
    Bytes payload;
    // A close frame's status code (0 when it has none).
    uint16_t close_code() const;
};

class WsClient {
  public:
    // A non-zero receive_buffer sets SO_RCVBUF (before connect, so the window starts small).
    explicit WsClient(uint16_t port, int receive_buffer = 0);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    bool send_raw(const Bytes& bytes);
    // GET `path` with the headers a browser sends for an upgrade, plus/overriding `extra`
    // ("" as a value leaves that header out); reads the response head (and body for errors).
    std::optional<HttpResponse> upgrade(const std::string& path = "/mqtt",
                                        std::map<std::string, std::string> extra = {});
    std::optional<HttpResponse> read_response(Millis timeout = 3s);
    // A frame; masked as a client must unless `masked` is false.
    bool send_frame(uint8_t opcode, const Bytes& payload, bool fin = true, bool masked = true);
    // A frame header claiming `length` payload bytes, without the payload.
    bool send_frame_header(uint8_t opcode, uint64_t length, bool fin = true);
    std::optional<Frame> read_frame(Millis timeout = 3s);
    // The next control frame; binary frames before it are kept for read_mqtt.
    std::optional<Frame> read_control(Millis timeout = 3s);
    // MQTT over the WebSocket: a packet in one binary frame; the next whole MQTT packet from the
    // server's binary frames (control frames are skipped, a close frame ends it).
    bool send_mqtt(const Bytes& packet) { return send_frame(0x2, packet); }
    std::optional<roost_it::Packet> read_mqtt(Millis timeout = 3s);
    std::optional<roost_it::Packet> read_mqtt_until(uint8_t type, Millis timeout = 3s);
    // The close frame the server sent (other frames are skipped), or nullopt.
    std::optional<Frame> read_close(Millis timeout = 3s);
    // True once the server closed the TCP connection within the timeout.
    bool wait_eof(Millis timeout = 3s);
    int fd() const { return _fd; }

  private:
    bool fill(Millis timeout);
    int _fd = -1;
    Bytes _buf;   // received, not yet consumed
    Bytes _mqtt;  // binary payload not yet returned as packets
    bool _eof = false;
};

}  // namespace roost_ws_test
