// The hooks: each turns a broker event into a call of the script's function of the same name,
// and the script's answer into a verdict. Answers: true = allow, false [, reason code] = deny,
// nil = next plugin. A script that fails (error, budget, memory) answers by on_error.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "client_state.hpp"
#include "lua_client.hpp"
#include "topic.hpp"
#include "worker.hpp"

namespace roost_lua {
namespace {

roost_verdict failed(const Script& s, uint8_t* reason_code) {
    switch (s.settings().on_error) {
        case OnError::allow:
            return ROOST_ALLOW;
        case OnError::next:
            return ROOST_NEXT;
        case OnError::deny:
            break;
    }
    *reason_code = ROOST_RC_IMPLEMENTATION_SPECIFIC_ERROR;
    return ROOST_DENY;
}

// What a returned value is, for a log line, without calling any of its metamethods: this runs
// after the script's call, outside its budget and outside a protected call, where a __tostring
// that loops or raises would hang the worker or abort the broker.
std::string describe_value(lua_State* L, int index) {
    if (lua_type(L, index) == LUA_TNUMBER) {
        char text[64];
        if (lua_isinteger(L, index))
            std::snprintf(text, sizeof text, "%lld", static_cast<long long>(lua_tointeger(L, index)));
        else
            std::snprintf(text, sizeof text, "%.14g", lua_tonumber(L, index));
        return text;
    }
    if (lua_type(L, index) == LUA_TSTRING) {
        size_t len = 0;
        const char* p = lua_tolstring(L, index, &len);
        return "\"" + std::string(p, std::min<size_t>(len, 64)) + (len > 64 ? "...\"" : "\"");
    }
    return std::string("a ") + luaL_typename(L, index);
}

// The verdict in the results at `first` (and the reason code at first + 1).
roost_verdict read_verdict(Script& s, Script::Hook hook, int first, uint8_t default_reason,
                           uint8_t* reason_code) {
    lua_State* L = s.L();
    switch (lua_type(L, first)) {
        case LUA_TNIL:
            return ROOST_NEXT;
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, first)) return ROOST_ALLOW;
            *reason_code = default_reason;
            if (!lua_isnil(L, first + 1)) {
                lua_Integer code = lua_isinteger(L, first + 1) ? lua_tointeger(L, first + 1) : -1;
                if (code < 0x80 || code > 0xFF) {
                    s.host().host->log(s.host().self, ROOST_LOG_ERROR,
                                       "%s: %s returned false with reason code %s: not an MQTT 5 error code "
                                       "(0x80 to 0xFF); using 0x%02X",
                                       s.settings().script.c_str(), Script::hook_name(hook),
                                       describe_value(L, first + 1).c_str(), default_reason);
                } else {
                    *reason_code = static_cast<uint8_t>(code);
                }
            }
            return ROOST_DENY;
        default:
            s.host().host->log(
                s.host().self, ROOST_LOG_ERROR,
                "%s: %s returned a %s: answer true (allow), false [, reason code] (deny) or nil "
                "(next plugin)",
                s.settings().script.c_str(), Script::hook_name(hook), luaL_typename(L, first));
            return failed(s, reason_code);
    }
}

// The decision cache's key: action, QoS, retain flag, topic.
void cache_key(std::string& key, char action, uint8_t qos, uint8_t retain, std::string_view topic) {
    key.assign(1, action);
    key += static_cast<char>('0' + qos);
    key += retain ? 'r' : '-';
    key.append(topic);
}

// Calls `hook` with the client (pushed as an object cleared afterwards) and what `push_more`
// pushes; returns whether it ran, its `nresults` results above `top` + 1 (the client object).
template <typename PushMore>
bool call_with_client(Script& s, Script::Hook hook, roost_client* client, const roost_auth_event* auth,
                      int top, int nresults, PushMore push_more) {
    lua_State* L = s.L();
    if (client)
        push_client(L, client, auth);
    else
        lua_pushnil(L);
    s.push_hook(hook);
    lua_pushvalue(L, top + 1);
    int n = 1 + push_more(L);
    bool ok = s.call(hook, n, nresults);
    if (client) invalidate_client(L, top + 1);
    return ok;
}

