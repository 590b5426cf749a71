#include "broker/broker.hpp"

#include <algorithm>
#include <random>

#include "broker/client.hpp"
#include "broker/message_home.hpp"
#include "net/worker_inbox.hpp"
#include "util/log.hpp"

namespace roost {

Broker::Broker(const Config& config, Router& router, unsigned index, uv_loop_t* loop, WorkerInbox& inbox,
               BrokerHooks& hooks, DurableStore& store)
    : _config(config),
      _router(router),
      _index(index),
      _inbox(inbox),
      _hooks(hooks),
      _persistence(store),
      _outbox(router.worker_count()),
      _persist_delay_ms(config.broker.persist_delay_ms),
      _loop(loop) {
    uv_check_init(loop, &_outbox_check);
    uv_idle_init(loop, &_outbox_idle);
    _outbox_check.data = this;
    _outbox_idle.data = this;
    uv_timer_init(loop, &_deferred_timer);
    uv_timer_init(loop, &_keep_alive_timer);
    _keep_alive_timer.data = this;
    uv_timer_init(loop, &_deadline_timer);
    _deadline_timer.data = this;
    // Never what keeps a stopping worker's loop running: sessions that outlive the process
    // (persistence) keep their deadlines armed through the shutdown.
    uv_unref(reinterpret_cast<uv_handle_t*>(&_deadline_timer));
    uv_check_init(loop, &_release_check);
    uv_idle_init(loop, &_release_idle);
    _deferred_timer.data = this;
    _release_check.data = this;
    _next_tick = _clock_base + std::chrono::seconds(1);  // the first tick's (Server::start_timers)
}

uint64_t Broker::SessionKeyOf::of(const Client& client) {
    return client._session_key;
}

Broker::~Broker() {
    // The directory points at the ids of the sessions it lists (session_directory.hpp): the
    // sessions still here go out of it before they go.
    _sessions.for_each([this](const Session& s) { _router.release(s.client_id, s.ref.key); });
    // Likewise the clients' ids of sessions not made.
    for (Client* c : _clients)
        if (c->_session_key != 0 && _sessionless.find(c->_session_key) == c)
            _router.release(c->client_id(), c->_session_key);
}

std::shared_ptr<Session> Broker::find_session(std::string_view client_id) {
    std::optional<Router::Owner> owner = _router.owner(client_id);
    if (!owner || owner->worker != _index) return nullptr;
    if (std::shared_ptr<Session> s = _sessions.find_shared(owner->key)) return s;
    // A connected client's clean session, not made yet: made now, so that the takeover that asks
    // runs as for any other session ("session present" with clean start 0, as before).
    if (Client* c = _sessionless.find(owner->key)) {
        make_session(*c);
        return c->_session;
    }
    return nullptr;
}

SessionKey Broker::local_session_key(std::string_view client_id) const {
    std::optional<Router::Owner> owner = _router.owner(client_id);
    if (!owner || owner->worker != _index) return 0;
    return _sessions.find(owner->key) || _sessionless.find(owner->key) ? owner->key : 0;
}

Session& Broker::make_session(Client& client) {
    auto session = std::make_shared<Session>();
    session->ref.key = client._session_key;
    session->ref.worker.store(_index);
    session->client_id = client._client_id;
    session->client = &client;
    // The directory entry named the client's id: from now on the Session's, which outlives the
    // client if a takeover continues the session.
    _router.repoint(session->client_id, session->ref.key);
    _sessionless.erase(session->ref.key);
    _sessions.insert(session);
    set_online(*session, true);
    client._session = std::move(session);
    return *client._session;
}

Session* Broker::find_session(SessionKey key) const {
    return _sessions.find(key);
}

void Broker::close() {
    // Parts not handed back yet: their publishers' workers may still run (release posts there).
    for (auto& wait : std::exchange(_released_waits, {}))
        wait->release(true);
    for (auto* h :
         {reinterpret_cast<uv_handle_t*>(&_outbox_check), reinterpret_cast<uv_handle_t*>(&_outbox_idle),
          reinterpret_cast<uv_handle_t*>(&_deferred_timer),
          reinterpret_cast<uv_handle_t*>(&_keep_alive_timer),
          reinterpret_cast<uv_handle_t*>(&_deadline_timer), reinterpret_cast<uv_handle_t*>(&_release_check),
          reinterpret_cast<uv_handle_t*>(&_release_idle)})
        if (!uv_is_closing(h)) uv_close(h, nullptr);
}

void Broker::accept(net::Connection* connection, const ListenerConfig& listener) {
    ++_stats.connections_total;
    auto* client = new Client(*this, connection, listener);
    client->_slot = static_cast<uint32_t>(_clients.size());
    _clients.push_back(client);
    _check_at.push_back(next_look(*client, Clock::now()));
    if (int rc = connection->start(client); rc != 0)
        connection->close(std::string("cannot read from socket: ") + uv_strerror(rc));
}

bool Broker::at_connection_limit() const {
    return _config.limits.max_connections != 0 && _router.connected.load() >= _config.limits.max_connections;
}

std::string Broker::assign_client_id() {
    // Unique for the life of the process and unlikely to collide with a client-chosen id.
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("roost-{:x}-{}", rng() & 0xffffffffffULL, _router.next_assigned_id());
}

bool Broker::post_to(unsigned worker, std::function<void()> fn) {
    return _router.worker(worker)->inbox().post(std::move(fn));
}

void Broker::attach(Client& client, const std::string& client_id, bool clean_start, uint32_t expiry_interval,
                    std::shared_ptr<PendingToken> token, Attached attached) {
    if (std::shared_ptr<Session> here = find_session(client_id))
        return attach_here(client, std::move(here), clean_start, expiry_interval, token, attached, false);
    // A new session that ends with its connection is not made until it is needed ("Sessions made
    // when needed", broker.hpp): the directory names the client's own id meanwhile.
    const bool made_later = expiry_interval == 0 && !_persistence.enabled();
    const SessionKey key = _router.next_session_key();
    std::shared_ptr<Session> session;
    if (!made_later) {
        // Made before the directory is asked, which keeps a pointer to the session's id, not a copy.
        session = std::make_shared<Session>();
        session->ref.key = key;
        session->ref.worker.store(_index);
        session->client_id = client_id;
    }
    std::optional<Router::Owner> owner =
        _router.claim(made_later ? client._client_id : session->client_id, _index, key);
    if (!owner && made_later) {
        client._session_key = key;
        _sessionless.insert(&client);
        return attached(nullptr, false);
    }
    if (!owner) {
        // Nobody had the id: the new session is registered under this worker already.
        _sessions.insert(session);
        return attach_here(client, std::move(session), clean_start, expiry_interval, token, attached, true);
    }
    session.reset();  // somebody owns the id
    if (owner->worker == _index) {
        // Registered here, but the session is not (yet) in this worker's table: it is on its way
        // here from another worker, whose handover runs before this (inbox order). Try again then.
        post_to(_index, [this, &client, client_id, clean_start, expiry_interval, token, attached] {
            if (!token->cancelled) attach(client, client_id, clean_start, expiry_interval, token, attached);
        });
        return;
    }
    // Another worker owns the session: it disconnects the old connection and hands the session
    // over; the client waits (its token) as it waits for a PENDING auth answer.
    unsigned me = _index;
    post_to(owner->worker, [from = _router.worker(owner->worker), client_id, me, clean_start, this, &client,
                            address = client.address(), expiry_interval, token, attached] {
        from->hand_over(
            client_id, me, clean_start, address,
            [this, &client, client_id, clean_start, expiry_interval, token,
             attached](std::shared_ptr<Session> session) {
                // On this worker again.
                if (session) {
                    session->ref.worker.store(_index);
                    session->deadline_queued.reset();  // its entry, if any, is in the old worker's heap
                    _sessions.insert(session);
                    _moved.erase(session->ref.key);
                }
                if (token->cancelled) {
                    // The new connection left while its session travelled: the session stays,
                    // offline.
                    if (session) {
                        auto now = Clock::now();
                        session->disconnected_at = now;
                        if (session->expiry_interval == 0)
                            end_session(*session);
                        else if (session->expiry_interval != UINT32_MAX)
                            session->expires_at = now + std::chrono::seconds(session->expiry_interval);
                        if (session->expiry_interval != 0) schedule_deadline(*session);
                    }
                    return;
                }
                if (session)
                    attach_here(client, std::move(session), clean_start, expiry_interval, token, attached,
                                false);
                else
                    attach(client, client_id, clean_start, expiry_interval, token, attached);
            });
    });
}

void Broker::take_over_from(Session& existing, bool clean_start, const std::string& new_address) {
    Client* old = existing.client;
    if (!old) return;
    flush_deferred(existing);  // stored before the session changes hands (deferred storing)
    log::info("client '{}': session taken over by the connection from {} (was {})", existing.client_id,
              new_address, old->address());
    // Spec 3.1.4-3 and 3.1.3.2.2: the old connection's will goes out unless the session
    // continues and the will was to wait (a delay the new connection now cuts short).
    if (auto will = old->take_will(); will && (old->will_delay() == 0 || clean_start))
        publish_will(std::move(*will), existing.client_id);
    existing.client = nullptr;
    set_online(existing, false);
    old->detach_session();
    old->disconnect(mqtt::ReasonCode::SessionTakenOver, "session taken over by another connection");
    // The documented order: the old connection hears first (its DISCONNECT is queued, its
    // on_disconnect runs, on its worker), then the new one gets its CONNACK and on_connect.
    old->report_disconnect(static_cast<uint8_t>(mqtt::ReasonCode::SessionTakenOver));
}

void Broker::hand_over(const std::string& client_id, unsigned to, bool clean_start,
                       const std::string& new_address, std::function<void(std::shared_ptr<Session>)> done) {
    std::shared_ptr<Session> session = find_session(client_id);
    if (!session) {
        // Gone from here since the request was sent: ended (the new connection starts afresh),
        // or handed on to a third worker, which is asked instead.
        std::optional<Router::Owner> owner = _router.owner(client_id);
        if (owner && owner->worker != _index && owner->worker != to) {
            post_to(owner->worker,
                    [next = _router.worker(owner->worker), client_id, to, clean_start, new_address, done] {
                        next->hand_over(client_id, to, clean_start, new_address, done);
                    });
            return;
        }
        post_to(to, [done] { done(nullptr); });
        return;
    }
    Session& existing = *session;
    if (existing.client)
        take_over_from(existing, clean_start, new_address + " on worker " + std::to_string(to));
    if (existing.pending_will) {
        if (clean_start) publish_will(std::move(*existing.pending_will), client_id);
        existing.pending_will.reset();
    }
    if (clean_start) {
        end_session(existing);
        post_to(to, [done] { done(nullptr); });
        return;
    }
    // The session leaves this worker whole: subscriptions stay in the Router (they name the
    // session by its ref, which now says `to`), deliveries still routed here follow it.
    for (auto& [id, out] : existing.inflight)
        out.unsent = out.awaiting_store = false;  // a commit's callback will not find it here: `to` resends
    existing.unsent = 0;
    _sessions.erase(existing.ref.key);
    _moved[existing.ref.key] = to;
    // Inbox order: the session reaches `to` before anything this worker forwards to it later.
    if (!post_to(to, [done, session] { done(session); })) {
        // `to` stopped (shutdown): the session ends here, and leaves the directory first.
        _router.release(existing.client_id, existing.ref.key);
        return;
    }
    existing.ref.worker.store(to);
    _router.move(client_id, to);
}

void Broker::attach_here(Client& client, std::shared_ptr<Session> session, bool clean_start,
                         uint32_t expiry_interval, const std::shared_ptr<PendingToken>& token,
                         const Attached& attached, bool created) {
    Session& existing = *session;
    const std::string& client_id = existing.client_id;  // `session` is held until the end
    if (!existing.client && existing.expires_at && Clock::now() >= *existing.expires_at) {
        // Expired, but the once-a-second sweep has not come by yet (or it was restored from
        // storage already past its time): it ends now, and the client starts afresh.
        expire_session(existing);
        return attach(client, client_id, clean_start, expiry_interval, token, attached);
    }
    if (!created) {
        take_over_from(existing, clean_start, client.address());
        if (existing.pending_will) {
            // A delayed will of a lost connection: a new connection cancels it, unless it ends
            // the session, which publishes it (spec 3.1.3.2.2).
            if (clean_start) publish_will(std::move(*existing.pending_will), client_id);
            existing.pending_will.reset();
        }
        if (clean_start) {
            end_session(existing);
            return attach(client, client_id, clean_start, expiry_interval, token, attached);
        }
    }
    existing.expires_at.reset();
    existing.disconnected_at.reset();
    existing.expiry_interval = expiry_interval;
    roost_call* store = _persistence.save_session(existing);
    if (!store || !created) {
        existing.client = &client;
        set_online(existing, true);
        return attached(session, !created);
    }
    // A new stored session: its CONNACK promises the session exists, so it waits until the
    // persistence plugin has it (PENDING). Meanwhile the session is offline: what is routed to
    // it queues.
    _persistence.when_done({store}, [this, &client, token, attached, session](bool ok, uint8_t) {
        if (!ok)
            log::warn("client '{}': a persistence plugin could not store the new session; it lives in memory",
                      session->client_id);
        if (token->cancelled) {
            // The client left before its CONNACK: the session stays, offline, as after a disconnect.
            if (!session->client && !session->disconnected_at) {
                session->disconnected_at = Clock::now();
                if (session->expiry_interval != UINT32_MAX)
                    session->expires_at =
                        *session->disconnected_at + std::chrono::seconds(session->expiry_interval);
            }
            return;
        }
        session->client = &client;
        set_online(*session, true);
        attached(session, false);
    });
}

void Broker::client_connected(Client& client) {
    ++_connected;
    ++_router.connected;
    if (!client.session()) return;  // a session not made yet has nothing to resend
    Session& s = *client.session();
    // Spec 4.4: on resume, unacknowledged PUBLISH go again with DUP, PUBREL for those past
    // PUBREC; pump() sends them first, as the new connection's Receive Maximum allows.
    for (auto& [id, out] : s.inflight)
        out.resend = true;
    s.resend_pending = static_cast<uint16_t>(s.inflight.size());
    pump(s);
}

void Broker::client_closed(Client& client, const std::string&) {
    Client* last = _clients.back();
    last->_slot = client._slot;
    _clients[client._slot] = last;
    _clients.pop_back();
    _check_at[client._slot] = _check_at.back();
    _check_at.pop_back();
    if (client.connected()) {
        --_connected;
        --_router.connected;
    }
    // Held here until the end: end_session() below may drop the table's reference.
    std::shared_ptr<Session> held = client.take_session();
    Session* s = held.get();
    if (!s) return sessionless_closed(client);
    if (s->client != &client) return;
    s->client = nullptr;
    flush_deferred(*s);  // stored before anything below reads or moves the session's deliveries
    set_online(*s, false);
    relieve(*s);  // nobody waits for a client that is gone: its queue drops from now on
    hand_shared_to_others(*s);
    std::optional<mqtt::Will> will = client.take_will();
    if (s->expiry_interval == 0) {
        if (will) publish_will(std::move(*will), s->client_id);
        end_session(*s);
        return;
    }
    auto now = Clock::now();
    s->disconnected_at = now;
    if (s->expiry_interval != UINT32_MAX) s->expires_at = now + std::chrono::seconds(s->expiry_interval);
    if (will) {
        uint32_t delay = std::min(client.will_delay(), s->expiry_interval);
        if (delay == 0) {
            publish_will(std::move(*will), s->client_id);
        } else {
            s->delay_will(std::move(*will), now + std::chrono::seconds(delay));
        }
    }
    schedule_deadline(*s);
    _persistence.save_session(*s);
}

void Broker::reroute_to_worker(unsigned worker, SessionKey session, Delivery&& copy,
                               const std::string& client_id, Delivery&& old) {
    // Not through the outbox: the old delivery's delete has to follow the new one's save on the
    // worker that saves it. Rare (a member left with messages in flight), so one post each.
    Broker* target = _router.worker(worker);
    post_to(worker, [target, session, copy = std::move(copy), client_id, old = std::move(old)]() mutable {
        target->deliver_routed(session, std::move(copy), nullptr);
        target->_persistence.delete_delivery_of(client_id, old);
    });
    // A worker that stopped (shutdown) delivers nothing: the old delivery stays stored, and the
    // member that left gets it back when it resumes.
}

void Broker::sessionless_closed(Client& client) {
    const SessionKey key = client._session_key;
    // Never connected, or its session was made and taken over: nothing of it is listed here.
    if (key == 0 || _sessionless.find(key) != &client) return;
    // Its session ends with the connection (expiry 0): the will goes now, as in client_closed.
    if (std::optional<mqtt::Will> will = client.take_will())
        publish_will(std::move(*will), client.client_id());
    _sessionless.erase(key);
    _router.release(client.client_id(), key);
}

void Broker::hand_shared_to_others(Session& s) {
    // Spec 4.8.2 (a SHOULD): QoS 1/2 messages a shared subscription gave to a member that left
    // go to another member of its group, rather than waiting for this one to come back.
    auto reroute = [&](Delivery& d) {
        std::optional<SubscriberMatch> other = _router.choose_member(d.share, s.ref.key);
        if (!other) return false;
        Delivery copy{d.message, std::min(d.message->qos, other->options.qos), false, {}};
        if (other->subscription_id != 0) copy.subscription_ids.push_back(other->subscription_id);
        copy.share = d.share;
        // The new member's delivery is saved before this one is deleted, so that no commit holds
        // the delete without the save: a crash in between would lose an acknowledged message.
        if (other->worker == _index) {
            deliver_routed(other->session, std::move(copy), nullptr);
            _persistence.delete_delivery(s, d);
        } else {
            reroute_to_worker(other->worker, other->session, std::move(copy), s.client_id, std::move(d));
        }
        return true;
    };
    size_t moved = 0;
    for (auto it = s.inflight.begin(); it != s.inflight.end();) {
        // A QoS 2 PUBLISH this member was sent stays with it, PUBREC or not (spec 4.8.2-4): its
        // delivery completes when the member comes back, and goes to nobody else if its session
        // ends first (4.8.2-5). The member may have it already: sent elsewhere too, it would
        // arrive twice. QoS 1 may go to another member at once (a MAY), and so may what was
        // never sent (held back: Outgoing::unsent).
        const Outgoing& out = it->second;
        const bool sent_qos2 = out.delivery.qos == 2 && !out.unsent;
        if (!out.delivery.share.empty() && !sent_qos2 && reroute(it->second.delivery)) {
            it = s.erase_inflight(it);
            ++moved;
        } else {
            ++it;
        }
    }
    // Queued ones rerouted leave the queue; the others keep their place and order.
    size_t queued = s.queue.size();
    auto kept_end = std::remove_if(s.queue.begin(), s.queue.end(),
                                   [&](Delivery& d) { return !d.share.empty() && reroute(d); });
    if (kept_end != s.queue.end()) {
        s.queue.erase(kept_end, s.queue.end());
        moved += queued - s.queue.size();
        s.queued_bytes = 0;
        for (const Delivery& d : s.queue)
            s.queued_bytes += d.message->topic.size() + d.message->payload.size();
    }
    if (moved == 0) return;
    log::info(
        "client '{}': left its shared subscriptions with {} messages unacknowledged or queued; given to "
        "other members of their groups",
        s.client_id, moved);
}

void Broker::set_online(Session& s, bool online) {
    s.ref.online.store(online);
    std::vector<std::string_view> shares;
    for (auto it = s.subscriptions.lower_bound("$share/");
         it != s.subscriptions.end() && it->first.starts_with("$share/"); ++it)
        shares.push_back(it->first);
    if (!shares.empty()) _router.sync_online(s.ref.key, shares);
}

void Broker::expire_session(Session& s) {
    log::info("client '{}': session expired after {} s offline", s.client_id, s.expiry_interval);
    if (s.pending_will) publish_will(std::move(*s.pending_will), s.client_id);  // spec 3.1.3.2.2
    end_session(s);
}

void Broker::end_session(Session& session) {
    relieve(session);
    for (auto& [id, out] : session.inflight)  // gone for good: nothing to store, the parts are over
        if (out.deferred_wait) release_deferred(out);
    _persistence.end_session(session);
    for (const auto& [filter, record] : session.subscriptions)
        _router.unsubscribe(session.ref.key, filter);
    _router.release(session.client_id, session.ref.key);
    _sessions.erase(session.ref.key);  // `session` may die with this
}

size_t Broker::publish(MessagePtr message, PublishContext* context) {
    if (message->retain && _config.broker.retain_available) {
        // $SYS values are the broker's own and made anew every interval: nothing to keep.
        if (_router.set_retained(message) && !message->topic.starts_with("$SYS/"))
            if (roost_call* store = _persistence.set_retained(*message); store && context)
                if (const std::shared_ptr<PublishWait>& wait = context->need_wait())
                    _persistence.join({store}, wait);
    }
    _match_scratch.clear();
    const bool may_repeat = _router.match(message->topic, _match_scratch);
    // One client with overlapping subscriptions gets one copy, at the highest QoS granted,
    // carrying every matching subscription identifier (spec 3.3.4): its matches are made adjacent.
    if (may_repeat)
        std::sort(_match_scratch.begin(), _match_scratch.end(),
                  [](const SubscriberMatch& a, const SubscriberMatch& b) { return a.session < b.session; });
    const QueueFullPolicy policy = _config.limits.queue_full_policy;
    size_t delivered = 0;
    // QoS 0 keeps no copy of its delivery, so one Delivery of the message serves every local
    // QoS 0 subscriber: the message's reference count is not written per subscriber (a copy and
    // a release each: 6-8 % of a fan-out worker's samples, on a cache line other workers read).
    Delivery qos0{message, 0, false, {}};
    for (size_t i = 0; i < _match_scratch.size();) {
        size_t end = i;
        while (end < _match_scratch.size() && _match_scratch[end].session == _match_scratch[i].session)
            ++end;
        const SubscriberMatch& first = _match_scratch[i];
        SessionKey key = first.session;
        // The message goes in only for a local delivery: a remote one names it once per batch.
        Delivery d{nullptr, 0, false, {}};
        bool any = false;
        for (size_t j = i; j < end; ++j) {
            const SubscriberMatch& m = _match_scratch[j];
            if (m.options.no_local && !m.shared && message->origin_session == key) continue;
            any = true;
            d.qos = std::max(d.qos, std::min(message->qos, m.options.qos));
            if (m.options.retain_as_published && message->retain) d.retain = true;
            if (m.subscription_id != 0) d.subscription_ids.push_back(m.subscription_id);
            if (m.shared && d.share.empty()) d.share = m.share;
        }
        i = end;
        if (!any) continue;
        if (first.congested && d.qos > 0 && policy == QueueFullPolicy::Refuse) {
            // The subscriber's queue is full and the publisher is to be told (MQTT 5: 0x97).
            if (context) context->quota_exceeded = true;
            ++_stats.messages_dropped;
            continue;
        }
        Session* local = first.worker == _index && d.qos == 0 ? find_session(key) : nullptr;
        if (local) {
            qos0.retain = d.retain;
            qos0.subscription_ids.swap(d.subscription_ids);
            qos0.share.swap(d.share);
            deliver_qos0(*local, qos0);
        } else if (first.worker == _index) {
            d.message = message;
            deliver_routed(key, std::move(d), context);
        } else {
            // Another worker's session: batched, one inbox post per worker per loop turn. The
            // publisher waits if that worker will store durably or the queue there is full.
            std::shared_ptr<PublishWait> wait;
            // Under "refuse" the answer depends on that worker's queue, so the publisher always
            // waits for it (one round trip between workers per QoS 1/2 publish).
            if (context && d.qos > 0 &&
                (_persistence.enabled() || policy == QueueFullPolicy::Refuse ||
                 (first.congested && policy == QueueFullPolicy::Backpressure)))
                wait = context->need_wait();
            if (wait) wait->hold();
            send_to_worker(first.worker, key, message, std::move(d), std::move(wait));
        }
        ++delivered;
    }
    return delivered;
}

void Broker::send_to_worker(unsigned worker, SessionKey session, const MessagePtr& message,
                            Delivery&& delivery, std::shared_ptr<PublishWait> wait) {
    _outbox[worker].add(session, message, std::move(delivery), std::move(wait));
    if (_outbox_pending) return;
    _outbox_pending = true;
    uv_check_start(&_outbox_check, [](uv_check_t* h) { static_cast<Broker*>(h->data)->flush_outbox(); });
    uv_idle_start(&_outbox_idle, [](uv_idle_t*) {});
}

void Broker::flush_outbox() {
    message_home::drain_home();  // once per loop turn that routed to other workers
    _outbox_pending = false;
    uv_check_stop(&_outbox_check);
    uv_idle_stop(&_outbox_idle);
    for (unsigned w = 0; w < _outbox.size(); ++w) {
        if (_outbox[w].empty()) continue;
        RemoteBatch batch = std::exchange(_outbox[w], _batch_pool->get());
        const size_t count = batch.size();
        Broker* target = _router.worker(w);
        if (!post_to(w, [target, pool = _batch_pool, batch = std::move(batch)]() mutable {
                target->receive(batch);
                pool->put(std::move(batch));
            })) {
            // That worker stopped (shutdown): what it would have delivered is gone with it.
            log::debug("worker {} stopped; {} deliveries to it dropped", w, count);
        }
    }
}

void Broker::receive(RemoteBatch& batch) {
    message_home::drain_home();
    batch.for_each([this](SessionKey session, const Delivery& d, std::shared_ptr<PublishWait> wait) {
        if (d.qos == 0 && !wait)
            if (Session* s = find_session(session))
                return deliver_qos0(*s, d);  // sent or dropped: no copy kept
        // The publisher's wait, as far as this worker is concerned: its stores and a full
        // queue here join it; the part the publisher held for this delivery is released after.
        PublishContext context;
        context.wait = wait;
        deliver_routed(session, Delivery(d), wait ? &context : nullptr);
        if (!wait) return;
        if (context.quota_exceeded) wait->quota_exceeded();
        wait->release(true);
    });  // The messages of other workers that died here go back in one hand-over per worker.
    message_home::flush_returns();
}

void Broker::deliver_routed(SessionKey key, Delivery d, PublishContext* context) {
    if (Session* s = find_session(key)) return deliver(*s, std::move(d), context);
    if (auto moved = _moved.find(key); moved != _moved.end()) {
        // Handed to another worker after the match: the delivery follows the session.
        std::shared_ptr<PublishWait> wait = context ? context->wait : nullptr;
        if (wait) wait->hold();
        send_to_worker(moved->second, key, d.message, std::move(d), std::move(wait));
    }
    // Otherwise the session ended after the match: nobody to deliver to.
}

bool Broker::send_new(Session& s, Delivery& d, std::vector<roost_call*>* waits,
                      const std::shared_ptr<PublishWait>* publisher) {
    uint16_t id = s.allocate_packet_id();
    if (id == 0) return false;
    OutgoingState state = d.qos == 1 ? OutgoingState::AwaitPuback : OutgoingState::AwaitPubrec;
    auto [it, inserted] = s.inflight.emplace(id, Outgoing{std::move(d), state});
    Outgoing& out = it->second;
    if (publisher && may_defer(s, out.delivery)) {
        // Deferred storing: the publisher waits for this delivery's PUBACK, or for its storing
        // once the window passed (sweep_deferred).
        (*publisher)->hold();
        out.deferred_wait = *publisher;
        ++_deferred_live;
        const auto now = static_cast<uint32_t>(uv_now(_loop));
        _deferred.push_back({s.ref.key, out.delivery.sequence, now + _persist_delay_ms, id});
        if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&_deferred_timer)))
            uv_timer_start(
                &_deferred_timer, [](uv_timer_t* t) { static_cast<Broker*>(t->data)->sweep_deferred(); },
                _persist_delay_ms, 0);
    }
    bool hold = s.unsent > 0;  // an earlier delivery of this session is held: this one goes after it
    if (!out.deferred_wait && _persistence.enabled()) {  // no call at all without persistence plugins
        flush_deferred(s);                               // storage order is sequence order
        if (out.delivery.qos == 2) {
            std::vector<roost_call*> calls;
            _persistence.save_delivery(s, out.delivery, id, ROOST_DELIVERY_AWAIT_PUBREC, &calls);
            if (!calls.empty()) {
                send_when_stored(s, id, std::move(calls), publisher ? *publisher : nullptr);
                hold = true;
            }
        } else {
            _persistence.save_delivery(s, out.delivery, id, ROOST_DELIVERY_AWAIT_PUBACK, waits);
        }
    }
    if (hold) {
        out.unsent = true;
        ++s.unsent;
        return true;
    }
    if (!s.client->send_publish(out.delivery, id, false)) finish_outgoing(s, it);
    return true;
}

