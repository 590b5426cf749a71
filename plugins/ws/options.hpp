// The ws plugin's [plugin.options] (every key documented in plugins/ws/README.md and
// docs/configuration.md): read once in roost_plugin_check / roost_plugin_init, immutable after,
// shared read-only by every worker.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "forwarded.hpp"
#include "roost/plugin.h"

namespace roost_ws {

struct Options {
    std::string path = "/mqtt";                // the upgrade path
    bool any_origin = false;                   // allowed_origins = "*"
    std::vector<std::string> allowed_origins;  // lowercased; empty: same host as the Host header
    std::vector<IpRange> trusted_proxies;      // peers whose forwarding headers are believed
    std::string http_dir;                      // absolute, symlinks resolved; empty: no static files
    size_t max_frame_size = 2097152;           // payload bytes of one frame
    size_t max_message_size = 2097152;         // payload bytes of one (fragmented) message
    size_t max_request_size = 8192;            // bytes of the HTTP request head
    size_t max_backlog = 1048576;              // unsent wire bytes above which reading pauses
    uint64_t close_timeout_ms = 5000;          // wait for the peer's close frame
    uint64_t ping_interval_ms = 0;             // 0: the server sends no pings
};

// Reads `options` into *out. On a wrong option: logs "file:line: option key = "value": why"
// through host->log and returns ROOST_EINVAL. Relative http_dir is relative to the folder of the
// config file the option is written in.
int read_options(const roost_host* host, roost_plugin* self, const roost_option* options, size_t count,
                 Options* out);

}  // namespace roost_ws
