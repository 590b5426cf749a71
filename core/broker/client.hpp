// One connected client as the protocol engine sees it: decodes its packets, runs the MQTT
// state machine for it, encodes what goes back. Session state that outlives the connection
// lives in Session; broker-wide state in Broker.
//
// Lifetime: created by Broker::accept() for a Connection, deleted in on_closed() (the
// connection's close callback), after Broker::client_closed() detached it from its session.
// So its Connection outlives it (the connection is deleted after on_closed() returned): the
// client reads the peer's address from there instead of keeping a copy.
//
// Size: one per connection, idle ones included (tests/bench/RESULTS.md, "Idle connections"):
// rare state is boxed, flags are bit-fields, the peer's address is not copied (the client id
// still is: the Session keeps its own, which the session directory points at).
//
// Its session: `_session` is null before CONNACK, and after it for a clean session whose Session
// is not made yet (broker.hpp, "Sessions made when needed"); ensure_session() makes it when a
// packet needs it. `_session_key` is the session's number from CONNACK on, made or not.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/ack_queue.hpp"
#include "broker/broker_hooks.hpp"
#include "broker/client_handle.hpp"
#include "broker/session.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/packet.hpp"
#include "net/connection.hpp"
#include "util/boxed.hpp"

namespace roost {

class Broker;

class Client : public net::ConnectionHandler {
  public:
    Client(Broker& broker, net::Connection* connection, const ListenerConfig& listener);

    // net::ConnectionHandler
    void on_data(std::span<const uint8_t> bytes) override;
    void on_closed(const std::string& reason) override;
    void on_resume() override;
    void on_write_waiting() override;

    // Sends a DISCONNECT with `reason` (MQTT 5 only; 3.1.1 has none) and closes after it is
    // written. `why` goes to the log.
    void disconnect(mqtt::ReasonCode reason, const std::string& why);
    // Closes at once, whatever is unsent (the end of a shutdown's grace period).
    void close_now(const std::string& why) {
        if (!_closed) _connection->close(why);
    }
    // Sends one message; returns false when it could not go (too large for the client, expired,
    // denied by a deliver ACL, or the connection is closing), in which case a QoS 1/2 message
    // counts as delivered (spec 3.1.2.25).
    bool send_publish(const Delivery& delivery, uint16_t packet_id, bool dup);
    void send(const mqtt::Packet& packet);

    bool connected() const { return _state == State::Connected; }
    bool closing() const { return _closed || _connection->closing(); }
    const std::string& client_id() const { return _client_id; }
    // The connection's peer (a transport may have replaced it: Connection::set_peer), kept once
    // there: the connection outlives the client (client.hpp's lifetime rule above).
    const std::string& address() const { return _connection->peer(); }
    mqtt::ProtocolVersion version() const { return _version; }
    uint16_t receive_maximum() const { return _client_receive_maximum; }
    const Boxed<std::string>& username() const { return _username; }
    const ListenerConfig& listener() const { return _listener; }
    net::Connection* connection() const { return _closed ? nullptr : _connection; }
    roost_client* plugin_handle() { return &_plugin_handle; }
    // Null while the session is not made (see above); ensure_session() makes it (connected only).
    Session* session() const { return _session.get(); }
    Session& ensure_session();

    // Called by the broker when next_check() comes (at a tick, or between two when a keep alive
    // runs out): enforces keep alive, send_timeout and the CONNECT timeout.
    void check_timeouts(Clock::time_point now);
    // The earliest moment check_timeouts() can have something to do, as things stand: the end
    // of keep alive, of the CONNECT timeout, or of send_timeout for output waiting on the peer.
    // Only ever moves later by itself (a packet, a written backlog); what moves it earlier
    // (CONNECT, output starting to wait) tells the broker (Broker::recheck_client).
    Clock::time_point next_check(Clock::time_point now) const;
    // When this client's keep alive runs out without another packet (1.5 x keep alive after the
    // last one, spec 3.1.2.10); Clock::time_point::max() for none (keep alive 0, not connected).
    Clock::time_point keep_alive_due() const;

    // Taken by the broker when a takeover or a shutdown decides what happens to the will, so
    // that closing does not decide it again.
    std::optional<mqtt::Will> take_will() { return std::exchange(_will, std::nullopt); }
    uint32_t will_delay() const { return _will_delay; }
    void detach_session() { _session.reset(); }
    // The lifecycle on_disconnect, once: at a takeover before the new connection's CONNACK,
    // otherwise when the connection closed. Only for a client that had on_connect.
    void report_disconnect(uint8_t reason_code);
    std::shared_ptr<Session> take_session() { return std::move(_session); }

  private:
    enum class State : uint8_t {
        AwaitingConnect,  // until CONNECT is accepted
        Authenticating,   // MQTT 5 enhanced authentication: AUTH rounds before the CONNACK
        Connected,
    };

