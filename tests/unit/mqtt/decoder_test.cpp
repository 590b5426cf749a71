// The streaming decoder: framing across read boundaries, limits, version switching, failure.
#include <doctest/doctest.h>

#include "test_util.hpp"

using namespace roost::mqtt;
using namespace roost::mqtt::test;

namespace {

// A client session in MQTT 5: CONNECT, SUBSCRIBE, a large PUBLISH, PINGREQ, DISCONNECT.
std::vector<Packet> session_packets() {
    Connect c;
    c.client_id = "client";
    c.properties.receive_maximum = 5;
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions = {{"a/#", {1, false, false, 0}}};
    Publish p;
    p.qos = 1;
    p.packet_id = 2;
    p.topic = "a/b";
    p.payload = std::string(300, 'z');
    p.properties.user_properties = {{"k", "v"}};
    return {c, s, p, Pingreq{}, Ack{PacketType::Puback, 3, 0, {}}, Disconnect{}};
}

Bytes concat(const std::vector<Packet>& packets, ProtocolVersion v) {
    Bytes out;
    for (const Packet& p : packets)
        encode(p, v, out);
    return out;
}

// Takes every whole packet the decoder has into `out`; fails on anything but NeedMore after.
void drain(Decoder& d, std::vector<Packet>& out) {
    Packet p;
    DecodeError e;
    DecodeStatus st;
    while ((st = d.next(p, e)) == DecodeStatus::Packet)
        out.push_back(p);
    REQUIRE_MESSAGE(st == DecodeStatus::NeedMore, e.message);
}

// Feeds `wire` in pieces cut at `cuts` and collects every packet.
std::vector<Packet> decode_chunked(const Bytes& wire, const std::vector<size_t>& cuts) {
    Decoder d;
    std::vector<Packet> out;
    size_t start = 0;
    for (size_t cut : cuts) {
        d.feed(std::span(wire).subspan(start, cut - start));
        drain(d, out);
        start = cut;
    }
    d.feed(std::span(wire).subspan(start));
    drain(d, out);
    CHECK(d.buffered() == 0);
    return out;
}

// decode_chunked as a server reads: each piece is borrowed from a read buffer that is then
// overwritten, after keep() copied what the decoder still needs.
std::vector<Packet> decode_borrowed_chunked(const Bytes& wire, const std::vector<size_t>& cuts) {
    Decoder d;
    std::vector<Packet> out;
    size_t start = 0;
    auto read = [&](size_t end) {
        Bytes buffer(wire.begin() + static_cast<std::ptrdiff_t>(start),
                     wire.begin() + static_cast<std::ptrdiff_t>(end));
        d.feed_borrowed(buffer);
        drain(d, out);
        d.keep();
        std::fill(buffer.begin(), buffer.end(), uint8_t(0xEE));  // the next read overwrites it
        start = end;
    };
    for (size_t cut : cuts)
        read(cut);
    read(wire.size());
    CHECK(d.buffered() == 0);
    return out;
}

}  // namespace

TEST_CASE("decoder: borrowed reads, every pair of split points") {
    const auto packets = session_packets();
    const Bytes wire = concat(packets, V5);
    for (size_t a = 0; a <= wire.size(); a += 3)
        for (size_t b = a; b <= wire.size(); b += 7) {
            CAPTURE(a);
            CAPTURE(b);
            CHECK(decode_borrowed_chunked(wire, {a, b}) == packets);
        }
}

