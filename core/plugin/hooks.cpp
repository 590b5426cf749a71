#include "plugin/hooks.hpp"

#include <cstring>
#include <optional>
#include <vector>

#include "broker/client.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost {

namespace {
// The longest string an MQTT packet carries: its length is two bytes (spec 1.5.4).
constexpr size_t kMaxMqttString = 65535;
bool mqtt_string(std::string_view s) {
    return s.size() <= kMaxMqttString && mqtt::valid_mqtt_utf8(s);
}
roost_bytes bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
roost_bytes bytes_of(const std::optional<std::string>& s) {
    return s ? bytes_of(std::string_view(*s)) : roost_bytes{nullptr, 0};
}
std::string string_of(roost_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.len) : "";
}

const char* action_name(AclAction a) {
    switch (a) {
        case AclAction::Publish:
            return "publish";
        case AclAction::Subscribe:
            return "subscribe";
        case AclAction::Deliver:
            return "deliver";
    }
    return "?";
}

HookDecision denied(mqtt::ReasonCode reason, std::string why) {
    return HookDecision::deny(reason, std::move(why));
}

// A verdict that is not one of the four: the plugin is broken, and broken means no.
HookDecision garbage(const LoadedPlugin& p, const char* hook, int verdict) {
    log::error("plugin '{}': {} returned {}, which is not a verdict; treating it as DENY", p.name, hook,
               verdict);
    return denied(mqtt::ReasonCode::ImplementationSpecificError,
                  fmt::format("plugin '{}' misbehaved", p.name));
}

mqtt::ReasonCode reason_or(uint8_t code, mqtt::ReasonCode fallback) {
    return code >= 0x80 ? static_cast<mqtt::ReasonCode>(code) : fallback;
}
}  // namespace

Hooks::Hooks(const Config& config, PluginWorker* plugins) : _config(&config), _plugins(plugins) {
    if (!plugins) return;
    for (auto& p : plugins->plugins()) {
        if (p->auth && p->auth->authenticate) _auth.push_back(p.get());
        if (p->acl && p->acl->check) _acl.push_back(p.get());
        if (p->message && p->message->on_publish) _on_publish.push_back(p.get());
        if (p->message && p->message->on_routed) _on_routed.push_back(p.get());
        if (p->lifecycle) _lifecycle.push_back(p.get());
    }
    set_present({.acl = !_acl.empty(), .on_publish = !_on_publish.empty(), .on_routed = !_on_routed.empty()});
}

void Hooks::cancel(PendingToken& token) {
    token.cancelled = true;
    if (token.call && _plugins) _plugins->calls().cancel(token.call);
    token.call = nullptr;
}

HookDecision Hooks::auth_default(Client& client, const AuthRequest& request) const {
    if (!request.method.empty())
        return denied(mqtt::ReasonCode::BadAuthenticationMethod,
                      "authentication method '" + request.method + "' is not supported by any loaded plugin");
    DefaultDecision d = client.listener().auth_default;
    if (d == DefaultDecision::Auto) {
        if (!_auth.empty())
            return denied(
                mqtt::ReasonCode::NotAuthorized,
                "no auth plugin accepted the client (listener auth_default: deny once an auth plugin is "
                "loaded)");
        d = _config->broker.allow_anonymous || request.username ? DefaultDecision::Allow
                                                                : DefaultDecision::Deny;
        if (d == DefaultDecision::Deny)
            return denied(mqtt::ReasonCode::NotAuthorized,
                          "anonymous clients are not allowed ([broker] allow_anonymous)");
    }
    if (d == DefaultDecision::Deny)
        return denied(mqtt::ReasonCode::NotAuthorized,
                      "no auth plugin accepted the client (listener auth_default = deny)");
    return {};
}

HookDecision Hooks::authenticate(Client& client, const AuthRequest& request, Resume resume) {
    if (request.stage != ROOST_AUTH_CONNECT) {
        // Later steps go to the plugin that answered the first one, and to no other.
        if (request.plugin >= _auth.size() || !_auth[request.plugin]->auth->continue_auth)
            return denied(mqtt::ReasonCode::BadAuthenticationMethod,
                          "no plugin continues this authentication");
    }
    return run_auth(request.stage == ROOST_AUTH_CONNECT ? 0 : request.plugin, client, request, nullptr,
                    resume);
}

