// One worker's protocol engine: its clients, the sessions it owns, routing from its publishers,
// delivery to its sessions, wills, expiry and its statistics. What all workers share (the
// subscription index, retained messages, the session directory) is the Router.
//
// Threads: every member function runs on the worker's own thread. Other workers reach it only
// through its inbox (WorkerInbox::post), which runs the call on this thread: deliveries in
// batches (receive), and session handovers (hand_over, adopt).
//
// Plugins: asked through BrokerHooks and DurableStore, interfaces this layer declares and the
// plugin host implements; the Server hands in its worker's (core/README.md, "Layers").
//
// Lifetime: created by the Server for its worker before the loop runs, destroyed after it ended,
// before the hooks and the store it was given.
//
// Sessions made when needed: a new session that ends with its connection (MQTT 3.1.1 clean
// session, MQTT 5 Session Expiry Interval 0) gets no Session object at CONNECT when no
// persistence plugin is loaded (with one, every session is made at CONNECT, so that its hooks
// see each session begin and end as before). Such a client holds a session number
// (Client::_session_key), claimed in the Router's directory under the Client's own `client_id`,
// and is listed in `_sessionless` by that number so that a takeover finds it. Its Session is
// made, under the same number, the first time something needs one (make_session): a SUBSCRIBE,
// an incoming QoS 2 id, an acknowledgement, a takeover (find_session) — which then runs exactly
// as for any session, so a takeover with clean start 0 still answers "session present". Making
// it repoints the directory entry at the Session's copy of the id and moves the number from
// `_sessionless` to `_sessions`. Without a Session nothing can be routed to the client (it has
// no subscriptions) and nothing is in flight, so its close only publishes its will and releases
// the directory entry (client_closed). An idle clean connection saves the Session (176 B with
// its control block) this way (tests/bench/RESULTS.md, "Idle connections").
#pragma once
#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/broker_hooks.hpp"
#include "broker/durable_store.hpp"
#include "broker/message.hpp"
#include "broker/publish_encoding_cache.hpp"
#include "broker/publish_wait.hpp"
#include "broker/remote_batch.hpp"
#include "broker/router.hpp"
#include "broker/session.hpp"
#include "broker/session_deadlines.hpp"
#include "broker/session_table.hpp"
#include "broker/stats.hpp"
#include "config/config.hpp"
#include "mqtt/decoder.hpp"
#include "net/connection.hpp"
#include "util/flat_pointer_map.hpp"

namespace roost {

class Client;
class WorkerInbox;

// What one publish learns while it routes, and what its acknowledgement waits for (DESIGN.md
// "Per-publish state is explicit"). Lives on the publisher's worker for the length of publish().
struct PublishContext {
    // Makes the publisher's wait the first time something needs one (a durable store, a full
    // queue under "backpressure"); null when nobody can wait (wills, plugin publishes).
    std::function<std::shared_ptr<PublishWait>()> make_wait;
    std::shared_ptr<PublishWait> wait;
    bool quota_exceeded = false;  // a target's full queue refused it (queue_full_policy = "refuse")

    const std::shared_ptr<PublishWait>& need_wait() {
        if (!wait && make_wait) wait = make_wait();
        return wait;
    }
};

class Broker {
  public:
    // `hooks` and `store` are this worker's and outlive the Broker.
    Broker(const Config& config, Router& router, unsigned index, uv_loop_t* loop, WorkerInbox& inbox,
           BrokerHooks& hooks, DurableStore& store);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    const Config& config() const { return _config; }
    const LimitsConfig& limits() const { return _config.limits; }
    // What every client's decoder is bounded by; the decoders keep a pointer to it (clients never
    // outlive their Broker).
    const mqtt::DecodeLimits& decode_limits() const { return _decode_limits; }
    unsigned index() const { return _index; }
    Router& router() { return _router; }
    WorkerInbox& inbox() { return _inbox; }
    BrokerHooks& hooks() { return _hooks; }
    Stats& stats() { return _stats; }
    PublishEncodingCache& encoding_cache() { return _encoding_cache; }
    const Stats& stats() const { return _stats; }
    size_t connected_clients() const { return _router.connected.load(); }
    size_t session_count() const { return _router.session_count(); }
    size_t subscription_count() const { return _router.subscription_count(); }
    size_t retained_count() const { return _router.retained_count(); }