TEST_CASE("decoder: a read that completes a buffered packet copies only the missing bytes") {
    Publish big;
    big.qos = 1;
    big.packet_id = 7;
    big.topic = "big";
    big.payload = std::string(16384, 'x');
    const Bytes wire = concat({big, Pingreq{}, big}, V5);
    const size_t packet = wire.size() / 2 - 1;  // the PINGREQ is 2 bytes
    Decoder d;
    Packet p;
    DecodeError e;
    d.feed_borrowed(std::span(wire).first(1000));
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    d.keep();
    CHECK(d.buffered() == 1000);
    // The rest of the first PUBLISH, the PINGREQ and 100 bytes of the second in one read: the
    // first is completed in the buffer, the rest is read where it lies.
    d.feed_borrowed(std::span(wire).subspan(1000, packet + 2 + 100 - 1000));
    CHECK(d.capacity() < packet + 64);
    REQUIRE(d.next(p, e) == DecodeStatus::Packet);
    CHECK(p == Packet{big});
    REQUIRE(d.next(p, e) == DecodeStatus::Packet);
    CHECK(std::holds_alternative<Pingreq>(p));
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    d.keep();
    CHECK(d.buffered() == 100);
    CHECK(d.capacity() < 1000);
    d.feed_borrowed(std::span(wire).subspan(packet + 2 + 100));
    REQUIRE(d.next(p, e) == DecodeStatus::Packet);
    CHECK(p == Packet{big});
    CHECK(d.buffered() == 0);
}

TEST_CASE("decoder: an idle decoder is small and holds no buffer; discard() frees what it held") {
    // One per connection (tests/bench/RESULTS.md, "Idle connections"): the limits by pointer,
    // the buffer only while bytes wait.
    static_assert(sizeof(void*) != 8 || sizeof(Decoder) <= 32);
    const DecodeLimits limits{.max_packet_size = 1000};
    Decoder d(&limits);
    d.set_version(V4);
    CHECK(d.capacity() == 0);
    d.feed(B({0x30, 9, 0, 1, 't'}));  // a partial PUBLISH is kept
    Packet p;
    DecodeError e;
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    CHECK(d.capacity() >= 5);
    d.feed(B({1, 2, 3, 4, 5, 6}));
    REQUIRE(d.next(p, e) == DecodeStatus::Packet);
    CHECK(d.buffered() == 0);
    CHECK(d.capacity() == 0);  // taken: freed
    d.feed(B({0x30, 9, 0}));
    d.discard();
    CHECK(d.buffered() == 0);
    CHECK(d.capacity() == 0);
}

TEST_CASE("decoder: every single split point") {
    const auto packets = session_packets();
    const Bytes wire = concat(packets, V5);
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        CAPTURE(cut);
        CHECK(decode_chunked(wire, {cut}) == packets);
    }
}

TEST_CASE("decoder: one byte at a time") {
    const auto packets = session_packets();
    const Bytes wire = concat(packets, V5);
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i)
        cuts.push_back(i);
    CHECK(decode_chunked(wire, cuts) == packets);
}

TEST_CASE("decoder: all at once, and the buffer is compacted") {
    std::vector<Packet> packets;
    for (uint16_t i = 1; i <= 200; ++i)
        packets.push_back(Ack{PacketType::Puback, i, 0, {}});
    const Bytes wire = concat(packets, V5);
    Decoder d;
    // Feed in 3 halves so consumed bytes must be dropped in between.
    const size_t third = wire.size() / 3;
    d.feed(std::span(wire).first(third));
    std::vector<Packet> out;
    Packet p;
    DecodeError e;
    while (d.next(p, e) == DecodeStatus::Packet)
        out.push_back(p);
    d.feed(std::span(wire).subspan(third));
    while (d.next(p, e) == DecodeStatus::Packet)
        out.push_back(p);
    CHECK(out == packets);
    CHECK(d.buffered() == 0);
}

TEST_CASE("decoder: CONNECT sets the version of what follows") {
    Connect c;
    c.version = V4;
    c.client_id = "x";
    Bytes wire = encode_bytes(c, V4);
    // In 3.1.1 a PUBACK is exactly two bytes; in MQTT 5 three would be fine.
    wire = wire + B({0x40, 3, 0, 1, 0});
    Decoder d;
    REQUIRE(d.version() == V5);
    d.feed(wire);
    Packet p;
    DecodeError e;
    REQUIRE(d.next(p, e) == DecodeStatus::Packet);
    CHECK(std::get<Connect>(p).version == V4);
    CHECK(d.version() == V4);
    REQUIRE(d.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::MalformedPacket);
}

