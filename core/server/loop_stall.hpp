// A worker whose event loop is held (a plugin hook or Lua script that blocks instead of answering
// PENDING, a long synchronous job, a machine short of CPU) stalls every client of that worker:
// no PINGRESP, no delivery, no CONNACK. Nothing else would say so in the log. The once-a-second
// tick notices, because it arrives late by about as long as the loop was held.
//
// One per worker, used on its thread only.
#pragma once
#include <chrono>
#include <cstdint>

namespace roost {

class LoopStallWatch {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kPeriod{
        1000};  // the tick's (Server::Worker starts it with this)
    static constexpr std::chrono::milliseconds kReportOver{1000};

    // When the tick starts: a stall before the first tick counts too.
    void started(Clock::time_point now) { _last = now; }
    // At each tick: how many ms past its period this tick came, when that is over kReportOver
    // (the loop was held at least that long); 0 otherwise.
    int64_t late_ms(Clock::time_point now) {
        Clock::time_point last = _last;
        _last = now;
        auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - last - kPeriod);
        return late > kReportOver ? late.count() : 0;
    }

  private:
    Clock::time_point _last{};
};

}  // namespace roost
