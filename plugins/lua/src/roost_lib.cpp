#include "roost_lib.hpp"

#include <cstring>
#include <string>

#include "client_state.hpp"
#include "crypto.hpp"
#include "jwt.hpp"
#include "lua_client.hpp"
#include "lua_json.hpp"
#include "passwd.hpp"
#include "sandbox.hpp"
#include "script.hpp"
#include "topic.hpp"

namespace roost_lua {
namespace {

const char kClientsKey[] = "roost.clients";

// Spends the budget for C work over `bytes` bytes, one instruction per `bytes_per_step`: the
// count hook cannot see work inside a C function, and a loop calling one on a 32 MiB string
// would otherwise run for hours on a budget of milliseconds.
void spend_bytes(lua_State* L, size_t bytes, size_t bytes_per_step, const char* function) {
    Script* script = Script::of(L);
    const uint64_t steps = bytes / bytes_per_step;
    if (steps > script->work_left()) script->exhausted(L, function);
    script->spend(steps);
}

// A string argument; reading it costs one instruction per 32 bytes (the helpers below are linear).
std::string_view check_view(lua_State* L, int arg) {
    size_t len = 0;
    const char* s = luaL_checklstring(L, arg, &len);
    spend_bytes(L, len, 32, "a roost.* function");
    return {s, len};
}

void push_view(lua_State* L, std::string_view s) {
    lua_pushlstring(L, s.data(), s.size());
}

// Binary digests come back as hex unless the last argument is "raw".
bool wants_raw(lua_State* L, int arg) {
    const char* form = luaL_optstring(L, arg, "hex");
    if (std::strcmp(form, "raw") == 0) return true;
    if (std::strcmp(form, "hex") != 0) luaL_argerror(L, arg, "\"hex\" or \"raw\"");
    return false;
}

// roost.log([level,] message): level "error", "warning", "info" (the default) or "debug".
int l_log(lua_State* L) {
    int level = ROOST_LOG_INFO;
    int msg = 1;
    if (lua_gettop(L) >= 2) {
        const char* name = luaL_checkstring(L, 1);
        level = std::strcmp(name, "error") == 0     ? ROOST_LOG_ERROR
                : std::strcmp(name, "warning") == 0 ? ROOST_LOG_WARNING
                : std::strcmp(name, "info") == 0    ? ROOST_LOG_INFO
                : std::strcmp(name, "debug") == 0   ? ROOST_LOG_DEBUG
                                                    : -1;
        if (level < 0) return luaL_argerror(L, 1, "\"error\", \"warning\", \"info\" or \"debug\"");
        msg = 2;
    }
    const char* text = luaL_tolstring(L, msg, nullptr);
    const HostContext& h = Script::of(L)->host();
    if (h.host) h.host->log(h.self, level, "%s", text);
    return 0;
}

int l_topic_matches(lua_State* L) {
    lua_pushboolean(L, topic_matches(check_view(L, 1), check_view(L, 2)));
    return 1;
}

int l_filter_covers(lua_State* L) {
    lua_pushboolean(L, filter_covers(check_view(L, 1), check_view(L, 2)));
    return 1;
}

// roost.publish(topic, payload [, qos [, retain]]): as the broker; true, or nil and why.
int l_publish(lua_State* L) {
    std::string_view topic = check_view(L, 1);
    std::string_view payload = check_view(L, 2);
    lua_Integer qos = luaL_optinteger(L, 3, 0);
    if (qos < 0 || qos > 2) return luaL_argerror(L, 3, "QoS 0, 1 or 2");
    bool retain = lua_toboolean(L, 4);
    const HostContext& h = Script::of(L)->host();
    if (!h.host) return luaL_error(L, "roost.publish: not while the script is being checked");
    roost_bytes t{reinterpret_cast<const uint8_t*>(topic.data()), topic.size()};
    roost_bytes p{reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    int rc = h.host->publish(h.self, t, p, static_cast<uint8_t>(qos), retain ? 1 : 0);
    if (rc != ROOST_OK) {
        lua_pushnil(L);
        lua_pushstring(L, h.host->strerror(rc));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

// roost.client_data_set(client, value): kept for the client until it goes (nil removes it).
int l_client_data_set(lua_State* L) {
    roost_client* client = check_client(L, 1);
    lua_settop(L, 2);
    const HostContext& h = Script::of(L)->host();
    ClientState* state = client_state(h.host, h.self, client, true);
    if (state == nullptr) return luaL_error(L, "roost.client_data_set: the client is gone");
    lua_getfield(L, LUA_REGISTRYINDEX, kClientsKey);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, static_cast<lua_Integer>(state->ref));
    state->has_script_data = !lua_isnil(L, 2);
    return 0;
}

int l_client_data_get(lua_State* L) {
    roost_client* client = check_client(L, 1);
    const HostContext& h = Script::of(L)->host();
    ClientState* state = client_state(h.host, h.self, client, false);
    if (state == nullptr || !state->has_script_data) {
        lua_pushnil(L);
        return 1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, kClientsKey);
    lua_rawgeti(L, -1, static_cast<lua_Integer>(state->ref));
    return 1;
}

// roost.no_cache(): the answer of the running on_acl call is not kept in the decision cache.
int l_no_cache(lua_State* L) {
    Script::of(L)->no_cache = true;
    return 0;
}

// roost.cache_clear(client): forgets the client's cached ACL answers (after its rights changed).
int l_cache_clear(lua_State* L) {
    roost_client* client = check_client(L, 1);
    const HostContext& h = Script::of(L)->host();
    if (ClientState* state = client_state(h.host, h.self, client, false)) state->clear();
    forget_host_answers(h.host, h.self, client);
    return 0;
}

int l_sha256(lua_State* L) {
    std::string_view data = check_view(L, 1);
    spend_bytes(L, data.size(), 4, "roost.sha256");  // hashing: about 2 ns a byte
    std::string digest = sha256(data);
    push_view(L, wants_raw(L, 2) ? digest : to_hex(digest));
    return 1;
}

// roost.hmac(digest, key, data [, "raw"]): digest "sha256", "sha384" or "sha512".
int l_hmac(lua_State* L) {
    std::string_view digest = check_view(L, 1);
    std::string_view key = check_view(L, 2);
    std::string_view data = check_view(L, 3);
    bool raw = wants_raw(L, 4);
    spend_bytes(L, key.size() + data.size(), 4, "roost.hmac");
    auto mac = hmac(digest, key, data);
    if (!mac) return luaL_argerror(L, 1, "\"sha256\", \"sha384\" or \"sha512\"");
    push_view(L, raw ? *mac : to_hex(*mac));
    return 1;
}

bool wants_url(lua_State* L, int arg) {
    const char* form = luaL_optstring(L, arg, "standard");
    if (std::strcmp(form, "url") == 0) return true;
    if (std::strcmp(form, "standard") != 0) luaL_argerror(L, arg, "\"standard\" or \"url\"");
    return false;
}

int l_base64_encode(lua_State* L) {
    std::string_view data = check_view(L, 1);
    push_view(L, base64_encode(data, wants_url(L, 2)));
    return 1;
}

int l_base64_decode(lua_State* L) {
    std::string_view text = check_view(L, 1);
    auto out = base64_decode(text, wants_url(L, 2));
    if (!out) {
        lua_pushnil(L);
        lua_pushliteral(L, "not base64");
        return 2;
    }
    push_view(L, *out);
    return 1;
}

int l_constant_time_equal(lua_State* L) {
    lua_pushboolean(L, constant_time_equal(check_view(L, 1), check_view(L, 2)));
    return 1;
}

// roost.passwd_verify(hash, password): true or false; nil and why for a hash it cannot read.
int l_passwd_verify(lua_State* L) {
    std::string_view hash = check_view(L, 1);
    std::string_view password = check_view(L, 2);
    switch (passwd_verify(hash, password)) {
        case PasswdCheck::match:
            lua_pushboolean(L, 1);
            return 1;
        case PasswdCheck::mismatch:
            lua_pushboolean(L, 0);
            return 1;
        case PasswdCheck::too_costly:
            lua_pushnil(L);
            lua_pushfstring(L,
                            "$7$ hash with %I iterations: over the limit of %I (each check holds the worker)",
                            static_cast<lua_Integer>(passwd_iterations(hash)),
                            static_cast<lua_Integer>(kMaxPbkdf2Iterations));
            return 2;
        case PasswdCheck::bad_format:
            break;
    }
    lua_pushnil(L);
    lua_pushliteral(L, "not a mosquitto_passwd hash ($7$iterations$salt$hash or $6$salt$hash)");
    return 2;
}

// roost.passwd_load(path): { user = hash, ... } from a mosquitto_passwd file, or nil and why.
int l_passwd_load(lua_State* L) {
    std::string path = luaL_checkstring(L, 1);
    std::string text, error;
    if (!read_allowed_file(L, path, &text, &error)) {
        lua_pushnil(L);
        lua_pushstring(L, error.c_str());
        return 2;
    }
    std::vector<int> bad;
    auto entries = passwd_parse(text, &bad);
    if (!bad.empty()) {
        const HostContext& h = Script::of(L)->host();
        if (h.host)
            h.host->log(h.self, ROOST_LOG_WARNING, "%s:%d: not a \"user:hash\" line (skipped)", path.c_str(),
                        bad[0]);
    }
    lua_createtable(L, 0, static_cast<int>(entries.size()));
    for (auto& e : entries) {
        // Said at load, not at the user's first CONNECT: passwd_verify will refuse the hash.
        if (long n = passwd_iterations(e.hash); n > kMaxPbkdf2Iterations) {
            const HostContext& h = Script::of(L)->host();
            if (h.host)
                h.host->log(h.self, ROOST_LOG_WARNING,
                            "%s: user '%s': $7$ hash with %ld iterations, over the limit of %ld: "
                            "roost.passwd_verify refuses it (re-hash with mosquitto_passwd -I)",
                            path.c_str(), e.user.c_str(), n, kMaxPbkdf2Iterations);
        }
        push_view(L, e.hash);
        lua_setfield(L, -2, e.user.c_str());
    }
    return 1;
}

std::string opt_string(lua_State* L, int table, const char* field) {
    std::string out;
    if (lua_getfield(L, table, field) != LUA_TNIL) {
        if (!lua_isstring(L, -1)) luaL_error(L, "roost.jwt_verify: option %s must be a string", field);
        out = lua_tostring(L, -1);
    }
    lua_pop(L, 1);
    return out;
}

// The key for jwt_verify's options: secret, secret_file or key_file (files read once per state).
std::shared_ptr<JwtKey> jwt_key(lua_State* L, int opts, std::string* error) {
    std::string secret = opt_string(L, opts, "secret");
    if (!secret.empty()) return std::make_shared<JwtKey>(JwtKey::secret(secret));
    Script* script = Script::of(L);
    for (const char* field : {"secret_file", "key_file"}) {
        std::string path = opt_string(L, opts, field);
        if (path.empty()) continue;
        std::string cache_key = std::string(field) + ":" + path;
        auto it = script->jwt_keys.find(cache_key);
        if (it != script->jwt_keys.end()) return it->second;
        std::string text;
        if (!read_allowed_file(L, path, &text, error)) return nullptr;
        std::shared_ptr<JwtKey> key;
        if (std::strcmp(field, "secret_file") == 0) {
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                text.pop_back();
            key = std::make_shared<JwtKey>(JwtKey::secret(text));
        } else {
            auto parsed = JwtKey::public_pem(text, error);
            if (!parsed) {
                *error = path + ": " + *error;
                return nullptr;
            }
            key = std::make_shared<JwtKey>(std::move(*parsed));
        }
        script->jwt_keys[cache_key] = key;
        return key;
    }
    *error = "no key: give secret, secret_file or key_file";
    return nullptr;
}

// roost.jwt_verify(token, options): the claims table, or nil and why.
int l_jwt_verify(lua_State* L) {
    std::string_view token = check_view(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    std::string error;
    auto key = jwt_key(L, 2, &error);
    if (!key) return luaL_error(L, "roost.jwt_verify: %s", error.c_str());
    JwtOptions options;
    options.audience = opt_string(L, 2, "audience");
    options.issuer = opt_string(L, 2, "issuer");
    if (lua_getfield(L, 2, "leeway") != LUA_TNIL) {
        options.leeway_s = luaL_checkinteger(L, -1);
        if (options.leeway_s < 0) return luaL_error(L, "roost.jwt_verify: leeway must be 0 or more seconds");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "require_exp") != LUA_TNIL) options.require_exp = lua_toboolean(L, -1);
    lua_pop(L, 1);
    int type = lua_getfield(L, 2, "algorithms");
    if (type == LUA_TSTRING) {
        options.algorithms.emplace_back(lua_tostring(L, -1));
    } else if (type == LUA_TTABLE) {
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; ++i) {
            options.algorithms.emplace_back(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    JwtResult r = jwt_verify(token, *key, options);
    if (!r.ok) {
        lua_pushnil(L);
        lua_pushstring(L, r.error.c_str());
        return 2;
    }
    push_json(L, r.claims);
    return 1;
}

// roost.read_file(path): the whole file (under read_dirs), or nil and why.
int l_read_file(lua_State* L) {
    std::string path = luaL_checkstring(L, 1);
    std::string text, error;
    if (!read_allowed_file(L, path, &text, &error)) {
        lua_pushnil(L);
        lua_pushstring(L, error.c_str());
        return 2;
    }
    push_view(L, text);
    return 1;
}

}  // namespace

void open_roost_lib(lua_State* L) {
    static const luaL_Reg functions[] = {{"log", l_log},
                                         {"topic_matches", l_topic_matches},
                                         {"filter_covers", l_filter_covers},
                                         {"publish", l_publish},
                                         {"client_data_set", l_client_data_set},
                                         {"client_data_get", l_client_data_get},
                                         {"no_cache", l_no_cache},
                                         {"cache_clear", l_cache_clear},
                                         {"sha256", l_sha256},
                                         {"hmac", l_hmac},
                                         {"base64_encode", l_base64_encode},
                                         {"base64_decode", l_base64_decode},
                                         {"constant_time_equal", l_constant_time_equal},
                                         {"passwd_verify", l_passwd_verify},
                                         {"passwd_load", l_passwd_load},
                                         {"jwt_verify", l_jwt_verify},
                                         {"json_encode", lua_json_encode},
                                         {"json_decode", lua_json_decode},
                                         {"read_file", l_read_file},
                                         {nullptr, nullptr}};
    open_client_type(L);
    luaL_newlib(L, functions);
    const Settings& s = Script::of(L)->settings();
    lua_createtable(L, 0, static_cast<int>(s.script_options.size()));
    for (auto& [key, value] : s.script_options) {
        lua_pushstring(L, value.c_str());
        lua_setfield(L, -2, key.c_str());
    }
    lua_setfield(L, -2, "options");
    lua_pushstring(L, s.config_dir.c_str());
    lua_setfield(L, -2, "config_dir");
    const HostContext& h = Script::of(L)->host();
    lua_pushinteger(L, h.host ? static_cast<lua_Integer>(h.host->worker_index()) : -1);
    lua_setfield(L, -2, "worker");
    lua_setglobal(L, "roost");
}

}  // namespace roost_lua
