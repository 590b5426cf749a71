// table.insert, remove, concat, sort, unpack and move with their work counted (bounded_lib.hpp).
//
// Each loops over a range it takes from #t, and #t can be a script's __len: a Lua function that
// returns math.maxinteger in one instruction. With __index and __newindex set to C functions
// (rawlen, rawequal) the loop then runs Lua's own C code for 2^63 indices without allocating or
// running one VM instruction, so neither the count hook nor the memory cap would ever stop it.
// These keep Lua 5.4's arguments, results and error messages (ltablib.c, as the reference manual
// describes them); each index visited or compared spends one step of the call's budget. #t is
// read once per call, as Lua's own do.
#include <climits>
#include <ctime>

#include "bounded_lib.hpp"

namespace roost_lua {
namespace {

// The steps to visit [from, to] (0 when empty), exact even where to - from overflows.
uint64_t span(lua_Integer from, lua_Integer to) {
    if (to < from) return 0;
    const uint64_t d = static_cast<uint64_t>(to) - static_cast<uint64_t>(from);
    return d == UINT64_MAX ? d : d + 1;
}

// What Lua's checktab asks of a table argument: a table, or a value whose metatable gives the
// metamethods the function uses.
constexpr int kRead = 1, kWrite = 2, kLength = 4;

void check_table(lua_State* L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    int n = 1;
    auto has = [&](const char* key) {
        lua_pushstring(L, key);
        ++n;
        return lua_rawget(L, -n) != LUA_TNIL;
    };
    if (lua_getmetatable(L, arg) && (!(what & kRead) || has("__index")) &&
        (!(what & kWrite) || has("__newindex")) && (!(what & kLength) || has("__len"))) {
        lua_pop(L, n);
        return;
    }
    luaL_checktype(L, arg, LUA_TTABLE);  // raises Lua's error
}

lua_Integer length(lua_State* L, int arg, int what) {
    check_table(L, arg, what | kLength);
    return luaL_len(L, arg);
}

int table_insert(lua_State* L) {
    const lua_Integer e = luaL_intop(+, length(L, 1, kRead | kWrite), 1);  // the first empty slot
    lua_Integer pos;
    switch (lua_gettop(L)) {
        case 2:
            pos = e;
            break;
        case 3: {
            pos = luaL_checkinteger(L, 2);
            luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2,
                          "position out of bounds");
            // e - pos moves; e may have wrapped (a __len of math.maxinteger), then there are none.
            spend_or_stop(L, e > pos ? static_cast<uint64_t>(e) - static_cast<uint64_t>(pos) : 0,
                          "table.insert");
            for (lua_Integer i = e; i > pos; --i) {
                lua_geti(L, 1, i - 1);
                lua_seti(L, 1, i);
            }
            break;
        }
        default:
            return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

int table_remove(lua_State* L) {
    const lua_Integer size = length(L, 1, kRead | kWrite);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 1,
                      "position out of bounds");  // argument 1: as Lua 5.4.4 says it
    spend_or_stop(L, span(pos, size), "table.remove");
    lua_geti(L, 1, pos);
    for (; pos < size; ++pos) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

void add_field(lua_State* L, luaL_Buffer* b, lua_Integer i) {
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
                   static_cast<LUAI_UACINT>(i));
    luaL_addvalue(b);
}

int table_concat(lua_State* L) {
    lua_Integer last = length(L, 1, kRead);
    size_t lsep;
    const char* sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    spend_or_stop(L, span(i, last), "table.concat");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (; i < last; ++i) {
        add_field(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last) add_field(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}

// table.sort: Lua 5.4's quicksort (ltablib.c), with one step spent per comparison.
using Index = unsigned int;

void set2(lua_State* L, Index i, Index j) {
    lua_seti(L, 1, i);
    lua_seti(L, 1, j);
}

bool sort_less(lua_State* L, int a, int b) {
    spend_or_stop(L, 1, "table.sort");
    if (lua_isnil(L, 2)) return lua_compare(L, a, b, LUA_OPLT);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, a - 1);  // -1 for the function pushed
    lua_pushvalue(L, b - 2);  // -2 for the function and a
    lua_call(L, 2, 1);
    const bool less = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return less;
}

Index partition(lua_State* L, Index lo, Index up) {
    Index i = lo;      // incremented before first use
    Index j = up - 1;  // decremented before first use
    // Invariant: a[lo .. i] <= P <= a[j .. up], a[up - 1] == P.
    for (;;) {
        while (lua_geti(L, 1, ++i), sort_less(L, -1, -2)) {
            if (i == up - 1) luaL_error(L, "invalid order function for sorting");
            lua_pop(L, 1);
        }
        while (lua_geti(L, 1, --j), sort_less(L, -3, -1)) {
            if (j < i) luaL_error(L, "invalid order function for sorting");
            lua_pop(L, 1);
        }
        if (j < i) {
            lua_pop(L, 1);
            set2(L, up - 1, i);
            return i;
        }
        set2(L, i, j);
    }
}

// A pivot in the middle half of [lo, up], for intervals where the middle one went badly.
Index choose_pivot(Index lo, Index up, unsigned int rnd) {
    const Index r4 = (up - lo) / 4;
    return rnd % (r4 * 2) + (lo + r4);
}

unsigned int randomize_pivot() {
    return static_cast<unsigned int>(std::clock()) + static_cast<unsigned int>(std::time(nullptr));
}

void sort_range(lua_State* L, Index lo, Index up, unsigned int rnd) {
    while (lo < up) {  // a loop for the tail call
        lua_geti(L, 1, lo);
        lua_geti(L, 1, up);
        if (sort_less(L, -1, -2))
            set2(L, lo, up);
        else
            lua_pop(L, 2);
        if (up - lo == 1) break;
        Index p = up - lo < 100u || rnd == 0 ? (lo + up) / 2 : choose_pivot(lo, up, rnd);
        lua_geti(L, 1, p);
        lua_geti(L, 1, lo);
        if (sort_less(L, -2, -1)) {
            set2(L, p, lo);
        } else {
            lua_pop(L, 1);
            lua_geti(L, 1, up);
            if (sort_less(L, -1, -2))
                set2(L, p, up);
            else
                lua_pop(L, 2);
        }
        if (up - lo == 2) break;
        lua_geti(L, 1, p);  // the median: the pivot
        lua_pushvalue(L, -1);
        lua_geti(L, 1, up - 1);
        set2(L, p, up - 1);
        p = partition(L, lo, up);
        Index n;
        if (p - lo < up - p) {  // recurse into the smaller side
            sort_range(L, lo, p - 1, rnd);
            n = p - lo;
            lo = p + 1;
        } else {
            sort_range(L, p + 1, up, rnd);
            n = up - p;
            up = p - 1;
        }
        if ((up - lo) / 128 > n) rnd = randomize_pivot();  // badly unbalanced
    }
}

int table_sort(lua_State* L) {
    const lua_Integer n = length(L, 1, kRead | kWrite);
    if (n > 1) {
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
        sort_range(L, 1, static_cast<Index>(n), 0);
    }
    return 0;
}

// table.unpack(t [, i [, j]]): up to a million values (Lua's stack limit) from C __index
// functions in one call: one step per value.
int table_unpack(lua_State* L) {
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer e = luaL_opt(L, luaL_checkinteger, 3, luaL_len(L, 1));
    if (i > e) return 0;
    lua_Unsigned n = static_cast<lua_Unsigned>(e) - static_cast<lua_Unsigned>(i);  // values - 1
    if (n >= static_cast<unsigned int>(INT_MAX) || !lua_checkstack(L, static_cast<int>(++n)))
        return luaL_error(L, "too many results to unpack");
    spend_or_stop(L, n, "table.unpack");
    for (; i < e; ++i)
        lua_geti(L, 1, i);
    lua_geti(L, 1, e);
    return static_cast<int>(n);
}

// table.move(a1, f, e, t [, a2]): one step per index moved; Lua's own does the moving.
int table_move(lua_State* L) {
    const lua_Integer f = luaL_checkinteger(L, 2);
    const lua_Integer e = luaL_checkinteger(L, 3);
    spend_or_stop(L, span(f, e), "table.move");
    return call_standard(L, 2);
}

}  // namespace

void open_bounded_table(lua_State* L, WorkBudget& budget) {
    lua_getglobal(L, "table");
    const luaL_Reg functions[] = {{"insert", table_insert},
                                  {"remove", table_remove},
                                  {"concat", table_concat},
                                  {"sort", table_sort},
                                  {"unpack", table_unpack}};
    for (const luaL_Reg& r : functions) {
        lua_pushlightuserdata(L, &budget);
        lua_pushcclosure(L, r.func, 1);
        lua_setfield(L, -2, r.name);
    }
    lua_pushlightuserdata(L, &budget);
    lua_getfield(L, -2, "move");
    lua_pushcclosure(L, table_move, 2);
    lua_setfield(L, -2, "move");
    lua_pop(L, 1);
}

}  // namespace roost_lua
