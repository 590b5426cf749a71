#include "traffic.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "clock.hpp"

namespace bench {

namespace {
constexpr size_t kHeaderBytes = 16;
constexpr size_t kMaxWriteBuffer = 256 * 1024;
constexpr int kBatch = 64;  // PUBLISHes per publisher per turn: fair to the others and to reads
}  // namespace

int publisher_thread(const Options& o, int index, int threads) {
    // Fan-in: the one subscriber, which receives everything, is on thread 0; its publishers
    // start on thread 1.
    if (o.scenario == Scenario::FanIn) return (index + 1) % threads;
    return index % threads;
}

int subscriber_thread(const Options&, int index, int threads) {
    return index % threads;
}

State Traffic::on_connected(Conn& c) {
    if (c.role != Role::Subscriber) return State::Ready;
    mqtt::encode_subscribe(c.out, o_.version, 1, c.filter, o_.qos);
    return State::WaitSuback;
}

bool Traffic::on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) {
    switch (f.type()) {
        case mqtt::SUBACK: {
            std::string err;
            mqtt::Suback ack;
            if (c.state != State::WaitSuback) {
                close(c, "unexpected SUBACK");
                return false;
            }
            if (!mqtt::parse_suback(f, o_.version, ack, &err)) {
                close(c, err);
                return false;
            }
            if (ack.codes[0] >= 0x80) {
                close(c, "subscription to " + c.filter +
                             " refused: " + mqtt::reason_text(o_.version, ack.codes[0]));
                return false;
            }
            if (ack.codes[0] != o_.qos) fail(name(c) + ": granted QoS " + std::to_string(ack.codes[0]));
            set_ready(c);
            return true;
        }
        case mqtt::PUBLISH:
            if (c.role != Role::Subscriber || c.state != State::Ready) {
                close(c, "unexpected PUBLISH");
                return false;
            }
            on_publish(c, f, now);
            return c.fd >= 0;
        case mqtt::PUBACK:
        case mqtt::PUBREC:
        case mqtt::PUBREL:
        case mqtt::PUBCOMP:
            return on_ack(c, f);
        default:
            close(c, std::string("unexpected ") + mqtt::type_name(f.type()));
            return false;
    }
}

// Acknowledgements of both directions: PUBACK, PUBREC, PUBCOMP for a publisher's own PUBLISHes,
// PUBREL for a QoS 2 message a subscriber received.
bool Traffic::on_ack(Conn& c, const mqtt::Frame& f) {
    std::string err;
    mqtt::Ack ack;
    if (!mqtt::parse_ack(f, o_.version, ack, &err)) {
        close(c, err);
        return false;
    }
    const uint8_t type = f.type();
    const char* what = mqtt::type_name(type);
    if (type == mqtt::PUBREL) {
        if (c.role != Role::Subscriber) {
            close(c, "unexpected PUBREL");
            return false;
        }
        // The message was counted when its PUBLISH came; only the flow remains.
        mqtt::encode_ack(c.out, mqtt::PUBCOMP, ack.id);
        return true;
    }
    const uint8_t want_state = type == mqtt::PUBCOMP ? 2 : 1;
    const int flow_qos = type == mqtt::PUBACK ? 1 : 2;
    if (c.role != Role::Publisher || o_.qos != flow_qos) {
        close(c, std::string("unexpected ") + what);
        return false;
    }
    if (c.pid_state[ack.id] != want_state) {
        fail(name(c) + ": " + what + " for packet id " + std::to_string(ack.id) + " not in that state");
        return true;
    }
    if (ack.reason >= 0x80) {
        // MQTT 5: the broker did not take the message; the flow ends here.
        ++r_->rejected;
        fail(name(c) + ": " + what + " " + mqtt::reason_text(o_.version, ack.reason) +
             (ack.reason_string.empty() ? "" : " (" + ack.reason_string + ")"));
        c.pid_state[ack.id] = 0;
        --c.unacked;
        return true;
    }
    if (type == mqtt::PUBREC) {
        c.pid_state[ack.id] = 2;
        mqtt::encode_ack(c.out, mqtt::PUBREL, ack.id);
    } else {
        c.pid_state[ack.id] = 0;
        --c.unacked;
    }
    return true;
}

