// Byte-exact wire forms of every packet type in both versions, checked both ways.
#include <doctest/doctest.h>

#include "test_util.hpp"

using namespace roost::mqtt;
using namespace roost::mqtt::test;

TEST_CASE("CONNECT 3.1.1 minimal") {
    Connect c;
    c.version = V4;
    c.keep_alive = 60;
    c.client_id = "abc";
    check_exact(c, V4, B({0x10, 0x0F, 0, 4}) + S("MQTT") + B({4, 0x02, 0, 60, 0, 3}) + S("abc"));
}

TEST_CASE("CONNECT 3.1.1 with will, username and password") {
    Connect c;
    c.version = V4;
    c.keep_alive = 10;
    c.client_id = "c";
    c.will = Will{"w", "x", 1, true, {}};
    c.username = "u";
    c.password = "p";
    check_exact(c, V4,
                B({0x10, 0x19, 0, 4}) + S("MQTT") +
                    B({4, 0xEE, 0, 10, 0, 1, 'c', 0, 1, 'w', 0, 1, 'x', 0, 1, 'u', 0, 1, 'p'}));
}

TEST_CASE("CONNECT 5 with properties") {
    Connect c;
    c.keep_alive = 60;
    c.client_id = "abc";
    c.properties.session_expiry_interval = 10;
    check_exact(
        c, V5,
        B({0x10, 0x15, 0, 4}) + S("MQTT") + B({5, 0x02, 0, 60, 5, 0x11, 0, 0, 0, 10, 0, 3}) + S("abc"));
}

TEST_CASE("CONNECT 5 with will properties, password without username") {
    Connect c;
    c.clean_start = false;
    c.client_id = "c";
    c.will = Will{"t", "p", 0, false, {}};
    c.will->properties.will_delay_interval = 5;
    c.password = "pw";
    check_exact(c, V5,
                B({0x10, 0x1E, 0, 4}) + S("MQTT") + B({5, 0x44, 0, 0, 0,   0, 1, 'c', 5, 0x18, 0,   0,
                                                       0, 5,    0, 1, 't', 0, 1, 'p', 0, 2,    'p', 'w'}));
}

TEST_CASE("CONNACK") {
    check_exact(Connack{}, V4, B({0x20, 2, 0, 0}));
    check_exact(Connack{true, 0, {}}, V4, B({0x20, 2, 1, 0}));
    // 3.1.1 return codes are decoded as the MQTT 5 codes they map from.
    check_exact(Connack{false, 0x84, {}}, V4, B({0x20, 2, 0, 1}));
    check_exact(Connack{false, 0x85, {}}, V4, B({0x20, 2, 0, 2}));
    check_exact(Connack{false, 0x88, {}}, V4, B({0x20, 2, 0, 3}));
    check_exact(Connack{false, 0x86, {}}, V4, B({0x20, 2, 0, 4}));
    check_exact(Connack{false, 0x87, {}}, V4, B({0x20, 2, 0, 5}));
    // Codes 3.1.1 lacks are mapped down.
    CHECK(encode_bytes(Connack{false, 0x89, {}}, V4) == B({0x20, 2, 0, 3}));
    CHECK(encode_bytes(Connack{false, 0x8A, {}}, V4) == B({0x20, 2, 0, 5}));  // banned: not authorized
    CHECK(encode_bytes(Connack{false, 0x80, {}}, V4) == B({0x20, 2, 0, 3}));

    check_exact(Connack{}, V5, B({0x20, 3, 0, 0, 0}));
    Connack c{true, 0, {}};
    c.properties.receive_maximum = 10;
    c.properties.topic_alias_maximum = 5;
    check_exact(c, V5, B({0x20, 9, 1, 0, 6, 0x21, 0, 10, 0x22, 0, 5}));
    check_exact(Connack{false, 0x87, {}}, V5, B({0x20, 3, 0, 0x87, 0}));
    // Properties are dropped for 3.1.1.
    CHECK(encode_bytes(c, V4) == B({0x20, 2, 1, 0}));
}

