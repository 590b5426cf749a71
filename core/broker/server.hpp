// The running broker: listeners, workers and the broker state, for the life of the process.
#pragma once
#include "config/config.hpp"

namespace roost {

// Starts every listener and runs until SIGINT or SIGTERM, then stops cleanly (wills handled as the
// spec says, listeners closed). Returns the process exit code: 0 after a clean stop, 1 when a
// listener could not start (the log says which and why).
int run_server(const Config& config);

}  // namespace roost
