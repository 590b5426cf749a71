// coroutine.resume, wrap and close with the coroutine's instructions counted (bounded_lib.hpp).
//
// The count hook is per thread: a coroutine starts with its own count, copied from the thread
// that made it, and the hook fires only when that count runs out. A script that makes a fresh
// coroutine for every 999 instructions, yields, and drops it, ran them all without the hook ever
// firing (and with nested coroutines, without bound). So before each resume the budget sets the
// coroutine's hook afresh and pays for the instructions it may run before the hook first fires
// (WorkBudget::enter_coroutine). These keep Lua 5.4's arguments, results and error messages
// (lcorolib.c); coroutine.create, status, running, isyieldable and yield are Lua's own.
#include "bounded_lib.hpp"

namespace roost_lua {
namespace {

// Resumes `co` with the top `narg` values of L: the number of results moved to L, or -1 with the
// error on top of L.
int resume(lua_State* L, lua_State* co, int narg) {
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    lua_xmove(L, co, narg);
    int nres = 0;
    const int status = lua_resume(co, L, narg, &nres);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);
    return -1;
}

int co_resume(lua_State* L) {
    lua_State* co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "thread");
    budget_at(L, 1).enter_coroutine(L, co);
    const int r = resume(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

// The function coroutine.wrap returns: upvalues the budget and the coroutine.
int co_wrapped(lua_State* L) {
    lua_State* co = lua_tothread(L, lua_upvalueindex(2));
    budget_at(L, 1).enter_coroutine(L, co);
    const int r = resume(L, co, lua_gettop(L));
    if (r >= 0) return r;
    int status = lua_status(co);
    if (status != LUA_OK && status != LUA_YIELD) {  // an error in the coroutine: close it
#if LUA_VERSION_RELEASE_NUM >= 50406
        status = lua_closethread(co, L);
#else
        status = lua_resetthread(co);
#endif
        lua_xmove(co, L, 1);
    }
    if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {  // where the wrap was called
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

int co_wrap(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushlightuserdata(L, &budget_at(L, 1));
    lua_State* co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, co_wrapped, 2);
    return 1;
}

// coroutine.close runs the coroutine's pending __close handlers, in the coroutine: the same
// accounting first, then Lua's own (upvalue 2).
int co_close(lua_State* L) {
    lua_State* co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "thread");
    budget_at(L, 1).enter_coroutine(L, co);
    return call_standard(L, 2);
}

}  // namespace

void open_bounded_coroutine(lua_State* L, WorkBudget& budget) {
    lua_getglobal(L, "coroutine");
    lua_pushlightuserdata(L, &budget);
    lua_pushcclosure(L, co_resume, 1);
    lua_setfield(L, -2, "resume");
    lua_pushlightuserdata(L, &budget);
    lua_pushcclosure(L, co_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pushlightuserdata(L, &budget);
    lua_getfield(L, -2, "close");
    lua_pushcclosure(L, co_close, 2);
    lua_setfield(L, -2, "close");
    lua_pop(L, 1);
}

}  // namespace roost_lua
