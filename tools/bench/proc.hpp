// What the broker process costs, read from /proc while the benchmark runs (--broker-pid): CPU
// time and resident memory. Only meaningful when the broker runs on this machine.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>

namespace bench {

// User + system CPU seconds the process has used so far (/proc/PID/stat utime + stime). The
// kernel counts in clock ticks (usually 10 ms), so compare runs of a few seconds, not less.
std::optional<double> process_cpu_seconds(pid_t pid);

// Resident set size in bytes (/proc/PID/status VmRSS).
std::optional<uint64_t> process_rss_bytes(pid_t pid);

// A snapshot of both, for "before" and "after".
struct ProcSample {
    bool ok = false;
    double cpu_s = 0;
    uint64_t rss = 0;
};
ProcSample sample_process(pid_t pid);

// CPU seconds roost-bench itself (all its threads) has used so far (getrusage).
double own_cpu_seconds();

}  // namespace bench
