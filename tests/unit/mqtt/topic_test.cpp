#include <doctest/doctest.h>

#include "mqtt/reason_codes.hpp"
#include "mqtt/topic.hpp"

using namespace roost::mqtt;

TEST_CASE("topic: valid_topic_name") {
    struct Row {
        const char* name;
        bool valid;
    };
    const Row rows[] = {
        {"a", true},      {"a/b/c", true},        {"/", true},  {"a//b", true},
        {"$SYS/x", true}, {"sport/tennis", true}, {" ", true},  {"", false},
        {"+", false},     {"a/+", false},         {"#", false}, {"a/#", false},
        {"a#", false},    {"\xC0\x80", false},
    };
    for (const Row& r : rows)
        CHECK_MESSAGE(valid_topic_name(r.name) == r.valid, r.name);
}

TEST_CASE("topic: valid_topic_filter") {
    struct Row {
        const char* filter;
        bool valid;
    };
    const Row rows[] = {
        {"a", true},
        {"#", true},
        {"+", true},
        {"a/#", true},
        {"+/+", true},
        {"/+", true},
        {"a/+/b", true},
        {"+/#", true},
        {"/", true},
        {"$SYS/#", true},
        {"", false},
        {"a/#/b", false},
        {"a#", false},
        {"#/", false},
        {"a+", false},
        {"a/b+/c", false},
        {"++", false},
        {"\xED\xA0\x80", false},
        {"$share/g/a/b", true},
        {"$share/g/#", true},
        {"$share/g/+/x", true},
        {"$share/g/", false},  // empty filter after the group
        {"$share/g", false},
        {"$share//a", false},  // empty group
        {"$share/g+/a", false},
        {"$share/g#/a", false},
        {"$share/g/a#", false},
        {"$share", true},  // not a shared subscription, just a topic
        {"$sharex/g/a", true},
    };
    for (const Row& r : rows)
        CHECK_MESSAGE(valid_topic_filter(r.filter) == r.valid, r.filter);
}

TEST_CASE("topic: topic_matches") {
    struct Row {
        const char* filter;
        const char* topic;
        bool match;
    };
    const Row rows[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/c", false},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"#", "a", true},
        {"#", "a/b/c", true},
        {"#", "/", true},
        {"a/#", "a", true},  // '#' also matches the parent level
        {"a/#", "a/b", true},
        {"a/#", "a/b/c", true},
        {"a/#", "ab", false},
        {"a/#", "b/a", false},
        {"+", "a", true},
        {"+", "", true},  // '+' matches an empty level
        {"+", "a/b", false},
        {"+", "/", false},
        {"+/+", "/", true},
        {"/+", "/a", true},
        {"/+", "/", true},
        {"a/+", "a/", true},
        {"a/+", "a", false},
        {"a/+/c", "a/b/c", true},
        {"a/+/c", "a//c", true},
        {"a/+/c", "a/b/d", false},
        {"+/+/#", "a/b", true},
        {"a/b/#", "a/b", true},
        {"a//b", "a//b", true},
        {"a/b", "a//b", false},
        {"sport/tennis/+", "sport/tennis/player1", true},
        {"sport/+", "sport", false},
        {"sport/+", "sport/", true},
        {"#", "$SYS/x", false},  // '$' topics are not matched by leading wildcards
        {"+/x", "$SYS/x", false},
        {"+", "$SYS", false},
        {"$SYS/#", "$SYS/x", true},
        {"$SYS/+", "$SYS/x", true},
        {"$SYS/#", "$SYS", true},
        {"a/$x", "a/$x", true},
        {"+/$x", "a/$x", true},
    };
    for (const Row& r : rows)
        CHECK_MESSAGE(topic_matches(r.filter, r.topic) == r.match, r.filter, " vs ", r.topic);
}

TEST_CASE("topic: parse_shared_filter") {
    auto s = parse_shared_filter("$share/group/a/+/b");
    REQUIRE(s);
    CHECK(s->group == "group");
    CHECK(s->filter == "a/+/b");
    CHECK_FALSE(parse_shared_filter("a/b"));
    CHECK_FALSE(parse_shared_filter("$share"));
    CHECK_FALSE(parse_shared_filter("$SYS/share/x"));
}

TEST_CASE("reason codes: names and 3.1.1 CONNACK mapping") {
    CHECK(reason_name(ReasonCode::MalformedPacket) == "Malformed Packet");
    CHECK(reason_name(ReasonCode::ProtocolError) == "Protocol Error");
    CHECK(reason_name(ReasonCode::PacketTooLarge) == "Packet too large");
    CHECK(reason_name(ReasonCode::Success) == "Success");
    CHECK(reason_name(static_cast<ReasonCode>(0x42)) == "Unknown reason code");
    using C = ConnackReturnCode311;
    CHECK(to_connack_311(ReasonCode::Success) == C::Accepted);
    CHECK(to_connack_311(ReasonCode::UnsupportedProtocolVersion) == C::UnacceptableProtocolVersion);
    CHECK(to_connack_311(ReasonCode::ClientIdentifierNotValid) == C::IdentifierRejected);
    CHECK(to_connack_311(ReasonCode::ServerUnavailable) == C::ServerUnavailable);
    CHECK(to_connack_311(ReasonCode::ServerBusy) == C::ServerUnavailable);
    CHECK(to_connack_311(ReasonCode::BadUserNameOrPassword) == C::BadUserNameOrPassword);
    CHECK(to_connack_311(ReasonCode::NotAuthorized) == C::NotAuthorized);
    CHECK(to_connack_311(ReasonCode::Banned) == C::NotAuthorized);
    CHECK(to_connack_311(ReasonCode::BadAuthenticationMethod) == C::NotAuthorized);
    CHECK(to_connack_311(ReasonCode::UnspecifiedError) == C::ServerUnavailable);
}