void Broker::send_when_stored(Session& s, uint16_t id, std::vector<roost_call*> calls,
                              std::shared_ptr<PublishWait> publisher) {
    // A QoS 2 PUBLISH gives its receiver the packet id it drops duplicates by. Sent before the
    // stored state names that id, a crash would bring the delivery back as never sent (or not at
    // all, and its publisher, with no PUBREC, would send the message again), and it would go out
    // under a new id, which the receiver takes as a new message: QoS 2 delivered twice. So the
    // PUBLISH waits for the commit, as its publisher's PUBREC does (the same calls).
    Outgoing& out = s.inflight.find(id)->second;
    out.awaiting_store = true;
    if (publisher) publisher->hold();
    _persistence.when_done(std::move(calls), [this, key = s.ref.key, id, sequence = out.delivery.sequence,
                                              publisher = std::move(publisher)](bool ok, uint8_t reason) {
        if (Session* now = find_session(key)) {
            auto it = now->inflight.find(id);
            if (it != now->inflight.end() && it->second.awaiting_store &&
                it->second.delivery.sequence == sequence) {
                it->second.awaiting_store = false;
                if (!ok)
                    log::warn("client '{}': QoS 2 PUBLISH {} sent although storing it failed", now->client_id,
                              id);
            }
            send_held(*now);  // also when that delivery is gone: what waited behind it goes
        }
        if (publisher) publisher->release_on(_inbox, ok, reason);
    });
}

