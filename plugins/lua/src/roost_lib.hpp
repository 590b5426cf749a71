// The `roost` table scripts call: logging, topics, publishing, per-client data, the decision
// cache, hashing and encoding, Mosquitto password files, JWTs and JSON. scripts/README.md
// documents each function.
#pragma once
#include <lua.hpp>

namespace roost_lua {

// Sets the global `roost` (and the client type) in a state whose Script is set up.
void open_roost_lib(lua_State* L);

}  // namespace roost_lua
