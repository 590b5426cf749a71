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

void Client::handle_subscribe(mqtt::Subscribe& sub) {
    if (!sub.properties.subscription_identifiers.empty() && !_broker.config().broker.subscription_identifiers)
        return protocol_error(mqtt::ReasonCode::SubscriptionIdentifiersNotSupported,
                              "SUBSCRIBE with a subscription identifier, which this broker does not support");
    _subscribing.emplace();
    _subscribing->ack.packet_id = sub.packet_id;
    _subscribing->packet = std::move(sub);
    continue_subscribe();
}

void Client::continue_subscribe() {
    using mqtt::ReasonCode;
    const BrokerConfig& features = _broker.config().broker;
    SubscribeProgress& progress = *_subscribing;
    const mqtt::Subscribe& sub = progress.packet;

    // Each filter is judged on its own (spec 3.9.3: one reason code per filter); an ACL plugin
    // that answers later holds the rest until it does, so the SUBACK keeps the filters' order.
    for (; progress.next < sub.subscriptions.size(); ++progress.next) {
        const mqtt::TopicSubscription& ts = sub.subscriptions[progress.next];
        auto shared = mqtt::parse_shared_filter(ts.filter);
        std::string_view plain = shared ? shared->filter : std::string_view(ts.filter);
        uint32_t limit = _broker.limits().max_subscriptions_per_client;
        const uint32_t max_levels = _broker.limits().max_topic_levels;
        HookDecision d;
        if (mqtt::topic_levels(plain) > max_levels) {
            // Each level of a filter is a node of the subscription tree (issue 12, item 1).
            log::limit("max_topic_levels",
                       "{}: subscription refused: filter has {} levels, over [limits] "
                       "max_topic_levels = {}",
                       describe(), mqtt::topic_levels(plain), max_levels);
            d = HookDecision::deny(
                ReasonCode::TopicFilterInvalid,
                fmt::format("filter has over [limits] max_topic_levels = {} levels", max_levels));
        } else if (!features.allow_control_characters && mqtt::has_control_characters(ts.filter)) {
            d = HookDecision::deny(ReasonCode::TopicFilterInvalid,
                                   "filter contains a control character ([broker] allow_control_characters)");
        } else if (shared && !features.shared_subscriptions) {
            d = HookDecision::deny(ReasonCode::SharedSubscriptionsNotSupported,
                                   "shared subscriptions are off");
        } else if (has_wildcard(plain) && !features.wildcard_subscriptions) {
            d = HookDecision::deny(ReasonCode::WildcardSubscriptionsNotSupported,
                                   "wildcard subscriptions are off");
        } else if (limit != 0 && _session->subscriptions.size() >= limit &&
                   !_session->subscriptions.contains(ts.filter)) {
            log::limit("max_subscriptions_per_client",
                       "{}: subscription refused: over [limits] "
                       "max_subscriptions_per_client = {}",
                       describe(), limit);
            d = HookDecision::deny(ReasonCode::QuotaExceeded,
                                   fmt::format("over [limits] max_subscriptions_per_client = {}", limit));
        } else if (_broker.hooks().has_acl()) {
            d = _broker.hooks().acl(*this, AclAction::Subscribe, ts.filter, {}, ts.options.qos, false,
                                    [this](const HookDecision& late) {
                                        resume_after_wait();
                                        if (closing() || !_subscribing) return;
                                        apply_subscription(late);
                                        ++_subscribing->next;
                                        continue_subscribe();
                                        process();
                                    });
            if (d.pending) {
                wait_for(std::move(d.token));
                return;
            }
        } else {
            d = _broker.hooks().acl_default(*this);
        }
        apply_subscription(d);
    }

    mqtt::Suback ack = std::move(progress.ack);
    std::vector<std::pair<size_t, bool>> granted = std::move(progress.granted);
    mqtt::Subscribe packet = std::move(progress.packet);
    _subscribing.reset();
    send(std::move(ack));
    // Retained messages follow the SUBACK (spec 3.3.1.3); never for shared subscriptions (4.8.2).
    for (auto [index, is_new] : granted) {
        const mqtt::TopicSubscription& ts = packet.subscriptions[index];
        uint8_t handling = ts.options.retain_handling;
        if (mqtt::parse_shared_filter(ts.filter) || handling == 2 || (handling == 1 && !is_new)) continue;
        auto it = _session->subscriptions.find(ts.filter);
        if (it != _session->subscriptions.end()) _broker.send_retained(*_session, ts.filter, it->second);
    }
}

void Client::apply_subscription(const HookDecision& d) {
    SubscribeProgress& progress = *_subscribing;
    const mqtt::TopicSubscription& ts = progress.packet.subscriptions[progress.next];
    if (!d.allowed) {
        log::info("{}: subscription to '{}' refused: {}", describe(), ts.filter, d.why);
        progress.ack.reason_codes.push_back(static_cast<uint8_t>(d.reason));
        return;
    }
    uint32_t subscription_id = progress.packet.properties.subscription_identifiers.empty()
                                   ? 0
                                   : progress.packet.properties.subscription_identifiers.front();
    SubscriptionRecord record{ts.options, subscription_id};
    record.options.qos = std::min(ts.options.qos, _broker.config().broker.maximum_qos);
    bool is_new = _broker.subscribe(*_session, ts.filter, record);
    progress.ack.reason_codes.push_back(record.options.qos);
    progress.granted.emplace_back(progress.next, is_new);
    log::debug("{}: subscribed to '{}' (QoS {})", describe(), ts.filter, record.options.qos);
}

void Client::handle_unsubscribe(const mqtt::Unsubscribe& unsub) {
    mqtt::Unsuback ack;
    ack.packet_id = unsub.packet_id;
    for (const std::string& filter : unsub.filters) {
        bool existed = _broker.unsubscribe(*_session, filter);
        ack.reason_codes.push_back(static_cast<uint8_t>(existed ? mqtt::ReasonCode::Success
                                                                : mqtt::ReasonCode::NoSubscriptionExisted));
    }
    send(std::move(ack));
}

}  // namespace roost
