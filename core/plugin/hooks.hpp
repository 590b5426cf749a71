// Where plugins decide: runs each kind's hooks in config order (the first answer that is not
// NEXT wins), waits for PENDING answers, and falls back to the listener's default. The broker
// asks through the interface it declares (broker/broker_hooks.hpp); this is its implementation
// over the loaded plugins' hook tables. With no plugin machinery (`plugins` null) only the
// built-in defaults answer.
#pragma once
#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "broker/acl_memo.hpp"
#include "broker/broker_hooks.hpp"
#include "config/config.hpp"

namespace roost {

class PluginWorker;
struct LoadedPlugin;

// How many times a plugin asked to forget every client's kept ACL answers (acl_cache_clear with
// no client): an answer kept under an older count is stale. Any thread; relaxed, since a check
// only needs to see the count once the plugin's call returned on some thread before it.
extern std::atomic<uint64_t> g_acl_memo_epoch;

class Hooks final : public BrokerHooks {
  public:
    Hooks(const Config& config, PluginWorker* plugins);

    HookDecision authenticate(Client& client, const AuthRequest& request, Resume resume) override;
    HookDecision acl(Client& client, AclAction action, std::string_view topic, std::string_view payload,
                     uint8_t qos, bool retain, Resume resume) override;
    void on_connect(Client& client) override;
    void on_disconnect(Client& client, uint8_t reason_code) override;
    void client_created(Client& client) override;
    void client_released(Client& client) override;
    void tick() override;
    void cancel(PendingToken& token) override;

  private:
    bool check_deliver(Client& client, const Message& message, uint8_t qos, bool retain) override;
    bool run_on_publish(Client* client, Message& message, mqtt::ReasonCode& reason) override;
    void run_on_routed(Client* client, const Message& message, size_t matched) override;

    HookDecision run_auth(size_t start, Client& client, const AuthRequest& request,
                          std::shared_ptr<PendingToken> token, const Resume& resume);
    HookDecision run_acl(size_t start, Client& client, AclAction action, std::string_view topic,
                         std::string_view payload, uint8_t qos, bool retain,
                         std::shared_ptr<PendingToken> token, const Resume& resume);
    HookDecision auth_default(Client& client, const AuthRequest& request) const;
    // The kept answer to this check (roost_acl_event.cache_ms), or nullptr: ask the plugins.
    const AclMemo::Entry* memo_find(Client& client, AclAction action, std::string_view topic, uint8_t qos,
                                    bool retain) const;
    void memo_keep(Client& client, AclAction action, std::string_view topic, uint8_t qos, bool retain,
                   uint32_t keep_ms, bool allowed, uint8_t reason, int32_t decider);
    HookDecision memo_decision(Client& client, AclAction action, const AclMemo::Entry& e) const;

    const Config* _config;
    PluginWorker* _plugins;  // this worker's; nullptr: no plugin machinery (built-in defaults only)
    std::vector<LoadedPlugin*> _auth, _acl, _on_publish, _on_routed, _lifecycle;
};

}  // namespace roost
