// Counters for $SYS/broker/... and the log. Single-threaded today (one worker); with N workers
// each keeps its own and $SYS sums them.
#pragma once
#include <cstdint>

#include "broker/message.hpp"

namespace roost {

struct Stats {
    Clock::time_point started = Clock::now();
    uint64_t connections_total = 0;  // accepted since start
    uint64_t messages_received = 0;  // PUBLISH packets from clients
    uint64_t messages_sent = 0;      // PUBLISH packets to clients
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t messages_dropped = 0;  // queue full, expired, too large for the client, QoS 0 to a slow client
};

}  // namespace roost
