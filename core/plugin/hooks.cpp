#include "plugin/hooks.hpp"

namespace roost {

HookDecision Hooks::authenticate(const ClientInfo& client, const mqtt::Connect& connect) const {
    if (connect.properties.authentication_method) {
        return {false, mqtt::ReasonCode::BadAuthenticationMethod,
                "authentication method '" + *connect.properties.authentication_method +
                    "' is not supported (no auth plugin is loaded)"};
    }
    if (!_config.allow_anonymous && !client.username->has_value()) {
        return {false, mqtt::ReasonCode::NotAuthorized,
                "anonymous clients are not allowed ([broker] allow_anonymous)"};
    }
    return {};
}

HookDecision Hooks::acl(const ClientInfo&, AclAction, std::string_view, uint8_t) const {
    return {};
}

bool Hooks::on_message(const ClientInfo*, Message&) const {
    return true;
}

}  // namespace roost
