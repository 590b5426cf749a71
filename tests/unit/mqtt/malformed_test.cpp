// One test per malformed-packet / protocol-error rule the codec enforces, with the reason code.
#include <doctest/doctest.h>

#include "test_util.hpp"

using namespace roost::mqtt;
using namespace roost::mqtt::test;

namespace {

constexpr auto Malformed = ReasonCode::MalformedPacket;
constexpr auto Protocol = ReasonCode::ProtocolError;

// A packet: first byte, then the body with its remaining length computed.
Bytes pkt(int header, const Bytes& body) {
    Bytes out = B({header});
    size_t n = body.size();
    do {
        uint8_t b = n & 0x7F;
        n >>= 7;
        if (n) b |= 0x80;
        out.push_back(b);
    } while (n);
    return out + body;
}

Bytes str(std::string_view s) {
    return B({0, static_cast<int>(s.size())}) + S(s);
}

// MQTT 5 CONNECT with the given flags, properties block (length included) and payload.
Bytes connect5(int flags, const Bytes& props, const Bytes& payload) {
    return pkt(0x10, str("MQTT") + B({5, flags, 0, 60}) + props + payload);
}
Bytes connect4(int flags, const Bytes& payload) {
    return pkt(0x10, str("MQTT") + B({4, flags, 0, 60}) + payload);
}

// MQTT 5 PUBLISH QoS 0 on topic "t" with a properties block (length included).
Bytes publish5(const Bytes& props) {
    return pkt(0x30, str("t") + props + S("payload"));
}
Bytes props(const Bytes& body) {
    return B({static_cast<int>(body.size())}) + body;
}

}  // namespace

TEST_CASE("malformed: reserved fixed header flags") {
    for (auto v : {V4, V5}) {
        check_error(pkt(0x60, B({0, 1})), v, Malformed);  // PUBREL must be 0010
        check_error(pkt(0x63, B({0, 1})), v, Malformed);
        check_error(pkt(0x80, B({0, 1}) + str("a") + B({0})), v, Malformed);  // SUBSCRIBE
        check_error(pkt(0xA0, B({0, 1}) + str("a")), v, Malformed);           // UNSUBSCRIBE
        check_error(pkt(0x41, B({0, 1})), v, Malformed);                      // PUBACK
        check_error(pkt(0x52, B({0, 1})), v, Malformed);                      // PUBREC
        check_error(pkt(0x72, B({0, 1})), v, Malformed);                      // PUBCOMP
        check_error(pkt(0xC1, {}), v, Malformed);                             // PINGREQ
        check_error(pkt(0xD2, {}), v, Malformed);                             // PINGRESP
        check_error(pkt(0xE1, {}), v, Malformed);                             // DISCONNECT
        check_error(pkt(0x21, B({0, 0})), v, Malformed);                      // CONNACK
        check_error(pkt(0x91, B({0, 1, 0})), v, Malformed);                   // SUBACK
        check_error(pkt(0xB1, B({0, 1})), v, Malformed);                      // UNSUBACK
        check_error(pkt(0x00, {}), v, Malformed);                             // reserved type 0
    }
    Bytes connect = connect4(0x02, str("c"));
    connect[0] = 0x11;  // CONNECT
    check_error(connect, V4, Malformed);
    check_error(pkt(0xF1, B({0})), V5, Malformed);  // AUTH
}

TEST_CASE("malformed: PUBLISH QoS 3 and DUP on QoS 0") {
    for (auto v : {V4, V5})
        check_error(pkt(0x36, str("t") + B({0, 1})), v, Malformed);
    check_error(pkt(0x38, str("t")), V4, Malformed);
    check_error(pkt(0x38, str("t") + B({0})), V5, Protocol);
    check_ok(pkt(0x3A, str("t") + B({0, 1, 0})), V5);  // DUP with QoS 1 is fine
}

