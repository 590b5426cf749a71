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
    SubscribeProgress& started = rare().subscribing.emplace();
    started.ack.packet_id = sub.packet_id;
    started.packet = std::move(sub);
    continue_subscribe();
}

void Client::continue_subscribe() {
    using mqtt::ReasonCode;
    const BrokerConfig& features = _broker.config().broker;
    SubscribeProgress& progress = *_rare->subscribing;
    const mqtt::Subscribe& sub = progress.packet;
    size_t n = sub.subscriptions.size();
    progress.decisions.assign(n, std::nullopt);

    // Each filter is judged on its own (spec 3.9.3: one reason code per filter), and every one is
    // asked at once: ACL plugins that answer later all wait together, so N filters cost one
    // round trip. The answers are applied in the filters' order when the last one is in.
    for (size_t i = 0; i < n; ++i) {
        const mqtt::TopicSubscription& ts = sub.subscriptions[i];
        auto shared = mqtt::parse_shared_filter(ts.filter);
        std::string_view plain = shared ? shared->filter : std::string_view(ts.filter);
        const uint32_t max_levels = _broker.limits().max_topic_levels;
        if (mqtt::topic_levels(plain) > max_levels) {
            // Each level of a filter is a node of the subscription tree (issue 12, item 1).
            log::limit("max_topic_levels",
                       "{}: subscription refused: filter has {} levels, over [limits] "
                       "max_topic_levels = {}",
                       describe(), mqtt::topic_levels(plain), max_levels);
            progress.decisions[i] = HookDecision::deny(
                ReasonCode::TopicFilterInvalid,
                fmt::format("filter has over [limits] max_topic_levels = {} levels", max_levels));
        } else if (!features.allow_control_characters && mqtt::has_control_characters(ts.filter)) {
            progress.decisions[i] =
                HookDecision::deny(ReasonCode::TopicFilterInvalid,
                                   "filter contains a control character ([broker] allow_control_characters)");
        } else if (shared && !features.shared_subscriptions) {
            progress.decisions[i] = HookDecision::deny(ReasonCode::SharedSubscriptionsNotSupported,
                                                       "shared subscriptions are off");
        } else if (has_wildcard(plain) && !features.wildcard_subscriptions) {
            progress.decisions[i] = HookDecision::deny(ReasonCode::WildcardSubscriptionsNotSupported,
                                                       "wildcard subscriptions are off");
        } else if (_broker.hooks().has_acl()) {
            HookDecision d = _broker.hooks().acl(*this, AclAction::Subscribe, ts.filter, {}, ts.options.qos,
                                                 false, [this, i](const HookDecision& late) {
                                                     if (closing() || !_rare || !_rare->subscribing) return;
                                                     _rare->subscribing->decisions[i] = late;
                                                     if (--_rare->subscribing->waiting > 0) return;
                                                     resume_after_wait();
                                                     finish_subscribe();
                                                     process();
                                                 });
            if (d.pending) {
                ++progress.waiting;
                progress.tokens.push_back(std::move(d.token));
            } else {
                progress.decisions[i] = std::move(d);
            }
        } else {
            progress.decisions[i] = _broker.hooks().acl_default(*this);
        }
    }
    if (progress.waiting > 0) {
        // Packets after this SUBSCRIBE wait for its answers (on_closed cancels every token).
        wait_for(std::make_shared<PendingToken>());
        return;
    }
    if (closing()) return;  // a hook disconnected the client from inside a check
    finish_subscribe();
}

void Client::finish_subscribe() {
    SubscribeProgress& progress = *_rare->subscribing;
    for (progress.next = 0; progress.next < progress.packet.subscriptions.size(); ++progress.next)
        apply_subscription(*progress.decisions[progress.next]);
    if (progress.stores.empty()) return send_suback();

    // A stored session's subscriptions are durable before the SUBACK says so (a persistence
    // plugin answered PENDING): the SUBACK, and the packets behind it, wait for every store.
    struct StoreWait {
        size_t left;
        bool returned = false;  // finish_subscribe() returned before the last store completed
    };
    auto wait = std::make_shared<StoreWait>(StoreWait{progress.stores.size() + 1});
    auto token = std::make_shared<PendingToken>();
    auto finish = [this, wait] {
        if (wait->returned) resume_after_wait();
        send_suback();
        if (wait->returned) process();
    };
    for (auto [index, call] : progress.stores) {
        _broker.persistence().when_done({call}, [this, wait, token, index, finish](bool ok, uint8_t) {
            if (token->cancelled || !_rare || !_rare->subscribing) return;
            if (!ok) {
                log::warn("{}: a persistence plugin could not store a subscription: SUBACK 0x80", describe());
                _rare->subscribing->ack.reason_codes[index] =
                    static_cast<uint8_t>(mqtt::ReasonCode::UnspecifiedError);
            }
            if (--wait->left == 0) finish();
        });
    }
    progress.stores.clear();
    if (--wait->left == 0) return send_suback();
    wait->returned = true;
    wait_for(token);
}

