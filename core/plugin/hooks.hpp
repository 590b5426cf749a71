// The points where plugins decide: authentication, ACLs, message inspection, persistence.
// Today only the built-in defaults answer; the plugin ABI (sdk/include/roost/plugin.h) will
// chain loaded plugins in front of them, each answering allow, deny, next or pending.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "broker/message.hpp"
#include "config/config.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_codes.hpp"

namespace roost {

// Who is asking, borrowed for the length of one hook call.
struct ClientInfo {
    std::string_view client_id;
    const std::optional<std::string>* username;
    std::string_view address;
    mqtt::ProtocolVersion version;
};

enum class AclAction { Publish, Subscribe, Deliver };

struct HookDecision {
    bool allowed = true;
    mqtt::ReasonCode reason = mqtt::ReasonCode::Success;  // with !allowed: what the client is told
    std::string why;                                      // for the log
};

class Hooks {
  public:
    explicit Hooks(const BrokerConfig& config) : _config(config) {}

    HookDecision authenticate(const ClientInfo& client, const mqtt::Connect& connect) const;
    HookDecision acl(const ClientInfo& client, AclAction action, std::string_view topic, uint8_t qos) const;
    // Before routing: may rewrite `message`; false drops it.
    bool on_message(const ClientInfo* client, Message& message) const;

  private:
    const BrokerConfig& _config;
};

}  // namespace roost