    // A new connection from a listener (whose settings outlive it).
    void accept(net::Connection* connection, const ListenerConfig& listener);
    // `client`'s next_check() moved earlier (CONNECT, output waiting on the peer): it is
    // looked at then, not at the moment it had before.
    void recheck_client(Client& client);
    // Its connection is gone: detach from the session, decide the will, maybe end the session.
    void client_closed(Client& client, const std::string& reason);
    bool at_connection_limit() const;

    // Attaches `client` to the session of `client_id`, taking over a connection that holds it,
    // then calls `attached` with the session and whether it existed before (CONNACK session
    // present). At once, unless another worker owns the session: then after it handed the
    // session over, and only if `token` was not cancelled meanwhile (the client left).
    using Attached = std::function<void(std::shared_ptr<Session>, bool present)>;
    void attach(Client& client, const std::string& client_id, bool clean_start, uint32_t expiry_interval,
                std::shared_ptr<PendingToken> token, Attached attached);
    void client_connected(Client& client);  // after CONNACK: resend in-flight, drain the queue
    // Makes the Session of `client`, a connected client that has none yet ("Sessions made when
    // needed" above), attached to it; returns it (also Client::session() from now on).
    Session& make_session(Client& client);
    std::string assign_client_id();
    // Unique across workers (not ordered across them); this worker's thread only.
    uint64_t next_message_id() {
        if (_message_ids.next == _message_ids.end || _message_ids.epoch != _router.message_id_epoch()) {
            _message_ids.epoch = _router.message_id_epoch();
            _message_ids.next = _router.reserve_message_ids(kMessageIdBlock);
            _message_ids.end = _message_ids.next + kMessageIdBlock;
        }
        return _message_ids.next++;
    }

    // Stores (if retained) and routes a message to every matching subscription; returns the
    // number of sessions it went to (0 lets an MQTT 5 PUBACK say "no matching subscribers").
    // Durable stores the acknowledgement must wait for join `wait` (when given), on this worker
    // and on every worker the message goes to.
    size_t publish(MessagePtr message, PublishContext* context = nullptr);
    // Queues or sends one delivery to a session, honouring its client's receive window and its
    // queue's bounds ([limits] queue_full_policy, offline_queue_policy).
    void deliver(Session& session, Delivery delivery, PublishContext* context = nullptr);
    // Deliveries other workers routed here (on this worker's thread, from the inbox).
    void receive(RemoteBatch& batch);
    // Sends what publish() collected for other workers: one inbox post per worker. Runs at the end
    // of every loop iteration that routed anything.
    void flush_outbox();
    // Sends queued deliveries while the client's window has room.
    void pump(Session& session);
    // The retained messages matching a new subscription's filter (spec 3.3.1.3); the client
    // sends them over as many loop turns as its output bound and budget need.
    std::vector<MessagePtr> retained_for(std::string_view filter);

    // `store_wait` (may be null) gets the persistence call the SUBACK must wait for, if any.
    bool subscribe(Session& session, const std::string& filter, const SubscriptionRecord& record,
                   roost_call** store_wait = nullptr);
    bool unsubscribe(Session& session, std::string_view filter);

    // An outgoing QoS 1/2 flow ended (acknowledged, or refused by the client): forget it.
    std::map<uint16_t, Outgoing>::iterator finish_outgoing(Session& session,
                                                           std::map<uint16_t, Outgoing>::iterator it);
    // PUBREC received: the flow goes on with PUBREL. True when the caller sends it now; false
    // when it goes once the stored session says "PUBREL sent" (a persistence plugin answered
    // PENDING): the broker sends it then, if the session's client is still there.
    bool outgoing_released(Session& session, std::map<uint16_t, Outgoing>::iterator it);

    // Once, before the workers run (on one worker's engine): what the persistence plugins
    // stored. Restored sessions belong to this worker until a client takes them elsewhere.
    // False when restoring failed (the log says why).
    bool restore();
    DurableStore& persistence() { return _persistence; }

    void publish_will(mqtt::Will will, const std::string& client_id);
    // A message a plugin published (host->publish): message hooks, then routing.
    void publish_from_plugin(std::shared_ptr<Message> message);

    // Once a second: keep alive, and what is due of delayed wills, session expiry and throttled
    // publishers (from _deadlines and _throttled: no walk over every session). Wills and expiry
    // due between ticks are run by _deadline_timer at their moment.
    void tick(Clock::time_point now);
    // Server shutdown, in two steps that every worker takes together (the Server waits for all
    // to finish the first before any takes the second, so that wills reach clients of every
    // worker): the wills that go out now, then DISCONNECT 0x8B to each client and close.
    void shutdown_wills();
    void shutdown();
    // Closes every connection now, unsent bytes or not.
    void close_all(const std::string& why);
    // Before the loop ends: the outbox handles close.
    void close();

