// What the traffic threads of one run share (--threads): the run's phase and timing, set by the
// coordinating main thread, and the few per-publisher and per-receipt-slot counters that cross
// threads (a publisher's window looks at its subscribers' progress, a subscriber checks a
// sequence number against what its publisher sent).
//
// Locking: none. Every cross-thread counter has exactly one writing thread (the thread that owns
// the publisher, or the subscriber of the slot) and is an atomic the others only load; each sits
// on its own cache line so that writers on different threads do not slow each other. The run's
// timing fields are written by the coordinator before it stores `phase = Run` (release) and read
// by the threads after they load it (acquire).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "options.hpp"

namespace bench {

enum class Phase : int { Connect, Run, Drain, Done };

// One cache line per counter: neighbours are written by different threads.
struct alignas(64) Counter32 {
    std::atomic<uint32_t> v{0};
};

// What a thread reports about itself, stored after each loop turn (relaxed): the coordinator
// sums these for the progress line and to see when the drain is complete.
struct alignas(64) ThreadStats {
    std::atomic<uint64_t> published{0};
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> unique{0};           // distinct expected messages its subscribers got
    std::atomic<uint64_t> unacked{0};          // QoS 1/2 flows of its publishers not complete
    std::atomic<bool> publishers_done{false};  // --messages: all of its publishers sent them
};

// A thread whose publishers' windows are all shut sleeps in epoll_wait until a subscriber's
// progress opens one. That progress is often made on another thread (fan-out: most of the
// subscribers are elsewhere), which then wakes it through `fd` (an eventfd in its epoll set)
// instead of leaving it to its 1 ms time-out. With two broker workers the broker empties the
// pipe between bursts, and a closed-loop fan-out S=1000 lost time there (RESULTS.md, "a model,
// session 12").
//
// Ordering: the sleeper stores `sleeping = true` (release: `fd` was set before), fences, then
// looks at the windows once more; a receiver stores its progress (last_seq), fences, then loads
// `sleeping`. One of the two sees the other (the two fences are seq_cst), so a wake-up is never
// lost; the 1 ms time-out stays as the bound anyway. Others read `fd` only after they took
// `sleeping` (the exchange, acquire).
struct alignas(64) Wakeup {
    std::atomic<bool> sleeping{false};
    int fd = -1;
};

struct Shared {
    Shared(const Options& o, int thread_count)
        : threads(thread_count),
          sent(static_cast<size_t>(o.publishers)),
          last_seq(static_cast<size_t>(std::max(o.publishers, o.subscribers))),
          stats(static_cast<size_t>(thread_count)),
          wakeups(static_cast<size_t>(thread_count)) {}

    const int threads;
    std::vector<Counter32> sent;      // per publisher: messages sent (sequence numbers 0..sent-1)
    std::vector<Counter32> last_seq;  // per receipt slot: highest sequence number seen + 1
    std::vector<ThreadStats> stats;   // per thread
    std::vector<Wakeup> wakeups;      // per thread

    std::atomic<Phase> phase{Phase::Connect};
    std::atomic<int> subscribed{0};   // threads whose subscribers all have their SUBACK
    std::atomic<int> connected{0};    // threads with every connection ready
    std::atomic<int> left_run{0};     // threads that stopped publishing
    std::atomic<bool> failed{false};  // set-up failed somewhere: everyone stops
    std::atomic<bool> closed{false};  // a connection closed during the run: the run ends

    // Written before phase = Run.
    uint64_t t0 = 0;
    // The window; changed before phase = Drain when the run stopped early (--messages ran out
    // during the warm-up: from t0; a closed connection or --messages: up to the stop).
    std::atomic<uint64_t> measure_start{0};
    std::atomic<uint64_t> measure_end{0};
};

}  // namespace bench