TEST_CASE("protocol error: packet identifier 0") {
    for (auto v : {V4, V5}) {
        const Bytes p5 = v == V5 ? B({0}) : Bytes{};
        check_error(pkt(0x32, str("t") + B({0, 0}) + p5), v, Protocol);
        check_error(pkt(0x40, B({0, 0})), v, Protocol);
        check_error(pkt(0x62, B({0, 0})), v, Protocol);
        check_error(pkt(0x82, B({0, 0}) + p5 + str("a") + B({0})), v, Protocol);
        check_error(pkt(0xA2, B({0, 0}) + p5 + str("a")), v, Protocol);
        check_error(pkt(0x90, B({0, 0}) + p5 + B({0})), v, Protocol);
        check_error(pkt(0xB0, B({0, 0}) + p5 + (v == V5 ? B({0}) : Bytes{})), v, Protocol);
    }
}

TEST_CASE("malformed: CONNECT flags") {
    check_ok(connect4(0x02, str("c")), V4);
    check_error(connect4(0x03, str("c")), V4, Malformed);  // reserved bit 0
    check_error(connect5(0x03, B({0}), str("c")), V5, Malformed);
    check_error(connect4(0x0A, str("c")), V4, Malformed);          // will QoS 1 without will flag
    check_error(connect4(0x22, str("c")), V4, Malformed);          // will retain without will flag
    check_error(connect5(0x12, B({0}), str("c")), V5, Malformed);  // will QoS 2 without will flag
    check_error(connect4(0x1E, str("c") + str("t") + str("p")), V4, Malformed);  // will QoS 3
    check_error(connect4(0x42, str("c") + str("p")), V4, Malformed);             // password without username
    check_ok(connect5(0x42, B({0}), str("c") + str("p")), V5);                   // allowed in MQTT 5
    check_error(connect4(0x02, str("c") + B({0})), V4, Malformed);               // trailing byte
    check_error(connect4(0x82, str("c")), V4, Malformed);                        // username flag, no username
}

TEST_CASE("malformed: invalid UTF-8 in every string field") {
    const Bytes bad = B({0, 2, 0xC0, 0x80});                                     // overlong U+0000
    check_error(connect4(0x02, bad), V4, ReasonCode::ClientIdentifierNotValid);  // client id (3.1.1: 0x02)
    check_error(connect5(0x02, B({0}), bad), V5, Malformed);                     // client id
    check_error(connect4(0x06, str("c") + bad + str("p")), V4, Malformed);       // will topic
    check_error(connect4(0x82, str("c") + bad), V4, Malformed);                  // username
    check_ok(connect4(0xC2, str("c") + str("u") + bad), V4);                     // password is binary
    check_error(pkt(0x30, bad), V4, Malformed);                                  // topic
    check_error(pkt(0x82, B({0, 1}) + bad + B({0})), V4, Malformed);             // filter
    check_error(pkt(0xA2, B({0, 1}) + bad), V4, Malformed);                      // unsubscribe
    check_error(publish5(props(B({0x26}) + bad + str("v"))), V5, Malformed);     // user key
    check_error(publish5(props(B({0x26}) + str("k") + bad)), V5, Malformed);     // user value
    check_error(publish5(props(B({0x03}) + bad)), V5, Malformed);                // content type
    check_error(publish5(props(B({0x26}) + str("k") + B({0, 1, 0}))), V5, Malformed);  // U+0000
    check_error(publish5(props(B({0x26}) + str("k") + B({0, 3, 0xED, 0xA0, 0x80}))), V5, Malformed);
    check_error(pkt(0x40, B({0, 1, 0x80, 4, 0x1F}) + bad), V5, Malformed);  // reason string
    // The payload is not the codec's business, even with payload format indicator 1.
    check_ok(pkt(0x30, str("t") + props(B({0x01, 1})) + B({0xFF, 0xFE})), V5);
}