  private:
    // The session of `client_id` if this worker owns it and has it (not while it travels here);
    // made now if it is a connected client's session that had no Session yet (for a takeover).
    std::shared_ptr<Session> find_session(std::string_view client_id);
    // The number of `client_id`'s session if this worker has it, made or not; 0 otherwise.
    SessionKey local_session_key(std::string_view client_id) const;
    // A client without a Session closed: its will goes out, its directory entry goes.
    void sessionless_closed(Client& client);
    Session* find_session(SessionKey key) const;
    void end_session(Session& session);
    // The client of `s` left: QoS 1/2 messages of shared subscriptions go to other members.
    void hand_shared_to_others(Session& s);
    void expire_session(Session& session);
    // A client attached to or left `session`: its SessionRef says so, and its shared-group
    // memberships move to the groups' online or offline members.
    void set_online(Session& session, bool online);
    // An offline session's next deadline (its delayed will or its expiry) goes into _deadlines,
    // unless an entry for an earlier moment is there already.
    void schedule_deadline(Session& session);
    // An entry of _deadlines came up: publishes the will or expires the session if due.
    void run_deadline(const SessionDeadlines::Entry& entry, Clock::time_point now);
    // Runs every entry of _deadlines due by `now`, then sets _deadline_timer for the next one.
    void run_due_deadlines(Clock::time_point now);
    void arm_deadline_timer(Clock::time_point now);
    // Throttled publishers waiting longer than [limits] backpressure_timeout are released.
    void check_throttled(Clock::time_point now);
    // The timeouts of every client whose next_check() has come (Client::check_timeouts); then,
    // when one comes before the next tick (`next_tick`), _keep_alive_timer is set for that moment.
    void check_clients(Clock::time_point now, Clock::time_point next_tick);
    // Sets _keep_alive_timer for `at` (this worker's clock_ms) unless it is set for sooner, or the
    // next tick comes first.
    void arm_client_timer(uint32_t at, uint32_t now);
    // Milliseconds on this worker's clock for _check_at: they wrap every 49 days, so they are
    // only ever compared by difference (no check is set more than an hour ahead: check_clients).
    uint32_t clock_ms(Clock::time_point t) const {
        return static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(t - _clock_base).count());
    }
    static bool reached(uint32_t at, uint32_t now) { return static_cast<int32_t>(at - now) <= 0; }
    // No client goes unlooked-at longer than this (its next_check() may be "never"), well inside
    // the 24 days that clock_ms differences span.
    static constexpr std::chrono::hours kMaxLookAhead{1};
    // _check_at's value for `client`: its next_check(), at most kMaxLookAhead away.
    uint32_t next_look(const Client& client, Clock::time_point now) const;
    // The local part of attach(), for `session`, in this worker's table (`created` just now).
    // `token` is the one the client waits on: an attach that goes on elsewhere (the session
    // ended here and another worker now owns the id) checks it before touching the client.
    void attach_here(Client& client, std::shared_ptr<Session> session, bool clean_start,
                     uint32_t expiry_interval, const std::shared_ptr<PendingToken>& token,
                     const Attached& attached, bool created);
    // On the owning worker: a connection on worker `to` takes over `client_id`. The old connection
    // is disconnected (0x8E), the will rules of a takeover applied; then the session, or nothing
    // when it ends (clean start), goes to `to` and `done` runs there.
    void hand_over(const std::string& client_id, unsigned to, bool clean_start,
                   const std::string& new_address, std::function<void(std::shared_ptr<Session>)> done);
    // Disconnects the client attached to `s` for a takeover, deciding its will.
    void take_over_from(Session& s, bool clean_start, const std::string& new_address);
    // Posts `fn` to worker `worker`'s thread (false once that worker stopped).
    bool post_to(unsigned worker, std::function<void()> fn);
    void deliver_routed(SessionKey key, Delivery d, PublishContext* context);
    // A shared subscription's delivery given from a member that left (session `client_id` here)
    // to `session` on `worker`: delivered there, then `old` deleted from storage there.
    void reroute_to_worker(unsigned worker, SessionKey session, Delivery&& copy, const std::string& client_id,
                           Delivery&& old);
    // Queues a delivery of `message` (delivery.message is not read) for a session on `worker`.
    void send_to_worker(unsigned worker, SessionKey session, const MessagePtr& message, Delivery&& delivery,
                        std::shared_ptr<PublishWait> wait);
    // A QoS 0 delivery: sent to the attached client, or dropped.
    void deliver_qos0(Session& session, const Delivery& d);
    // The queue is at [limits] max_queued_messages or max_queued_bytes.
    bool queue_full(const Session& s) const;
    void push_queued(Session& s, Delivery d);
    void pop_queued(Session& s);
    void pop_queued_into(Session& s, Delivery& out);
    void count_drop(Session& s, const char* policy);
    // The queue has room again (or the client left): throttled publishers are acknowledged.
    void relieve(Session& s);
    friend struct RestoreSink;
    // Gives `d` a packet id and sends it; false (d untouched) when all ids are in use. `waits`
    // collects the store calls its publisher's acknowledgement waits for; `publisher` is that
    // publisher's wait, when it can wait. With it, a QoS 1 delivery to a connected stored session
    // ([broker] persist_delay_ms > 0) is not stored now: see "Deferred storing". A QoS 2 delivery
    // to a stored session is sent once its store committed (send_when_stored).
    bool send_new(Session& session, Delivery& d, std::vector<roost_call*>* waits = nullptr,
                  const std::shared_ptr<PublishWait>* publisher = nullptr);
    // The QoS 2 PUBLISH of in-flight `packet_id` goes when `calls` (its store) completed; a part
    // of `publisher`'s wait, if any, is held until then.
    void send_when_stored(Session& s, uint16_t packet_id, std::vector<roost_call*> calls,
                          std::shared_ptr<PublishWait> publisher);
    // Sends the session's held deliveries (Outgoing::unsent) in order, up to the first whose
    // store has not committed.
    void send_held(Session& s);