int no_more(lua_State*) {
    return 0;
}

// Lets the host keep a cached answer for the rest of its time, so that the next identical check
// does not even reach the plugin: only with a host that can be told to forget it again (a reload,
// roost.cache_clear; see forget_host_answers).
void let_host_keep(const HostContext& h, roost_acl_event* ev, uint64_t ms) {
    if (!ROOST_HAS(ev, roost_acl_event, cache_ms) || !ROOST_HAS(h.host, roost_host, acl_cache_clear)) return;
    ev->cache_ms = static_cast<uint32_t>(std::min<uint64_t>(ms, UINT32_MAX));
}

}  // namespace

roost_verdict hook_authenticate(void* worker_data, roost_auth_event* ev) {
    auto* w = static_cast<Worker*>(worker_data);
    Script& s = *w->script;
    if (!s.has(Script::on_auth) || ev->stage != ROOST_AUTH_CONNECT) return ROOST_NEXT;
    lua_State* L = s.L();
    int top = lua_gettop(L);
    roost_verdict v;
    if (call_with_client(s, Script::on_auth, ev->client, ev, top, 2, no_more)) {
        v = read_verdict(s, Script::on_auth, top + 2, ROOST_RC_NOT_AUTHORIZED, &ev->reason_code);
    } else {
        v = failed(s, &ev->reason_code);
    }
    lua_settop(L, top);
    return v;
}

roost_verdict hook_acl_check(void* worker_data, roost_acl_event* ev) {
    auto* w = static_cast<Worker*>(worker_data);
    Script& s = *w->script;
    if (!s.has(Script::on_acl)) return ROOST_NEXT;
    const Settings& settings = s.settings();
    const HostContext& h = s.host();
    const char* action = ev->action == ROOST_ACL_PUBLISH     ? "publish"
                         : ev->action == ROOST_ACL_SUBSCRIBE ? "subscribe"
                                                             : "deliver";
    // The decision cache: the client's last answer for this action, then one entry per (action,
    // QoS, retain, topic) of this client.
    bool cached = settings.cache_ttl_ms > 0;
    uint64_t now = 0;
    int slot = static_cast<int>(ev->action) - 1;
    std::string_view topic(reinterpret_cast<const char*>(ev->topic.data), ev->topic.len);
    if (cached) {
        now = monotonic_ms();
        if (ClientState* state = client_state(h.host, h.self, ev->client, false)) {
            const CachedAnswer* a = state->recall(slot, topic, ev->qos, ev->retain, w->generation, now);
            if (a == nullptr) {
                cache_key(w->cache_key, action[0], ev->qos, ev->retain, topic);
                a = state->find(w->cache_key, w->generation, now);
                if (a) state->remember(slot, topic, ev->qos, ev->retain, *a, w->generation);
            }
            if (a) {
                if (a->verdict == ROOST_DENY) ev->reason_code = a->reason_code;
                let_host_keep(h, ev, a->expires_ms - now);
                return a->verdict;
            }
        }
    }
    lua_State* L = s.L();
    int top = lua_gettop(L);
    bool ok = call_with_client(s, Script::on_acl, ev->client, nullptr, top, 2, [&](lua_State* L) {
        lua_pushstring(L, action);
        lua_pushlstring(L, reinterpret_cast<const char*>(ev->topic.data), ev->topic.len);
        lua_pushinteger(L, ev->qos);
        lua_pushboolean(L, ev->retain);
        return 4;
    });
    roost_verdict v;
    if (ok) {
        v = read_verdict(s, Script::on_acl, top + 2, ROOST_RC_NOT_AUTHORIZED, &ev->reason_code);
        if (cached && !s.no_cache) {
            if (ClientState* state = client_state(h.host, h.self, ev->client, true)) {
                CachedAnswer answer{v, ev->reason_code, now + settings.cache_ttl_ms};
                cache_key(w->cache_key, action[0], ev->qos, ev->retain, topic);
                state->store(w->cache_key, answer, w->generation, settings.cache_entries);
                state->remember(slot, topic, ev->qos, ev->retain, answer, w->generation);
                let_host_keep(h, ev, settings.cache_ttl_ms);
            }
        }
    } else {
        v = failed(s, &ev->reason_code);
    }
    lua_settop(L, top);
    return v;
}

