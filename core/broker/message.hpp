// An application message as the broker holds it: immutable once built and shared by reference
// between the sessions it is queued for and the retained store.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "mqtt/properties.hpp"

namespace roost {

using Clock = std::chrono::steady_clock;

struct Message {
    std::string topic;
    std::string payload;
    uint8_t qos = 0;
    bool retain = false;
    // What travels to subscribers: payload format, content type, response topic, correlation data,
    // user properties. Never a topic alias or subscription identifier (those are per hop).
    mqtt::Properties properties;
    std::optional<Clock::time_point> expires_at;  // from Message Expiry Interval
    std::string origin_client_id;                 // for the log and storage; empty for broker-made messages
    uint64_t origin_session = 0;                  // the publisher's session key, for no-local; 0 = none
    uint64_t id = 0;                              // a broker-wide sequence, for persistence and logs

    bool expired(Clock::time_point now) const { return expires_at && now >= *expires_at; }
};

using MessagePtr = std::shared_ptr<const Message>;

}  // namespace roost