void Broker::send_held(Session& s) {
    if (s.unsent == 0) return;
    // Up to the first QoS 2 PUBLISH whose store has not committed yet.
    for (uint16_t id : inflight_in_sequence(s, [](const Outgoing& out) { return out.unsent; })) {
        auto it = s.inflight.find(id);
        if (it->second.awaiting_store) break;
        it->second.unsent = false;
        --s.unsent;
        // A client that left gets it on its next connection, as a resend.
        if (s.client && !s.client->closing() && !s.client->send_publish(it->second.delivery, id, false))
            finish_outgoing(s, it);
    }
}

std::map<uint16_t, Outgoing>::iterator Broker::finish_outgoing(Session& s,
                                                               std::map<uint16_t, Outgoing>::iterator it) {
    if (it->second.deferred_wait) {
        // Acknowledged within the window: the subscriber has it, nothing to store or delete.
        ++_stats.deliveries_unstored;
        release_deferred(it->second);
    } else if (_persistence.enabled()) {
        _persistence.delete_delivery(s, it->second.delivery);
    }
    return s.erase_inflight(it);
}

bool Broker::outgoing_released(Session& s, std::map<uint16_t, Outgoing>::iterator it) {
    it->second.state = OutgoingState::AwaitPubcomp;
    if (!_persistence.enabled()) return true;
    flush_deferred(s);
    std::vector<roost_call*> calls;
    _persistence.save_delivery(s, it->second.delivery, it->first, ROOST_DELIVERY_AWAIT_PUBCOMP, &calls);
    if (calls.empty()) return true;
    // The PUBREL lets the receiver forget the packet id. Sent before the stored state says so, a
    // crash would bring the PUBLISH back after the restart, and a receiver that already forgot
    // the id would take it as a new message: QoS 2 delivered twice. So it waits for the commit.
    _persistence.when_done(std::move(calls), [this, key = s.ref.key, id = it->first,
                                              sequence = it->second.delivery.sequence](bool ok, uint8_t) {
        Session* now = find_session(key);
        if (!now) return;  // moved to another worker or ended: a resumed session resends its PUBRELs
        auto out = now->inflight.find(id);
        if (out == now->inflight.end() || out->second.state != OutgoingState::AwaitPubcomp ||
            out->second.delivery.sequence != sequence || !now->client || now->client->closing())
            return;
        // A failed store (full disk) is logged by the plugin host; the flow goes on, as it would
        // have without persistence, rather than holding the receiver's id for good.
        if (!ok)
            log::warn("client '{}': PUBREL {} sent although storing its state failed", now->client_id, id);
        now->client->send(mqtt::Ack{mqtt::PacketType::Pubrel, id, 0, {}});
    });
    return false;
}