HookDecision Hooks::run_auth(size_t start, Client& client, const AuthRequest& request,
                             std::shared_ptr<PendingToken> token, const Resume& resume) {
    bool first_step = request.stage == ROOST_AUTH_CONNECT;
    for (size_t i = start; i < _auth.size(); ++i) {
        LoadedPlugin& p = *_auth[i];
        roost_call* call = _plugins->calls().create();
        roost_auth_event ev{};
        ev.struct_size = sizeof ev;
        ev.client = client.plugin_handle();
        ev.call = call;
        ev.stage = request.stage;
        ev.has_username = request.username.has_value();
        ev.has_password = request.password.has_value();
        ev.username = bytes_of(request.username);
        ev.password = bytes_of(request.password);
        ev.method = bytes_of(std::string_view(request.method));
        ev.data = bytes_of(std::string_view(request.data));
        roost_verdict v = first_step ? p.auth->authenticate(_plugins->hook_data(p), &ev)
                                     : p.auth->continue_auth(_plugins->hook_data(p), &ev);
        if (v == ROOST_PENDING) {
            if (!token) token = std::make_shared<PendingToken>();
            token->call = call;
            _plugins->calls().await(
                call, p.name, _plugins->call_timeout(),
                [this, i, &client, request, token, resume](const CallResult& r) {
                    token->call = nullptr;
                    if (token->cancelled) return;
                    if (r.timed_out)
                        return resume(
                            denied(mqtt::ReasonCode::NotAuthorized,
                                   fmt::format("plugin '{}' did not answer in time", _auth[i]->name)));
                    HookDecision d;
                    if (r.verdict == ROOST_NEXT && request.stage == ROOST_AUTH_CONNECT) {
                        d = run_auth(i + 1, client, request, token, resume);
                        if (d.pending) return;  // a later plugin is pending now; it resumes
                    } else if (r.verdict == ROOST_ALLOW) {
                        d.reply = r.reply;
                        d.plugin = i;
                        // ALLOW with "Continue authentication" is how a late answer asks for another round
                        // (the event's `more`, which a completion cannot set).
                        d.more =
                            r.reason_code == static_cast<uint8_t>(mqtt::ReasonCode::ContinueAuthentication);
                    } else if (r.verdict == ROOST_DENY || r.verdict == ROOST_NEXT) {
                        d = denied(reason_or(r.reason_code, mqtt::ReasonCode::NotAuthorized),
                                   fmt::format("denied by plugin '{}'", _auth[i]->name));
                    } else {
                        d = garbage(*_auth[i], "complete() for authenticate", r.verdict);
                    }
                    resume(d);
                });
            return HookDecision::later(token);
        }
        switch (v) {
            case ROOST_ALLOW: {
                HookDecision d;
                d.reply = string_of(ev.reply);
                d.more = ev.more != 0;
                d.plugin = i;
                return d;
            }
            case ROOST_DENY:
                return denied(reason_or(ev.reason_code, mqtt::ReasonCode::NotAuthorized),
                              fmt::format("denied by plugin '{}'", p.name));
            case ROOST_NEXT:
                if (!first_step)
                    return denied(mqtt::ReasonCode::NotAuthorized,
                                  fmt::format("plugin '{}' gave up its own authentication", p.name));
                continue;
            default:
                return garbage(p, "authenticate", v);
        }
    }
    return auth_default(client, request);
}

std::atomic<uint64_t> g_acl_memo_epoch{1};

namespace {
// The shortest of the consulted plugins' cache_ms: what the chain's answer may be kept for.
uint32_t keep_for(uint32_t so_far, const roost_acl_event& ev) {
    return ev.cache_ms < so_far ? ev.cache_ms : so_far;
}
}  // namespace

const AclMemo::Entry* Hooks::memo_find(Client& client, AclAction action, std::string_view topic, uint8_t qos,
                                       bool retain) const {
    const AclMemo* memo = client.plugin_handle()->acl_memo.get();
    if (!memo) return nullptr;
    const AclMemo::Entry& e = memo->last[static_cast<int>(action) - 1];
    if (e.expires_ms <= uv_now(_plugins->loop()) ||
        e.epoch != g_acl_memo_epoch.load(std::memory_order_relaxed) || e.qos != qos || e.retain != retain ||
        e.topic != topic)
        return nullptr;
    return &e;
}

void Hooks::memo_keep(Client& client, AclAction action, std::string_view topic, uint8_t qos, bool retain,
                      uint32_t keep_ms, bool allowed, uint8_t reason, int32_t decider) {
    if (keep_ms == 0 || client.closing()) return;
    std::unique_ptr<AclMemo>& memo = client.plugin_handle()->acl_memo;
    if (!memo) memo = std::make_unique<AclMemo>();
    AclMemo::Entry& e = memo->last[static_cast<int>(action) - 1];
    e.topic.assign(topic);
    e.expires_ms = uv_now(_plugins->loop()) + keep_ms;
    e.epoch = g_acl_memo_epoch.load(std::memory_order_relaxed);
    e.qos = qos;
    e.retain = retain;
    e.allowed = allowed;
    e.reason = reason;
    e.decider = decider;
}

