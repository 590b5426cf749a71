// The ws plugin's frame path: client bytes fed to Frames (wslay underneath) in pseudo-random
// chunks, the first byte choosing the limits. Invariants: no more payload comes up than went in;
// nothing comes up once a close frame was sent; what goes down is a sequence of well-formed,
// unmasked server frames (control frames of at most 125 bytes, a close frame last); and our own
// binary frames read back as what we framed.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    uint32_t seed = data[0] | (uint32_t{data[1]} << 8);
    size_t max_frame = 16 + (data[0] % 8) * 512;
    size_t max_message = max_frame * (1 + data[1] % 4);
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
        size_t n = 1 + (seed >> 16) % 200;
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
    if (parse_server_frames(sink.down) != ours) std::abort();
    return 0;
}