void Broker::flush_deferred(Session& s) {
    // No count per session (it would grow every Session by 8 bytes): a walk over its in-flight
    // messages (at most its Receive Maximum), only while this worker defers any at all.
    if (_deferred_live == 0 || s.inflight.empty()) return;
    for (uint16_t id : inflight_in_sequence(s, [](const Outgoing& out) { return bool(out.deferred_wait); }))
        store_deferred(s, id, s.inflight.find(id)->second);
}

template <class Pred>
std::vector<uint16_t> Broker::inflight_in_sequence(const Session& s, Pred pred) {
    // The in-flight map is in packet id order, which wraps; storage and sending go in sequence
    // order. At most the session's Receive Maximum entries.
    std::vector<std::pair<uint64_t, uint16_t>> order;
    for (const auto& [id, out] : s.inflight)
        if (pred(out)) order.emplace_back(out.delivery.sequence, id);
    std::sort(order.begin(), order.end());
    std::vector<uint16_t> ids;
    ids.reserve(order.size());
    for (const auto& [sequence, id] : order)
        ids.push_back(id);
    return ids;
}

void Broker::store_deferred(Session& s, uint16_t packet_id, Outgoing& out) {
    std::shared_ptr<PublishWait> wait = std::move(out.deferred_wait);
    out.deferred_wait.reset();
    --_deferred_live;
    std::vector<roost_call*> calls;
    _persistence.save_delivery(s, out.delivery, packet_id, ROOST_DELIVERY_AWAIT_PUBACK, &calls);
    // The store's calls hold their own parts before the deferred one goes.
    if (!calls.empty()) _persistence.join(calls, wait);
    hand_back(std::move(wait));
}

