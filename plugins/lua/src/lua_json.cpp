#include "lua_json.hpp"

#include "script.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace roost_lua {

void push_json(lua_State* L, const json::Value& v) {
    using T = json::Value::Type;
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (v.type) {
        case T::null:
            lua_pushnil(L);
            break;
        case T::boolean:
            lua_pushboolean(L, v.boolean);
            break;
        case T::number:
            if (std::floor(v.number) == v.number && std::fabs(v.number) < 9007199254740992.0)
                lua_pushinteger(L, static_cast<lua_Integer>(v.number));
            else
                lua_pushnumber(L, v.number);
            break;
        case T::string:
            lua_pushlstring(L, v.string.data(), v.string.size());
            break;
        case T::array:
            lua_createtable(L, static_cast<int>(v.array.size()), 0);
            for (size_t i = 0; i < v.array.size(); ++i) {
                push_json(L, v.array[i]);
                lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
            }
            break;
        case T::object:
            lua_createtable(L, 0, static_cast<int>(v.object.size()));
            for (auto& [key, value] : v.object) {
                lua_pushlstring(L, key.data(), key.size());
                push_json(L, value);
                lua_rawset(L, -3);
            }
            break;
    }
}

namespace {

void encode_string(std::string& out, const char* s, size_t len) {
    out += '"';
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char esc[8];
                    std::snprintf(esc, sizeof esc, "\\u%04x", c);
                    out += esc;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

// Appends the value at `index` to `out`. Errors unwind as C++ exceptions (the plugin links the
// C++ build of Lua), so `out` is freed on the way.
void encode(lua_State* L, std::string& out, int index, int depth) {
    index = lua_absindex(L, index);
    if (depth > 64) luaL_error(L, "json_encode: nested more than 64 levels (a cycle?)");
    luaL_checkstack(L, 4, "json_encode: nested too deeply");
    switch (lua_type(L, index)) {
        case LUA_TNIL:
            out += "null";
            return;
        case LUA_TBOOLEAN:
            out += lua_toboolean(L, index) ? "true" : "false";
            return;
        case LUA_TNUMBER: {
            char num[64];
            if (lua_isinteger(L, index)) {
                std::snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, index));
            } else {
                double d = lua_tonumber(L, index);
                if (!std::isfinite(d)) luaL_error(L, "json_encode: %f has no JSON form", d);
                std::snprintf(num, sizeof num, "%.17g", d);
            }
            out += num;
            return;
        }
        case LUA_TSTRING: {
            size_t len = 0;
            const char* s = lua_tolstring(L, index, &len);
            encode_string(out, s, len);
            return;
        }
        case LUA_TTABLE:
            break;
        default:
            luaL_error(L, "json_encode: a %s has no JSON form", luaL_typename(L, index));
    }
    lua_Unsigned n = lua_rawlen(L, index);
    size_t keys = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        ++keys;
        lua_pop(L, 1);
    }
    if (n > 0 && keys == n) {
        out += '[';
        for (lua_Unsigned i = 1; i <= n; ++i) {
            if (i > 1) out += ',';
            lua_rawgeti(L, index, static_cast<lua_Integer>(i));
            encode(L, out, -1, depth + 1);
            lua_pop(L, 1);
        }
        out += ']';
        return;
    }
    out += '{';
    bool first = true;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (!first) out += ',';
        first = false;
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t len = 0;
            const char* k = lua_tolstring(L, -2, &len);
            encode_string(out, k, len);
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
            lua_pushvalue(L, -2);  // tostring on a copy: lua_next needs the key untouched
            size_t len = 0;
            const char* k = lua_tolstring(L, -1, &len);
            encode_string(out, k, len);
            lua_pop(L, 1);
        } else {
            luaL_error(L, "json_encode: a %s key has no JSON form", luaL_typename(L, -2));
        }
        out += ':';
        encode(L, out, -1, depth + 1);
        lua_pop(L, 1);
    }
    out += '}';
}

}  // namespace

int lua_json_encode(lua_State* L) {
    luaL_checkany(L, 1);
    std::string out;
    encode(L, out, 1, 0);
    lua_pushlstring(L, out.data(), out.size());
    return 1;
}

int lua_json_decode(lua_State* L) {
    size_t len = 0;
    const char* text = luaL_checklstring(L, 1, &len);
    // The parse runs in C, unseen by the count hook: one step of the budget per byte. Its tree is
    // C++ memory, outside the state's cap: at most the cap's worth of values.
    Script* script = Script::of(L);
    if (len > script->work_left()) script->exhausted(L, "roost.json_decode");
    script->spend(len);
    std::string error;
    auto v = json::parse(std::string_view(text, len), &error, 64,
                         script->settings().memory_limit / sizeof(json::Value));
    if (!v) {
        lua_pushnil(L);
        lua_pushstring(L, ("json_decode: " + error).c_str());
        return 2;
    }
    push_json(L, *v);
    return 1;
}

}  // namespace roost_lua
