// Checking a plugin's options without starting it: the optional export roost_plugin_check,
// called by `roost --check-config`, before roost_plugin_init at start, and before a lifecycle
// reload on SIGHUP. Also the one place that turns a [[plugin]] table's options into the
// roost_option array plugins get (key, value, file, line).
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"
#include "roost/plugin.h"

namespace roost {

// The options of `pc` as plugins see them; the strings point into `pc`, which must outlive it.
std::vector<roost_option> option_array(const PluginConfig& pc);

using PluginCheckFn = int (*)(const roost_host*, roost_plugin*, const roost_option*, size_t);

// Runs `check` (roost_plugin_check of plugin `pc`) with a host table in check mode: log (prefixed
// with the plugin's name), strerror, worker_index and worker_count work, everything else answers
// ROOST_EINVAL. Returns what the check returned.
int run_plugin_check(PluginCheckFn check, const PluginConfig& pc, const std::vector<roost_option>& options);

// Why a shared object with these exports found (non-NULL) is not a plugin: which of the two
// required exports it lacks and how to fix that ("" when it has both). `path` names the file.
std::string missing_exports_message(const std::string& path, const void* version, const void* init);

// Why a plugin whose roost_plugin_version chose `chosen` is refused, and the fix.
std::string abi_mismatch_message(uint32_t chosen);

// A plugin's negative return code as the log shows it: "-2 ROOST_ENOMEM", "-42" (not a ROOST_E*).
std::string return_code_text(int rc);

// `roost --check-config` for one plugin: finds and dlopens it, negotiates the ABI version and runs
// roost_plugin_check if it exports one. Returns "" when it passed, else why not (the plugin's
// own reasons are logged as it gives them). `checked` says whether it had a check to run.
std::string check_plugin(const PluginConfig& pc, unsigned workers, bool& checked);

}  // namespace roost
