// JSON between Lua values and text: roost.json_encode / roost.json_decode, and the claims that
// roost.jwt_verify returns.
#pragma once
#include <lua.hpp>

#include "json.hpp"

namespace roost_lua {

// Pushes `v` as a Lua value: objects and arrays become tables, null becomes nil (so an array
// with nulls has holes), integral numbers that fit become integers.
void push_json(lua_State* L, const json::Value& v);
// roost.json_encode(value): a table whose keys are exactly 1..n is an array, any other table an
// object (number keys written as strings); an empty table is "{}". Raises for functions,
// userdata, NaN/inf, cycles and more than 64 levels.
int lua_json_encode(lua_State* L);
// roost.json_decode(text): the value, or nil and an error message.
int lua_json_decode(lua_State* L);

}  // namespace roost_lua
