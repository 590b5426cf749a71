#include "broker/broker_hooks.hpp"

#include "broker/client.hpp"

namespace roost {

HookDecision BrokerHooks::acl_default(const Client& client) const {
    if (client.listener().acl_default == DefaultDecision::Deny)
        return HookDecision::deny(mqtt::ReasonCode::NotAuthorized,
                                  "no ACL plugin allowed it (listener acl_default = deny)");
    return {};
}

}  // namespace roost
