#include "lua_client.hpp"

#include <cctype>
#include <cstring>
#include <string>

#include "script.hpp"

namespace roost_lua {
namespace {

const char kClientType[] = "roost.client";

// The call's client for the light userdata at `arg`, or raises: a value from a call that ended
// (a script kept it) is no longer among the active ones.
const ActiveClient& check_object(lua_State* L, int arg) {
    if (lua_type(L, arg) != LUA_TLIGHTUSERDATA) luaL_typeerror(L, arg, "client");
    auto serial = reinterpret_cast<uintptr_t>(lua_touserdata(L, arg));
    const std::vector<ActiveClient>& active = Script::of(L)->active_clients;
    for (auto it = active.rbegin(); it != active.rend(); ++it)
        if (it->serial == serial) return *it;
    luaL_error(L, "client used after its hook returned (copy the fields you need)");
    return active.front();  // not reached: luaL_error does not return
}

void push_bytes(lua_State* L, int rc, const roost_bytes& b) {
    if (rc == ROOST_OK)
        lua_pushlstring(L, reinterpret_cast<const char*>(b.data), b.len);
    else
        lua_pushnil(L);
}

// client:attribute(name): a transport or TLS attribute ("tls.peer.subject", "ws.header.origin").
int client_attribute(lua_State* L) {
    const ActiveClient& c = check_object(L, 1);
    const char* name = luaL_checkstring(L, 2);
    roost_bytes out{};
    const roost_host* host = Script::of(L)->host().host;
    push_bytes(L, host->client_attribute(c.client, name, &out), out);
    return 1;
}

// client:header(name): a WebSocket request header, by its name in any case ("Authorization").
int client_header(lua_State* L) {
    const ActiveClient& c = check_object(L, 1);
    std::string name = "ws.header.";
    for (const char* p = luaL_checkstring(L, 2); *p; ++p)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    roost_bytes out{};
    const roost_host* host = Script::of(L)->host().host;
    push_bytes(L, host->client_attribute(c.client, name.c_str(), &out), out);
    return 1;
}

int client_index(lua_State* L) {
    const ActiveClient& c = check_object(L, 1);
    const char* key = luaL_checkstring(L, 2);
    const roost_host* host = Script::of(L)->host().host;
    roost_bytes out{};
    if (std::strcmp(key, "id") == 0) {
        push_bytes(L, host->client_info(c.client, ROOST_CLIENT_ID, &out), out);
    } else if (std::strcmp(key, "username") == 0) {
        push_bytes(L, host->client_info(c.client, ROOST_CLIENT_USERNAME, &out), out);
    } else if (std::strcmp(key, "password") == 0) {
        if (c.auth && c.auth->has_password)
            lua_pushlstring(L, reinterpret_cast<const char*>(c.auth->password.data), c.auth->password.len);
        else
            lua_pushnil(L);
    } else if (std::strcmp(key, "address") == 0) {
        push_bytes(L, host->client_info(c.client, ROOST_CLIENT_ADDRESS, &out), out);
    } else if (std::strcmp(key, "listener") == 0) {
        push_bytes(L, host->client_info(c.client, ROOST_CLIENT_LISTENER, &out), out);
    } else if (std::strcmp(key, "transport") == 0) {
        push_bytes(L, host->client_info(c.client, ROOST_CLIENT_TRANSPORT, &out), out);
    } else if (std::strcmp(key, "protocol") == 0) {
        lua_pushinteger(L, host->client_protocol(c.client));
    } else if (std::strcmp(key, "tls_subject") == 0) {
        push_bytes(L, host->client_attribute(c.client, "tls.peer.subject", &out), out);
    } else if (std::strcmp(key, "ref") == 0) {
        lua_pushinteger(L, static_cast<lua_Integer>(host->client_ref(c.client)));
    } else if (std::strcmp(key, "attribute") == 0) {
        lua_pushcfunction(L, client_attribute);
    } else if (std::strcmp(key, "header") == 0) {
        lua_pushcfunction(L, client_header);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

int client_tostring(lua_State* L) {
    auto serial = reinterpret_cast<uintptr_t>(lua_touserdata(L, 1));
    for (const ActiveClient& c : Script::of(L)->active_clients) {
        roost_bytes id{};
        if (c.serial == serial &&
            Script::of(L)->host().host->client_info(c.client, ROOST_CLIENT_ID, &id) == ROOST_OK) {
            lua_pushfstring(L, "client '%s'",
                            std::string(reinterpret_cast<const char*>(id.data), id.len).c_str());
            return 1;
        }
    }
    lua_pushliteral(L, "client (gone)");
    return 1;
}

}  // namespace

void open_client_type(lua_State* L) {
    // Clients are light userdata (nothing to allocate per call), and light userdata share one
    // metatable: nothing else in a script's state is a light userdata.
    lua_pushlightuserdata(L, nullptr);
    luaL_newmetatable(L, kClientType);
    lua_pushcfunction(L, client_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "roost.client");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

void push_client(lua_State* L, roost_client* client, const roost_auth_event* auth) {
    Script* s = Script::of(L);
    uintptr_t serial = s->next_client_serial++;
    s->active_clients.push_back({serial, client, auth});
    lua_pushlightuserdata(L, reinterpret_cast<void*>(serial));
}

void invalidate_client(lua_State* L, int index) {
    auto serial = reinterpret_cast<uintptr_t>(lua_touserdata(L, index));
    std::vector<ActiveClient>& active = Script::of(L)->active_clients;
    for (auto it = active.begin(); it != active.end(); ++it) {
        if (it->serial == serial) {
            active.erase(it);
            return;
        }
    }
}

roost_client* check_client(lua_State* L, int arg) {
    return check_object(L, arg).client;
}

}  // namespace roost_lua
