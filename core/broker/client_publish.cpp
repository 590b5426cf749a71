// PUBLISH from a client and the acknowledgements both ways (spec 3.3 to 3.7, 4.3).
#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "broker/message_home.hpp"
#include "util/log.hpp"

namespace roost {

bool Client::resolve_topic_alias(mqtt::Publish& p) {
    if (!p.properties.topic_alias) {
        if (p.topic.empty()) {
            protocol_error(mqtt::ReasonCode::ProtocolError, "PUBLISH with an empty topic and no topic alias");
            return false;
        }
        return true;
    }
    uint16_t alias = *p.properties.topic_alias;
    const uint16_t maximum = _broker.limits().topic_alias_maximum;
    if (alias == 0 || alias > maximum) {
        protocol_error(mqtt::ReasonCode::TopicAliasInvalid,
                       fmt::format("topic alias {} is over the Topic Alias Maximum {}", alias, maximum));
        return false;
    }
    // The table grows with the aliases a client uses: a client that uses none pays nothing.
    if (!rare().aliases) _rare->aliases.emplace();
    std::vector<std::string>& in = _rare->aliases->in;
    if (alias >= in.size()) in.resize(alias + 1u);
    if (p.topic.empty()) {
        if (in[alias].empty()) {
            protocol_error(mqtt::ReasonCode::ProtocolError,
                           fmt::format("topic alias {} was never set", alias));
            return false;
        }
        p.topic = in[alias];
    } else {
        in[alias] = p.topic;
    }
    p.properties.topic_alias.reset();
    return true;
}

void Client::acknowledge(const mqtt::Publish& p, mqtt::ReasonCode reason) {
    if (p.qos == 0) return;
    owe({p.qos, p.packet_id, reason});
}

void Client::owe(const AckQueue::Ack& ack) {
    if (!acks()) return send_ack(ack);
    // Behind acknowledgements that still wait: it goes when they have (spec 4.6.0-2/3).
    std::vector<AckQueue::Ack> ready;
    acks()->queue.add_ready(ack, ready);
    send_acks(ready);
}

void Client::send_ack(const AckQueue::Ack& a) {
    mqtt::Ack ack;
    ack.type = a.qos == 1                    ? mqtt::PacketType::Puback
               : a.qos == AckQueue::kPubcomp ? mqtt::PacketType::Pubcomp
                                             : mqtt::PacketType::Pubrec;
    ack.packet_id = a.packet_id;
    ack.reason_code = static_cast<uint8_t>(a.reason);
    // Spec 2.2.1, 4.3.3: a PUBREC of 0x80 or above ends the flow, and the client may use the
    // packet id again at once. Kept, its next PUBLISH would pass for a resend of this one and
    // be acknowledged without being routed. (3.1.1 PUBREC carries no code: that client sends
    // PUBREL, which frees the id as usual.)
    if (ack.type == mqtt::PacketType::Pubrec && ack.reason_code >= 0x80 &&
        _version == mqtt::ProtocolVersion::V5 && _session && _session->incoming_qos2.erase(a.packet_id) != 0)
        _broker.persistence().delete_incoming_qos2(*_session, a.packet_id);
    send(std::move(ack));
}

void Client::send_acks(const std::vector<AckQueue::Ack>& ready) {
    for (const AckQueue::Ack& a : ready)
        send_ack(a);
    if (acks() && acks()->queue.empty()) {
        acks()->alive->cancelled = true;  // nothing can still answer it
        _rare->acks.reset();
    }
}

bool Client::acks_full() const {
    return acks() &&
           (acks()->queue.waiting() >= kMaxWaitingAcks || acks()->queue.bytes_held() >= kMaxWaitingAckBytes);
}

void Client::ack_done(uint64_t ticket, std::optional<mqtt::ReasonCode> reason) {
    const bool was_full = acks_full();
    std::vector<AckQueue::Ack> ready;
    acks()->queue.complete(ticket, reason, ready);
    send_acks(ready);
    trim_rare();  // answered outside process(): its box goes with the last waiting acknowledgement
    if (was_full && !acks_full() && !closing()) {
        // Room again for PUBLISHes that wait: reading goes on where the bound stopped it.
        if (!waiting()) _connection->resume_reading();
        process_guarded();
    }
}

void Client::handle_publish(mqtt::Publish& p) {
    using mqtt::ReasonCode;
    const BrokerConfig& features = _broker.config().broker;
    ++_broker.stats().messages_received;
    // Spec 3.3.4-6: Subscription Identifiers travel from the server only. The decoder accepts
    // them in PUBLISH (it reads both directions); a client sending one breaks the protocol.
    if (!p.properties.subscription_identifiers.empty())
        return protocol_error(ReasonCode::ProtocolError,
                              "PUBLISH from a client carries a Subscription Identifier");
    if (_version == mqtt::ProtocolVersion::V5 && !resolve_topic_alias(p)) return;
    if (p.qos > features.maximum_qos)
        return protocol_error(
            ReasonCode::QosNotSupported,
            fmt::format("PUBLISH QoS {} is over the maximum QoS {}", p.qos, features.maximum_qos));
    if (p.retain && !features.retain_available)
        return protocol_error(ReasonCode::RetainNotSupported,
                              "retained PUBLISH, but retain is not available");

    if (p.qos == 2) {
        // A PUBLISH whose id awaits PUBREL is a resend: answer again, route once (spec 4.3.3).
        // Its id is kept in the Session: made now if the client had none (broker.hpp).
        Session& s = ensure_session();
        if (s.incoming_qos2.contains(p.packet_id)) return acknowledge(p, ReasonCode::Success);
        // The bound is the Receive Maximum the CONNACK announced (spec 3.3.4-7, 4.9). MQTT 3.1.1
        // has no such limit: a 3.1.1 client may have any number of QoS 2 messages awaiting
        // PUBREL (MQTT.js sends them all at once), bounded only by the 65535 packet ids.
        if (_version == mqtt::ProtocolVersion::V5 && s.incoming_qos2.size() >= _broker.limits().max_inflight)
            return protocol_error(ReasonCode::ReceiveMaximumExceeded,
                                  fmt::format("more than {} QoS 2 messages awaiting PUBREL (Receive Maximum)",
                                              _broker.limits().max_inflight));
    }

    // No ACL plugin: no callback built on the hot path.
    if (!_broker.hooks().has_acl()) return finish_publish(p, _broker.hooks().acl_default(*this));
    HookDecision acl = _broker.hooks().acl(*this, AclAction::Publish, p.topic, p.payload, p.qos, p.retain,
                                           [this](const HookDecision& late) {
                                               resume_after_wait();
                                               mqtt::Publish waiting = std::move(*_rare->publish_waiting);
                                               _rare->publish_waiting.reset();
                                               if (!closing()) finish_publish(waiting, late);
                                               process();
                                           });
    if (acl.pending) {
        wait_for(std::move(acl.token));
        rare().publish_waiting = std::move(p);
        return;
    }
    if (closing()) return;  // a hook disconnected the publisher from inside its check
    finish_publish(p, acl);
}

void Client::finish_publish(mqtt::Publish& p, const HookDecision& acl) {
    using mqtt::ReasonCode;
    if (!acl.allowed) {
        log::info("{}: publish to '{}' denied: {}", describe(), p.topic, acl.why);
        return acknowledge(p, acl.reason);
    }

    // Freed on this worker whichever worker drops the last reference (message_home.hpp).
    auto message = message_home::make_homed_message();
    message->topic = std::move(p.topic);
    message->payload = std::move(p.payload);
    message->qos = p.qos;
    message->retain = p.retain;
    message->origin_client_id = _client_id;
    message->origin_session = _session_key;
    if (_version == mqtt::ProtocolVersion::V5) {
        // Only what travels end to end; alias and subscription ids are per hop.
        const mqtt::Properties& in = p.properties;
        mqtt::Properties& out = message->properties;
        out.payload_format_indicator = in.payload_format_indicator;
        out.content_type = in.content_type;
        out.response_topic = in.response_topic;
        out.correlation_data = in.correlation_data;
        out.user_properties = std::move(p.properties.user_properties);
        if (in.message_expiry_interval) {
            uint32_t seconds = *in.message_expiry_interval;
            uint32_t cap = _broker.limits().max_message_expiry;
            if (cap != 0 && seconds > cap) seconds = cap;
            message->expires_at = Clock::now() + std::chrono::seconds(seconds);
        }
    }
    ReasonCode dropped_reason = ReasonCode::Success;
    if (!_broker.hooks().on_message(this, *message, dropped_reason)) return acknowledge(p, dropped_reason);
    message->id = _broker.next_message_id();
    // The acknowledgement may have to wait: for durable stores (DESIGN.md "Durability") or for
    // room in a subscriber's full queue (queue_full_policy = "backpressure"). Routing makes the
    // wait when it finds the first reason, on any worker it reaches. The publisher's next
    // packets do not wait for it (AckQueue keeps the acknowledgements in order), up to
    // kMaxWaitingAcks and kMaxWaitingAckBytes.
    PublishContext context;
    uint64_t ticket = 0;
    // What make_wait reads, behind one pointer: with `this` the lambda fits std::function's
    // inline storage, so a QoS 1/2 publish allocates nothing for it (with four captures it did).
    struct WaitArgs {
        uint64_t& ticket;
        const mqtt::Publish& p;
        const std::shared_ptr<Message>& message;
    } args{ticket, p, message};
    if (p.qos > 0) {
        context.make_wait = [this, &args] {
            const auto& [ticket, p, message] = args;
            if (!acks()) rare().acks.emplace();
            ticket = acks()->queue.add_waiting({p.qos, p.packet_id, ReasonCode::Success},
                                               message->topic.size() + message->payload.size());
            return std::make_shared<PublishWait>(
                _broker.inbox(), [this, alive = acks()->alive, ticket, qos = p.qos, topic = message->topic](
                                     bool ok, bool quota, uint8_t failure) {
                    if (alive->cancelled) return;
                    ReasonCode failed = ReasonCode::Success;
                    if (!ok && !store_failed(topic, qos, failure, failed)) return;
                    ack_done(ticket, !ok     ? std::optional(failed)
                                     : quota ? std::optional(ReasonCode::QuotaExceeded)
                                             : std::nullopt);
                });
        };
    }
    size_t matched = _broker.publish(message, &context);
    _broker.hooks().on_routed(this, *message, matched);
    if (p.qos == 2) {
        _session->incoming_qos2.insert(p.packet_id);
        // Stored with the message: after a crash, a resend of this PUBLISH is known (exactly once).
        if (roost_call* store = _broker.persistence().save_incoming_qos2(*_session, p.packet_id))
            if (const std::shared_ptr<PublishWait>& wait = context.need_wait()) {
                wait->hold();
                _broker.persistence().when_done({store},
                                                [wait](bool ok, uint8_t why) { wait->release(ok, why); });
            }
    }
    ReasonCode reason = context.quota_exceeded ? ReasonCode::QuotaExceeded
                        : matched == 0         ? ReasonCode::NoMatchingSubscribers
                                               : ReasonCode::Success;
    if (!context.wait) return acknowledge(p, reason);
    if (context.wait->was_quota_exceeded()) reason = ReasonCode::QuotaExceeded;
    if (context.wait->release_here()) {
        // Every part it waited for finished while routing: no callback comes.
        if (!context.wait->ok() &&
            !store_failed(message->topic, p.qos, context.wait->failure_reason(), reason))
            return;
        std::vector<AckQueue::Ack> ready;
        acks()->queue.complete(ticket, reason, ready);
        return send_acks(ready);
    }
    acks()->queue.set_reason(ticket, reason);
}

bool Client::store_failed(const std::string& topic, uint8_t qos, uint8_t failure, mqtt::ReasonCode& reason) {
    // The message was routed in memory, but the store that was to keep it failed (a full disk,
    // the size bound): the publisher must not believe it is safe.
    reason = failure ? static_cast<mqtt::ReasonCode>(failure) : mqtt::ReasonCode::UnspecifiedError;
    const char* ack = qos == 1 ? "PUBACK" : "PUBREC";
    if (_version != mqtt::ProtocolVersion::V5) {
        log::warn(
            "{}: a persistence plugin could not store a message on '{}' (0x{:02x}); MQTT 3.1.1 has no "
            "failure code for {}, so the connection closes and the client sends it again",
            describe(), topic, failure, ack);
        disconnect(reason, "a persistence plugin could not store a message");
        return false;
    }
    log::warn("{}: a persistence plugin could not store a message on '{}': {} 0x{:02x}", describe(), topic,
              ack, static_cast<unsigned>(reason));
    return true;
}

void Client::handle_ack(const mqtt::Ack& a) {
    // Made if there was none (a stray acknowledgement): nothing is in flight, so it is unknown.
    Session& s = ensure_session();
    auto it = s.inflight.find(a.packet_id);
    switch (a.type) {
        case mqtt::PacketType::Puback:
            if (it == s.inflight.end() || it->second.state != OutgoingState::AwaitPuback) {
                log::debug("{}: PUBACK for unknown packet id {}", describe(), a.packet_id);
                return;
            }
            _broker.finish_outgoing(s, it);
            return _broker.pump(s);
        case mqtt::PacketType::Pubrec: {
            mqtt::Ack rel{mqtt::PacketType::Pubrel, a.packet_id, 0, {}};
            if (it == s.inflight.end() || it->second.state == OutgoingState::AwaitPuback) {
                rel.reason_code = static_cast<uint8_t>(mqtt::ReasonCode::PacketIdentifierNotFound);
                return send(std::move(rel));
            }
            if (a.reason_code >= 0x80) {  // the receiver refused it: the flow ends here
                _broker.finish_outgoing(s, it);
                return _broker.pump(s);
            }
            if (_broker.outgoing_released(s, it)) send(std::move(rel));
            return;
        }
        case mqtt::PacketType::Pubrel: {
            AckQueue::Ack comp{AckQueue::kPubcomp, a.packet_id, mqtt::ReasonCode::Success};
            if (s.incoming_qos2.erase(a.packet_id) == 0) {
                comp.reason = mqtt::ReasonCode::PacketIdentifierNotFound;
                return owe(comp);
            }
            roost_call* store = _broker.persistence().delete_incoming_qos2(s, a.packet_id);
            if (!store) return owe(comp);
            // The PUBCOMP frees the id for the publisher: it goes once the store forgot the id
            // too. It waits in the acknowledgement queue, not by pausing the client: the client
            // reads on, so the PUBRELs (and PUBLISHes) of one publisher share a commit.
            if (!acks()) rare().acks.emplace();
            uint64_t ticket = acks()->queue.add_waiting(comp, 0);
            _broker.persistence().when_done({store}, [this, alive = acks()->alive, ticket](bool, uint8_t) {
                if (!alive->cancelled) ack_done(ticket, std::nullopt);
            });
            return;
        }
        case mqtt::PacketType::Pubcomp:
            if (it == s.inflight.end() || it->second.state != OutgoingState::AwaitPubcomp) {
                log::debug("{}: PUBCOMP for unknown packet id {}", describe(), a.packet_id);
                return;
            }
            _broker.finish_outgoing(s, it);
            return _broker.pump(s);
        default:
            return protocol_error(mqtt::ReasonCode::ProtocolError, "unexpected acknowledgement type");
    }
}

}  // namespace roost