HookDecision Hooks::memo_decision(Client& client, AclAction action, const AclMemo::Entry& e) const {
    if (e.decider < 0) return acl_default(client);
    if (e.allowed) return {};
    return denied(reason_or(e.reason, mqtt::ReasonCode::NotAuthorized),
                  fmt::format("{} denied by plugin '{}'", action_name(action), _acl[e.decider]->name));
}

HookDecision Hooks::acl(Client& client, AclAction action, std::string_view topic, std::string_view payload,
                        uint8_t qos, bool retain, Resume resume) {
    if (_acl.empty()) return acl_default(client);
    if (const AclMemo::Entry* e = memo_find(client, action, topic, qos, retain))
        return memo_decision(client, action, *e);
    return run_acl(0, client, action, topic, payload, qos, retain, nullptr, resume);
}

HookDecision Hooks::run_acl(size_t start, Client& client, AclAction action, std::string_view topic,
                            std::string_view payload, uint8_t qos, bool retain,
                            std::shared_ptr<PendingToken> token, const Resume& resume) {
    bool may_wait = action != AclAction::Deliver;
    // Kept only when every plugin asked answered now with a cache_ms (never after a PENDING).
    uint32_t keep_ms = start == 0 && !token ? UINT32_MAX : 0;
    for (size_t i = start; i < _acl.size(); ++i) {
        LoadedPlugin& p = *_acl[i];
        roost_call* call = may_wait ? _plugins->calls().create() : nullptr;
        roost_acl_event ev{};
        ev.struct_size = sizeof ev;
        ev.client = client.plugin_handle();
        ev.call = call;
        ev.action = static_cast<roost_acl_action>(action);
        ev.topic = bytes_of(topic);
        ev.payload = bytes_of(payload);
        ev.qos = qos;
        ev.retain = retain;
        roost_verdict v = p.acl->check(_plugins->hook_data(p), &ev);
        if (v == ROOST_PENDING && may_wait) {
            if (!token) token = std::make_shared<PendingToken>();
            token->call = call;
            _plugins->calls().await(
                call, p.name, _plugins->call_timeout(),
                [this, i, &client, action, t = std::string(topic), pl = std::string(payload), qos, retain,
                 token, resume](const CallResult& r) {
                    token->call = nullptr;
                    if (token->cancelled) return;
                    if (r.timed_out)
                        return resume(
                            denied(mqtt::ReasonCode::NotAuthorized,
                                   fmt::format("plugin '{}' did not answer in time", _acl[i]->name)));
                    HookDecision d;
                    if (r.verdict == ROOST_NEXT) {
                        d = run_acl(i + 1, client, action, t, pl, qos, retain, token, resume);
                        if (d.pending) return;
                    } else if (r.verdict == ROOST_DENY) {
                        d = denied(reason_or(r.reason_code, mqtt::ReasonCode::NotAuthorized),
                                   fmt::format("denied by plugin '{}'", _acl[i]->name));
                    } else if (r.verdict != ROOST_ALLOW) {
                        d = garbage(*_acl[i], "complete() for an ACL check", r.verdict);
                    }
                    resume(d);
                });
            return HookDecision::later(token);
        }
        if (v == ROOST_ALLOW || v == ROOST_DENY || v == ROOST_NEXT) keep_ms = keep_for(keep_ms, ev);
        switch (v) {
            case ROOST_ALLOW:
                memo_keep(client, action, topic, qos, retain, keep_ms, true, 0, static_cast<int32_t>(i));
                return {};
            case ROOST_DENY:
                memo_keep(client, action, topic, qos, retain, keep_ms, false, ev.reason_code,
                          static_cast<int32_t>(i));
                return denied(reason_or(ev.reason_code, mqtt::ReasonCode::NotAuthorized),
                              fmt::format("{} denied by plugin '{}'", action_name(action), p.name));
            case ROOST_NEXT:
                continue;
            case ROOST_PENDING:
                log::error(
                    "plugin '{}': answered PENDING to a deliver check, which must answer now; treating it as "
                    "DENY",
                    p.name);
                return denied(mqtt::ReasonCode::ImplementationSpecificError, "plugin misbehaved");
            default:
                return garbage(p, "check", v);
        }
    }
    HookDecision d = acl_default(client);
    if (keep_ms != UINT32_MAX) memo_keep(client, action, topic, qos, retain, keep_ms, d.allowed, 0, -1);
    return d;
}

