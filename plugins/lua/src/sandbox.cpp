#include "sandbox.hpp"

#include <limits.h>
#include <stdlib.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "script.hpp"

namespace roost_lua {

bool readable_path(lua_State* L, const std::string& path, std::string* resolved, std::string* error) {
    const Settings& s = Script::of(L)->settings();
    std::string full = !path.empty() && path[0] == '/' ? path : s.config_dir + "/" + path;
    char buf[PATH_MAX];
    if (realpath(full.c_str(), buf) == nullptr) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    std::string canonical(buf);
    for (const std::string& dir : s.read_dirs) {
        if (canonical.size() > dir.size() && canonical.compare(0, dir.size(), dir) == 0 &&
            (dir == "/" || canonical[dir.size()] == '/')) {
            *resolved = canonical;
            return true;
        }
    }
    *error = path + ": outside the folders scripts may read (read_dirs)";
    return false;
}

bool read_allowed_file(lua_State* L, const std::string& path, std::string* contents, std::string* error) {
    std::string resolved;
    if (!readable_path(L, path, &resolved, error)) return false;
    std::ifstream in(resolved, std::ios::binary);
    if (!in) {
        *error = path + ": " + std::strerror(errno);
        return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    *contents = text.str();
    return true;
}

namespace {

// io.open(path [, mode]): read modes only, under read_dirs; the real io.open is upvalue 1.
int safe_io_open(lua_State* L) {
    std::string path = luaL_checkstring(L, 1);
    const char* mode = luaL_optstring(L, 2, "r");
    if (std::strcmp(mode, "r") != 0 && std::strcmp(mode, "rb") != 0)
        return luaL_error(L, "io.open: mode \"%s\" refused: scripts may only read files", mode);
    std::string resolved, error;
    if (!readable_path(L, path, &resolved, &error)) {
        lua_pushnil(L);
        lua_pushstring(L, error.c_str());
        return 2;
    }
    // The results are what the call leaves above this call's own arguments: with io.open(path)
    // there is one argument, not two (returning gettop - 2 dropped the file handle).
    const int base = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushstring(L, resolved.c_str());
    lua_pushstring(L, mode);
    lua_call(L, 2, LUA_MULTRET);
    return lua_gettop(L) - base;
}

// io.lines(path, ...): as io.open's checks; io.lines() (standard input) is refused.
int safe_io_lines(lua_State* L) {
    std::string path = luaL_checkstring(L, 1);
    std::string resolved, error;
    if (!readable_path(L, path, &resolved, &error)) return luaL_error(L, "io.lines: %s", error.c_str());
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushstring(L, resolved.c_str());
    for (int i = 2; i <= n; ++i)
        lua_pushvalue(L, i);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L) - n;
}

// load(chunk [, name [, mode [, env]]]): text only, whatever mode says.
int safe_load(lua_State* L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4) lua_pushvalue(L, 4);
    lua_call(L, n >= 4 ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - n;
}

// Compiles a file readable_path allows, as text; pushes the function or returns an error.
int load_text_file(lua_State* L, const std::string& path) {
    std::string source, error;
    if (!read_allowed_file(L, path, &source, &error)) return luaL_error(L, "%s", error.c_str());
    std::string chunk = "@" + path;
    if (luaL_loadbufferx(L, source.data(), source.size(), chunk.c_str(), "t") != LUA_OK) return lua_error(L);
    return 1;
}

int safe_loadfile(lua_State* L) {
    int n = lua_gettop(L);
    std::string path = luaL_checkstring(L, 1);
    std::string source, error;
    if (!read_allowed_file(L, path, &source, &error)) {
        lua_pushnil(L);
        lua_pushstring(L, error.c_str());
        return 2;
    }
    std::string chunk = "@" + path;
    if (luaL_loadbufferx(L, source.data(), source.size(), chunk.c_str(), "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (n >= 3 && !lua_isnil(L, 3)) {  // loadfile(path, mode, env): env becomes _ENV
        lua_pushvalue(L, 3);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

int safe_dofile(lua_State* L) {
    std::string path = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    load_text_file(L, path);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

// require(name): "a.b" is a/b.lua under one of the read_dirs (first found), run once per state
// and kept in a private table; no C modules, no package.path.
int safe_require(lua_State* L) {
    std::string name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "roost.modules");
    if (lua_getfield(L, -1, name.c_str()) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
            return luaL_error(L, "require \"%s\": module names are letters, digits, '_', '-' and '.'",
                              name.c_str());
    std::string relative = name;
    for (char& c : relative)
        if (c == '.') c = '/';
    relative += ".lua";
    const Settings& s = Script::of(L)->settings();
    std::string tried;
    for (const std::string& dir : s.read_dirs) {
        std::string path = dir + "/" + relative, resolved, error;
        if (!readable_path(L, path, &resolved, &error)) {
            tried += "\n\tno file '" + path + "'";
            continue;
        }
        load_text_file(L, resolved);
        lua_pushstring(L, name.c_str());
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name.c_str());
        return 1;
    }
    return luaL_error(L, "module '%s' not found under read_dirs:%s", name.c_str(), tried.c_str());
}

int safe_print(lua_State* L) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; ++i) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, nullptr);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    const HostContext& h = Script::of(L)->host();
    if (h.host) h.host->log(h.self, ROOST_LOG_INFO, "%s", lua_tostring(L, -1));
    return 0;
}

// collectgarbage with "collect", "count", "step" and "isrunning": a script may not stop the
// collector or change its tuning (the memory cap counts on it).
int safe_collectgarbage(lua_State* L) {
    const char* opt = luaL_optstring(L, 1, "collect");
    if (std::strcmp(opt, "collect") && std::strcmp(opt, "count") && std::strcmp(opt, "step") &&
        std::strcmp(opt, "isrunning"))
        return luaL_error(L, "collectgarbage(\"%s\") is not allowed in the sandbox", opt);
    // A collection is work over the whole state, in one instruction: one per 8 bytes held.
    if (std::strcmp(opt, "collect") == 0 || std::strcmp(opt, "step") == 0) {
        Script* script = Script::of(L);
        const uint64_t steps = script->memory_used() / 8;
        if (steps > script->work_left()) script->exhausted(L, "collectgarbage");
        script->spend(steps);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

// setmetatable(t, mt): refuses a metatable with a __gc field. Lua runs finalizers with hooks
// off (lgc.c GCTM), so a __gc function would run outside the instruction budget: a loop in one
// hangs the worker for good, at whatever moment the collector reaches the object. Lua marks an
// object for finalization only when its metatable has __gc at setmetatable time, so checking
// here is enough: a __gc added to the metatable later is never called.
int safe_setmetatable(lua_State* L) {
    // Lua's own checks first, so their errors name setmetatable (not the function it calls).
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, lua_type(L, 2) == LUA_TNIL || lua_type(L, 2) == LUA_TTABLE, 2, "nil or table");
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L,
                              "setmetatable: a __gc metamethod is not allowed in the sandbox (finalizers "
                              "would run outside the instruction budget)");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

// Sets __metatable in the metatable the registry keeps under `name` (or of a string when null),
// so getmetatable answers `name` instead of the table and setmetatable refuses to change it.
void protect_metatable(lua_State* L, const char* name) {
    if (name == nullptr) {
        lua_pushliteral(L, "");
        lua_getmetatable(L, -1);
        lua_remove(L, -2);
        name = "string";
    } else {
        luaL_getmetatable(L, name);
    }
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void wrap_global(lua_State* L, const char* name, lua_CFunction fn) {
    lua_getglobal(L, name);
    lua_pushcclosure(L, fn, 1);
    lua_setglobal(L, name);
}

void keep_only(lua_State* L, const char* table, std::initializer_list<const char*> names) {
    lua_getglobal(L, table);
    lua_newtable(L);
    for (const char* n : names) {
        lua_getfield(L, -2, n);
        lua_setfield(L, -2, n);
    }
    lua_setglobal(L, table);
    lua_pop(L, 1);
}

}  // namespace

void open_sandbox(lua_State* L) {
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
                                    {LUA_OSLIBNAME, luaopen_os},     {LUA_IOLIBNAME, luaopen_io}};
    for (const luaL_Reg& lib : libs) {
        luaL_requiref(L, lib.name, lib.func, 1);
        lua_pop(L, 1);
    }
    // The loaders a script could reach bytecode, C code or any file through.
    wrap_global(L, "load", safe_load);
    wrap_global(L, "collectgarbage", safe_collectgarbage);
    wrap_global(L, "setmetatable", safe_setmetatable);
    // The metatables the state shares with C code: a file handle's holds a __gc the script could
    // replace by a Lua function (run outside the budget, see safe_setmetatable); the strings'
    // one is every string's methods. getmetatable gives their names, not the tables.
    protect_metatable(L, LUA_FILEHANDLE);
    protect_metatable(L, nullptr);
    lua_pushcfunction(L, safe_loadfile);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, safe_dofile);
    lua_setglobal(L, "dofile");
    lua_pushcfunction(L, safe_require);
    lua_setglobal(L, "require");
    lua_pushcfunction(L, safe_print);
    lua_setglobal(L, "print");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "roost.modules");
    // string.dump makes bytecode; nothing else in string reaches outside.
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    keep_only(L, "os", {"time", "clock", "date", "difftime"});
    // io: open (read modes, read_dirs) and lines; the file methods come with the handles.
    lua_getglobal(L, "io");
    lua_newtable(L);
    lua_getfield(L, -2, "open");
    lua_pushcclosure(L, safe_io_open, 1);
    lua_setfield(L, -2, "open");
    lua_getfield(L, -2, "lines");
    lua_pushcclosure(L, safe_io_lines, 1);
    lua_setfield(L, -2, "lines");
    lua_getfield(L, -2, "type");
    lua_setfield(L, -2, "type");
    lua_setglobal(L, "io");
    lua_pop(L, 1);
    // The package library was never opened, nor debug; drop what luaL_requiref left in LOADED.
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    for (const char* n : {"io", "os"}) {
        lua_pushnil(L);
        lua_setfield(L, -2, n);
    }
    lua_pop(L, 1);
}

}  // namespace roost_lua