void Broker::release_deferred(Outgoing& out) {
    --_deferred_live;
    hand_back(std::move(out.deferred_wait));
    out.deferred_wait.reset();
}

void Broker::hand_back(std::shared_ptr<PublishWait> wait) {
    if (_released_waits.empty()) {
        uv_check_start(&_release_check,
                       [](uv_check_t* h) { static_cast<Broker*>(h->data)->release_collected(); });
        uv_idle_start(&_release_idle, [](uv_idle_t*) {});
    }
    _released_waits.push_back(std::move(wait));
}

void Broker::release_collected() {
    uv_check_stop(&_release_check);
    uv_idle_stop(&_release_idle);
    // Swapped out first: a publisher acknowledged here may route again and defer more.
    std::swap(_releasing, _released_waits);
    for (auto& wait : _releasing)
        wait->release_on(_inbox, true, 0);
    _releasing.clear();
}

void Broker::sweep_deferred() {
    const auto now = static_cast<uint32_t>(uv_now(_loop));
    while (!_deferred.empty()) {
        const DeferredEntry e = _deferred.front();
        if (static_cast<int32_t>(e.due_ms - now) > 0) break;
        _deferred.pop_front();
        // Skipped when it was acknowledged or stored meanwhile, or its session left this worker.
        Session* s = find_session(e.session);
        if (!s) continue;
        auto it = s->inflight.find(e.packet_id);
        if (it == s->inflight.end() || !it->second.deferred_wait ||
            it->second.delivery.sequence != e.sequence)
            continue;
        // The session's earlier deferred deliveries came up before this one: order holds.
        store_deferred(*s, e.packet_id, it->second);
    }
    if (!_deferred.empty())
        uv_timer_start(
            &_deferred_timer, [](uv_timer_t* t) { static_cast<Broker*>(t->data)->sweep_deferred(); },
            std::max<int64_t>(1, static_cast<int32_t>(_deferred.front().due_ms - now)), 0);
}

