// MQTT 5 properties (spec 2.2.2): one typed field per property, absent when not on the wire.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roost::mqtt {

enum class PropertyId : uint8_t {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0B,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1A,
    ServerReference = 0x1C,
    ReasonString = 0x1F,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQos = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2A,
};

struct UserProperty {
    std::string key;
    std::string value;
    bool operator==(const UserProperty&) const = default;
};

struct Properties {
    std::optional<uint8_t> payload_format_indicator;
    std::optional<uint32_t> message_expiry_interval;
    std::optional<std::string> content_type;
    std::optional<std::string> response_topic;
    std::optional<std::string> correlation_data;  // binary
    // PUBLISH from the server may carry several; SUBSCRIBE carries at most one.
    std::vector<uint32_t> subscription_identifiers;
    std::optional<uint32_t> session_expiry_interval;
    std::optional<std::string> assigned_client_identifier;
    std::optional<uint16_t> server_keep_alive;
    std::optional<std::string> authentication_method;
    std::optional<std::string> authentication_data;  // binary
    std::optional<uint8_t> request_problem_information;
    std::optional<uint32_t> will_delay_interval;
    std::optional<uint8_t> request_response_information;
    std::optional<std::string> response_information;
    std::optional<std::string> server_reference;
    std::optional<std::string> reason_string;
    std::optional<uint16_t> receive_maximum;
    std::optional<uint16_t> topic_alias_maximum;
    std::optional<uint16_t> topic_alias;
    std::optional<uint8_t> maximum_qos;
    std::optional<uint8_t> retain_available;
    std::vector<UserProperty> user_properties;
    std::optional<uint32_t> maximum_packet_size;
    std::optional<uint8_t> wildcard_subscription_available;
    std::optional<uint8_t> subscription_identifier_available;
    std::optional<uint8_t> shared_subscription_available;

    bool operator==(const Properties&) const = default;
};

// What one delivery of a shared message changes in its properties (MQTT 5): written in place of
// the message's own values, so the message's properties (user properties and all) are encoded
// straight from the shared copy, never copied per subscriber.
struct PublishExtras {
    const std::vector<uint32_t>* subscription_identifiers = nullptr;  // nullptr = the message's
    std::optional<uint32_t> message_expiry_interval;                  // set = replaces the message's
    std::optional<uint16_t> topic_alias;                              // set = replaces the message's
};

}  // namespace roost::mqtt