    // Deferred storing ([broker] persist_delay_ms). A QoS 1 delivery sent at once to a connected
    // stored session holds a part of its publisher's wait (Outgoing::deferred_wait) instead of
    // being stored. The subscriber's PUBACK within the window releases the part: no plugin call
    // at all. Otherwise, before the window ends or anything needs the session's stored state
    // complete (the client leaves or is taken over, a later delivery of the session is stored,
    // broker shutdown), the delivery is stored, its PENDING calls join the wait, and the part is
    // released. Storing any delivery of a session first stores its deferred ones, in sequence
    // order. All on this worker's thread; the PublishWait may belong to another worker's
    // publisher (any thread may release a part: publish_wait.hpp).
    bool may_defer(const Session& s, const Delivery& d) const {
        return _persist_delay_ms != 0 && d.qos == 1 && s.expiry_interval != 0 && _persistence.enabled();
    }
    // A QoS 2 delivery to a stored session: its PUBLISH goes once its store completed
    // (send_when_stored), and its publisher's wait holds a part until then.
    bool sent_when_stored(const Session& s, const Delivery& d) const {
        return d.qos == 2 && s.expiry_interval != 0 && _persistence.enabled();
    }
    // The in-flight packet ids of `s` whose entry satisfies `pred`, in sequence order.
    template <class Pred>
    static std::vector<uint16_t> inflight_in_sequence(const Session& s, Pred pred);
    // Stores every deferred delivery of `s`, oldest first (no-op when it has none).
    void flush_deferred(Session& s);
    // Stores one deferred delivery and releases its part of the publisher's wait.
    void store_deferred(Session& s, uint16_t packet_id, Outgoing& out);
    // A deferred delivery is over without storing (acknowledged, or its session ended).
    void release_deferred(Outgoing& out);
    // The timer: stores the deliveries whose window passed (the FIFO's front).
    void sweep_deferred();
    // A deferred part of a publisher's wait is over: released at the end of the loop iteration.
    void hand_back(std::shared_ptr<PublishWait> wait);
    // Releases the parts collected in _released_waits (end of the loop iteration).
    void release_collected();
    void drop_queued(Session& session, Delivery& d);
    MessagePtr make_will_message(mqtt::Will will, const std::string& client_id);

