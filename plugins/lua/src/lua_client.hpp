// The `client` a hook gets: a light userdata holding a serial number, never a pointer, whose
// metatable reads the client's facts from the host on demand (client.id, client.username, ...).
// The serial names one hook call: while the call runs it maps to the borrowed roost_client*
// (Script::active_clients); once the call returns it maps to nothing, so a script that keeps the
// value gets an error, never freed memory nor another client's facts. Nothing is allocated.
#pragma once
#include <lua.hpp>

#include <roost/plugin.h>

namespace roost_lua {

// Pushes a client object; `auth` (may be NULL) supplies client.password during on_auth.
void push_client(lua_State* L, roost_client* client, const roost_auth_event* auth);
// Ends the client object at `index` (each push_client needs one, also after a failed call): later uses raise
// "client used after its hook returned".
void invalidate_client(lua_State* L, int index);
// The live client of argument `arg`, or raises an error.
roost_client* check_client(lua_State* L, int arg);
// Registers the client metatable; once per state.
void open_client_type(lua_State* L);

}  // namespace roost_lua