void Traffic::on_publish(Conn& c, const mqtt::Frame& f, uint64_t now) {
    std::string err;
    mqtt::Publish p;
    if (!mqtt::parse_publish(f, o_.version, p, &err)) {
        close(c, err);
        return;
    }
    if (p.qos == 1) mqtt::encode_ack(c.out, mqtt::PUBACK, p.id);
    if (p.qos == 2) mqtt::encode_ack(c.out, mqtt::PUBREC, p.id);
    if (p.qos != o_.qos) fail(name(c) + ": received QoS " + std::to_string(p.qos));
    if (p.topic_alias != 0) fail(name(c) + ": topic alias used, which the client never allowed");
    ++r_->received;
    if (p.payload_len < kHeaderBytes) {
        ++r_->unexpected;
        return;
    }
    uint32_t pub, seq;
    uint64_t ts;
    std::memcpy(&pub, p.payload, 4);
    std::memcpy(&seq, p.payload + 4, 4);
    std::memcpy(&ts, p.payload + 8, 8);
    if (pub >= static_cast<uint32_t>(o_.publishers) ||
        seq >= sh_.sent[pub].v.load(std::memory_order_acquire) || ts > now || !expects(c.index, int(pub))) {
        ++r_->unexpected;
        return;
    }
    const size_t k = slot(c.index, int(pub));
    Receipts& got = receipts_[k];
    const Receipts::Kind kind = got.add(seq);
    if (kind == Receipts::Kind::Duplicate) {
        ++r_->duplicates;
        return;
    }
    ++unique_;
    if (measuring_ && now >= measure_start_ && now < measure_end_) ++r_->delivered_in_window;
    if (kind == Receipts::Kind::Late)
        ++r_->out_of_order;
    else  // only this thread writes this slot (it owns the subscriber): a plain store
        sh_.last_seq[k].v.store(got.high(), std::memory_order_relaxed);
    if (measuring_ && ts >= measure_start_ && ts < measure_end_) r_->latency.add(now - ts);
}