void Client::send_suback() {
    SubscribeProgress& progress = *_rare->subscribing;
    mqtt::Suback ack = std::move(progress.ack);
    std::vector<std::pair<size_t, bool>> granted = std::move(progress.granted);
    mqtt::Subscribe packet = std::move(progress.packet);
    _rare->subscribing.reset();
    send(std::move(ack));
    // Retained messages follow the SUBACK (spec 3.3.1.3); never for shared subscriptions (4.8.2).
    for (auto [index, is_new] : granted) {
        const mqtt::TopicSubscription& ts = packet.subscriptions[index];
        uint8_t handling = ts.options.retain_handling;
        if (mqtt::parse_shared_filter(ts.filter) || handling == 2 || (handling == 1 && !is_new)) continue;
        auto it = _session->subscriptions.find(ts.filter);
        if (it == _session->subscriptions.end()) continue;
        std::vector<MessagePtr> found = _broker.retained_for(ts.filter);
        if (found.empty()) continue;
        if (!rare().retained_backlog) _rare->retained_backlog.emplace();
        _rare->retained_backlog->push_back({std::move(found), 0, it->second});
    }
    // Sent by process() before the next packet is read, a budget per loop turn.
}

void Client::apply_subscription(const HookDecision& d) {
    SubscribeProgress& progress = *_rare->subscribing;
    const mqtt::TopicSubscription& ts = progress.packet.subscriptions[progress.next];
    if (!d.allowed) {
        log::info("{}: subscription to '{}' refused: {}", describe(), ts.filter, d.why);
        progress.ack.reason_codes.push_back(static_cast<uint8_t>(d.reason));
        return;
    }
    // The quota is judged in the filters' order, as they are applied.
    Session& session = ensure_session();  // subscriptions live in the Session (broker.hpp)
    uint32_t limit = _broker.limits().max_subscriptions_per_client;
    if (limit != 0 && session.subscriptions.size() >= limit && !session.subscriptions.contains(ts.filter)) {
        log::info("{}: subscription to '{}' refused: over [limits] max_subscriptions_per_client = {}",
                  describe(), ts.filter, limit);
        progress.ack.reason_codes.push_back(static_cast<uint8_t>(mqtt::ReasonCode::QuotaExceeded));
        return;
    }
    uint32_t subscription_id = progress.packet.properties.subscription_identifiers.empty()
                                   ? 0
                                   : progress.packet.properties.subscription_identifiers.front();
    SubscriptionRecord record{ts.options, subscription_id};
    record.options.qos = std::min(ts.options.qos, _broker.config().broker.maximum_qos);
    roost_call* store = nullptr;
    bool is_new = _broker.subscribe(session, ts.filter, record, &store);
    if (store) progress.stores.emplace_back(progress.ack.reason_codes.size(), store);
    progress.ack.reason_codes.push_back(record.options.qos);
    progress.granted.emplace_back(progress.next, is_new);
    log::debug("{}: subscribed to '{}' (QoS {})", describe(), ts.filter, record.options.qos);
}

void Client::handle_unsubscribe(const mqtt::Unsubscribe& unsub) {
    mqtt::Unsuback ack;
    ack.packet_id = unsub.packet_id;
    for (const std::string& filter : unsub.filters) {
        bool existed = _session && _broker.unsubscribe(*_session, filter);  // none made: none existed
        ack.reason_codes.push_back(static_cast<uint8_t>(existed ? mqtt::ReasonCode::Success
                                                                : mqtt::ReasonCode::NoSubscriptionExisted));
    }
    send(std::move(ack));
}

}  // namespace roost