    // Handles the packets decoded so far, unless a plugin's answer is awaited: then the rest
    // waits in the decoder, so that packets are handled in the order they came.
    void process();
    // process() inside the guard every per-client step needs: a failed allocation (a client
    // that made the broker run out of memory) closes this client, never the broker.
    void process_guarded();
    // Over [limits] max_output_buffer (or the global bound with a backlog of its own): the
    // client is not read until what it was sent is written.
    bool output_over_limit() const;
    // A plugin's answer is awaited: packets wait (on_data bounds how many bytes). After
    // resume_after_wait(), process() goes on with them.
    void wait_for(std::shared_ptr<PendingToken> token);
    void resume_after_wait();
    void handle(mqtt::Packet& packet);
    void handle_connect(mqtt::Connect& connect);
    void run_auth(AuthRequest request);
    void on_auth_decision(const HookDecision& decision);
    void check_will_then_connect(const std::string& auth_reply);
    void on_will_decision(const HookDecision& acl, const std::string& auth_reply);
    void finish_connect(const std::string& auth_reply);
    // What finish_connect decided, for the CONNACK that follows once the session is attached.
    struct ConnectOutcome {
        std::string auth_reply;
        uint32_t session_expiry = 0;
        bool expiry_cut = false;
        bool keep_alive_cut = false;
    };
    void send_connack(std::shared_ptr<Session> session, bool present, const ConnectOutcome& outcome);
    // PUBACK/PUBREC/PUBCOMP: sent now, or queued behind acknowledgements that wait (_acks).
    void send_ack(const AckQueue::Ack& ack);
    void send_acks(const std::vector<AckQueue::Ack>& ready);
    // An acknowledgement that may go now: sent, or queued behind those that still wait.
    void owe(const AckQueue::Ack& ack);
    // The wait of the acknowledgement `ticket` ended (QuotaExceeded: a full queue refused it).
    void ack_done(uint64_t ticket, std::optional<mqtt::ReasonCode> reason);
    // As many acknowledgements wait as the client may have: its next PUBLISHes wait unread.
    bool acks_full() const;
    // A publish's durable store failed (`failure`: the store's reason code, 0 if none): MQTT 5
    // answers with it (else 0x80) in `reason`; MQTT 3.1.1, whose PUBACK/PUBREC carry no code,
    // is disconnected (false) so that the client sends the message again.
    bool store_failed(const std::string& topic, uint8_t qos, uint8_t failure, mqtt::ReasonCode& reason);
    void handle_publish(mqtt::Publish& publish);
    void finish_publish(mqtt::Publish& publish, const HookDecision& acl);
    void handle_ack(const mqtt::Ack& ack);
    void handle_subscribe(mqtt::Subscribe& subscribe);
    // Asks about every filter of _subscribing at once; finishes now, or when the last pending
    // answer arrives.
    void continue_subscribe();
    // Applies the decisions in the filters' order, sends the SUBACK, and queues the retained
    // messages into _retained_backlog (process() sends them).
    void finish_subscribe();
    // Sends what it can of _retained_backlog within this turn's budget (`packets` so far); false
    // when some is left for a later turn (deferred, or paused until the output drains).
    bool send_retained_backlog(size_t& packets);
    // Records the answer for the filter at _subscribing->next (granted or refused).
    void apply_subscription(const HookDecision& decision);
    void send_suback();
    void handle_unsubscribe(const mqtt::Unsubscribe& unsubscribe);
    void handle_disconnect(const mqtt::Disconnect& disconnect);
    void handle_auth(const mqtt::Auth& auth);

    // Refuses a CONNECT with `reason` (mapped down for 3.1.1) and closes.
    void refuse_connect(mqtt::ReasonCode reason, const std::string& why);
    // The same for a CONNECT the decoder rejected.
    void refuse_malformed_connect(const mqtt::DecodeError& error);
    // Resolves an incoming topic alias; false after it disconnected the client.
    bool resolve_topic_alias(mqtt::Publish& publish);
    // The answer to a QoS 1/2 PUBLISH (PUBACK or PUBREC).
    void acknowledge(const mqtt::Publish& publish, mqtt::ReasonCode reason);
    void protocol_error(mqtt::ReasonCode reason, const std::string& why);
    void write_encoded(std::vector<uint8_t>& bytes);  // to the connection, counted in $SYS bytes sent
    std::string describe() const;                     // "client 'id' (1.2.3.4:5678)" for log lines
    const char* version_name_for_log() const;

    Broker& _broker;
    net::Connection* _connection;  // valid for the client's whole life; see _closed
    const ListenerConfig& _listener;
    roost_client _plugin_handle{this};
    mqtt::Decoder _decoder;
    // Of the last bytes received (keep alive counts bytes) once the CONNECT was accepted; before,
    // the moment the connection was accepted (the CONNECT timeout counts from there).
    Clock::time_point _last_packet_at;

