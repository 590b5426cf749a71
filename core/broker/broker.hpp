// The broker's shared state and the operations across clients: sessions by client id, the
// subscription index, retained messages, routing, wills, expiry and statistics.
//
// Runs on one worker today. With N workers (DESIGN.md "Threads") this becomes the shared,
// read-mostly part, and deliver() to a session owned by another worker goes through that
// worker's queue; nothing here assumes one loop except that calls come from it.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/message.hpp"
#include "broker/retained_store.hpp"
#include "broker/session.hpp"
#include "broker/stats.hpp"
#include "broker/subscription_tree.hpp"
#include "config/config.hpp"
#include "net/connection.hpp"
#include "plugin/hooks.hpp"
#include "plugin/persistence.hpp"

namespace roost {

class Client;

class Broker {
  public:
    // `plugins` may be null (no plugin machinery: the built-in defaults answer).
    Broker(const Config& config, PluginWorker* plugins);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    const Config& config() const { return _config; }
    const LimitsConfig& limits() const { return _config.limits; }
    Hooks& hooks() { return _hooks; }
    Stats& stats() { return _stats; }
    size_t connected_clients() const { return _connected; }
    size_t session_count() const { return _sessions.size(); }
    size_t subscription_count() const { return _subscriptions.size(); }
    size_t retained_count() const { return _retained.size(); }

    // A new connection from a listener (whose settings outlive it).
    void accept(net::Connection* connection, const ListenerConfig& listener);
    // Its connection is gone: detach from the session, decide the will, maybe end the session.
    void client_closed(Client& client, const std::string& reason);
    bool at_connection_limit() const;

    // Attaches `client` to the session of `client_id`, taking over a connection that holds it.
    // Returns the session and whether it existed before (CONNACK session present).
    std::pair<std::shared_ptr<Session>, bool> attach(Client& client, const std::string& client_id,
                                                     bool clean_start, uint32_t expiry_interval);
    void client_connected(Client& client);  // after CONNACK: resend in-flight, drain the queue
    std::string assign_client_id();
    uint64_t next_message_id() { return _next_message_id++; }

    // Stores (if retained) and routes a message to every matching subscription; returns the
    // number of sessions it went to (0 lets an MQTT 5 PUBACK say "no matching subscribers").
    size_t publish(MessagePtr message);
    // Queues or sends one delivery to a session, honouring its client's receive window.
    void deliver(Session& session, Delivery delivery);
    // Sends queued deliveries while the client's window has room.
    void pump(Session& session);
    // Retained messages for a new subscription, in the order of spec 3.3.1.3.
    void send_retained(Session& session, std::string_view filter, const SubscriptionRecord& record);

    bool subscribe(Session& session, const std::string& filter, const SubscriptionRecord& record);
    bool unsubscribe(Session& session, std::string_view filter);

    // An outgoing QoS 1/2 flow ended (acknowledged, or refused by the client): forget it.
    std::map<uint16_t, Outgoing>::iterator finish_outgoing(Session& session,
                                                           std::map<uint16_t, Outgoing>::iterator it);
    // PUBREC received: the flow goes on with PUBREL.
    void outgoing_released(Session& session, std::map<uint16_t, Outgoing>::iterator it);

    // After the plugins are loaded: the hook chains, then what the persistence plugins stored.
    // False when restoring failed (the log says why).
    bool plugins_loaded(PluginWorker* plugins);
    Persistence& persistence() { return _persistence; }

    void publish_will(mqtt::Will will, const std::string& client_id);
    // A message a plugin published (host->publish): message hooks, then routing.
    void publish_from_plugin(std::shared_ptr<Message> message);

    // Once a second: keep alive, delayed wills, session expiry.
    void tick(Clock::time_point now);
    // Server shutdown: wills of connected clients, DISCONNECT 0x8B to each, close all.
    void shutdown();
    // Closes every connection now, unsent bytes or not.
    void close_all(const std::string& why);

  private:
    void end_session(Session& session);
    void expire_session(Session& session);
    friend struct RestoreSink;
    // Gives `d` a packet id and sends it; false (d untouched) when all ids are in use.
    bool send_new(Session& session, Delivery& d);
    void drop_queued(Session& session, Delivery& d);
    MessagePtr make_will_message(mqtt::Will will, const std::string& client_id);

    const Config& _config;
    Hooks _hooks;
    Persistence _persistence;
    Stats _stats;
    std::unordered_map<std::string, std::shared_ptr<Session>> _sessions;
    std::unordered_map<SessionKey, Session*> _sessions_by_key;
    std::unordered_set<Client*> _clients;
    size_t _connected = 0;  // clients past CONNACK
    SessionKey _next_session_key = 1;
    uint64_t _next_message_id = 1;
    uint64_t _next_assigned_id = 1;
    SubscriptionTree _subscriptions;
    RetainedStore _retained;
    std::vector<SubscriberMatch> _match_scratch;  // reused by publish()
};

}  // namespace roost
