#include "lua_client.hpp"

#include <cctype>
#include <cstring>
#include <string>

#include "script.hpp"

namespace roost_lua {
namespace {

const char kClientType[] = "roost.client";

struct LuaClient {
    roost_client* client;
    const roost_auth_event* auth;
};

LuaClient* check_object(lua_State* L, int arg) {
    auto* c = static_cast<LuaClient*>(luaL_checkudata(L, arg, kClientType));
    if (c->client == nullptr) luaL_error(L, "client used after its hook returned (copy the fields you need)");
    return c;
}

void push_bytes(lua_State* L, int rc, const roost_bytes& b) {
    if (rc == ROOST_OK)
        lua_pushlstring(L, reinterpret_cast<const char*>(b.data), b.len);
    else
        lua_pushnil(L);
}

// client:attribute(name): a transport or TLS attribute ("tls.peer.subject", "ws.header.origin").
int client_attribute(lua_State* L) {
    LuaClient* c = check_object(L, 1);
    const char* name = luaL_checkstring(L, 2);
    roost_bytes out{};
    const roost_host* host = Script::of(L)->host().host;
    push_bytes(L, host->client_attribute(c->client, name, &out), out);
    return 1;
}

// client:header(name): a WebSocket request header, by its name in any case ("Authorization").
int client_header(lua_State* L) {
    LuaClient* c = check_object(L, 1);
    std::string name = "ws.header.";
    for (const char* p = luaL_checkstring(L, 2); *p; ++p)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    roost_bytes out{};
    const roost_host* host = Script::of(L)->host().host;
    push_bytes(L, host->client_attribute(c->client, name.c_str(), &out), out);
    return 1;
}

int client_index(lua_State* L) {
    LuaClient* c = check_object(L, 1);
    const char* key = luaL_checkstring(L, 2);
    const roost_host* host = Script::of(L)->host().host;
    roost_bytes out{};
    if (std::strcmp(key, "id") == 0) {
        push_bytes(L, host->client_info(c->client, ROOST_CLIENT_ID, &out), out);
    } else if (std::strcmp(key, "username") == 0) {
        push_bytes(L, host->client_info(c->client, ROOST_CLIENT_USERNAME, &out), out);
    } else if (std::strcmp(key, "password") == 0) {
        if (c->auth && c->auth->has_password)
            lua_pushlstring(L, reinterpret_cast<const char*>(c->auth->password.data), c->auth->password.len);
        else
            lua_pushnil(L);
    } else if (std::strcmp(key, "address") == 0) {
        push_bytes(L, host->client_info(c->client, ROOST_CLIENT_ADDRESS, &out), out);
    } else if (std::strcmp(key, "listener") == 0) {
        push_bytes(L, host->client_info(c->client, ROOST_CLIENT_LISTENER, &out), out);
    } else if (std::strcmp(key, "transport") == 0) {
        push_bytes(L, host->client_info(c->client, ROOST_CLIENT_TRANSPORT, &out), out);
    } else if (std::strcmp(key, "protocol") == 0) {
        lua_pushinteger(L, host->client_protocol(c->client));
    } else if (std::strcmp(key, "tls_subject") == 0) {
        push_bytes(L, host->client_attribute(c->client, "tls.peer.subject", &out), out);
    } else if (std::strcmp(key, "ref") == 0) {
        lua_pushinteger(L, static_cast<lua_Integer>(host->client_ref(c->client)));
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
    auto* c = static_cast<LuaClient*>(luaL_checkudata(L, 1, kClientType));
    roost_bytes id{};
    if (c->client && Script::of(L)->host().host->client_info(c->client, ROOST_CLIENT_ID, &id) == ROOST_OK)
        lua_pushfstring(L, "client '%s'",
                        std::string(reinterpret_cast<const char*>(id.data), id.len).c_str());
    else
        lua_pushliteral(L, "client (gone)");
    return 1;
}

}  // namespace

void open_client_type(lua_State* L) {
    luaL_newmetatable(L, kClientType);
    lua_pushcfunction(L, client_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "roost.client");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void push_client(lua_State* L, roost_client* client, const roost_auth_event* auth) {
    Script* s = Script::of(L);
    LuaClient* c = nullptr;
    if (s->client_depth == 0 && s->client_object != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->client_object);
        c = static_cast<LuaClient*>(lua_touserdata(L, -1));
    } else {
        c = static_cast<LuaClient*>(lua_newuserdatauv(L, sizeof(LuaClient), 0));
        luaL_setmetatable(L, kClientType);
        if (s->client_depth == 0) {
            lua_pushvalue(L, -1);
            s->client_object = luaL_ref(L, LUA_REGISTRYINDEX);
        }
    }
    ++s->client_depth;
    c->client = client;
    c->auth = auth;
}

void invalidate_client(lua_State* L, int index) {
    auto* c = static_cast<LuaClient*>(lua_touserdata(L, index));
    if (c) {
        c->client = nullptr;
        c->auth = nullptr;
    }
    --Script::of(L)->client_depth;
}

roost_client* check_client(lua_State* L, int arg) {
    return check_object(L, arg)->client;
}

}  // namespace roost_lua