namespace {

// Reads a field of the table the script returned. Raw reads only (here and for
// user_properties): this runs after the call, outside its budget and outside a protected call,
// so an __index metamethod must not run (a loop would hang the worker, an error abort the broker).
int raw_field(lua_State* L, int table, const char* name) {
    lua_pushstring(L, name);
    return lua_rawget(L, table < 0 ? table - 1 : table);
}

std::string_view field_bytes(lua_State* L, int table, const char* name, bool* present) {
    size_t len = 0;
    const char* p = nullptr;
    if (raw_field(L, table, name) == LUA_TSTRING) p = lua_tolstring(L, -1, &len);
    lua_pop(L, 1);  // the string stays alive in the table, which stays on the stack
    *present = p != nullptr;
    return {p ? p : "", len};
}

bool valid_topic_name(std::string_view t) {
    return !t.empty() && valid_mqtt_utf8(t) && t.find_first_of("+#") == std::string_view::npos;
}

// Reads the rewrite from the table at `index` into the event's out-fields (buffers in `w`).
bool read_rewrite(Worker& w, Script& s, int index, roost_message_event* ev) {
    lua_State* L = s.L();
    bool present = false;
    std::string_view topic = field_bytes(L, index, "topic", &present);
    if (!present || !valid_topic_name(topic)) {
        s.host().host->log(s.host().self, ROOST_LOG_ERROR,
                           "%s: on_message returned a message whose topic is missing or not a topic name "
                           "(empty, with + or #, or not UTF-8)",
                           s.settings().script.c_str());
        return false;
    }
    if (topic != std::string_view(reinterpret_cast<const char*>(ev->topic.data), ev->topic.len)) {
        w.new_topic.assign(topic);
        ev->new_topic = {reinterpret_cast<const uint8_t*>(w.new_topic.data()), w.new_topic.size()};
    }
    std::string_view payload = field_bytes(L, index, "payload", &present);
    if (present &&
        payload != std::string_view(reinterpret_cast<const char*>(ev->payload.data), ev->payload.len)) {
        w.new_payload.assign(payload);
        // A non-NULL pointer even for an empty payload: NULL would mean "unchanged".
        ev->new_payload = {reinterpret_cast<const uint8_t*>(w.new_payload.c_str()), w.new_payload.size()};
    }
    if (raw_field(L, index, "user_properties") == LUA_TTABLE) {
        w.property_text.clear();
        w.properties.clear();
        int list = lua_gettop(L);
        for (lua_Integer i = 1; lua_rawgeti(L, list, i) == LUA_TTABLE; ++i) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                size_t klen = 0, vlen = 0;
                const char* k = lua_tolstring(L, -2, &klen);
                const char* v = lua_tolstring(L, -1, &vlen);
                if (!valid_mqtt_utf8({k, klen}) || !valid_mqtt_utf8({v, vlen})) {
                    s.host().host->log(s.host().self, ROOST_LOG_ERROR,
                                       "%s: on_message returned user property %d that is not an MQTT "
                                       "UTF-8 string (invalid UTF-8, a NUL, or over 65535 bytes)",
                                       s.settings().script.c_str(), static_cast<int>(i));
                    lua_pop(L, 4);
                    return false;
                }
                w.property_text.emplace_back(k, klen);
                w.property_text.emplace_back(v, vlen);
            }
            lua_pop(L, 3);
        }
        lua_pop(L, 1);
        // Pointers into property_text only once it stops growing.
        for (size_t i = 0; i + 1 < w.property_text.size(); i += 2) {
            const std::string& k = w.property_text[i];
            const std::string& v = w.property_text[i + 1];
            w.properties.push_back({{reinterpret_cast<const uint8_t*>(k.data()), k.size()},
                                    {reinterpret_cast<const uint8_t*>(v.data()), v.size()}});
        }
        ev->new_user_properties = w.properties.data();
        ev->new_user_property_count = w.properties.size();
        ev->set_user_properties = 1;
    }
    lua_pop(L, 1);
    return true;
}

}  // namespace

