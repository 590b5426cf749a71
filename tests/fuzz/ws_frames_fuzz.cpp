// The ws plugin's frame path: client bytes fed to Frames (its own data-frame parser, wslay for
// control frames) in pseudo-random chunks, the first bytes choosing the limits. Invariants: what
// comes up is exactly what a naive whole-input parser (below: one frame at a time, unmasking a
// byte at a time) says the binary messages carry, however the input was cut; nothing comes up
// once a close frame was sent; what goes down is a sequence of well-formed, unmasked server
// frames (control frames of at most 125 bytes, a close frame last); and our own binary frames
// read back as what we framed.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frames.hpp"

using namespace roost_ws;

namespace {

struct Sink : FrameSink {
    std::string up, down;
    bool closed_then_delivered = false;
    Frames* frames = nullptr;
    void deliver(const uint8_t* d, size_t n) override {
        if (frames && frames->close_sent()) closed_then_delivered = true;
        up.append(reinterpret_cast<const char*>(d), n);
    }
    void send(const uint8_t* d, size_t n) override { down.append(reinterpret_cast<const char*>(d), n); }
};

// Checks `wire` is whole server frames; returns the concatenated binary payloads.
std::string parse_server_frames(const std::string& wire) {
    std::string payloads;
    size_t pos = 0;
    bool closed = false;
    while (pos < wire.size()) {
        if (closed) std::abort();  // nothing after our close frame
        if (wire.size() - pos < 2) std::abort();
        uint8_t b0 = static_cast<uint8_t>(wire[pos]), b1 = static_cast<uint8_t>(wire[pos + 1]);
        if (b1 & 0x80) std::abort();  // a server never masks
        if (b0 & 0x70) std::abort();  // no reserved bits
        uint8_t opcode = b0 & 0x0f;
        uint64_t len = b1 & 0x7f;
        size_t header = 2;
        if (len == 126) {
            if (wire.size() - pos < 4) std::abort();
            len = (uint64_t{static_cast<uint8_t>(wire[pos + 2])} << 8) | static_cast<uint8_t>(wire[pos + 3]);
            header = 4;
        } else if (len == 127) {
            if (wire.size() - pos < 10) std::abort();
            len = 0;
            for (size_t i = 2; i < 10; i++)
                len = (len << 8) | static_cast<uint8_t>(wire[pos + i]);
            header = 10;
        }
        if ((opcode & 0x8) && (len > 125 || !(b0 & 0x80))) std::abort();
        if (wire.size() - pos - header < len) std::abort();
        if (opcode == 0x2) payloads.append(wire, pos + header, len);
        if (opcode == 0x8) closed = true;
        pos += header + len;
    }
    return payloads;
}

// The reference: the payload bytes Frames must deliver for the whole `in`, by the rules in
// frames.hpp, written for clarity rather than speed. Stops where reading stops (a protocol
// error, a frame over max_frame, a close frame) or where the input ends.
std::string reference_up(const uint8_t* in, size_t size, size_t max_frame, size_t max_message) {
    std::string up;
    size_t pos = 0;
    bool in_message = false, rejected = false;
    uint64_t message_bytes = 0;
    while (size - pos >= 2) {
        uint8_t b0 = in[pos], b1 = in[pos + 1], opcode = b0 & 0x0f;
        bool fin = b0 & 0x80, control = opcode & 0x8;
        if (control && (!fin || (b1 & 0x7f) > 125)) break;
        if ((b0 & 0x70) || !(b1 & 0x80)) break;
        if (opcode != 0 && opcode != 1 && opcode != 2 && opcode != 8 && opcode != 9 && opcode != 10) break;
        size_t ext = (b1 & 0x7f) == 126 ? 2 : (b1 & 0x7f) == 127 ? 8 : 0;
        if (size - pos < 2 + ext + 4) break;
        uint64_t len = b1 & 0x7f;
        if (ext) {
            len = 0;
            for (size_t i = 0; i < ext; i++)
                len = (len << 8) | in[pos + 2 + i];
            if ((ext == 2 && len < 126) || (ext == 8 && (len <= 0xffff || (len >> 63)))) break;
        }
        const uint8_t* mask = in + pos + 2 + ext;
        pos += 2 + ext + 4;
        size_t avail = static_cast<size_t>(std::min<uint64_t>(len, size - pos));
        if (control) {
            if (opcode == 8) break;  // the close handshake: nothing after it is read
            pos += avail;
            continue;
        }
        if ((opcode == 0) != in_message) break;
        if (len > max_frame) break;
        in_message = !fin;
        if (!rejected && opcode == 1) rejected = true;
        if (!rejected) {
            if (opcode != 0) message_bytes = 0;
            message_bytes += len;
            if (message_bytes > max_message) rejected = true;
        }
        if (!rejected)
            for (size_t i = 0; i < avail; i++)
                up += static_cast<char>(in[pos + i] ^ mask[i % 4]);
        pos += avail;
    }
    return up;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    uint32_t seed = data[0] | (uint32_t{data[1]} << 8);
    size_t max_frame = 16 + (data[0] % 8) * 512;
    size_t max_message = max_frame * (1 + data[1] % 4);
    size_t max_chunk = data[1] & 4 ? 70000 : 200;  // small pieces, or most of the input at once
    data += 2;
    size -= 2;

    Sink sink;
    Frames frames(sink, max_frame, max_message);
    sink.frames = &frames;
    if (!frames.ok()) return 0;
    std::string ours;  // binary payloads we send, interleaved with the input
    size_t pos = 0;
    while (pos < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 8) % max_chunk;
        if (n > size - pos) n = size - pos;
        frames.feed(data + pos, n);
        if (!frames.close_sent()) {
            std::string msg(n % 300, static_cast<char>(seed));
            frames.send_binary(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
            ours += msg;
        }
        pos += n;
    }
    if (sink.closed_then_delivered) std::abort();
    if (sink.up.size() > size) std::abort();
    if (sink.up != reference_up(data, size, max_frame, max_message)) std::abort();
    if (parse_server_frames(sink.down) != ours) std::abort();
    return 0;
}
