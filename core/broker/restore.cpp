// Rebuilding the broker's state at start from what persistence plugins stored: the
// roost_restore_sink a plugin's restore() calls, one function per kind of record.
#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "broker/broker.hpp"
#include "broker/durable_store.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
std::string string_of(roost_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.len) : "";
}

// Stored times are wall-clock; the broker runs on the monotonic clock.
Clock::time_point from_unix_ms(int64_t ms) {
    auto now_unix = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return Clock::now() + std::chrono::milliseconds(ms - now_unix);
}

std::shared_ptr<Message> message_of(const roost_stored_message& m) {
    auto out = std::make_shared<Message>();
    out->id = m.id;
    out->topic = string_of(m.topic);
    out->payload = string_of(m.payload);
    out->qos = m.qos;
    out->retain = m.retain != 0;
    out->origin_client_id = string_of(m.origin_client_id);
    if (m.expires_at_ms != 0) out->expires_at = from_unix_ms(m.expires_at_ms);
    if (!decode_message_properties(m.properties, out->properties)) return nullptr;
    return out;
}
}  // namespace

struct RestoreSink {
    Broker& broker;
    std::unordered_map<uint64_t, MessagePtr> messages;
    size_t sessions = 0, subscriptions = 0, deliveries = 0, retained = 0, skipped = 0;
    // Records for a session the plugin did not hand over first: the log says how many.
    size_t orphan_subscriptions = 0, orphan_qos2 = 0;

    static RestoreSink& self(void* ctx) { return *static_cast<RestoreSink*>(ctx); }

    static int message(void* ctx, const roost_stored_message* m) {
        auto msg = m ? message_of(*m) : nullptr;
        if (!msg) return ROOST_EINVAL;
        self(ctx).broker._router.message_id_seen(m->id);
        self(ctx).messages[m->id] = std::move(msg);
        return ROOST_OK;
    }

    static int retained_message(void* ctx, const roost_stored_message* m) {
        auto msg = m ? message_of(*m) : nullptr;
        if (!msg || msg->topic.empty()) return ROOST_EINVAL;
        msg->retain = true;
        // New messages must not reuse a stored id, retained ones included.
        self(ctx).broker._router.message_id_seen(m->id);
        if (msg->expired(Clock::now())) return ROOST_OK;
        self(ctx).broker._router.set_retained(std::move(msg));
        ++self(ctx).retained;
        return ROOST_OK;
    }

    static int session(void* ctx, const roost_session_record* r) {
        if (!r) return ROOST_EINVAL;
        Broker& b = self(ctx).broker;
        std::string id = string_of(r->client_id);
        if (id.empty()) return ROOST_EINVAL;
        auto s = std::make_shared<Session>();
        s->ref.key = b._router.next_session_key();
        s->ref.worker.store(b._index);
        s->client_id = std::move(id);
        // A second record for one id is refused (the directory points at s->client_id).
        if (b._router.claim(s->client_id, b._index, s->ref.key)) return ROOST_EINVAL;
        s->expiry_interval = r->expiry_interval;
        s->stored = true;  // its end must delete the record it came from
        // Every restored session starts offline; its clock ran while the broker was down.
        s->disconnected_at = r->disconnected_at_ms ? from_unix_ms(r->disconnected_at_ms) : Clock::now();
        if (s->expiry_interval != UINT32_MAX)
            s->expires_at = *s->disconnected_at + std::chrono::seconds(s->expiry_interval);
        if (r->will) {
            mqtt::Will will;
            will.topic = string_of(r->will->topic);
            will.payload = string_of(r->will->payload);
            will.qos = r->will->qos;
            will.retain = r->will->retain != 0;
            decode_message_properties(r->will->properties, will.properties);
            s->delay_will(std::move(will), from_unix_ms(r->will_due_ms));
        }
        b.schedule_deadline(*s);
        b._sessions.insert(std::move(s));
        ++self(ctx).sessions;
        return ROOST_OK;
    }

