// SUBSCRIBE and UNSUBSCRIBE (spec 3.8 to 3.11).
#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "mqtt/topic.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
bool has_wildcard(std::string_view filter) {
    return filter.find_first_of("+#") != std::string_view::npos;
}
}  // namespace

void Client::handle_subscribe(const mqtt::Subscribe& sub) {
    using mqtt::ReasonCode;
    const BrokerConfig& features = _broker.config().broker;
    uint32_t subscription_id = 0;
    if (!sub.properties.subscription_identifiers.empty()) {
        if (!features.subscription_identifiers)
            return protocol_error(
                ReasonCode::SubscriptionIdentifiersNotSupported,
                "SUBSCRIBE with a subscription identifier, which this broker does not support");
        subscription_id = sub.properties.subscription_identifiers.front();
    }

    struct Granted {
        std::string filter;
        SubscriptionRecord record;
        bool is_new;
        bool shared;
    };
    std::vector<Granted> granted;
    mqtt::Suback ack;
    ack.packet_id = sub.packet_id;
    for (const mqtt::TopicSubscription& ts : sub.subscriptions) {
        auto shared = mqtt::parse_shared_filter(ts.filter);
        std::string_view plain = shared ? shared->filter : std::string_view(ts.filter);
        ReasonCode refused = ReasonCode::Success;
        std::string why;
        uint32_t limit = _broker.limits().max_subscriptions_per_client;
        if (shared && !features.shared_subscriptions) {
            refused = ReasonCode::SharedSubscriptionsNotSupported;
            why = "shared subscriptions are off";
        } else if (has_wildcard(plain) && !features.wildcard_subscriptions) {
            refused = ReasonCode::WildcardSubscriptionsNotSupported;
            why = "wildcard subscriptions are off";
        } else if (limit != 0 && _session->subscriptions.size() >= limit &&
                   !_session->subscriptions.contains(ts.filter)) {
            refused = ReasonCode::QuotaExceeded;
            why = fmt::format("over [limits] max_subscriptions_per_client = {}", limit);
        } else if (HookDecision acl =
                       _broker.hooks().acl(info(), AclAction::Subscribe, ts.filter, ts.options.qos);
                   !acl.allowed) {
            refused = acl.reason;
            why = acl.why;
        }
        if (refused != ReasonCode::Success) {
            log::info("{}: subscription to '{}' refused: {}", describe(), ts.filter, why);
            ack.reason_codes.push_back(static_cast<uint8_t>(refused));
            continue;
        }
        SubscriptionRecord record{ts.options, subscription_id};
        record.options.qos = std::min(ts.options.qos, features.maximum_qos);
        bool is_new = _broker.subscribe(*_session, ts.filter, record);
        ack.reason_codes.push_back(record.options.qos);
        granted.push_back({ts.filter, record, is_new, shared.has_value()});
        log::debug("{}: subscribed to '{}' (QoS {})", describe(), ts.filter, record.options.qos);
    }
    send(ack);
    // Retained messages follow the SUBACK (spec 3.3.1.3); never for shared subscriptions (4.8.2).
    for (const Granted& g : granted) {
        uint8_t handling = g.record.options.retain_handling;
        if (g.shared || handling == 2 || (handling == 1 && !g.is_new)) continue;
        _broker.send_retained(*_session, g.filter, g.record);
    }
}

void Client::handle_unsubscribe(const mqtt::Unsubscribe& unsub) {
    mqtt::Unsuback ack;
    ack.packet_id = unsub.packet_id;
    for (const std::string& filter : unsub.filters) {
        bool existed = _broker.unsubscribe(*_session, filter);
        ack.reason_codes.push_back(static_cast<uint8_t>(existed ? mqtt::ReasonCode::Success
                                                                : mqtt::ReasonCode::NoSubscriptionExisted));
    }
    send(ack);
}

}  // namespace roost
