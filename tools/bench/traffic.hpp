// The message scenarios (pairs, fan-in, fan-out): publishers and subscribers are connections of
// this one process, so every delivery is checked against what was sent.
//
// Every PUBLISH payload starts with a 16-byte header: publisher index (u32), sequence number
// (u32), send time (u64, CLOCK_MONOTONIC ns, taken when the packet is queued for writing). The
// subscriber side uses it for latency, losses, duplicates and ordering.
//
// Flow control, so the run measures the broker rather than socket buffers:
//   * closed loop (default): a publisher pauses while it is more than --window messages ahead of
//     the slowest subscriber that receives its messages (by sequence number, so one lost QoS 0
//     message does not stall it);
//   * open loop (--rate): publishers follow a schedule, whatever the subscribers do;
//   * QoS 1/2: at most --inflight (and the broker's Receive Maximum) unfinished flows per publisher;
//   * at most 256 KiB waiting in a connection's own write buffer.
//
// Phases: connect and subscribe (every SUBACK before the first PUBLISH), warm-up, measurement,
// then the drain: publishers stop and the run waits until every expected message arrived (or
// nothing arrived for --drain-idle, or --drain passed); what is still missing is lost.
#pragma once

#include <vector>

#include "net.hpp"
#include "result.hpp"

namespace bench {

class Traffic : public Net {
  public:
    explicit Traffic(const Options& o) : Net(o) {}
    // Runs the whole scenario and fills `r`.
    void run(Result& r);

  private:
    State on_connected(Conn& c) override;
    bool on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) override;
    void on_publish(Conn& c, const mqtt::Frame& f, uint64_t now);
    bool on_ack(Conn& c, const mqtt::Frame& f);
    bool can_publish(Conn& c, uint64_t now);
    void publish_one(Conn& c, uint64_t now);
    // Receipt state of (subscriber, publisher): every subscriber hears from one publisher, or
    // (fan-in) one subscriber from all, so one slot per publisher or per subscriber is enough.
    size_t slot(int sub, int pub) const {
        return o_.scenario == Scenario::FanOut ? size_t(sub) : size_t(pub);
    }
    bool expects(int sub, int pub) const { return o_.scenario != Scenario::Pairs || sub == pub; }
    uint64_t expected_total() const;
    void progress(uint64_t now, const char* phase);

    std::vector<Conn*> pubs_, subs_;
    std::vector<uint32_t> last_seq_;       // per slot: highest sequence number seen + 1
    std::vector<std::vector<bool>> seen_;  // per slot: which sequence numbers arrived
    uint64_t unique_ = 0;
    std::string payload_fill_;
    Result* r_ = nullptr;
    uint64_t t0_ = 0, measure_start_ = 0, measure_end_ = 0;
    bool measuring_ = false;
    uint64_t last_progress_ = 0, last_published_ = 0, last_received_ = 0;
};

}  // namespace bench
