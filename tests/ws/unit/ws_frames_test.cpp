// The ws plugin's frame path without the broker: word-wise unmasking against the byte-wise
// definition, data frames delivered whole however the bytes are cut, and each refusal's close
// code (the integration tests check the same codes over a socket; these check the cases that
// are awkward to send from a client: a frame split at every byte, lengths not in their shortest
// form, continuation rules).
#include <doctest/doctest.h>

#include <string>

#include "frames.hpp"
#include "unmask.hpp"

using namespace roost_ws;

namespace {

struct Sink : FrameSink {
    std::string up, down;
    size_t delivers = 0;
    void deliver(const uint8_t* d, size_t n) override {
        up.append(reinterpret_cast<const char*>(d), n);
        delivers++;
    }
    void send(const uint8_t* d, size_t n) override { down.append(reinterpret_cast<const char*>(d), n); }
};

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame: masked with kKey unless `masked` is false; `len_bytes` forces the length form.
std::string client_frame(uint8_t first, const std::string& payload, bool masked = true, int len_bytes = -1) {
    std::string f(1, static_cast<char>(first));
    uint64_t n = payload.size();
    int form = len_bytes >= 0 ? len_bytes : n < 126 ? 0 : n <= 0xffff ? 2 : 8;
    uint8_t mask_bit = masked ? 0x80 : 0;
    if (form == 0) {
        f += static_cast<char>(mask_bit | n);
    } else {
        f += static_cast<char>(mask_bit | (form == 2 ? 126 : 127));
        for (int i = form - 1; i >= 0; i--)
            f += static_cast<char>(n >> (8 * i));
    }
    if (!masked) return f + payload;
    f.append(reinterpret_cast<const char*>(kKey), 4);
    for (size_t i = 0; i < payload.size(); i++)
        f += static_cast<char>(payload[i] ^ kKey[i % 4]);
    return f;
}

void feed(Frames& frames, const std::string& wire) {
    frames.feed(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
}

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i++)
        s[i] = static_cast<char>(i * 7 + (i >> 8));
    return s;
}

// The close code in the last frame we sent, or 0.
uint16_t sent_close_code(Frames& frames) {
    return frames.close_sent() ? frames.close_code_sent() : 0;
}

}  // namespace

TEST_CASE("unmask_copy matches the byte-wise definition at every phase, length and alignment") {
    std::string src = pattern(300);
    for (unsigned phase = 0; phase < 4; phase++) {
        for (size_t offset = 0; offset < 8; offset++) {
            for (size_t n :
                 {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{63}, size_t{257}}) {
                std::string out(n, '\0');
                const auto* in = reinterpret_cast<const uint8_t*>(src.data()) + offset;
                unmask_copy(reinterpret_cast<uint8_t*>(out.data()), in, n, kKey, phase);
                for (size_t i = 0; i < n; i++)
                    REQUIRE(static_cast<uint8_t>(out[i]) == (in[i] ^ kKey[(phase + i) % 4]));
            }
        }
    }
}

TEST_CASE("a binary frame goes up whole and unmasked, however its bytes are cut") {
    std::string payload = pattern(16384 + 3);
    std::string wire = client_frame(0x82, payload) + client_frame(0x82, "tail");
    for (size_t cut : {size_t{1}, size_t{2}, size_t{5}, size_t{13}, size_t{4096}, wire.size()}) {
        Sink sink;
        Frames frames(sink, 1 << 20, 1 << 20);
        for (size_t at = 0; at < wire.size(); at += cut)
            feed(frames, wire.substr(at, cut));
        CHECK_MESSAGE(sink.up == payload + "tail", "cut " << cut);
        CHECK(!frames.close_sent());
    }
    // Fed at once, both frames go up in one deliver() (the host decodes from it directly).
    Sink sink;
    Frames frames(sink, 1 << 20, 1 << 20);
    feed(frames, wire);
    CHECK(sink.delivers == 1);
}

TEST_CASE("fragments, and a ping between them answered by a pong") {
    Sink sink;
    Frames frames(sink, 1 << 20, 1 << 20);
    feed(frames, client_frame(0x02, "ab") + client_frame(0x89, "hi") + client_frame(0x00, "cd") +
                     client_frame(0x80, "ef"));
    CHECK(sink.up == "abcdef");
    CHECK(sink.down == std::string("\x8a\x02hi", 4));
    CHECK(!frames.close_sent());
}

TEST_CASE("each refusal closes with its code; reading stops after a protocol error") {
    // What came before the refused frame goes up (`before`: the start of a message refused in
    // its later fragments), nothing from it or after it.
    auto refused = [](const std::string& wire, size_t max_frame = 1 << 20, size_t max_message = 1 << 20,
                      const std::string& before = "") {
        Sink sink;
        Frames frames(sink, max_frame, max_message);
        feed(frames, client_frame(0x82, "ok") + wire + client_frame(0x82, "after"));
        CHECK_MESSAGE(sink.up == "ok" + before, "delivered " << sink.up.size() << " bytes");
        return sent_close_code(frames);
    };
    CHECK(refused(client_frame(0x82, "x", false)) == 1002);  // unmasked
    CHECK(refused(client_frame(0xc2, "x")) == 1002);         // RSV1
    CHECK(refused(client_frame(0x83, "x")) == 1002);         // reserved opcode
    CHECK(refused(client_frame(0x09, "x")) == 1002);         // fragmented ping
    CHECK(refused(client_frame(0x80, "x")) == 1002);         // continuation of nothing
    CHECK(refused(client_frame(0x02, "x") + client_frame(0x82, "y"), 1 << 20, 1 << 20, "x") ==
          1002);                                                   // a new message inside one
    CHECK(refused(client_frame(0x82, "short", true, 2)) == 1002);  // length not in shortest form
    CHECK(refused(client_frame(0x82, pattern(200), true, 8)) == 1002);
    CHECK(refused(client_frame(0x81, "text")) == 1003);
    CHECK(refused(client_frame(0x82, pattern(100)), 64) == 1009);  // frame
    CHECK(refused(client_frame(0x02, pattern(40)) + client_frame(0x80, pattern(40)), 64, 64, pattern(40)) ==
          1009);                                                             // message
    CHECK(refused(client_frame(0x88, std::string("\x03\xec", 2))) == 1002);  // reserved close code (wslay)
    CHECK(refused(client_frame(0x88, std::string("\x03", 1))) == 1002);      // a 1-byte close body
    // A 64-bit length with its top bit set (2^63 and more), refused at its header.
    std::string huge = {'\x82', '\xff', '\x80', '\0', '\0', '\0', '\0',
                        '\0',   '\0',   '\0',   '\0', '\0', '\0', '\0'};
    CHECK(refused(huge) == 1002);
}

TEST_CASE("the close handshake: the client's close is answered with its code") {
    Sink sink;
    Frames frames(sink, 1 << 20, 1 << 20);
    feed(frames, client_frame(0x82, "last") + client_frame(0x88, std::string("\x03\xe8", 2) + "bye"));
    CHECK(sink.up == "last");
    CHECK(frames.close_sent());
    CHECK(frames.close_received());
    CHECK(frames.client_closed());
    CHECK(frames.close_code_sent() == 1000);
    CHECK(frames.finished());
}