void Broker::drop_queued(Session& s, Delivery& d) {
    ++_stats.messages_dropped;
    if (_persistence.enabled()) _persistence.delete_delivery(s, d);
}

bool Broker::queue_full(const Session& s) const {
    const LimitsConfig& l = _config.limits;
    return s.queue.size() >= l.max_queued_messages ||
           (l.max_queued_bytes != 0 && s.queued_bytes >= l.max_queued_bytes);
}

namespace {
size_t queued_size(const Delivery& d) {
    return d.message->topic.size() + d.message->payload.size();
}
}  // namespace

void Broker::push_queued(Session& s, Delivery d) {
    s.queued_bytes += queued_size(d);
    s.queue.push_back(std::move(d));
}

void Broker::pop_queued(Session& s) {
    s.queued_bytes -= queued_size(s.queue.front());
    s.queue.pop_front();
}

void Broker::pop_queued_into(Session& s, Delivery& out) {
    s.queued_bytes -= queued_size(s.queue.front());
    out = std::move(s.queue.front());
    s.queue.pop_front();
}

void Broker::count_drop(Session& s, const char* policy) {
    ++_stats.messages_dropped;
    // One warning when a full queue starts costing messages, one line with the count when it
    // has room again (relieve): the log says it without a line per message.
    if (s.full_queue().dropped_while_full++ == 0)
        log::warn(
            "client '{}': queue full ({} messages, {} bytes; [limits] max_queued_messages = {}, "
            "max_queued_bytes "
            "= {}): dropping messages ({}) until it has room",
            s.client_id, s.queue.size(), s.queued_bytes, _config.limits.max_queued_messages,
            _config.limits.max_queued_bytes, policy);
}

void Broker::relieve(Session& s) {
    s.ref.congested.store(false, std::memory_order_relaxed);
    if (!s.full) return;
    for (auto& wait : s.full->throttled)
        wait->release(true);
    if (s.full->dropped_while_full > 0)
        log::info("client '{}': queue has room again; {} messages were dropped while it was full",
                  s.client_id, s.full->dropped_while_full);
    s.full.reset();
}

void Broker::deliver_qos0(Session& s, const Delivery& d) {
    // QoS 0 is not kept for a client that is not there (spec 4.3.1 leaves it to us).
    if (s.client && !s.client->closing())
        s.client->send_publish(d, 0, false);
    else
        ++_stats.messages_dropped;
}