TEST_CASE("topic name rules") {
    check_error(pkt(0x30, str("a/+")), V4, Malformed);
    check_error(pkt(0x30, str("a/#") + B({0})), V5, Malformed);
    check_error(pkt(0x30, str("")), V4, Protocol);
    check_error(pkt(0x30, str("") + B({0})), V5, Protocol);
    check_ok(pkt(0x30, str("") + props(B({0x23, 0, 1}))), V5);
    check_error(connect4(0x06, str("c") + str("w/#") + str("p")), V4, Malformed);  // will topic
    check_error(connect4(0x06, str("c") + str("") + str("p")), V4, Malformed);
}

TEST_CASE("topic filter rules") {
    for (const char* f : {"", "a/#/b", "a+", "a/b#", "$share//a", "$share/g"}) {
        CAPTURE(f);
        check_error(pkt(0x82, B({0, 1}) + str(f) + B({0})), V4, Malformed);
        check_error(pkt(0xA2, B({0, 1, 0}) + str(f)), V5, Malformed);
    }
}

TEST_CASE("SUBSCRIBE and UNSUBSCRIBE payload rules") {
    check_error(pkt(0x82, B({0, 1})), V4, Protocol);  // no topics
    check_error(pkt(0x82, B({0, 1, 0})), V5, Protocol);
    check_error(pkt(0xA2, B({0, 1})), V4, Protocol);
    check_error(pkt(0xA2, B({0, 1, 0})), V5, Protocol);
    check_error(pkt(0x82, B({0, 1}) + str("a")), V4, Malformed);                 // options byte missing
    check_error(pkt(0x82, B({0, 1, 0}) + str("a") + B({0x40})), V5, Malformed);  // reserved bit 6
    check_error(pkt(0x82, B({0, 1, 0}) + str("a") + B({0x80})), V5, Malformed);  // reserved bit 7
    check_error(pkt(0x82, B({0, 1}) + str("a") + B({0x04})), V4, Malformed);     // 3.1.1 bits 2-7
    check_error(pkt(0x82, B({0, 1}) + str("a") + B({0x03})), V4, Malformed);     // QoS 3
    check_error(pkt(0x82, B({0, 1, 0}) + str("a") + B({0x03})), V5, Malformed);
    check_error(pkt(0x82, B({0, 1, 0}) + str("a") + B({0x30})), V5, Protocol);           // retain handling 3
    check_error(pkt(0x82, B({0, 1, 0}) + str("$share/g/a") + B({0x04})), V5, Protocol);  // no local, shared
    check_ok(pkt(0x82, B({0, 1, 0}) + str("a") + B({0x2E})), V5);
    check_ok(pkt(0x82, B({0, 1, 0}) + str("$share/g/a") + B({0x02})), V5);
}