    const Config& _config;
    const mqtt::DecodeLimits _decode_limits{
        _config.limits.max_topic_levels, _config.limits.max_user_properties,
        _config.broker.allow_control_characters, _config.limits.max_packet_size,
        _config.limits.max_connect_packet_size};
    Router& _router;
    const unsigned _index;
    WorkerInbox& _inbox;
    BrokerHooks& _hooks;
    DurableStore& _persistence;
    Stats _stats;
    PublishEncodingCache _encoding_cache;
    // The sessions this worker owns, by number (a flat table: broker/session_table.hpp). No table
    // by client id: find_session() asks the Router's directory for the number (one id-keyed table
    // for all workers, not one each).
    SessionTable _sessions;
    // Connected clients whose session has no Session object yet, by their session number
    // ("Sessions made when needed" above). Not owning: a client leaves it in client_closed.
    // Keyed by Client::_session_key, which a listed client never changes.
    struct SessionKeyOf {
        static uint64_t of(const Client& client);
    };
    FlatPointerMap<Client, SessionKeyOf> _sessionless;
    SessionDeadlines _deadlines;                // offline sessions' wills and expiry, by time
    std::unordered_set<SessionKey> _throttled;  // sessions with publishers waiting for queue room
    // Sessions handed to another worker: deliveries still routed here follow them.
    std::unordered_map<SessionKey, unsigned> _moved;
    // Every client of this worker, in no order; each knows its place (Client::_slot), so that
    // removal is a swap with the last: 8 bytes per client instead of a hash-set node and bucket.
    std::vector<Client*> _clients;
    // By the same slot: when that client's timeouts next need a look (clock_ms of its
    // next_check()). A second's tick reads these 4 bytes per client and touches only the clients
    // due, instead of every client (19,900 idle ones cost 3.4 ms of CPU a second that way).
    std::vector<uint32_t> _check_at;
    Clock::time_point _clock_base = Clock::now();
    size_t _connected = 0;                        // this worker's clients past CONNACK
    std::vector<SubscriberMatch> _match_scratch;  // reused by publish()
    // The block of message ids this worker hands out (Router::reserve_message_ids).
    static constexpr uint64_t kMessageIdBlock = 1024;
    struct {
        uint64_t next = 0, end = 0, epoch = 0;
    } _message_ids;
    std::vector<RemoteBatch> _outbox;  // by target worker, sent by flush_outbox()
    // Batches the receiving workers emptied, reused for _outbox (thread rules in remote_batch.hpp).
    std::shared_ptr<RemoteBatchPool> _batch_pool = std::make_shared<RemoteBatchPool>();
    bool _outbox_pending = false;
    uv_check_t _outbox_check{};  // flushes the outbox at the end of the loop iteration
    uv_idle_t _outbox_idle{};    // keeps the loop from blocking while the outbox holds anything

    // Deferred storing (see send_new). One entry per deferred delivery, in the order they were
    // sent (so per session in sequence order), each due `persist_delay_ms` after: the timer
    // only looks at the front. An entry whose delivery was acknowledged (or stored, or whose
    // session left) stays until it comes up and is then skipped: `sequence` tells a packet id
    // used again. 24 bytes per delivery sent within the window.
    struct DeferredEntry {
        SessionKey session;
        uint64_t sequence;
        uint32_t due_ms;  // uv_now() (truncated; compared by difference)
        uint16_t packet_id;
    };
    const uint32_t _persist_delay_ms;
    uv_loop_t* _loop;
    std::deque<DeferredEntry> _deferred;
    size_t _deferred_live = 0;  // in-flight deliveries of this worker's sessions with deferred_wait
    uv_timer_t _deferred_timer{};
    // Spec 3.1.2-22 (3.1.1: 3.1.2-24): a client silent for 1.5 x its keep alive is closed then,
    // not at the next once-a-second tick (up to a second late: keep alive 2 closed at 4 s, not
    // 3). The tick arms it for the first keep alive due before the next tick.
    uv_timer_t _keep_alive_timer{};
    Clock::time_point _next_tick{};
    // Spec 3.1.3.2.2 / 3.1.2.11.2: a delayed will goes out, and a session expires, when its
    // interval has passed, not at the next tick (up to a second late). Set for the earliest
    // entry of _deadlines; _deadline_armed_for is the moment it is set for (max when stopped),
    // so that scheduling a later deadline leaves it alone.
    uv_timer_t _deadline_timer{};
    Clock::time_point _deadline_armed_for = Clock::time_point::max();
    // Parts of publishers' waits that PUBACKs released, handed back together at the end of the
    // loop iteration (one pass, not a post per message; and never inside a client's packet
    // handling, where the acknowledgement it completes could run into the same client).
    std::vector<std::shared_ptr<PublishWait>> _released_waits, _releasing;
    uv_check_t _release_check{};
    uv_idle_t _release_idle{};  // keeps the loop from blocking while _released_waits holds any
};

}  // namespace roost
