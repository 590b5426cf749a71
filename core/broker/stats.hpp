// Counters for $SYS/broker/... and the log. Each worker keeps its own (no sharing on the hot
// path) and $SYS sums them; a counter has one writer, its worker, and any thread may read it.
#pragma once
#include <atomic>
#include <cstdint>

#include "broker/message.hpp"

namespace roost {

// A counter with one writing thread: increments are a plain load and store (no locked
// instruction), reads from other threads see a whole value, never a torn one.
class Counter {
  public:
    Counter& operator++() { return *this += 1; }
    Counter& operator+=(uint64_t n) {
        _value.store(_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        return *this;
    }
    uint64_t load() const { return _value.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> _value{0};
};

struct Stats {
    Counter connections_total;  // accepted since start
    Counter messages_received;  // PUBLISH packets from clients
    Counter messages_sent;      // PUBLISH packets to clients
    Counter bytes_received;
    Counter bytes_sent;
    Counter messages_dropped;    // queue full, expired, too large for the client, QoS 0 to a slow client
    Counter messages_throttled;  // publishes whose acknowledgement waited for room in a full queue
    // QoS 1 deliveries to stored sessions acknowledged within [broker] persist_delay_ms: never
    // handed to a persistence plugin.
    Counter deliveries_unstored;
};

}  // namespace roost