TEST_CASE("property rules") {
    // Not allowed in this packet: topic alias in CONNECT, session expiry in PUBLISH.
    check_error(connect5(0x02, props(B({0x23, 0, 1})), str("c")), V5, Malformed);
    check_error(publish5(props(B({0x11, 0, 0, 0, 1}))), V5, Malformed);
    check_error(pkt(0xA2, B({0, 1}) + props(B({0x1F}) + str("x")) + str("a")), V5, Malformed);
    check_error(connect5(0x06, B({0}), str("c") + props(B({0x11, 0, 0, 0, 1})) + str("t") + str("p")), V5,
                Malformed);  // session expiry among will properties
    // Unknown identifier.
    check_error(publish5(props(B({0x05, 0}))), V5, Malformed);
    // Duplicates.
    const Decoded dup =
        decode_one(connect5(0x02, props(B({0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2})), str("c")), V5);
    REQUIRE(dup.status == DecodeStatus::Error);
    CHECK(dup.error.reason == Protocol);
    CHECK(dup.error.message == "duplicate property 0x11 in CONNECT");
    check_error(publish5(props(B({0x01, 0, 0x01, 1}))), V5, Protocol);
    check_error(pkt(0x82, B({0, 1}) + props(B({0x0B, 1, 0x0B, 2})) + str("a") + B({0})), V5, Protocol);
    check_ok(publish5(props(B({0x0B, 1, 0x0B, 2}))), V5);  // several subscription ids in PUBLISH
    check_ok(publish5(props(B({0x26}) + str("k") + str("v") + B({0x26}) + str("k") + str("v"))), V5);
    // Length running past the packet, and a value running past the property length.
    check_error(publish5(B({20, 0x01, 1})), V5, Malformed);
    check_error(pkt(0x30, str("t") + B({2, 0x02, 0, 0, 0, 1})), V5, Malformed);
    check_error(pkt(0x30, str("t") + B({0x80, 0x80, 0x80, 0x80, 0x01})), V5, Malformed);  // 5-byte length
    // Values.
    check_error(publish5(props(B({0x0B, 0}))), V5, Protocol);                     // subscription identifier 0
    check_error(connect5(0x02, props(B({0x21, 0, 0})), str("c")), V5, Protocol);  // receive maximum 0
    check_error(connect5(0x02, props(B({0x27, 0, 0, 0, 0})), str("c")), V5, Protocol);  // max packet size 0
    check_error(publish5(props(B({0x01, 2}))), V5, Protocol);                           // payload format 2
    check_error(connect5(0x02, props(B({0x17, 2})), str("c")), V5, Protocol);           // request problem 2
    check_error(connect5(0x02, props(B({0x19, 2})), str("c")), V5, Protocol);           // request response 2
    check_error(pkt(0x20, B({0, 0}) + props(B({0x24, 2}))), V5, Protocol);              // maximum QoS 2
    check_error(pkt(0x20, B({0, 0}) + props(B({0x25, 2}))), V5, Protocol);              // retain available 2
    check_error(pkt(0x20, B({0, 0}) + props(B({0x28, 2}))), V5, Protocol);
    check_error(publish5(props(B({0x23, 0, 0}))), V5, ReasonCode::TopicAliasInvalid);  // topic alias 0
    check_error(publish5(props(B({0x08}) + str("a/+"))), V5, Protocol);                // response topic
    check_error(connect5(0x02, props(B({0x16}) + str("d")), str("c")), V5, Protocol);  // auth data w/o method
}

TEST_CASE("trailing bytes and lengths") {
    check_error(pkt(0xC0, B({0})), V4, Malformed);  // PINGREQ with a body
    check_error(pkt(0xD0, B({0})), V5, Malformed);
    check_error(pkt(0x40, B({0, 1, 0})), V4, Malformed);  // 3.1.1 PUBACK is exactly 2 bytes
    check_error(pkt(0x40, B({0})), V5, Malformed);
    check_error(pkt(0x40, B({0, 1, 0, 0, 9})), V5, Malformed);
    check_error(pkt(0x20, B({0, 0, 0})), V4, Malformed);
    check_error(pkt(0xB0, B({0, 1, 0})), V4, Malformed);
    check_error(pkt(0xE0, B({0})), V4, Malformed);
    check_error(pkt(0xE0, B({0, 0, 0})), V5, Malformed);
    check_error(pkt(0xF0, B({0x18})), V5, Malformed);  // AUTH: reason needs the property length
    check_error(pkt(0xF0, B({0x18, 0, 1})), V5, Malformed);
}