TEST_CASE("PUBLISH") {
    Publish p;
    p.topic = "a/b";
    p.payload = "hi";
    check_exact(p, V4, B({0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'}));
    check_exact(p, V5, B({0x30, 8, 0, 3, 'a', '/', 'b', 0, 'h', 'i'}));

    Publish q = p;
    q.dup = true;
    q.qos = 1;
    q.retain = true;
    q.packet_id = 10;
    check_exact(q, V4, B({0x3B, 9, 0, 3, 'a', '/', 'b', 0, 10, 'h', 'i'}));

    Publish r = p;
    r.qos = 2;
    r.packet_id = 7;
    r.properties.payload_format_indicator = 1;
    r.properties.topic_alias = 5;
    check_exact(r, V5, B({0x34, 15, 0, 3, 'a', '/', 'b', 0, 7, 5, 0x01, 1, 0x23, 0, 5, 'h', 'i'}));

    Publish alias;
    alias.payload = "hi";
    alias.properties.topic_alias = 1;
    check_exact(alias, V5, B({0x30, 8, 0, 0, 3, 0x23, 0, 1, 'h', 'i'}));

    Publish empty;
    empty.topic = "t";
    check_exact(empty, V4, B({0x30, 3, 0, 1, 't'}));
}

TEST_CASE("PUBLISH with a 2-byte remaining length") {
    Publish p;
    p.topic = "t";
    p.payload = std::string(200, 'x');
    const Bytes wire = encode_bytes(p, V4);
    REQUIRE(wire.size() == 1 + 2 + 3 + 200);
    CHECK(wire[1] == 0x80 + (203 & 0x7F));
    CHECK(wire[2] == 1);
    check_roundtrip(p, V4);
}

TEST_CASE("PUBACK, PUBREC, PUBREL, PUBCOMP") {
    check_exact(Ack{PacketType::Puback, 7, 0, {}}, V4, B({0x40, 2, 0, 7}));
    check_exact(Ack{PacketType::Pubrec, 7, 0, {}}, V4, B({0x50, 2, 0, 7}));
    check_exact(Ack{PacketType::Pubrel, 7, 0, {}}, V4, B({0x62, 2, 0, 7}));
    check_exact(Ack{PacketType::Pubcomp, 7, 0, {}}, V4, B({0x70, 2, 0, 7}));
    // MQTT 5: success without properties is exactly the packet id.
    check_exact(Ack{PacketType::Puback, 7, 0, {}}, V5, B({0x40, 2, 0, 7}));
    check_exact(Ack{PacketType::Pubrec, 0x1234, 0, {}}, V5, B({0x50, 2, 0x12, 0x34}));
    check_exact(Ack{PacketType::Pubrel, 7, 0, {}}, V5, B({0x62, 2, 0, 7}));
    check_exact(Ack{PacketType::Pubcomp, 7, 0, {}}, V5, B({0x70, 2, 0, 7}));
    // A reason without properties leaves the property length out.
    check_exact(Ack{PacketType::Puback, 7, 0x10, {}}, V5, B({0x40, 3, 0, 7, 0x10}));
    check_exact(Ack{PacketType::Pubrel, 7, 0x92, {}}, V5, B({0x62, 3, 0, 7, 0x92}));
    Ack a{PacketType::Puback, 7, 0x80, {}};
    a.properties.reason_string = "x";
    check_exact(a, V5, B({0x40, 8, 0, 7, 0x80, 4, 0x1F, 0, 1, 'x'}));
    // 3.1.1 drops reason and properties.
    CHECK(encode_bytes(a, V4) == B({0x40, 2, 0, 7}));
    // A success code with properties keeps the reason byte.
    Ack s{PacketType::Pubcomp, 7, 0, {}};
    s.properties.reason_string = "x";
    check_exact(s, V5, B({0x70, 8, 0, 7, 0, 4, 0x1F, 0, 1, 'x'}));
}

TEST_CASE("SUBSCRIBE") {
    Subscribe s;
    s.packet_id = 1;
    s.subscriptions = {{"a/+", {1, false, false, 0}}, {"b/#", {2, false, false, 0}}};
    check_exact(s, V4, B({0x82, 14, 0, 1, 0, 3, 'a', '/', '+', 1, 0, 3, 'b', '/', '#', 2}));

    Subscribe v;
    v.packet_id = 1;
    v.properties.subscription_identifiers = {5};
    v.subscriptions = {{"a", {1, true, true, 2}}};
    check_exact(v, V5, B({0x82, 9, 0, 1, 2, 0x0B, 5, 0, 1, 'a', 0x2D}));
    // 3.1.1 has only the QoS bits.
    CHECK(encode_bytes(v, V4) == B({0x82, 6, 0, 1, 0, 1, 'a', 1}));
}

TEST_CASE("SUBACK") {
    check_exact(Suback{1, {}, {0, 1, 0x80}}, V4, B({0x90, 5, 0, 1, 0, 1, 0x80}));
    // 3.1.1 knows one failure code.
    CHECK(encode_bytes(Suback{1, {}, {2, 0x87, 0x97}}, V4) == B({0x90, 5, 0, 1, 2, 0x80, 0x80}));
    check_exact(Suback{1, {}, {2, 0x87}}, V5, B({0x90, 5, 0, 1, 0, 2, 0x87}));
}

TEST_CASE("UNSUBSCRIBE") {
    check_exact(Unsubscribe{2, {}, {"a"}}, V4, B({0xA2, 5, 0, 2, 0, 1, 'a'}));
    check_exact(Unsubscribe{2, {}, {"a", "b/#"}}, V5, B({0xA2, 11, 0, 2, 0, 0, 1, 'a', 0, 3, 'b', '/', '#'}));
}

TEST_CASE("UNSUBACK") {
    check_exact(Unsuback{2, {}, {}}, V4, B({0xB0, 2, 0, 2}));
    CHECK(encode_bytes(Unsuback{2, {}, {0x11}}, V4) == B({0xB0, 2, 0, 2}));
    check_exact(Unsuback{2, {}, {0x00, 0x11}}, V5, B({0xB0, 5, 0, 2, 0, 0, 0x11}));
}

TEST_CASE("PINGREQ, PINGRESP") {
    for (auto v : {V4, V5}) {
        check_exact(Pingreq{}, v, B({0xC0, 0}));
        check_exact(Pingresp{}, v, B({0xD0, 0}));
    }
}

TEST_CASE("DISCONNECT") {
    check_exact(Disconnect{}, V4, B({0xE0, 0}));
    CHECK(encode_bytes(Disconnect{0x8E, {}}, V4) == B({0xE0, 0}));
    check_exact(Disconnect{}, V5, B({0xE0, 0}));
    check_exact(Disconnect{0x04, {}}, V5, B({0xE0, 1, 0x04}));
    Disconnect d{0x8E, {}};
    d.properties.session_expiry_interval = 0;
    check_exact(d, V5, B({0xE0, 7, 0x8E, 5, 0x11, 0, 0, 0, 0}));
}

TEST_CASE("AUTH") {
    check_exact(Auth{}, V5, B({0xF0, 0}));
    Auth a{0x18, {}};
    a.properties.authentication_method = "m";
    check_exact(a, V5, B({0xF0, 6, 0x18, 4, 0x15, 0, 1, 'm'}));
    check_exact(Auth{0x19, {}}, V5, B({0xF0, 2, 0x19, 0}));
    // No AUTH in 3.1.1: nothing is written.
    CHECK(encode_bytes(a, V4).empty());
    CHECK(encoded_size(a, V4) == 0);
}

TEST_CASE("encode appends to what the vector holds") {
    Bytes out = B({0xAA});
    encode(Pingreq{}, V5, out);
    CHECK(out == B({0xAA, 0xC0, 0}));
}

TEST_CASE("packet_type") {
    CHECK(packet_type(Connect{}) == PacketType::Connect);
    CHECK(packet_type(Ack{PacketType::Pubrec, 1, 0, {}}) == PacketType::Pubrec);
    CHECK(packet_type(Auth{}) == PacketType::Auth);
    CHECK(packet_type(Unsuback{}) == PacketType::Unsuback);
}

TEST_CASE("encode_publish of a view is byte for byte encode of the same Publish") {
    Publish p;
    p.qos = 1;
    p.retain = true;
    p.dup = true;
    p.packet_id = 0x1234;
    p.topic = "a/b";
    p.payload = std::string("\0x\xff", 3);
    p.properties.subscription_identifiers = {7, 300};
    p.properties.topic_alias = 2;
    p.properties.user_properties = {{"k", "v"}};
    for (ProtocolVersion v : {V4, V5}) {
        PublishView view{p.dup, p.qos, p.retain, p.topic, p.packet_id, &p.properties, p.payload};
        std::vector<uint8_t> from_view;
        encode_publish(view, v, from_view);
        CHECK(from_view == encode_bytes(p, v));
        CHECK(encoded_publish_size(view, v) == from_view.size());
        view.properties = nullptr;
        Publish bare = p;
        bare.properties = {};
        std::vector<uint8_t> no_props;
        encode_publish(view, v, no_props);
        CHECK(no_props == encode_bytes(bare, v));
    }
}

TEST_CASE("encode_publish_head followed by the payload is encode_publish, for payloads past 2 MiB too") {
    Publish p;
    p.qos = 2;
    p.packet_id = 0xBEEF;
    p.topic = "big/t";
    p.properties.user_properties = {{"k", "v"}};
    for (size_t size : {size_t{0}, size_t{100}, size_t{70000}, size_t{3 << 20}}) {
        p.payload.assign(size, '\xA5');
        for (ProtocolVersion v : {V4, V5}) {
            PublishView view{p.dup, p.qos, p.retain, p.topic, p.packet_id, &p.properties, p.payload};
            std::vector<uint8_t> head;
            encode_publish_head(view, v, head);
            head.insert(head.end(), p.payload.begin(), p.payload.end());
            CHECK(head == encode_bytes(p, v));
        }
    }
}