TEST_CASE("decoder: unsupported protocol versions") {
    // MQTT 3.1 (MQIsdp, level 3)
    const Bytes mqisdp = B({0x10, 14, 0, 6}) + S("MQIsdp") + B({3, 2, 0, 60, 0, 0});
    Decoder d;
    d.feed(mqisdp);
    Packet p;
    DecodeError e;
    REQUIRE(d.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::UnsupportedProtocolVersion);
    CHECK(e.message.find("MQIsdp") != std::string::npos);
    CHECK(d.version() == V4);  // the broker answers with a 3.1.1 CONNACK 0x01

    for (int level : {0, 3, 6, 255}) {
        CAPTURE(level);
        const Bytes w = B({0x10, 12, 0, 4}) + S("MQTT") + B({level, 2, 0, 60, 0, 0});
        check_error(w, V5, ReasonCode::UnsupportedProtocolVersion);
        Decoder d2;
        d2.feed(w);
        d2.next(p, e);
        CHECK(d2.version() == (level >= 5 ? V5 : V4));
    }
    check_error(B({0x10, 12, 0, 4}) + S("MQTX") + B({4, 2, 0, 60, 0, 0}), V5,
                ReasonCode::UnsupportedProtocolVersion);
}

TEST_CASE("decoder: remaining length") {
    // 4 bytes is the maximum: the 4th having a continuation bit is malformed at once.
    check_error(B({0x30, 0xFF, 0xFF, 0xFF, 0x80}), V5, ReasonCode::MalformedPacket);
    check_error(B({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), V5, ReasonCode::MalformedPacket);
    // A 4-byte length is fine, the decoder just waits for the body.
    Decoder d;
    d.feed(B({0x30, 0xFF, 0xFF, 0xFF, 0x7F}));
    Packet p;
    DecodeError e;
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    // Only in the fewest bytes (MQTT 5 1.5.5-1): 0 in two bytes is malformed, in either version.
    check_error(B({0xC0, 0x80, 0x00}), V5, ReasonCode::MalformedPacket);
    check_error(B({0xC0, 0x80, 0x00}), V4, ReasonCode::MalformedPacket);
}

TEST_CASE("decoder: maximum packet size checked when the length is known") {
    const DecodeLimits ten{.max_packet_size = 10};
    Decoder d(&ten);
    d.feed(B({0x30, 9}));  // total 11 bytes; nothing of the body is there yet
    Packet p;
    DecodeError e;
    REQUIRE(d.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::PacketTooLarge);

    const DecodeLimits eleven{.max_packet_size = 11};
    Decoder ok(&eleven);
    ok.set_version(V4);
    ok.feed(B({0x30, 9, 0, 1, 't', 1, 2, 3, 4, 5, 6}));
    CHECK(ok.next(p, e) == DecodeStatus::Packet);

    const DecodeLimits hundred{.max_packet_size = 100};
    Decoder big(&hundred);
    big.feed(B({0x30, 0xE8, 0x07}));
    REQUIRE(big.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::PacketTooLarge);
}

TEST_CASE("decoder: stays failed after an error") {
    Decoder d;
    d.feed(B({0xC0, 1, 0}));  // PINGREQ with a body
    Packet p;
    DecodeError e;
    REQUIRE(d.next(p, e) == DecodeStatus::Error);
    d.feed(B({0xC0, 0}));
    CHECK(d.next(p, e) == DecodeStatus::Error);
    CHECK(d.next(p, e) == DecodeStatus::Error);
}

TEST_CASE("decoder: empty input needs more") {
    Decoder d;
    Packet p;
    DecodeError e;
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    d.feed(B({0x30}));
    CHECK(d.next(p, e) == DecodeStatus::NeedMore);
    CHECK(d.buffered() == 1);
}

TEST_CASE("decode_packet: whole body without the framing") {
    Packet p;
    DecodeError e;
    const Bytes body = B({0, 7});
    REQUIRE(decode_packet(0x62, body, V4, p, e) == DecodeStatus::Packet);
    CHECK(std::get<Ack>(p) == Ack{PacketType::Pubrel, 7, 0, {}});
    CHECK(decode_packet(0x60, body, V4, p, e) == DecodeStatus::Error);
}

TEST_CASE("decoder: a failed CONNECT announces its version once the level was read") {
    Packet p;
    DecodeError e;
    // 3.1.1 CONNECT, reserved flag set: malformed, answered in the 3.1.1 form.
    const Bytes reserved = B({0x10, 13, 0, 4}) + S("MQTT") + B({4, 0x03, 0, 60, 0, 1, 'c'});
    Decoder d;
    CHECK_FALSE(d.version_known());
    d.feed(reserved);
    REQUIRE(d.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::MalformedPacket);
    CHECK(d.version_known());
    CHECK(d.version() == V4);

    // The same rule broken in MQTT 5.
    const Bytes reserved5 = B({0x10, 14, 0, 4}) + S("MQTT") + B({5, 0x03, 0, 60, 0, 0, 1, 'c'});
    Decoder d5;
    d5.feed(reserved5);
    REQUIRE(d5.next(p, e) == DecodeStatus::Error);
    CHECK(d5.version_known());
    CHECK(d5.version() == V5);

    // Fixed-header flags wrong: the level is in the buffer all the same.
    Bytes flags = reserved;
    flags[0] = 0x12;
    Decoder df;
    df.feed(flags);
    REQUIRE(df.next(p, e) == DecodeStatus::Error);
    CHECK(df.version_known());
    CHECK(df.version() == V4);

    // Too large for the broker, but the level arrived with the first bytes.
    const DecodeLimits eight{.max_packet_size = 8};
    Decoder big(&eight);
    big.feed(reserved);
    REQUIRE(big.next(p, e) == DecodeStatus::Error);
    CHECK(e.reason == ReasonCode::PacketTooLarge);
    CHECK(big.version_known());
    CHECK(big.version() == V4);

    // Cut off before the level: nothing was announced.
    Decoder cut(&eight);
    cut.feed(B({0x10, 13, 0, 4, 'M', 'Q'}));
    REQUIRE(cut.next(p, e) == DecodeStatus::Error);
    CHECK_FALSE(cut.version_known());
    // A remaining length that ends the packet before the level: not read past the packet.
    Decoder shortbody;
    shortbody.feed(B({0x10, 5, 0, 4}) + S("MQT") + B({4, 2, 0, 60}));
    REQUIRE(shortbody.next(p, e) == DecodeStatus::Error);
    CHECK_FALSE(shortbody.version_known());

    // set_version() counts as known; a good CONNECT too.
    Decoder s;
    s.set_version(V4);
    CHECK(s.version_known());
}

TEST_CASE("decoder: an ill-formed client id is 0x02-worthy in 3.1.1, malformed in MQTT 5") {
    const Bytes id4 = B({0x10, 13, 0, 4}) + S("MQTT") + B({4, 0x02, 0, 60, 0, 1, 0xFF});
    check_error(id4, V4, ReasonCode::ClientIdentifierNotValid);
    check_error(id4, V5, ReasonCode::ClientIdentifierNotValid);  // the CONNECT's level decides
    const Bytes id5 = B({0x10, 14, 0, 4}) + S("MQTT") + B({5, 0x02, 0, 60, 0, 0, 1, 0xFF});
    check_error(id5, V4, ReasonCode::MalformedPacket);
    check_error(id5, V5, ReasonCode::MalformedPacket);
}