TEST_CASE("malformed: a Variable Byte Integer not in the fewest bytes (1.5.5-1)") {
    // The remaining length: PINGREQ's 0 as 0x80 0x00, a PUBLISH's 10 as 0x8A 0x00 (both versions).
    for (auto v : {V4, V5}) {
        check_error(B({0xC0, 0x80, 0x00}), v, Malformed);
        check_error(B({0x30, 0x8A, 0x80, 0x00}) + str("t") + B({0}) + S("payload"), v, Malformed);
    }
    // The property length, 0 as 0x80 0x00: CONNECT and PUBLISH.
    check_error(connect5(0x02, B({0x80, 0x00}), str("c")), V5, Malformed);
    check_error(publish5(B({0x80, 0x00})), V5, Malformed);
    // A property value: Subscription Identifier 1 as 0x81 0x00, in SUBSCRIBE.
    check_error(pkt(0x82, B({0, 1}) + props(B({0x0B, 0x81, 0x00})) + str("t") + B({0})), V5, Malformed);
    // A property identifier: Payload Format Indicator (1) as 0x81 0x00.
    check_error(publish5(props(B({0x81, 0x00, 0x01}))), V5, Malformed);
    // The largest values each length can carry are accepted.
    check_ok(pkt(0x82, B({0, 1}) + props(B({0x0B, 0xFF, 0xFF, 0xFF, 0x7F})) + str("t") + B({0})), V5);
    check_ok(pkt(0x82, B({0, 1}) + props(B({0x0B, 0x80, 0x01})) + str("t") + B({0})), V5);  // 128
    check_ok(B({0x30, 0x80, 0x01}) + str("t") + Bytes(128 - 3, 'x'), V4);  // remaining length 128
}

TEST_CASE("optional reason codes in MQTT 5") {
    Decoded d = decode_one(pkt(0xE0, {}), V5);
    CHECK(std::get<Disconnect>(d.packet) == Disconnect{});
    d = decode_one(pkt(0xE0, B({0x8E})), V5);
    CHECK(std::get<Disconnect>(d.packet).reason_code == 0x8E);
    d = decode_one(pkt(0xF0, {}), V5);
    CHECK(std::get<Auth>(d.packet) == Auth{});
    d = decode_one(pkt(0x50, B({0, 1})), V5);
    CHECK(std::get<Ack>(d.packet) == Ack{PacketType::Pubrec, 1, 0, {}});
    d = decode_one(pkt(0x70, B({0, 1, 0x92})), V5);
    CHECK(std::get<Ack>(d.packet) == Ack{PacketType::Pubcomp, 1, 0x92, {}});
}

TEST_CASE("invalid reason codes") {
    check_error(pkt(0x40, B({0, 1, 0x92})), V5, Malformed);  // PUBREL code on PUBACK
    check_error(pkt(0x62, B({0, 1, 0x10})), V5, Malformed);
    check_error(pkt(0xE0, B({0x01})), V5, Malformed);
    check_error(pkt(0xF0, B({0x01, 0})), V5, Malformed);
    check_error(pkt(0x20, B({0, 0x01, 0})), V5, Malformed);
    check_error(pkt(0x20, B({0, 6})), V4, Malformed);
    check_error(pkt(0x90, B({0, 1, 0x87})), V4, Malformed);
    check_error(pkt(0x90, B({0, 1, 0, 0x03})), V5, Malformed);
    check_error(pkt(0xB0, B({0, 1, 0, 0x01})), V5, Malformed);
    check_error(pkt(0x90, B({0, 1, 0})), V5, Protocol);  // SUBACK without codes
    check_error(pkt(0xB0, B({0, 1, 0})), V5, Protocol);
}

TEST_CASE("CONNACK rules") {
    check_error(pkt(0x20, B({0x02, 0})), V4, Malformed);    // reserved flags
    check_error(pkt(0x20, B({0x01, 0x05})), V4, Protocol);  // session present on refusal
    check_error(pkt(0x20, B({0x01, 0x87, 0})), V5, Protocol);
}

TEST_CASE("AUTH does not exist in 3.1.1") {
    check_error(pkt(0xF0, {}), V4, Malformed);
    check_ok(pkt(0xF0, {}), V5);
}

TEST_CASE("error messages are specific") {
    const Decoded d = decode_one(pkt(0x30, str("a/#") + B({0})), V5);
    CHECK(d.error.message == "PUBLISH topic contains wildcard");
}
