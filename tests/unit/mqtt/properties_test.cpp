// Every property, in every packet it may appear in, survives encode and decode.
#include <doctest/doctest.h>

#include "test_util.hpp"

using namespace roost::mqtt;
using namespace roost::mqtt::test;

namespace {

std::vector<UserProperty> users() {
    return {{"k", "v"}, {"k", "v2"}, {"", ""}, {"\xC3\xA9", "\xE2\x82\xAC"}};
}

Properties connect_props() {
    Properties p;
    p.session_expiry_interval = 0xFFFFFFFF;
    p.authentication_method = "SCRAM-SHA-1";
    p.authentication_data = std::string("\0\1\2", 3);
    p.request_problem_information = 0;
    p.request_response_information = 1;
    p.receive_maximum = 65535;
    p.topic_alias_maximum = 0;
    p.maximum_packet_size = 1;
    p.user_properties = users();
    return p;
}

Properties will_props() {
    Properties p;
    p.payload_format_indicator = 1;
    p.message_expiry_interval = 3600;
    p.content_type = "text/plain";
    p.response_topic = "reply/here";
    p.correlation_data = std::string("\xFF\0", 2);
    p.will_delay_interval = 30;
    p.user_properties = users();
    return p;
}

Properties connack_props() {
    Properties p;
    p.session_expiry_interval = 100;
    p.assigned_client_identifier = "auto-1";
    p.server_keep_alive = 30;
    p.authentication_method = "m";
    p.authentication_data = "d";
    p.response_information = "resp/";
    p.server_reference = "other:1883";
    p.reason_string = "why";
    p.receive_maximum = 20;
    p.topic_alias_maximum = 10;
    p.maximum_qos = 1;
    p.retain_available = 0;
    p.user_properties = users();
    p.maximum_packet_size = 1 << 20;
    p.wildcard_subscription_available = 1;
    p.subscription_identifier_available = 0;
    p.shared_subscription_available = 1;
    return p;
}

Properties publish_props() {
    Properties p = will_props();
    p.will_delay_interval.reset();
    p.subscription_identifiers = {1, 127, 128, 16383, 16384, 268435455};  // every varint length
    p.topic_alias = 65535;
    return p;
}

Properties reason_props() {
    Properties p;
    p.reason_string = "because";
    p.user_properties = users();
    return p;
}

}  // namespace

TEST_CASE("properties: CONNECT and will") {
    Connect c;
    c.client_id = "id";
    c.properties = connect_props();
    c.will = Will{"w/t", std::string("\0x", 2), 2, true, will_props()};
    c.username = "u";
    c.password = "";
    check_roundtrip(c, V5);
}

TEST_CASE("properties: CONNACK") {
    check_roundtrip(Connack{false, 0, connack_props()}, V5);
}

TEST_CASE("properties: PUBLISH") {
    Publish p;
    p.qos = 1;
    p.packet_id = 1;
    p.topic = "t";
    p.properties = publish_props();
    p.payload = "x";
    check_roundtrip(p, V5);
}

TEST_CASE("properties: acks, SUBACK, UNSUBACK, DISCONNECT, AUTH") {
    for (auto t : {PacketType::Puback, PacketType::Pubrec, PacketType::Pubrel, PacketType::Pubcomp})
        check_roundtrip(Ack{t, 9, 0, reason_props()}, V5);
    check_roundtrip(Suback{3, reason_props(), {0}}, V5);
    check_roundtrip(Unsuback{3, reason_props(), {0}}, V5);
    Properties d = reason_props();
    d.session_expiry_interval = 0;
    d.server_reference = "elsewhere";
    check_roundtrip(Disconnect{0x9C, d}, V5);
    Properties a = reason_props();
    a.authentication_method = "m";
    a.authentication_data = "d";
    check_roundtrip(Auth{0x18, a}, V5);
}

TEST_CASE("properties: SUBSCRIBE and UNSUBSCRIBE") {
    Subscribe s;
    s.packet_id = 4;
    s.properties.subscription_identifiers = {268435455};
    s.properties.user_properties = users();
    s.subscriptions = {{"a/#", {2, true, true, 1}}, {"$share/g/x", {0, false, true, 2}}};
    check_roundtrip(s, V5);
    Unsubscribe u;
    u.packet_id = 4;
    u.properties.user_properties = users();
    u.filters = {"a/#", "$share/g/x"};
    check_roundtrip(u, V5);
}

TEST_CASE("properties: byte layout of each data type") {
    Publish p;
    p.topic = "t";
    p.properties.message_expiry_interval = 0x01020304;  // four-byte integer
    p.properties.subscription_identifiers = {200};      // variable byte integer, 2 bytes
    p.properties.user_properties = {{"a", "b"}};        // string pair
    check_exact(p, V5,
                B({0x30, 19, 0, 1, 't', 15, 0x02, 1, 2, 3, 4, 0x0B, 0xC8, 0x01, 0x26, 0, 1, 'a', 0, 1, 'b'}));
}

TEST_CASE("properties: 3.1.1 drops them") {
    Publish p;
    p.topic = "t";
    p.properties = publish_props();
    CHECK(encode_bytes(p, V4) == B({0x30, 3, 0, 1, 't'}));
}
