// Where plugins decide: runs each kind's hooks in config order (the first answer that is not
// NEXT wins), waits for PENDING answers, and falls back to the listener's default. The broker
// asks here and nowhere else.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/message.hpp"
#include "config/config.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_codes.hpp"
#include "roost/plugin.h"

namespace roost {

class Client;
class PluginWorker;
struct LoadedPlugin;

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

class Hooks {
  public:
    using Resume = std::function<void(const HookDecision&)>;

    Hooks(const Config& config, PluginWorker* plugins);

    bool has_acl() const { return !_acl.empty(); }
    // The listener's answer when no ACL plugin decides (what acl() gives with no ACL plugins).
    HookDecision acl_default(Client& client) const;

    // Auth: Allow/Deny now, or pending: then the client keeps the decision's token, and
    // `resume` runs later on this worker unless the token was cancelled.
    HookDecision authenticate(Client& client, const AuthRequest& request, Resume resume);
    // ACL for publish and subscribe (may be pending, as above) and deliver (never pending).
    HookDecision acl(Client& client, AclAction action, std::string_view topic, std::string_view payload,
                     uint8_t qos, bool retain, Resume resume);
    bool deliver_allowed(Client& client, const Message& message, uint8_t qos, bool retain);

    // Before routing: may rewrite `message`; false drops it (`reason` then says what a QoS 1/2
    // publisher is told).
    bool on_message(Client* client, Message& message, mqtt::ReasonCode& reason);
    void on_routed(Client* client, const Message& message, size_t matched);

    void on_connect(Client& client);
    void on_disconnect(Client& client, uint8_t reason_code);
    // A client object was made (its ref is registered) / is about to go: each plugin's
    // client_release for the data it set, then its ref answers EGONE. Exactly once per client.
    void client_created(Client& client);
    void client_released(Client& client);
    void tick();
    void cancel(PendingToken& token);

  private:
    HookDecision run_auth(size_t start, Client& client, const AuthRequest& request,
                          std::shared_ptr<PendingToken> token, const Resume& resume);
    HookDecision run_acl(size_t start, Client& client, AclAction action, std::string_view topic,
                         std::string_view payload, uint8_t qos, bool retain,
                         std::shared_ptr<PendingToken> token, const Resume& resume);
    HookDecision auth_default(Client& client, const AuthRequest& request) const;

    const Config* _config;
    PluginWorker* _plugins;  // this worker's; nullptr: no plugin machinery (built-in defaults only)
    std::vector<LoadedPlugin*> _auth, _acl, _on_publish, _on_routed, _lifecycle;
};

}  // namespace roost
