#include "ws.hpp"

#include <algorithm>
#include <cstring>

#include "net.hpp"

namespace bench::ws {
namespace {

uint32_t next_mask(ConnWs& w) {
    // xorshift32: masks need not be secret here, only present (RFC 6455 5.3).
    uint32_t x = w.mask_seed ? w.mask_seed : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    w.mask_seed = x;
    return x;
}

// The header of a masked frame of `opcode` carrying `len` bytes, with the mask key `key`.
size_t frame_header(char* header, uint8_t opcode, size_t len, const uint8_t key[4]) {
    size_t h = 0;
    header[h++] = static_cast<char>(0x80 | opcode);
    if (len < 126) {
        header[h++] = static_cast<char>(0x80 | len);
    } else if (len <= 0xffff) {
        header[h++] = static_cast<char>(0x80 | 126);
        header[h++] = static_cast<char>(len >> 8);
        header[h++] = static_cast<char>(len);
    } else {
        header[h++] = static_cast<char>(0x80 | 127);
        for (int s = 56; s >= 0; s -= 8)
            header[h++] = static_cast<char>(static_cast<uint64_t>(len) >> s);
    }
    std::memcpy(header + h, key, 4);
    return h + 4;
}

void mask(char* p, size_t len, const uint8_t key[4]) {
    // Four bytes at a time: the frames of a busy connection are large.
    uint32_t k;
    std::memcpy(&k, key, 4);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t w;
        std::memcpy(&w, p + i, 4);
        w ^= k;
        std::memcpy(p + i, &w, 4);
    }
    for (; i < len; i++)
        p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

// Appends one masked frame of `opcode` carrying `payload` to `out`.
void append_frame(std::string& out, ConnWs& w, uint8_t opcode, const char* payload, size_t len) {
    uint32_t m = next_mask(w);
    uint8_t key[4];
    std::memcpy(key, &m, 4);
    char header[14];
    size_t h = frame_header(header, opcode, len, key);
    size_t at = out.size();
    out.append(header, h);
    out.append(payload, len);
    mask(out.data() + at + h, len, key);
}

}  // namespace

void begin(Conn& c, size_t mqtt_from, const std::string& host, int port, const std::string& path) {
    c.ws = ConnWs{};
    c.ws.mask_seed = static_cast<uint32_t>(c.index * 2654435761u + 1);
    c.ws.held = c.out.substr(mqtt_from);
    c.out.resize(mqtt_from);
    // A fixed key is fine: the server only checks its form (base64 of 16 bytes).
    c.out +=
        "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
    c.ws.framed = c.out.size();
}

void frame_out(Conn& c) {
    if (!c.ws.open || c.out.size() <= c.ws.framed) return;
    // In place: the header goes in front of the MQTT bytes, which are masked where they are.
    const size_t len = c.out.size() - c.ws.framed;
    uint32_t m = next_mask(c.ws);
    uint8_t key[4];
    std::memcpy(key, &m, 4);
    char header[14];
    size_t h = frame_header(header, 0x2, len, key);
    c.out.insert(c.ws.framed, header, h);
    mask(c.out.data() + c.ws.framed + h, len, key);
    c.ws.framed = c.out.size();
}

std::string on_bytes(Conn& c, const uint8_t* data, size_t n) {
    ConnWs& w = c.ws;
    w.raw.insert(w.raw.end(), data, data + n);
    size_t off = 0;
    if (!w.open) {
        static const char kEnd[] = "\r\n\r\n";
        auto it = std::search(w.raw.begin(), w.raw.end(), kEnd, kEnd + 4);
        if (it == w.raw.end()) return w.raw.size() > 16384 ? "no end of the HTTP response in 16 KiB" : "";
        std::string head(w.raw.begin(), it);
        if (head.rfind("HTTP/1.1 101", 0) != 0)
            return "WebSocket upgrade refused: " + head.substr(0, head.find('\r'));
        off = static_cast<size_t>(it - w.raw.begin()) + 4;
        w.open = true;
        // The CONNECT held back until now, framed right away.
        frame_out(c);
        c.out += w.held;
        w.held.clear();
        frame_out(c);
    }
    for (;;) {
        size_t avail = w.raw.size() - off;
        if (avail < 2) break;
        const uint8_t* p = w.raw.data() + off;
        uint8_t opcode = p[0] & 0x0f;
        if (p[1] & 0x80) return "a masked frame from the server";
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t{p[2]} << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 2; i < 10; i++)
                len = (len << 8) | p[i];
            h = 10;
        }
        if (avail - h < len) break;
        const char* payload = reinterpret_cast<const char*>(p + h);
        switch (opcode) {
            case 0x0:
            case 0x2:
                c.in.insert(c.in.end(), p + h, p + h + len);
                break;
            case 0x8:
                return "WebSocket close frame from the server";
            case 0x9:
                frame_out(c);
                append_frame(c.out, w, 0xA, payload, static_cast<size_t>(len));
                w.framed = c.out.size();
                break;
            case 0xA:
                break;
            default:
                return "unexpected WebSocket opcode " + std::to_string(opcode);
        }
        off += h + static_cast<size_t>(len);
    }
    w.raw.erase(w.raw.begin(), w.raw.begin() + static_cast<ptrdiff_t>(off));
    return "";
}

}  // namespace bench::ws
