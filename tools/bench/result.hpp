// What a run measured, filled by a scenario and written out by report.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "proc.hpp"

namespace bench {

struct Result {
    bool failed = false;  // the run could not be carried out (see errors)
    std::vector<std::string> errors;
    uint64_t error_count = 0;

    // Message scenarios (pairs, fan-in, fan-out).
    uint64_t published = 0;     // PUBLISH packets sent
    uint64_t expected = 0;      // deliveries those should cause (published x receivers)
    uint64_t delivered = 0;     // distinct messages that reached a subscriber that should get them
    uint64_t received = 0;      // PUBLISH packets subscribers got, duplicates included
    uint64_t lost = 0;          // expected - delivered, after the drain
    uint64_t lost_tail = 0;     // of those: sent after the last one a subscriber got from that publisher
    uint64_t duplicates = 0;    // the same message delivered again to the same subscriber
    uint64_t out_of_order = 0;  // a message that arrived after a later one of the same publisher
    uint64_t unexpected = 0;    // payloads that are not ours, or for a subscriber that should not get them
    uint64_t rejected = 0;      // PUBLISHes the broker acknowledged with an error reason code (MQTT 5)
    uint64_t stalls = 0;        // a publisher gave up waiting for a window that never moved
    double measured_s = 0;      // length of the measurement window
    uint64_t published_in_window = 0;
    uint64_t delivered_in_window = 0;  // deliveries that arrived during the window
    Histogram latency;                 // publish -> receipt, messages sent during the window

    // conn
    uint64_t connections = 0;
    double connect_s = 0;
    double held_s = 0;
    uint64_t pings = 0;
    uint64_t pongs = 0;

    // roost-bench's own CPU seconds (all threads) over the measurement: whether the generator,
    // rather than the broker, was the limit.
    double generator_cpu_s = 0;
    int threads = 1;

    // Broker process (--broker-pid): before anything connected, at the start of the measurement
    // (conn: all connected), and at its end.
    ProcSample broker_before, broker_start, broker_end;
};

}  // namespace bench
