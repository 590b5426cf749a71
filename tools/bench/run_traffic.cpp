// The coordinator of a message scenario (main thread): starts the traffic threads, times the
// warm-up and the measurement, samples the broker, prints the progress line, decides when the
// drain is over, and merges the threads' results into one. It handles no connection itself.
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <thread>

#include "clock.hpp"
#include "traffic.hpp"

namespace bench {

namespace {

struct Totals {
    uint64_t published = 0, received = 0, unique = 0, unacked = 0;
};

Totals totals(const Shared& sh) {
    Totals t;
    for (const ThreadStats& s : sh.stats) {
        t.published += s.published.load(std::memory_order_relaxed);
        t.received += s.received.load(std::memory_order_relaxed);
        t.unique += s.unique.load(std::memory_order_relaxed);
        t.unacked += s.unacked.load(std::memory_order_relaxed);
    }
    return t;
}

// Subscribers that receive each of publisher p's messages, and the receipt slot of each.
template <typename F>
void for_each_receipt(const Options& o, int p, F&& f) {
    if (o.scenario == Scenario::FanOut) {
        for (int s = 0; s < o.subscribers; ++s)
            f(static_cast<size_t>(s));
    } else {
        f(static_cast<size_t>(p));  // pairs: subscriber p; fan-in: the one subscriber, slot p
    }
}

uint64_t expected_total(const Options& o, const Shared& sh) {
    uint64_t e = 0;
    for (int p = 0; p < o.publishers; ++p) {
        const uint64_t sent = sh.sent[static_cast<size_t>(p)].v.load(std::memory_order_acquire);
        e += sent * static_cast<uint64_t>(o.scenario == Scenario::FanOut ? o.subscribers : 1);
    }
    return e;
}

void sleep_until(uint64_t t_ns) {
    timespec ts{static_cast<time_t>(t_ns / 1'000'000'000), static_cast<long>(t_ns % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

class Progress {
  public:
    Progress(const Options& o, const Shared& sh, uint64_t t0) : o_(o), sh_(sh), t0_(t0), last_(t0) {}
    // The progress line, once a second.
    void maybe(uint64_t now, const char* phase) {
        if (o_.quiet || now - last_ < 1'000'000'000) return;
        const Totals t = totals(sh_);
        const double dt = static_cast<double>(now - last_) / 1e9;
        std::fprintf(stderr,
                     "roost-bench: %6.1fs %-9s sent %" PRIu64 " (%.0f/s) received %" PRIu64 " (%.0f/s)\n",
                     static_cast<double>(now - t0_) / 1e9, phase, t.published,
                     static_cast<double>(t.published - prev_.published) / dt, t.received,
                     static_cast<double>(t.received - prev_.received) / dt);
        last_ = now;
        prev_ = t;
    }

  private:
    const Options& o_;
    const Shared& sh_;
    const uint64_t t0_;
    uint64_t last_;
    Totals prev_;
};

void merge(Result& into, const Result& r) {
    into.failed = into.failed || r.failed;
    into.published += r.published;
    into.delivered += r.delivered;
    into.received += r.received;
    into.duplicates += r.duplicates;
    into.out_of_order += r.out_of_order;
    into.unexpected += r.unexpected;
    into.rejected += r.rejected;
    into.stalls += r.stalls;
    into.published_in_window += r.published_in_window;
    into.delivered_in_window += r.delivered_in_window;
    into.latency.merge(r.latency);
}

}  // namespace

void run_traffic(const Options& o, Result& r) {
    const int T = std::max(1, std::min(o.threads, std::max(o.publishers, o.subscribers)));
    Shared sh(o, T);
    r.threads = T;
    if (o.broker_pid) r.broker_before = sample_process(o.broker_pid);

    std::vector<Result> results(static_cast<size_t>(T));
    std::vector<std::unique_ptr<Traffic>> traffic;
    std::vector<std::thread> threads;
    for (int t = 0; t < T; ++t)
        traffic.push_back(std::make_unique<Traffic>(o, sh, t));
    for (int t = 0; t < T; ++t)
        threads.emplace_back([&, t] { traffic[size_t(t)]->run(results[size_t(t)]); });

    // Phase 1 (in the threads): connect and subscribe.
    while (sh.connected.load() < T && !sh.failed.load())
        sleep_until(now_ns() + 2'000'000);

    bool ran = false;
    if (!sh.failed.load()) {
        ran = true;
        // Phase 2: warm-up, then the measurement window.
        const uint64_t t0 = now_ns();
        sh.t0 = t0;
        uint64_t measure_start = t0 + seconds_to_ns(o.warmup);
        uint64_t measure_end = measure_start + seconds_to_ns(o.duration);
        sh.measure_start.store(measure_start);
        sh.measure_end.store(measure_end);
        sh.phase.store(Phase::Run, std::memory_order_release);
        Progress progress(o, sh, t0);
        bool started = false;
        double own_start = own_cpu_seconds();
        for (;;) {
            const uint64_t now = now_ns();
            if (!started && now >= measure_start) {
                started = true;
                own_start = own_cpu_seconds();
                if (o.broker_pid) r.broker_start = sample_process(o.broker_pid);
            }
            if (now >= measure_end || sh.closed.load()) break;
            if (o.messages > 0 && std::all_of(sh.stats.begin(), sh.stats.end(),
                                              [](const ThreadStats& s) { return s.publishers_done.load(); }))
                break;
            progress.maybe(now, started ? "measuring" : "warm-up");
            sleep_until(std::min(now + 5'000'000, started ? measure_end : measure_start));
        }
        const uint64_t t_stop = now_ns();
        r.generator_cpu_s = own_cpu_seconds() - own_start;
        if (!started) {  // --messages ran out during the warm-up: measure from the start
            measure_start = t0;
            if (o.broker_pid) r.broker_start = r.broker_before;
        }
        measure_end = std::min(measure_end, t_stop);
        sh.measure_start.store(measure_start);
        sh.measure_end.store(measure_end);
        r.measured_s = static_cast<double>(measure_end - measure_start) / 1e9;
        if (o.broker_pid) r.broker_end = sample_process(o.broker_pid);
        sh.phase.store(Phase::Drain, std::memory_order_release);

        // Phase 3: drain. The threads keep reading; this waits for the counts to add up.
        const uint64_t drain_deadline = t_stop + seconds_to_ns(o.drain);
        uint64_t last_change = t_stop, last_count = totals(sh).received;
        while (!sh.closed.load()) {
            const uint64_t now = now_ns();
            const Totals t = totals(sh);
            const bool acks_done = sh.left_run.load() == T && t.unacked == 0;
            if (acks_done && t.unique >= expected_total(o, sh)) break;
            if (now >= drain_deadline) break;
            if (t.received != last_count) {
                last_count = t.received;
                last_change = now;
            } else if (acks_done && now - last_change > seconds_to_ns(o.drain_idle)) {
                break;
            }
            progress.maybe(now, "drain");
            sleep_until(now + 1'000'000);
        }
    }
    // Phase 4 (in the threads): disconnect.
    sh.phase.store(Phase::Done, std::memory_order_release);
    for (std::thread& th : threads)
        th.join();

    for (int t = 0; t < T; ++t) {
        merge(r, results[size_t(t)]);
        for (const std::string& e : traffic[size_t(t)]->errors())
            if (r.errors.size() < 10) r.errors.push_back(e);
        r.error_count += traffic[size_t(t)]->error_count();
    }
    if (!ran) {
        r.failed = true;
        return;
    }
    r.expected = expected_total(o, sh);
    r.lost = r.expected > r.delivered ? r.expected - r.delivered : 0;
    for (int p = 0; p < o.publishers; ++p) {
        const uint32_t sent = sh.sent[size_t(p)].v.load();
        for_each_receipt(o, p, [&](size_t slot) { r.lost_tail += sent - sh.last_seq[slot].v.load(); });
    }
    r.failed = r.failed || sh.closed.load();
}

}  // namespace bench