void Traffic::wait_for_window(uint64_t now) {
    Wakeup& me = sh_.wakeups[static_cast<size_t>(thread_)];
    // Only a closed loop's windows are opened by other threads (and not in pairs); an open loop
    // waits for its clock.
    if (o_.rate > 0 || !windows_opened_elsewhere_ || wakeup_fd() < 0) return poll(1);
    me.sleeping.store(true, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool opened = false;
    for (Conn* p : pubs_)
        opened = opened || budget(*p, now, 1) > 0;
    poll(opened ? 0 : 1);
    me.sleeping.store(false, std::memory_order_relaxed);
}

std::vector<int> Traffic::find_wake_targets() const {
    std::vector<bool> wake(static_cast<size_t>(sh_.threads), false);
    auto sends_here = [&](int pub) {
        if (pub < o_.publishers) wake[static_cast<size_t>(publisher_thread(o_, pub, sh_.threads))] = true;
    };
    for (const Conn* s : subs_) {
        if (o_.scenario == Scenario::Pairs)
            sends_here(s->index);
        else if (o_.scenario == Scenario::FanOut)
            sends_here(0);
        else
            for (int p = 0; p < o_.publishers; ++p)
                sends_here(p);
    }
    std::vector<int> targets;
    for (int t = 0; t < sh_.threads; ++t)
        if (t != thread_ && wake[static_cast<size_t>(t)]) targets.push_back(t);
    return targets;
}

void Traffic::wake_window_waiters() {
    // Pairs never wake anyone: a publisher's window is opened by its own thread's subscriber,
    // and the eventfd writes and reads were 6-7 % of the syscalls there, each with a wake-up.
    if (r_->received == received_at_wake_ || wake_targets_.empty()) return;
    received_at_wake_ = r_->received;
    std::atomic_thread_fence(std::memory_order_seq_cst);  // our last_seq stores, then their flags
    for (int t : wake_targets_) {
        Wakeup& w = sh_.wakeups[static_cast<size_t>(t)];
        if (!w.sleeping.load(std::memory_order_relaxed)) continue;
        if (!w.sleeping.exchange(false, std::memory_order_acquire)) continue;  // someone else woke it
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(w.fd, &one, sizeof one);
    }
}

int Traffic::budget(Conn& c, uint64_t now, int most) {
    if (c.state != State::Ready || c.done) return 0;
    int n = most;
    if (o_.messages > 0) {
        if (c.next_seq >= o_.messages) return 0;
        n = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(n), o_.messages - c.next_seq));
    }
    const size_t queued = c.out.size() - c.out_off;
    if (queued >= kMaxWriteBuffer) return 0;
    // As many as fit the write buffer's bound (at least one, as a packet at a time would).
    const size_t packet = o_.payload + c.topic.size() + 16;
    n = static_cast<int>(
        std::min<size_t>(static_cast<size_t>(n), std::max<size_t>(1, (kMaxWriteBuffer - queued) / packet)));
    if (o_.qos > 0) {
        n = std::min(n, std::min<int>(o_.inflight, c.receive_maximum) - c.unacked);
        if (n <= 0) return 0;
    }
    if (o_.rate > 0) return n;  // open loop: only the schedule holds publishers back
    // Closed loop: the slowest receiver's progress, looked at once per turn (fan-out S=1000:
    // a thousand counters) rather than once per message.
    uint32_t slowest = c.next_seq;
    for (int s : c.receivers)
        slowest = std::min(slowest, sh_.last_seq[slot(s, c.index)].v.load(std::memory_order_relaxed));
    if (slowest != c.seen_slowest || c.slowest_since == 0) {
        c.seen_slowest = slowest;
        c.slowest_since = now;
    }
    slowest = std::max(slowest, c.window_floor);
    const uint32_t window = static_cast<uint32_t>(o_.window);
    if (c.next_seq - slowest >= window) {
        // The broker dropped (or sits on) a whole window: give up waiting for it, so one lost
        // burst costs --stall-timeout of this publisher's time, not the rest of the run.
        if (now - c.slowest_since < seconds_to_ns(o_.stall_timeout)) return 0;
        ++r_->stalls;
        c.window_floor = c.next_seq;
        c.slowest_since = now;
        return std::min<int>(n, o_.window);
    }
    return std::min<int>(n, static_cast<int>(window - (c.next_seq - slowest)));
}

void Traffic::publish_one(Conn& c, uint64_t now) {
    uint16_t id = 0;
    if (o_.qos > 0) {
        while (c.next_pid == 0 || c.pid_state[c.next_pid] != 0)
            ++c.next_pid;
        id = c.next_pid++;
        c.pid_state[id] = 1;
        ++c.unacked;
    }
    // Every PUBLISH of a connection is the same but for the packet id and the payload header:
    // one append of a whole packet, then those patched in place.
    if (c.publish_template.empty()) {
        mqtt::encode_publish_header(c.publish_template, o_.version, o_.qos, c.topic, 0, o_.payload);
        c.publish_template.append(kHeaderBytes, '\0');
        c.publish_template.append(payload_fill_);
    }
    const size_t at = c.out.size();
    c.out.append(c.publish_template);
    char* header = c.out.data() + at + (c.publish_template.size() - o_.payload);
    if (o_.qos > 0) {
        char* pid = header - 2 - (o_.version == mqtt::kV5 ? 1 : 0);
        pid[0] = static_cast<char>(id >> 8);
        pid[1] = static_cast<char>(id);
    }
    const uint32_t pub = static_cast<uint32_t>(c.index);
    const uint32_t seq = c.next_seq++;
    std::memcpy(header, &pub, 4);
    std::memcpy(header + 4, &seq, 4);
    std::memcpy(header + 8, &now, 8);
    // Before the bytes leave: a subscriber on another thread checks sequence numbers against it.
    sh_.sent[pub].v.store(c.next_seq, std::memory_order_release);
    ++r_->published;
    if (measuring_ && now >= measure_start_ && now < measure_end_) ++r_->published_in_window;
}

