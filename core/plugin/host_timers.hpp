// The timers plugins start on one worker (host->timer_start, conn_timer_start, timer_stop).
//
// A roost_timer is (sequence << 8 | worker), never reused. A one-shot leaves the table before its
// callback runs (stopping it from inside answers EGONE); a repeating timer may stop itself from
// its callback. Handles are closed with uv_close and freed in its callback: libuv's rule.
#pragma once
#include <uv.h>

#include <cstdint>
#include <unordered_map>

#include "roost/plugin.h"

namespace roost {

class HostTimers {
  public:
    static constexpr unsigned kWorkerBits = 8;
    static unsigned worker_of(roost_timer id) {
        return static_cast<unsigned>(id & ((1u << kWorkerBits) - 1));
    }

    HostTimers(uv_loop_t* loop, unsigned worker) : _loop(loop), _worker(worker) {}
    ~HostTimers() { close_all(); }
    HostTimers(const HostTimers&) = delete;
    HostTimers& operator=(const HostTimers&) = delete;

    // On the worker: fn(arg) after delay_ms, then every repeat_ms (0: once). ROOST_OK with *out
    // (may be NULL) set, ROOST_EINVAL (no fn, both 0) or ROOST_EGONE (closed).
    int start(uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void*), void* arg, roost_timer* out);
    // On the worker: ROOST_OK, or ROOST_EGONE for a timer that fired (one-shot), was stopped or
    // never was.
    int stop(roost_timer id);
    // Before the loop ends: every timer stops, no more start.
    void close_all();

  private:
    struct Timer {
        uv_timer_t handle;  // first: the handle's pointer is the Timer's
        HostTimers* owner;
        roost_timer id;
        void (*fn)(void*);
        void* arg;
        bool repeat;
    };
    static void on_fire(uv_timer_t* handle);
    static void release(Timer* t);

    uv_loop_t* _loop;
    unsigned _worker;
    uint64_t _next = 1;
    std::unordered_map<roost_timer, Timer*> _timers;
    bool _closed = false;
};

}  // namespace roost
