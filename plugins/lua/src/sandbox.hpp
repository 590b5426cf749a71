// The sandbox a script runs in: the safe standard libraries, and restricted versions of what
// could reach outside the broker (files, code loading, modules). Nothing here runs a command,
// opens a file for writing, loads bytecode or touches the debug library.
#pragma once
#include <lua.hpp>

#include <string>

namespace roost_lua {

// Opens base, string, table, math, utf8 and coroutine, os with time/clock/date/difftime only,
// io with open (read modes) and lines only, and text-only load/loadfile/dofile/require, each
// file access checked by readable_path. `print` logs at info level.
void open_sandbox(lua_State* L);

// Resolves `path` (relative paths start at the config file's folder) and checks that it lies
// under one of the read_dirs; the canonical path in *resolved, or false with *error.
bool readable_path(lua_State* L, const std::string& path, std::string* resolved, std::string* error);

// Reads a whole file that readable_path allows; false with *error.
bool read_allowed_file(lua_State* L, const std::string& path, std::string* contents, std::string* error);

}  // namespace roost_lua