bool Hooks::check_deliver(Client& client, const Message& m, uint8_t qos, bool retain) {
    // Once per subscriber of every message: no decision object, no call, just the chain; and
    // for a subscriber of one topic mostly not even that, but the kept answer.
    std::string_view topic(m.topic);
    if (const AclMemo::Entry* e = memo_find(client, AclAction::Deliver, topic, qos, retain))
        return e->decider < 0 ? acl_default(client).allowed : e->allowed;
    uint32_t keep_ms = UINT32_MAX;
    for (size_t i = 0; i < _acl.size(); ++i) {
        LoadedPlugin* p = _acl[i];
        roost_acl_event ev{};
        ev.struct_size = sizeof ev;
        ev.client = client.plugin_handle();
        ev.action = ROOST_ACL_DELIVER;
        ev.topic = bytes_of(std::string_view(m.topic));
        ev.payload = bytes_of(std::string_view(m.payload));
        ev.qos = qos;
        ev.retain = retain;
        ev.publisher_id = bytes_of(std::string_view(m.origin_client_id));
        roost_verdict v = p->acl->check(_plugins->hook_data(*p), &ev);
        if (client.closing()) return false;  // the hook disconnected the subscriber
        if (v == ROOST_ALLOW || v == ROOST_DENY || v == ROOST_NEXT) keep_ms = keep_for(keep_ms, ev);
        if (v == ROOST_ALLOW || v == ROOST_DENY)
            memo_keep(client, AclAction::Deliver, topic, qos, retain, keep_ms, v == ROOST_ALLOW,
                      ev.reason_code, static_cast<int32_t>(i));
        if (v == ROOST_ALLOW) return true;
        if (v == ROOST_NEXT) continue;
        if (v != ROOST_DENY)
            log::error(
                "plugin '{}': check returned {} for a deliver check, which must answer ALLOW, DENY or NEXT "
                "now; treating it as DENY",
                p->name, static_cast<int>(v));
        return false;
    }
    bool allowed = acl_default(client).allowed;
    memo_keep(client, AclAction::Deliver, topic, qos, retain, keep_ms, allowed, 0, -1);
    return allowed;
}

namespace {
// The event both message hooks see: the message as it stands, user properties included (a
// bridge needs them as much as a filter does). Built once per message and per worker thread:
// on_publish fills it, on_routed reuses it for the same message.
struct MessageEventScratch {
    roost_message_event ev;
    std::vector<roost_user_property> props;  // what ev.user_properties points at
    const Message* message = nullptr;        // what ev describes now; nullptr = nothing
};
thread_local MessageEventScratch t_event;

roost_message_event& message_event(Client* client, const Message& m) {
    MessageEventScratch& e = t_event;
    e.props.clear();
    for (const auto& up : m.properties.user_properties)
        e.props.push_back({bytes_of(std::string_view(up.key)), bytes_of(std::string_view(up.value))});
    std::memset(&e.ev, 0, sizeof e.ev);
    roost_message_event& ev = e.ev;
    ev.struct_size = sizeof ev;
    ev.client = client ? client->plugin_handle() : nullptr;
    ev.topic = bytes_of(std::string_view(m.topic));
    ev.payload = bytes_of(std::string_view(m.payload));
    ev.qos = m.qos;
    ev.retain = m.retain;
    ev.user_properties = e.props.data();
    ev.user_property_count = e.props.size();
    ev.content_type = bytes_of(m.properties.content_type);
    ev.response_topic = bytes_of(m.properties.response_topic);
    ev.correlation_data = bytes_of(m.properties.correlation_data);
    e.message = &m;
    return ev;
}
}  // namespace

