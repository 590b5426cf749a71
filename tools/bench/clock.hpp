// Monotonic time in nanoseconds: every timestamp of the tool (send times carried in payloads,
// deadlines, rates) comes from here, so they are comparable and never jump with the wall clock.
#pragma once

#include <cstdint>
#include <ctime>

namespace bench {

inline uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t seconds_to_ns(double s) {
    return static_cast<uint64_t>(s * 1e9);
}

}  // namespace bench