void Broker::deliver(Session& s, Delivery d, PublishContext* context) {
    if (d.qos == 0) return deliver_qos0(s, d);
    Client* client = s.client && !s.client->closing() ? s.client : nullptr;
    // Every delivery is numbered, not only a stored session's: a session that continues on a
    // new connection resends in this order (pump), and a session with expiry 0 can still be
    // taken over by a connection that resumes it.
    d.sequence = s.next_sequence++;
    std::vector<roost_call*> waits;
    bool can_wait = context && (context->make_wait || context->wait);
    std::vector<roost_call*>* collect = can_wait && _persistence.enabled() ? &waits : nullptr;
    // Durable stores this delivery raised join the publisher's wait (its PUBACK/PUBREC goes once
    // they completed).
    auto join_wait = [&] {
        if (waits.empty()) return;
        if (const std::shared_ptr<PublishWait>& wait = context->need_wait()) _persistence.join(waits, wait);
    };
    if (client && s.queue.empty() && s.resend_pending == 0 && s.window_open(client->receive_maximum())) {
        // Deferred storing (send_new) needs the publisher's wait: only a publish that can wait.
        // So does a QoS 2 delivery to a stored session, whose PUBLISH waits for its commit.
        const std::shared_ptr<PublishWait>* publisher = nullptr;
        if (can_wait && (may_defer(s, d) || sent_when_stored(s, d)) && context->need_wait())
            publisher = &context->wait;
        if (send_new(s, d, collect, publisher)) {
            join_wait();
            return;
        }
    }
    if (queue_full(s)) {
        const LimitsConfig& l = _config.limits;
        QueueFullPolicy policy =
            client && !s.backpressure_gave_up() ? l.queue_full_policy : l.offline_queue_policy;
        switch (policy) {
            case QueueFullPolicy::Backpressure: {
                // Queued all the same (nothing acknowledged is lost): the publisher's PUBACK or
                // PUBREC waits for room, and while it waits the broker reads nothing more from it.
                std::shared_ptr<PublishWait> wait = context ? context->need_wait() : nullptr;
                if (wait) {
                    Session::FullQueue& full = s.full_queue();
                    if (full.throttled.empty()) {
                        full.throttled_since = Clock::now();
                        _throttled.insert(s.ref.key);
                    }
                    wait->hold();
                    full.throttled.push_back(std::move(wait));
                    ++_stats.messages_throttled;
                }
                break;
            }
            case QueueFullPolicy::Refuse:
                if (context) context->quota_exceeded = true;
                count_drop(s, "queue_full_policy = \"refuse\"");
                return;
            case QueueFullPolicy::DropNewest:
                count_drop(s, client ? "queue_full_policy = \"drop_newest\""
                                     : "offline_queue_policy = \"drop_newest\"");
                return;
            case QueueFullPolicy::DropOldest:
                count_drop(s, client ? "queue_full_policy = \"drop_oldest\""
                                     : "offline_queue_policy = \"drop_oldest\"");
                if (_persistence.enabled()) _persistence.delete_delivery(s, s.queue.front());
                pop_queued(s);
                break;
        }
    }
    if (_persistence.enabled()) {
        flush_deferred(s);  // storage order is sequence order
        _persistence.save_delivery(s, d, 0, ROOST_DELIVERY_QUEUED, collect);
    }
    push_queued(s, std::move(d));
    join_wait();
    // Publishers route to a full queue by its policy before they get here (refuse, or wait).
    if (client && queue_full(s) && !s.backpressure_gave_up())
        s.ref.congested.store(true, std::memory_order_relaxed);
}

void Broker::pump(Session& s) {
    Client* client = s.client;
    if (!client || client->closing()) return;
    if (s.resend_pending > 0) {
        // Spec 4.6.0-1: resent in the order first sent. That is sequence order; the in-flight
        // map's packet id order differs from it once the ids wrapped past 65535.
        for (uint16_t id : inflight_in_sequence(s, [](const Outgoing& out) { return out.resend; })) {
            if (!s.window_open(client->receive_maximum()) || client->closing()) return;
            auto it = s.inflight.find(id);
            if (it == s.inflight.end()) continue;
            Outgoing& out = it->second;
            out.resend = false;
            --s.resend_pending;
            if (out.unsent) continue;  // held back: send_held sends it
            if (out.state == OutgoingState::AwaitPubcomp)
                client->send(mqtt::Ack{mqtt::PacketType::Pubrel, id, 0, {}});
            else if (!client->send_publish(out.delivery, id, true))
                finish_outgoing(s, it);  // too large or expired: done, as far as the client knows
        }
    }
    auto now = Clock::now();
    while (!client->closing() && !s.queue.empty() && s.window_open(client->receive_maximum())) {
        Delivery d;
        pop_queued_into(s, d);
        if (d.message->expired(now)) {
            drop_queued(s, d);
            continue;
        }
        if (!send_new(s, d)) {
            s.queued_bytes += queued_size(d);
            s.queue.push_front(std::move(d));
            break;
        }
    }
    if (!queue_full(s) && (s.ref.congested.load(std::memory_order_relaxed) || s.full)) relieve(s);
}

std::vector<MessagePtr> Broker::retained_for(std::string_view filter) {
    std::vector<MessagePtr> found;
    _router.match_retained(filter, Clock::now(), found);
    return found;
}

bool Broker::subscribe(Session& s, const std::string& filter, const SubscriptionRecord& record,
                       roost_call** store_wait) {
    auto [it, is_new] = s.subscriptions.insert_or_assign(filter, record);
    _router.subscribe(s.ref, filter, record.options, record.subscription_id);
    roost_call* wait = _persistence.save_subscription(s, filter, record);
    if (store_wait) *store_wait = wait;
    return is_new;
}

bool Broker::unsubscribe(Session& s, std::string_view filter) {
    auto it = s.subscriptions.find(filter);
    if (it == s.subscriptions.end()) return false;
    _persistence.delete_subscription(s, it->first);
    s.subscriptions.erase(it);
    _router.unsubscribe(s.ref.key, filter);
    return true;
}

MessagePtr Broker::make_will_message(mqtt::Will will, const std::string& client_id) {
    auto m = std::make_shared<Message>();
    m->topic = std::move(will.topic);
    m->payload = std::move(will.payload);
    m->qos = std::min(will.qos, _config.broker.maximum_qos);
    m->retain = will.retain;
    m->origin_client_id = client_id;
    m->id = next_message_id();
    m->origin_session = local_session_key(client_id);
    const mqtt::Properties& in = will.properties;
    m->properties.payload_format_indicator = in.payload_format_indicator;
    m->properties.content_type = in.content_type;
    m->properties.response_topic = in.response_topic;
    m->properties.correlation_data = in.correlation_data;
    m->properties.user_properties = in.user_properties;
    if (in.message_expiry_interval)
        m->expires_at = Clock::now() + std::chrono::seconds(*in.message_expiry_interval);
    return m;
}

void Broker::publish_will(mqtt::Will will, const std::string& client_id) {
    log::info("client '{}': publishing its will on '{}'", client_id, will.topic);
    publish(make_will_message(std::move(will), client_id));
}

void Broker::publish_from_plugin(std::shared_ptr<Message> message) {
    message->id = next_message_id();
    mqtt::ReasonCode unused;
    if (!_hooks.on_message(nullptr, *message, unused)) return;
    size_t matched = publish(message);
    _hooks.on_routed(nullptr, *message, matched);
}

void Broker::tick(Clock::time_point now) {
    _hooks.tick();
    // An idle worker's messages still go home, and come back, within a tick.
    message_home::flush_returns();
    message_home::drain_home();
    _next_tick = now + std::chrono::seconds(1);
    check_clients(now, _next_tick);
    if (!_throttled.empty()) check_throttled(now);
    run_due_deadlines(now);
}

void Broker::run_due_deadlines(Clock::time_point now) {
    SessionDeadlines::Entry entry;
    while (_deadlines.pop_due(now, entry))
        run_deadline(entry, now);
    _deadline_armed_for = Clock::time_point::max();
    uv_timer_stop(&_deadline_timer);
    arm_deadline_timer(now);
}