void Traffic::publish_stats() {
    ThreadStats& st = sh_.stats[static_cast<size_t>(thread_)];
    uint64_t unacked = 0;
    for (const Conn* p : pubs_)
        unacked += static_cast<uint64_t>(p->unacked);
    st.published.store(r_->published, std::memory_order_relaxed);
    st.received.store(r_->received, std::memory_order_relaxed);
    st.unique.store(unique_, std::memory_order_relaxed);
    st.unacked.store(unacked, std::memory_order_relaxed);
}

bool Traffic::connect() {
    // Subscribers first; publishers once every thread's subscribers have their SUBACK.
    std::vector<Conn*> order(subs_);
    order.insert(order.end(), pubs_.begin(), pubs_.end());
    bool counted = false;
    auto gate = [&](bool mine_ready) {
        if (sh_.failed.load()) return Gate::Abort;
        if (mine_ready && !counted) {
            counted = true;
            sh_.subscribed.fetch_add(1);
        }
        return mine_ready && sh_.subscribed.load() == sh_.threads ? Gate::Open : Gate::Wait;
    };
    if (!connect_all(order, subs_.size(), nullptr, gate)) return false;
    sh_.connected.fetch_add(1);
    // Until the coordinator starts the run (every thread connected), answer what comes.
    uint64_t next_keepalive = 0;
    while (sh_.phase.load(std::memory_order_acquire) == Phase::Connect) {
        if (sh_.failed.load() || any_closed()) return false;
        if (uint64_t now = now_ns(); now >= next_keepalive) {
            keepalive(now);
            next_keepalive = now + 250'000'000;
        }
        poll(2);
    }
    return sh_.phase.load(std::memory_order_acquire) == Phase::Run;
}

