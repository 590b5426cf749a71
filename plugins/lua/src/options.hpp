// The lua plugin's options ([plugin.options]), read once into an immutable Settings that each
// Lua state keeps a shared pointer to (a reload makes a new one; nothing changes in place).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <roost/plugin.h>

namespace roost_lua {

enum class OnError { deny, allow, next };

struct Settings {
    std::string script;                  // the path as written in the option
    std::string script_path;             // resolved (relative to the config file's folder), canonical
    std::string config_dir;              // the config file's folder: relative paths in scripts start here
    std::vector<std::string> read_dirs;  // canonical folders scripts may read files under
    uint64_t instruction_budget = 1000000;
    size_t memory_limit = 64u << 20;
    uint64_t cache_ttl_ms = 5000;  // 0: no decision cache
    size_t cache_entries = 1024;   // per client
    OnError on_error = OnError::deny;
    std::map<std::string, std::string> script_options;  // every other key, for roost.options
};

// Reads and checks the options. Throws std::invalid_argument("file:line: option ...: why").
std::shared_ptr<const Settings> parse_settings(const roost_option* options, size_t count);

}  // namespace roost_lua