bool Hooks::run_on_publish(Client* client, Message& m, mqtt::ReasonCode& reason) {
    roost_message_event* ev_ptr = &message_event(client, m);
    for (LoadedPlugin* p : _on_publish) {
        roost_message_event& ev = *ev_ptr;
        roost_verdict v = p->message->on_publish(_plugins->hook_data(*p), &ev);
        if (v == ROOST_NEXT) continue;
        if (v == ROOST_DENY) {
            reason =
                ev.reason_code ? static_cast<mqtt::ReasonCode>(ev.reason_code) : mqtt::ReasonCode::Success;
            log::debug("message on '{}' dropped by plugin '{}'", m.topic, p->name);
            t_event.message = nullptr;
            return false;
        }
        if (v != ROOST_ALLOW) {
            // PENDING is the one authors try: say where a late decision belongs.
            log::error("plugin '{}': on_publish returned {}, which it may not; dropping the message{}",
                       p->name, static_cast<int>(v),
                       v == ROOST_PENDING ? " (PENDING: on_publish answers now; a decision that must wait "
                                            "belongs in the publish ACL check, which may answer PENDING)"
                                          : "");
            reason = mqtt::ReasonCode::ImplementationSpecificError;
            t_event.message = nullptr;
            return false;
        }
        if (!ev.new_topic.data && !ev.new_payload.data && !ev.set_user_properties) continue;
        // Rewrites apply, and the next plugin sees them (a chain of rewriters composes). All are
        // checked before any applies, so the log names the topic the message came with.
        auto refuse = [&](const std::string& why) {
            log::error("plugin '{}': {}, in the message on '{}'; dropping the message", p->name, why,
                       m.topic);
            reason = mqtt::ReasonCode::ImplementationSpecificError;
            t_event.message = nullptr;
            return false;
        };
        std::optional<std::string> topic;
        if (ev.new_topic.data) {
            topic = string_of(ev.new_topic);
            if (!mqtt::valid_topic_name(*topic) || topic->size() > kMaxMqttString)
                return refuse(fmt::format("rewrote the topic to '{}', not a valid topic name", *topic));
        }
        std::optional<std::vector<mqtt::UserProperty>> properties;
        if (ev.set_user_properties) {
            properties.emplace();
            for (size_t k = 0; k < ev.new_user_property_count; ++k) {
                mqtt::UserProperty up{string_of(ev.new_user_properties[k].key),
                                      string_of(ev.new_user_properties[k].value)};
                // Subscribers get these as MQTT strings (spec 1.5.4): invalid UTF-8 or a U+0000
                // would make a conforming client close its connection, a C client would cut the
                // string at the NUL, and the encoder cuts one past 65535 bytes (maybe mid-character).
                if (!mqtt_string(up.key) || !mqtt_string(up.value))
                    return refuse(
                        fmt::format("set user property {} to a string that is not an MQTT string (invalid "
                                    "UTF-8, U+0000, or over 65535 bytes)",
                                    k + 1));
                properties->push_back(std::move(up));
            }
        }
        if (topic) m.topic = std::move(*topic);
        if (ev.new_payload.data) m.payload = string_of(ev.new_payload);
        if (properties) m.properties.user_properties = std::move(*properties);
        ev_ptr = &message_event(client, m);
    }
    return true;
}

void Hooks::run_on_routed(Client* client, const Message& m, size_t matched) {
    roost_message_event& ev = t_event.message == &m ? t_event.ev : message_event(client, m);
    ev.reason_code = 0;  // an on_publish may have left one with its ALLOW
    for (LoadedPlugin* p : _on_routed)
        p->message->on_routed(_plugins->hook_data(*p), &ev, matched);
    t_event.message = nullptr;
}

void Hooks::on_connect(Client& client) {
    for (LoadedPlugin* p : _lifecycle)
        if (p->lifecycle->on_connect)
            p->lifecycle->on_connect(_plugins->hook_data(*p), client.plugin_handle());
}

void Hooks::on_disconnect(Client& client, uint8_t reason_code) {
    for (LoadedPlugin* p : _lifecycle)
        if (p->lifecycle->on_disconnect)
            p->lifecycle->on_disconnect(_plugins->hook_data(*p), client.plugin_handle(), reason_code);
}

void Hooks::client_created(Client& client) {
    if (_plugins) _plugins->clients().add(client.plugin_handle());
}

void Hooks::client_released(Client& client) {
    roost_client* h = client.plugin_handle();
    if (!_plugins || h->released) return;
    h->released = true;  // client_data_set answers EGONE from now on; get still reads the data
    const auto& plugins = _plugins->plugins();
    const size_t slots = h->plugin_data ? h->plugin_data->size() : 0;
    for (size_t i = 0; i < slots && i < plugins.size(); ++i) {
        void* data = (*h->plugin_data)[i];
        const LoadedPlugin& p = *plugins[i];
        if (data && p.lifecycle && p.lifecycle->client_release)
            p.lifecycle->client_release(_plugins->hook_data(p), h, data);
    }
    h->plugin_data.reset();
    _plugins->clients().remove(h);
}

void Hooks::tick() {
    if (!_plugins) return;
    for (LoadedPlugin* p : _lifecycle)
        if (p->lifecycle->tick) p->lifecycle->tick(_plugins->hook_data(*p));
}

}  // namespace roost