    std::string _client_id;
    Boxed<std::string> _username;  // boxed: most idle fleets connect without one
    std::shared_ptr<Session> _session;
    SessionKey _session_key = 0;  // its session's number, set at CONNACK (the broker's to write)
    uint32_t _slot = 0;           // its index in Broker::_clients (the broker's to read and write)
    uint16_t _keep_alive = 0;     // seconds, as enforced (Server Keep Alive applied)
    State _state = State::AwaitingConnect;
    mqtt::ProtocolVersion _version = mqtt::ProtocolVersion::V5;
    uint8_t _disconnect_reason = 0;  // what the broker sent or received, for on_disconnect hooks
    // What the client told us about itself in CONNECT (MQTT 5); the 32-bit one is below.
    uint16_t _client_receive_maximum = 65535;
    uint16_t _client_topic_alias_maximum = 0;
    bool _closed : 1 = false;            // on_closed() ran: nothing more goes to the connection
    bool _keep_alive_check : 1 = false;  // a keep-alive timeout is checked again after I/O
    bool _disconnect_reported : 1 = false;
    bool _assigned_id : 1 = false;
    bool _reauthenticating : 1 = false;  // an AUTH 0x19 exchange is under way
    bool _request_problem_information : 1 = true;
    friend class Broker;
    // Rare, large state is boxed (util/boxed.hpp); the rarest kinds share one box (RareStates).
    // MQTT 5 enhanced authentication, from a CONNECT with an Authentication Method.
    struct EnhancedAuth {
        std::string method;
        size_t plugin = SIZE_MAX;  // the plugin that runs it
    };
    const std::string& auth_method() const;  // "" without enhanced authentication
    struct SubscribeProgress {
        mqtt::Subscribe packet;
        size_t next = 0;
        mqtt::Suback ack;
        std::vector<std::pair<size_t, bool>> granted;        // (index into packet, is new)
        std::vector<std::optional<HookDecision>> decisions;  // by filter, as they come in
        size_t waiting = 0;                                  // answers still pending
        std::vector<std::shared_ptr<PendingToken>> tokens;   // cancelled if the client goes
        std::vector<std::pair<size_t, roost_call*>> stores;  // (index into ack codes, durable store)
    };
    // Retained messages matched by a SUBSCRIBE and not yet sent: a SUBSCRIBE to '#' with 100k
    // retained messages goes out over many loop turns, never past the output bound.
    struct RetainedBatch {
        std::vector<MessagePtr> messages;  // matched at SUBSCRIBE time
        size_t next = 0;                   // the first not yet sent
        SubscriptionRecord record;         // the subscription's options and identifier
    };
    // Acknowledgements owed in order while some wait; `alive` tells late answers whether this
    // client and this queue are still there.
    struct WaitingAcks {
        AckQueue queue;
        std::shared_ptr<PendingToken> alive = std::make_shared<PendingToken>();
    };
    // How far a publisher gets ahead of its waiting acknowledgements: enough for many of its
    // messages to share one commit, little enough to bound what a full subscriber queue takes
    // beyond its limit under queue_full_policy = "backpressure".
    static constexpr size_t kMaxWaitingAcks = 256;
    static constexpr size_t kMaxWaitingAckBytes = 1024 * 1024;
    Boxed<mqtt::Will> _will;
    uint32_t _will_delay = 0;

    uint32_t _client_maximum_packet_size = 268435460;  // from CONNECT (MQTT 5)

    // Topic aliases (MQTT 5), made when the client first uses one or allows some.
    struct Aliases {
        std::vector<std::string> in;  // index = alias the client set, value = topic
        std::unordered_map<std::string, uint16_t> out;
    };
    // The states most connections have only for a moment, or never, in one box: made by rare()
    // when the first is set, dropped by trim_rare() (at the end of process()) once all are empty
    // again (or, for acknowledgements answered later, by ack_done()). An idle connection pays one
    // pointer for all eight instead of 72 bytes (tests/bench/RESULTS.md, "Idle connections"). Read them
    // through `_rare && _rare->x`: reading must not make the box.
    struct RareStates {
        Boxed<mqtt::Connect> connect;  // while its authentication runs
        Boxed<EnhancedAuth> auth;
        Boxed<SubscribeProgress> subscribing;
        Boxed<std::deque<RetainedBatch>> retained_backlog;
        Boxed<mqtt::Publish> publish_waiting;  // for its ACL answer
        Boxed<Aliases> aliases;
        std::shared_ptr<PendingToken> pending;  // set while a plugin's answer is awaited
        Boxed<WaitingAcks> acks;                // while some acknowledgement waits (durable stores)
        bool empty() const {
            return !connect && !auth && !subscribing && !retained_backlog && !publish_waiting && !aliases &&
                   !pending && !acks;
        }
    };
    Boxed<RareStates> _rare;
    RareStates& rare() { return _rare ? *_rare : _rare.emplace(); }
    bool waiting() const { return _rare && _rare->pending; }  // for a plugin's answer (wait_for)
    WaitingAcks* acks() { return _rare && _rare->acks ? &*_rare->acks : nullptr; }
    const WaitingAcks* acks() const { return _rare && _rare->acks ? &*_rare->acks : nullptr; }
    void trim_rare() {
        if (_rare && _rare->empty()) _rare.reset();
    }
    // Packets are encoded into one buffer per worker thread (client.cpp), kept up to this size.
    static constexpr size_t kKeepEncodeCapacity = 64 * 1024;
};

}  // namespace roost
