// What the broker asks of plugins, declared by the broker: auth, ACL, the message hooks and the
// lifecycle events. The plugin host implements it (plugin/hooks.hpp: the hook chains of the
// loaded plugins, their PENDING answers and the listener's defaults); the broker never includes
// plugin/, so the build keeps the layers apart (core/README.md).
//
// Cost: the hooks that run per delivery (deliver ACL) or per PUBLISH (message hooks) go through
// inline gates fixed at construction, so that a broker without such plugins makes no call at all
// on those paths; a virtual call is made only where a plugin's function pointer is called anyway.
//
// Threads: one per worker, used on that worker's thread only.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/message.hpp"
#include "mqtt/reason_codes.hpp"
#include "roost/plugin.h"

namespace roost {

class Client;

enum class AclAction {
    Publish = ROOST_ACL_PUBLISH,
    Subscribe = ROOST_ACL_SUBSCRIBE,
    Deliver = ROOST_ACL_DELIVER
};

// What a client waits on. The client keeps it and cancels it when it goes, so that a late
// answer never reaches a client that is gone.
struct PendingToken {
    roost_call* call = nullptr;
    bool cancelled = false;
};

struct HookDecision {
    bool pending = false;  // the answer comes later, through the resume function
    bool allowed = true;
    mqtt::ReasonCode reason = mqtt::ReasonCode::Success;  // with !allowed: what the client is told
    std::string why;                                      // for the log
    std::string reply;                                    // auth: Authentication Data for the client
    bool more = false;                                    // auth: another AUTH round
    size_t plugin = SIZE_MAX;                             // auth: which plugin decided (for continue_auth)
    std::shared_ptr<PendingToken> token;                  // with pending: what the client waits on

    static HookDecision later(std::shared_ptr<PendingToken> token) {
        HookDecision d;
        d.pending = true;
        d.token = std::move(token);
        return d;
    }
    static HookDecision deny(mqtt::ReasonCode reason, std::string why) {
        HookDecision d;
        d.allowed = false;
        d.reason = reason;
        d.why = std::move(why);
        return d;
    }
};

struct AuthRequest {
    roost_auth_stage stage = ROOST_AUTH_CONNECT;
    std::optional<std::string> username, password;
    std::string method, data;
    size_t plugin = SIZE_MAX;  // CONTINUE and REAUTH: the plugin that answered the first step
};

class BrokerHooks {
  public:
    using Resume = std::function<void(const HookDecision&)>;

    virtual ~BrokerHooks() = default;
    BrokerHooks(const BrokerHooks&) = delete;
    BrokerHooks& operator=(const BrokerHooks&) = delete;

    bool has_acl() const { return _present.acl; }
    // The listener's answer when no ACL plugin decides (what acl() gives with no ACL plugins).
    HookDecision acl_default(const Client& client) const;

    // Auth: Allow/Deny now, or pending: then the client keeps the decision's token, and
    // `resume` runs later on this worker unless the token was cancelled.
    virtual HookDecision authenticate(Client& client, const AuthRequest& request, Resume resume) = 0;
    // ACL for publish and subscribe (may be pending, as above); with no ACL plugin, acl_default().
    virtual HookDecision acl(Client& client, AclAction action, std::string_view topic,
                             std::string_view payload, uint8_t qos, bool retain, Resume resume) = 0;
    // ACL for one delivery (never pending); once per subscriber of every message.
    bool deliver_allowed(Client& client, const Message& message, uint8_t qos, bool retain) {
        return !_present.acl || check_deliver(client, message, qos, retain);
    }

    // Before routing: may rewrite `message`; false drops it (`reason` then says what a QoS 1/2
    // publisher is told).
    bool on_message(Client* client, Message& message, mqtt::ReasonCode& reason) {
        return !_present.on_publish || run_on_publish(client, message, reason);
    }
    void on_routed(Client* client, const Message& message, size_t matched) {
        if (_present.on_routed) run_on_routed(client, message, matched);
    }

    virtual void on_connect(Client& client) = 0;
    virtual void on_disconnect(Client& client, uint8_t reason_code) = 0;
    // A client object was made (its ref is registered) / is about to go: each plugin's
    // client_release for the data it set, then its ref answers EGONE. Exactly once per client.
    virtual void client_created(Client& client) = 0;
    virtual void client_released(Client& client) = 0;
    virtual void tick() = 0;
    virtual void cancel(PendingToken& token) = 0;

  protected:
    BrokerHooks() = default;
    // Which gated hooks the implementation has: once, by its constructor.
    struct Present {
        bool acl = false;
        bool on_publish = false;
        bool on_routed = false;
    };
    void set_present(Present present) { _present = present; }

    // What the gates call when the implementation has such hooks.
    virtual bool check_deliver(Client& client, const Message& message, uint8_t qos, bool retain) = 0;
    virtual bool run_on_publish(Client* client, Message& message, mqtt::ReasonCode& reason) = 0;
    virtual void run_on_routed(Client* client, const Message& message, size_t matched) = 0;

  private:
    Present _present;
};

}  // namespace roost
