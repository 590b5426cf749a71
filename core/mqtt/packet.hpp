// The MQTT control packets of 3.1.1 and 5.0 as plain values. The codec turns bytes into these and
// back; the broker never sees bytes. Fields that exist only in MQTT 5 are ignored for 3.1.1.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mqtt/properties.hpp"

namespace roost::mqtt {

enum class PacketType : uint8_t {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    Auth = 15,
};

// The protocol level byte of CONNECT.
enum class ProtocolVersion : uint8_t { V311 = 4, V5 = 5 };

struct Will {
    std::string topic;
    std::string payload;  // binary
    uint8_t qos = 0;
    bool retain = false;
    Properties properties;  // will properties (MQTT 5)
    bool operator==(const Will&) const = default;
};

struct Connect {
    ProtocolVersion version = ProtocolVersion::V5;
    bool clean_start = true;  // "clean session" in 3.1.1
    uint16_t keep_alive = 0;
    std::string client_id;
    std::optional<Will> will;
    std::optional<std::string> username;
    std::optional<std::string> password;  // binary
    Properties properties;
    bool operator==(const Connect&) const = default;
};

struct Connack {
    bool session_present = false;
    // An MQTT 5 reason code; for 3.1.1 the encoder maps it down with to_connack_311().
    uint8_t reason_code = 0;
    Properties properties;
    bool operator==(const Connack&) const = default;
};

struct Publish {
    bool dup = false;
    uint8_t qos = 0;
    bool retain = false;
    std::string topic;       // may be empty in MQTT 5 when a topic alias is set
    uint16_t packet_id = 0;  // 0 for QoS 0
    Properties properties;
    std::string payload;  // binary
    bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share one shape.
struct Ack {
    PacketType type = PacketType::Puback;
    uint16_t packet_id = 0;
    uint8_t reason_code = 0;
    Properties properties;
    bool operator==(const Ack&) const = default;
};

struct SubscriptionOptions {
    uint8_t qos = 0;
    bool no_local = false;             // MQTT 5
    bool retain_as_published = false;  // MQTT 5
    uint8_t retain_handling = 0;       // MQTT 5: 0 send, 1 send if new, 2 never
    bool operator==(const SubscriptionOptions&) const = default;
};

struct TopicSubscription {
    std::string filter;
    SubscriptionOptions options;
    bool operator==(const TopicSubscription&) const = default;
};

struct Subscribe {
    uint16_t packet_id = 0;
    Properties properties;
    std::vector<TopicSubscription> subscriptions;  // at least one
    bool operator==(const Subscribe&) const = default;
};

struct Suback {
    uint16_t packet_id = 0;
    Properties properties;
    // MQTT 5 reason codes; for 3.1.1 the encoder writes 0..2 as is and anything >= 0x80 as 0x80.
    std::vector<uint8_t> reason_codes;
    bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
    uint16_t packet_id = 0;
    Properties properties;
    std::vector<std::string> filters;  // at least one
    bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
    uint16_t packet_id = 0;
    Properties properties;
    std::vector<uint8_t> reason_codes;  // MQTT 5 only; 3.1.1 UNSUBACK has no payload
    bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
    bool operator==(const Pingreq&) const = default;
};
struct Pingresp {
    bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
    uint8_t reason_code = 0;
    Properties properties;
    bool operator==(const Disconnect&) const = default;
};

struct Auth {
    uint8_t reason_code = 0;
    Properties properties;
    bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe, Unsuback, Pingreq,
                            Pingresp, Disconnect, Auth>;

PacketType packet_type(const Packet& p);
// "PUBLISH", for log lines.
std::string_view packet_type_name(PacketType type);

}  // namespace roost::mqtt
