// Which worker the calling thread runs, for state kept per worker so that workers do not write
// each other's cache lines: the Router's reader slots (worker_shared_mutex.hpp) and the message
// homes (message_home.hpp); and for the plugin host (host->worker_index(), which worker's
// state a hook call may touch).
//
// Thread rules: set once on each worker's thread before its loop runs, through the plugin host's
// set_current_worker() (Server::start and Server::run); never changed afterwards. Other threads (plugins' own
// threads, a test's main thread) have none. Worker 0 runs on the thread that calls Server::run(), which keeps
// index 0 after its loop ends.
#pragma once

namespace roost::worker_thread {

inline constexpr unsigned kNone = ~0u;

namespace detail {
inline thread_local unsigned t_index = kNone;
}

inline void set(unsigned index) {
    detail::t_index = index;
}
// The calling thread's worker, or kNone.
inline unsigned index() {
    return detail::t_index;
}

}  // namespace roost::worker_thread