void Broker::arm_deadline_timer(Clock::time_point now) {
    std::optional<Clock::time_point> next = _deadlines.earliest();
    if (!next || *next >= _deadline_armed_for) return;
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&_deadline_timer))) return;  // shut down
    _deadline_armed_for = *next;
    // Rounded up, so that the entry is due when the timer fires (a timer that fires early, on
    // the loop's cached time, finds nothing due and sets itself again).
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    uv_timer_start(
        &_deadline_timer,
        [](uv_timer_t* t) {
            auto* broker = static_cast<Broker*>(t->data);
            broker->run_due_deadlines(Clock::now());
        },
        static_cast<uint64_t>(std::max<int64_t>(ms, 1)), 0);
}

void Broker::check_clients(Clock::time_point now, Clock::time_point next_tick) {
    const uint32_t now_ms = clock_ms(now);
    uint32_t earliest = clock_ms(now + kMaxLookAhead);
    // From the end: a client that closes at once leaves only its own slot, which the last
    // (already checked) one fills.
    for (size_t i = _clients.size(); i-- > 0;) {
        if (i >= _clients.size()) continue;
        if (reached(_check_at[i], now_ms)) {
            Client* client = _clients[i];
            client->check_timeouts(now);
            // One past due was judged just now (or waits for this turn's I/O: Client::on_resume).
            if (i >= _clients.size() || _clients[i] != client) continue;  // it closed
            _check_at[i] = next_look(*client, now);
        }
        if (!reached(earliest, _check_at[i])) earliest = _check_at[i];
    }
    if (!reached(clock_ms(next_tick), earliest)) arm_client_timer(earliest, now_ms);
}

uint32_t Broker::next_look(const Client& client, Clock::time_point now) const {
    return clock_ms(std::min(client.next_check(now), now + kMaxLookAhead));
}

void Broker::recheck_client(Client& client) {
    if (client._slot >= _clients.size() || _clients[client._slot] != &client) return;  // gone: no slot
    const Clock::time_point now = Clock::now();
    const uint32_t at = next_look(client, now);
    _check_at[client._slot] = at;
    if (!reached(clock_ms(_next_tick), at)) arm_client_timer(at, clock_ms(now));
}

void Broker::arm_client_timer(uint32_t at, uint32_t now) {
    // No sooner than kMinScanGap from now: each firing looks at every client due, and with many
    // near their limit (a fleet on keep alive 1, or thousands that went silent together) one
    // scan per due moment would be hundreds of scans a second.
    constexpr int32_t kMinScanGap = 50;  // ms: the most a close is late
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&_keep_alive_timer))) return;  // shut down
    const auto ms = static_cast<uint64_t>(std::max(static_cast<int32_t>(at - now), kMinScanGap));
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&_keep_alive_timer)) &&
        uv_timer_get_due_in(&_keep_alive_timer) <= ms)
        return;
    uv_timer_start(
        &_keep_alive_timer,
        [](uv_timer_t* t) {
            auto* broker = static_cast<Broker*>(t->data);
            broker->check_clients(Clock::now(), broker->_next_tick);
        },
        ms, 0);
}

void Broker::check_throttled(Clock::time_point now) {
    auto timeout = std::chrono::seconds(_config.limits.backpressure_timeout);
    for (auto it = _throttled.begin(); it != _throttled.end();) {
        Session* s = find_session(*it);
        if (!s || !s->throttling()) {  // relieved, ended or moved: nothing to watch
            it = _throttled.erase(it);
            continue;
        }
        ++it;
        Session::FullQueue& full = *s->full;
        if (now - full.throttled_since <= timeout) continue;
        // The subscriber takes nothing for too long: its publishers go on, and its queue drops
        // by offline_queue_policy until it has room again.
        log::warn(
            "client '{}': its queue has been full for {} s ([limits] backpressure_timeout); releasing {} "
            "waiting publishers and dropping by offline_queue_policy until it has room",
            s->client_id, _config.limits.backpressure_timeout, full.throttled.size());
        for (auto& wait : full.throttled)
            wait->release(true);
        full.throttled.clear();
        full.backpressure_gave_up = true;
        s->ref.congested.store(false, std::memory_order_relaxed);
    }
}

void Broker::schedule_deadline(Session& s) {
    if (s.client) return;
    std::optional<Clock::time_point> next = s.expires_at;
    if (s.pending_will && (!next || s.pending_will->due < *next)) next = s.pending_will->due;
    if (!next || (s.deadline_queued && *s.deadline_queued <= *next)) return;
    s.deadline_queued = *next;
    _deadlines.push(*next, s.ref.key);
    arm_deadline_timer(Clock::now());
}

void Broker::run_deadline(const SessionDeadlines::Entry& entry, Clock::time_point now) {
    Session* found = find_session(entry.session);
    if (!found) return;  // ended, or moved to another worker
    Session& s = *found;
    if (s.deadline_queued != entry.at) return;  // stale: an earlier entry replaced it
    s.deadline_queued.reset();
    if (s.client) return;  // online again; the next disconnect schedules anew
    if (s.pending_will && now >= s.pending_will->due) {
        publish_will(std::move(*s.pending_will), s.client_id);
        s.pending_will.reset();
        _persistence.save_session(s);
    }
    if (s.expires_at && now >= *s.expires_at) return expire_session(s);
    schedule_deadline(s);  // the expiry, after the will
}

void Broker::shutdown_wills() {
    if (!_persistence.enabled()) {
        // Every session ends with the process, so every will goes out now, while the
        // subscribers are still connected to receive it (spec 3.1.3.2.2: the session ended).
        _sessions.for_each([this](Session& s) {
            if (s.pending_will) publish_will(std::move(*s.pending_will), s.client_id);
            s.pending_will.reset();
        });
        for (Client* c : std::vector<Client*>(_clients)) {
            if (!c->connected()) continue;
            if (auto will = c->take_will()) publish_will(std::move(*will), c->client_id());
        }
    }
    flush_outbox();
}

void Broker::shutdown() {
    // Deferred deliveries are stored before the connections close (the store still runs).
    for (const DeferredEntry& e : std::exchange(_deferred, {}))
        if (Session* s = find_session(e.session)) flush_deferred(*s);
    // With persistence, sessions outlive the process: each closing connection is a lost
    // connection as any other (client_closed), and delayed wills wait, stored, for their time.
    for (Client* c : std::vector<Client*>(_clients))  // a copy: closing may leave the list
        c->disconnect(mqtt::ReasonCode::ServerShuttingDown, "server shutting down");
}

void Broker::close_all(const std::string& why) {
    for (Client* c : std::vector<Client*>(_clients))  // a copy: closing may leave the list
        c->close_now(why);
}

}  // namespace roost