    static int subscription(void* ctx, const roost_subscription_record* r) {
        if (!r) return ROOST_EINVAL;
        Broker& b = self(ctx).broker;
        std::shared_ptr<Session> session = b.find_session(string_of(r->client_id));
        if (!session) {
            ++self(ctx).orphan_subscriptions;
            return ROOST_EGONE;
        }
        SubscriptionRecord rec;
        rec.options.qos = std::min<uint8_t>(r->qos, 2);
        rec.options.no_local = r->no_local != 0;
        rec.options.retain_as_published = r->retain_as_published != 0;
        rec.options.retain_handling = r->retain_handling;
        rec.subscription_id = r->subscription_id;
        std::string filter = string_of(r->filter);
        session->subscriptions.insert_or_assign(filter, rec);
        b._router.subscribe(session->ref, filter, rec.options, rec.subscription_id);
        ++self(ctx).subscriptions;
        return ROOST_OK;
    }

    static int incoming_qos2(void* ctx, roost_bytes client_id, uint16_t packet_id) {
        if (packet_id == 0) return ROOST_EGONE;  // not a packet id: nothing to count as orphaned
        std::shared_ptr<Session> s = self(ctx).broker.find_session(string_of(client_id));
        if (!s) {
            ++self(ctx).orphan_qos2;
            return ROOST_EGONE;
        }
        s->incoming_qos2.insert(packet_id);
        return ROOST_OK;
    }

    static int delivery(void* ctx, const roost_delivery_record* r) {
        if (!r) return ROOST_EINVAL;
        RestoreSink& sink = self(ctx);
        std::shared_ptr<Session> s = sink.broker.find_session(string_of(r->client_id));
        auto m = sink.messages.find(r->message_id);
        if (!s || m == sink.messages.end()) {
            ++sink.skipped;
            return ROOST_EGONE;
        }
        Session& session = *s;
        Delivery d{m->second, r->qos, r->retain != 0, {}};
        d.subscription_ids.assign(r->subscription_ids, r->subscription_ids + r->subscription_id_count);
        d.sequence = r->sequence;
        d.persisted = true;
        session.next_sequence = std::max(session.next_sequence, r->sequence + 1);
        sink.broker._persistence.note_restored(d);
        if (r->state == ROOST_DELIVERY_QUEUED || r->packet_id == 0) {
            sink.broker.push_queued(session, std::move(d));
        } else {
            OutgoingState state = r->state == ROOST_DELIVERY_AWAIT_PUBCOMP  ? OutgoingState::AwaitPubcomp
                                  : r->state == ROOST_DELIVERY_AWAIT_PUBREC ? OutgoingState::AwaitPubrec
                                                                            : OutgoingState::AwaitPuback;
            session.inflight.insert_or_assign(r->packet_id, Outgoing{std::move(d), state});
        }
        ++sink.deliveries;
        return ROOST_OK;
    }
};

bool Broker::restore() {
    if (!_persistence.enabled()) return true;
    RestoreSink sink{*this, {}};
    roost_restore_sink table{sizeof table,          &sink,
                             RestoreSink::message,  RestoreSink::retained_message,
                             RestoreSink::session,  RestoreSink::subscription,
                             RestoreSink::delivery, RestoreSink::incoming_qos2};
    if (_persistence.restore(table) < 0) return false;
    // Queues in the order the messages came, whatever order the plugin handed them back in.
    _sessions.for_each([](Session& s) {
        std::stable_sort(s.queue.begin(), s.queue.end(),
                         [](const Delivery& a, const Delivery& b) { return a.sequence < b.sequence; });
    });
    log::info(
        "restored {} sessions, {} subscriptions, {} queued or in-flight messages, {} retained messages{}",
        sink.sessions, sink.subscriptions, sink.deliveries, sink.retained,
        sink.skipped ? fmt::format(" ({} deliveries skipped: unknown session or message)", sink.skipped)
                     : "");
    if (sink.orphan_subscriptions || sink.orphan_qos2)
        log::warn(
            "restore skipped {} subscriptions and {} QoS 2 packet ids of unknown sessions (a persistence "
            "plugin must restore a session before its subscriptions and QoS 2 ids)",
            sink.orphan_subscriptions, sink.orphan_qos2);
    return true;
}

}  // namespace roost