roost_verdict hook_on_publish(void* worker_data, roost_message_event* ev) {
    auto* w = static_cast<Worker*>(worker_data);
    Script& s = *w->script;
    if (!s.has(Script::on_message)) return ROOST_NEXT;
    lua_State* L = s.L();
    int top = lua_gettop(L);
    bool ok = call_with_client(s, Script::on_message, ev->client, nullptr, top, 2, [&](lua_State* L) {
        lua_createtable(L, 0, 6);
        lua_pushlstring(L, reinterpret_cast<const char*>(ev->topic.data), ev->topic.len);
        lua_setfield(L, -2, "topic");
        lua_pushlstring(L, reinterpret_cast<const char*>(ev->payload.data), ev->payload.len);
        lua_setfield(L, -2, "payload");
        lua_pushinteger(L, ev->qos);
        lua_setfield(L, -2, "qos");
        lua_pushboolean(L, ev->retain);
        lua_setfield(L, -2, "retain");
        lua_createtable(L, static_cast<int>(ev->user_property_count), 0);
        for (size_t i = 0; i < ev->user_property_count; ++i) {
            const roost_user_property& p = ev->user_properties[i];
            lua_createtable(L, 2, 0);
            lua_pushlstring(L, reinterpret_cast<const char*>(p.key.data), p.key.len);
            lua_rawseti(L, -2, 1);
            lua_pushlstring(L, reinterpret_cast<const char*>(p.value.data), p.value.len);
            lua_rawseti(L, -2, 2);
            lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
        }
        lua_setfield(L, -2, "user_properties");
        return 1;
    });
    roost_verdict v;
    if (!ok) {
        v = failed(s, &ev->reason_code);
    } else if (lua_istable(L, top + 2)) {
        v = read_rewrite(*w, s, top + 2, ev) ? ROOST_ALLOW : failed(s, &ev->reason_code);
    } else {
        // false: drop, silently (reason 0 tells a QoS 1/2 publisher Success) unless a code is given.
        v = read_verdict(s, Script::on_message, top + 2, 0, &ev->reason_code);
    }
    lua_settop(L, top);
    return v;
}

void hook_on_connect(void* worker_data, roost_client* client) {
    auto* w = static_cast<Worker*>(worker_data);
    Script& s = *w->script;
    if (!s.has(Script::on_connect)) return;
    int top = lua_gettop(s.L());
    call_with_client(s, Script::on_connect, client, nullptr, top, 0, no_more);
    lua_settop(s.L(), top);
}

void hook_on_disconnect(void* worker_data, roost_client* client, uint8_t reason_code) {
    auto* w = static_cast<Worker*>(worker_data);
    Script& s = *w->script;
    if (!s.has(Script::on_disconnect)) return;
    int top = lua_gettop(s.L());
    call_with_client(s, Script::on_disconnect, client, nullptr, top, 0, [&](lua_State* L) {
        lua_pushinteger(L, reason_code);
        return 1;
    });
    lua_settop(s.L(), top);
}

void hook_client_release(void* worker_data, roost_client* client, void* client_data) {
    (void)client;
    auto* w = static_cast<Worker*>(worker_data);
    auto* state = static_cast<ClientState*>(client_data);
    if (state->has_script_data) {
        w->script->drop_client_data(state->ref);
        if (w->pending) w->pending->drop_client_data(state->ref);
    }
    delete state;
}

}  // namespace roost_lua
