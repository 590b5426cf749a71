// The `client` a hook gets: a userdata that reads the client's facts from the host on demand
// (client.id, client.username, ...). It holds a borrowed roost_client*, valid for one hook call
// only: the plugin clears it when the call returns, so a script that keeps the object gets an
// error, never freed memory. One userdata per state is reused for every outermost call (no
// allocation per call); a call nested inside another gets one of its own.
#pragma once
#include <lua.hpp>

#include <roost/plugin.h>

namespace roost_lua {

// Pushes a client object; `auth` (may be NULL) supplies client.password during on_auth.
void push_client(lua_State* L, roost_client* client, const roost_auth_event* auth);
// Clears the client object at `index` (each push_client needs one, also for a failed call):
// later uses raise "client used after its hook returned".
void invalidate_client(lua_State* L, int index);
// The live client of argument `arg`, or raises an error.
roost_client* check_client(lua_State* L, int arg);
// Registers the client metatable; once per state.
void open_client_type(lua_State* L);

}  // namespace roost_lua