void Traffic::run(Result& r) {
    r_ = &r;
    const int P = o_.publishers, S = o_.subscribers;
    if (!init(static_cast<size_t>(P + S))) {
        r.failed = true;
        sh_.failed = true;
        return;
    }
    payload_fill_.assign(o_.payload - kHeaderBytes, 'x');
    for (int i = 0; i < S; ++i) {
        if (subscriber_thread(o_, i, sh_.threads) != thread_) continue;
        Conn& c = add(Role::Subscriber, i);
        c.filter = o_.prefix + "/" +
                   (o_.scenario == Scenario::FanIn    ? "+"
                    : o_.scenario == Scenario::FanOut ? "0"
                                                      : std::to_string(i));
        subs_.push_back(&c);
    }
    for (int i = 0; i < P; ++i) {
        if (publisher_thread(o_, i, sh_.threads) != thread_) continue;
        Conn& c = add(Role::Publisher, i);
        c.topic = o_.prefix + "/" + std::to_string(o_.scenario == Scenario::FanOut ? 0 : i);
        if (o_.qos > 0) c.pid_state.assign(65536, 0);
        for (int s = 0; s < S; ++s)
            if (expects(s, i)) c.receivers.push_back(s);
        pubs_.push_back(&c);
    }
    receipts_.assign(static_cast<size_t>(std::max(P, S)), {});
    wake_targets_ = find_wake_targets();

    for (const Conn* p : pubs_)
        for (int s : p->receivers)
            windows_opened_elsewhere_ =
                windows_opened_elsewhere_ || subscriber_thread(o_, s, sh_.threads) != thread_;
    if (windows_opened_elsewhere_ && make_wakeup_fd())
        sh_.wakeups[static_cast<size_t>(thread_)].fd = wakeup_fd();

    // Phase 1: subscribers connect and subscribe, then publishers connect.
    if (!connect()) {
        r.failed = true;
        sh_.failed = true;
        disconnect_all(0.5);
        return;
    }

    // Phase 2: warm-up, then the measurement window (both timed by the coordinator).
    measure_start_ = sh_.measure_start.load();
    measure_end_ = sh_.measure_end.load();
    measuring_ = true;
    const double per_pub_rate = o_.rate > 0 ? o_.rate / P : 0;
    // Open loop catches up after a late turn, but by at most 100 ms worth of messages.
    const double max_tokens = std::max(1.0, per_pub_rate * 0.1);
    uint64_t last_tick = sh_.t0, next_keepalive = sh_.t0;
    // Open loop: the publishers' buckets start a fraction of a message apart (i / P), so that
    // their messages spread over each period instead of all P leaving in the same instant with
    // the same timestamp (which measured a burst of P behind one another, not the broker: at 50
    // publishers and 4,000 msg/s, p50 was the middle of a 50-message burst every 12.5 ms).
    if (per_pub_rate > 0)
        for (Conn* p : pubs_)
            p->tokens = static_cast<double>(p->index) / P;
    ThreadStats& stats = sh_.stats[static_cast<size_t>(thread_)];
    while (sh_.phase.load(std::memory_order_acquire) == Phase::Run) {
        uint64_t now = now_ns();
        if (now >= measure_end_) break;
        if (now >= next_keepalive) {
            keepalive(now);
            next_keepalive = now + 250'000'000;
        }
        if (per_pub_rate > 0) {
            double dt = static_cast<double>(now - last_tick) / 1e9;
            last_tick = now;
            for (Conn* p : pubs_)
                p->tokens = std::min(p->tokens + dt * per_pub_rate, max_tokens);
        }
        bool any_can = false, all_sent = true;
        for (Conn* pp : pubs_) {
            Conn& p = *pp;
            int n = budget(p, now, kBatch);
            if (per_pub_rate > 0) n = std::min(n, static_cast<int>(p.tokens));
            for (int b = 0; b < n; ++b)
                publish_one(p, now);
            if (per_pub_rate > 0) p.tokens -= n;
            flush(p);
            if ((per_pub_rate == 0 || p.tokens >= 1.0) && budget(p, now, 1) > 0) any_can = true;
            if (o_.messages > 0 && p.next_seq < o_.messages) all_sent = false;
        }
        publish_stats();
        if (o_.messages > 0 && all_sent) stats.publishers_done.store(true);
        if (any_closed()) {
            sh_.closed = true;
            break;
        }
        if (any_can)
            poll(0);
        else
            wait_for_window(now);
        wake_window_waiters();
    }
    for (Conn* p : pubs_)
        p->done = true;
    publish_stats();
    sh_.left_run.fetch_add(1);

    // Phase 3: drain, until the coordinator has seen every message arrive (or gave up).
    while (sh_.phase.load(std::memory_order_acquire) != Phase::Done) {
        measure_start_ = sh_.measure_start.load();
        measure_end_ = sh_.measure_end.load();
        for (Conn* p : pubs_)
            flush(*p);
        poll(2);
        publish_stats();
        if (any_closed()) sh_.closed = true;
    }
    for (Conn* p : pubs_)
        if (o_.qos > 0 && p->unacked > 0 && p->fd >= 0)
            fail(name(*p) + ": " + std::to_string(p->unacked) + " QoS " + std::to_string(o_.qos) +
                 " flow(s) never completed by the broker");
    r.delivered = unique_;

    // Phase 4: disconnect.
    disconnect_all(1.0);
    r.failed = r.failed || any_closed();
}

}  // namespace bench
