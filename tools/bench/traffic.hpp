// The message scenarios (pairs, fan-in, fan-out): publishers and subscribers are connections of
// this one process, so every delivery is checked against what was sent.
//
// Every PUBLISH payload starts with a 16-byte header: publisher index (u32), sequence number
// (u32), send time (u64, CLOCK_MONOTONIC ns, taken when the packet is queued for writing). The
// subscriber side uses it for latency, losses, duplicates and ordering. CLOCK_MONOTONIC is one
// clock for the whole machine, so stamps of a publisher on one thread compare with receipt times
// on another.
//
// Threads (--threads T): the connections are split over T traffic threads, each a Traffic with
// its own epoll set; the main thread coordinates (run_traffic below). Pair i lives on thread
// i mod T; fan-out's publisher and fan-in's subscriber on thread 0, the many other side spread
// over all threads. What crosses threads is in shared.hpp.
//
// Flow control, so the run measures the broker rather than socket buffers:
//   * closed loop (default): a publisher pauses while it is more than --window messages ahead of
//     the slowest subscriber that receives its messages (by sequence number, so one lost QoS 0
//     message does not stall it);
//   * open loop (--rate): publishers follow a schedule, whatever the subscribers do;
//   * QoS 1/2: at most --inflight (and the broker's Receive Maximum) unfinished flows per publisher;
//   * at most 256 KiB waiting in a connection's own write buffer.
//
// Phases: connect and subscribe (every SUBACK, on every thread, before the first PUBLISH),
// warm-up, measurement, then the drain: publishers stop and the run waits until every expected
// message arrived (or nothing arrived for --drain-idle, or --drain passed); what is still
// missing is lost.
#pragma once

#include <vector>

#include "net.hpp"
#include "receipts.hpp"
#include "result.hpp"
#include "shared.hpp"

namespace bench {

// Runs a message scenario over o.threads traffic threads and fills `r` with the merged result.
void run_traffic(const Options& o, Result& r);

// Which traffic thread owns a connection (see above); `threads` as run_traffic chose it.
int publisher_thread(const Options& o, int index, int threads);
int subscriber_thread(const Options& o, int index, int threads);

// One traffic thread: its share of the connections, on its own epoll set. Lives on that thread
// from run() to its end; only `shared` is touched by other threads.
class Traffic : public Net {
  public:
    Traffic(const Options& o, Shared& shared, int thread) : Net(o), sh_(shared), thread_(thread) {}
    // Runs this thread's part of the scenario and fills `r` (its counts only; run_traffic
    // merges the threads' results and works out the losses).
    void run(Result& r);

  private:
    State on_connected(Conn& c) override;
    bool on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) override;
    void on_publish(Conn& c, const mqtt::Frame& f, uint64_t now);
    bool on_ack(Conn& c, const mqtt::Frame& f);
    // How many PUBLISHes `c` may send now (at most `most`), by its window, inflight and buffer.
    int budget(Conn& c, uint64_t now, int most);
    void publish_one(Conn& c, uint64_t now);
    // Receipt state of (subscriber, publisher): every subscriber hears from one publisher, or
    // (fan-in) one subscriber from all, so one slot per publisher or per subscriber is enough.
    size_t slot(int sub, int pub) const {
        return o_.scenario == Scenario::FanOut ? size_t(sub) : size_t(pub);
    }
    bool expects(int sub, int pub) const { return o_.scenario != Scenario::Pairs || sub == pub; }
    bool connect();
    void publish_stats();
    // The run loop's wait: poll(1), ended early when another thread opens one of this thread's
    // windows (shared.hpp, Wakeup).
    void wait_for_window(uint64_t now);
    // After a turn in which this thread's subscribers received: wakes the threads that sleep on
    // a shut window this thread's subscribers may have opened (wake_targets_).
    void wake_window_waiters();
    // The other threads whose publishers send to this thread's subscribers: fan-out's and
    // fan-in's, none in pairs (a pair lives on one thread).
    std::vector<int> find_wake_targets() const;

    Shared& sh_;
    const int thread_;
    std::vector<Conn*> pubs_, subs_;
    std::vector<Receipts> receipts_;  // per slot this thread receives on: which sequence numbers arrived
    uint64_t unique_ = 0;
    uint64_t received_at_wake_ = 0;          // r_->received when wake_window_waiters last looked
    std::vector<int> wake_targets_;          // find_wake_targets()
    bool windows_opened_elsewhere_ = false;  // a subscriber of our publishers is on another thread
    std::string payload_fill_;
    Result* r_ = nullptr;
    uint64_t measure_start_ = 0, measure_end_ = 0;
    bool measuring_ = false;
};

}  // namespace bench
