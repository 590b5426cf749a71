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

State Traffic::on_connected(Conn& c) {
    if (c.role != Role::Subscriber) return State::Ready;
    mqtt::encode_subscribe(c.out, o_.version, 1, c.filter, o_.qos);
    return State::WaitSuback;
}

bool Traffic::on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) {
    std::string err;
    switch (f.type()) {
        case mqtt::SUBACK: {
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
    const std::string what = std::string(mqtt::type_name(type));
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
        close(c, "unexpected " + what);
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
    if (pub >= pubs_.size() || seq >= pubs_[pub]->next_seq || ts > now || !expects(c.index, int(pub))) {
        ++r_->unexpected;
        return;
    }
    const size_t k = slot(c.index, int(pub));
    std::vector<bool>& seen = seen_[k];
    if (seen.size() <= seq) seen.resize(std::max<size_t>(seq + 1, seen.size() * 2), false);
    if (seen[seq]) {
        ++r_->duplicates;
        return;
    }
    seen[seq] = true;
    ++unique_;
    if (measuring_ && now >= measure_start_ && now < measure_end_) ++r_->delivered_in_window;
    if (seq < last_seq_[k])
        ++r_->out_of_order;
    else
        last_seq_[k] = seq + 1;
    if (measuring_ && ts >= measure_start_ && ts < measure_end_) r_->latency.add(now - ts);
}

bool Traffic::can_publish(Conn& c, uint64_t now) {
    if (c.state != State::Ready || c.done) return false;
    if (o_.messages > 0 && c.next_seq >= o_.messages) return false;
    if (c.out.size() - c.out_off >= kMaxWriteBuffer) return false;
    if (o_.qos > 0 && c.unacked >= std::min<int>(o_.inflight, c.receive_maximum)) return false;
    if (o_.rate > 0) return true;  // open loop: only the schedule holds publishers back
    uint32_t slowest = c.next_seq;
    for (int s : c.receivers)
        slowest = std::min(slowest, last_seq_[slot(s, c.index)]);
    if (slowest != c.seen_slowest || c.slowest_since == 0) {
        c.seen_slowest = slowest;
        c.slowest_since = now;
    }
    slowest = std::max(slowest, c.window_floor);
    if (c.next_seq - slowest >= static_cast<uint32_t>(o_.window)) {
        // The broker dropped (or sits on) a whole window: give up waiting for it, so one lost
        // burst costs --stall-timeout of this publisher's time, not the rest of the run.
        if (now - c.slowest_since >= seconds_to_ns(o_.stall_timeout)) {
            ++r_->stalls;
            c.window_floor = c.next_seq;
            c.slowest_since = now;
            return true;
        }
        return false;
    }
    return true;
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
    mqtt::encode_publish_header(c.out, o_.version, o_.qos, c.topic, id, o_.payload);
    uint32_t pub = static_cast<uint32_t>(c.index);
    uint32_t seq = c.next_seq++;
    char h[kHeaderBytes];
    std::memcpy(h, &pub, 4);
    std::memcpy(h + 4, &seq, 4);
    std::memcpy(h + 8, &now, 8);
    c.out.append(h, kHeaderBytes);
    c.out.append(payload_fill_);
    ++r_->published;
    if (measuring_ && now >= measure_start_ && now < measure_end_) ++r_->published_in_window;
}

uint64_t Traffic::expected_total() const {
    uint64_t e = 0;
    for (const Conn* p : pubs_)
        e += static_cast<uint64_t>(p->next_seq) * p->receivers.size();
    return e;
}

void Traffic::progress(uint64_t now, const char* phase) {
    if (o_.quiet) return;
    double dt = static_cast<double>(now - last_progress_) / 1e9;
    if (dt <= 0) return;
    std::fprintf(stderr, "roost-bench: %6.1fs %-9s sent %" PRIu64 " (%.0f/s) received %" PRIu64 " (%.0f/s)\n",
                 static_cast<double>(now - t0_) / 1e9, phase, r_->published,
                 static_cast<double>(r_->published - last_published_) / dt, r_->received,
                 static_cast<double>(r_->received - last_received_) / dt);
    last_progress_ = now;
    last_published_ = r_->published;
    last_received_ = r_->received;
}

void Traffic::run(Result& r) {
    r_ = &r;
    const int P = o_.publishers, S = o_.subscribers;
    if (!init(static_cast<size_t>(P + S))) return void(r.failed = true);
    payload_fill_.assign(o_.payload - kHeaderBytes, 'x');
    for (int i = 0; i < S; ++i) {
        Conn& c = add(Role::Subscriber, i);
        c.filter = o_.prefix + "/" +
                   (o_.scenario == Scenario::FanIn    ? "+"
                    : o_.scenario == Scenario::FanOut ? "0"
                                                      : std::to_string(i));
        subs_.push_back(&c);
    }
    for (int i = 0; i < P; ++i) {
        Conn& c = add(Role::Publisher, i);
        c.topic = o_.prefix + "/" + std::to_string(o_.scenario == Scenario::FanOut ? 0 : i);
        if (o_.qos > 0) c.pid_state.assign(65536, 0);
        for (int s = 0; s < S; ++s)
            if (expects(s, i)) c.receivers.push_back(s);
        pubs_.push_back(&c);
    }
    const size_t slots = static_cast<size_t>(std::max(P, S));
    last_seq_.assign(slots, 0);
    seen_.assign(slots, {});

    if (o_.broker_pid) r.broker_before = sample_process(o_.broker_pid);

    // Phase 1: subscribers connect and subscribe, then publishers connect.
    std::vector<Conn*> order(subs_);
    order.insert(order.end(), pubs_.begin(), pubs_.end());
    t0_ = last_progress_ = now_ns();
    if (!connect_all(order, subs_.size(), nullptr)) {
        r.failed = true;
        disconnect_all(0.5);
        return;
    }

    // Phase 2: warm-up, then the measurement window.
    t0_ = last_progress_ = now_ns();
    measure_start_ = t0_ + seconds_to_ns(o_.warmup);
    measure_end_ = measure_start_ + seconds_to_ns(o_.duration);
    measuring_ = true;
    bool started = false;
    const double per_pub_rate = o_.rate > 0 ? o_.rate / P : 0;
    // Open loop catches up after a late turn, but by at most 100 ms worth of messages.
    const double max_tokens = std::max(1.0, per_pub_rate * 0.1);
    uint64_t last_tick = t0_, next_keepalive = t0_;
    for (;;) {
        uint64_t now = now_ns();
        if (!started && now >= measure_start_) {
            started = true;
            if (o_.broker_pid) r.broker_start = sample_process(o_.broker_pid);
        }
        if (now >= measure_end_) break;
        if (o_.messages > 0 &&
            std::all_of(pubs_.begin(), pubs_.end(), [&](Conn* p) { return p->next_seq >= o_.messages; }))
            break;
        if (now - last_progress_ >= 1'000'000'000) progress(now, started ? "measuring" : "warm-up");
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
        bool any_can = false;
        for (Conn* pp : pubs_) {
            Conn& p = *pp;
            for (int b = 0; b < kBatch; ++b) {
                if (per_pub_rate > 0 && p.tokens < 1.0) break;
                if (!can_publish(p, now)) break;
                publish_one(p, now);
                if (per_pub_rate > 0) p.tokens -= 1.0;
            }
            flush(p);
            if (can_publish(p, now) && (per_pub_rate == 0 || p.tokens >= 1.0)) any_can = true;
        }
        if (any_closed()) break;
        poll(any_can ? 0 : 1);
    }
    const uint64_t t_stop = now_ns();
    if (!started) {  // --messages ran out during the warm-up: measure from the start
        measure_start_ = t0_;
        if (o_.broker_pid) r.broker_start = r.broker_before;
    }
    measure_end_ = std::min(measure_end_, t_stop);
    r.measured_s = static_cast<double>(measure_end_ - measure_start_) / 1e9;
    if (o_.broker_pid) r.broker_end = sample_process(o_.broker_pid);
    for (Conn* p : pubs_)
        p->done = true;

    // Phase 3: drain.
    const uint64_t drain_deadline = t_stop + seconds_to_ns(o_.drain);
    uint64_t last_change = t_stop, last_count = r.received;
    while (!any_closed()) {
        uint64_t now = now_ns();
        bool acks_done = std::all_of(pubs_.begin(), pubs_.end(), [](Conn* p) { return p->unacked == 0; });
        if (acks_done && unique_ >= expected_total()) break;
        if (now >= drain_deadline) break;
        if (r.received != last_count) {
            last_count = r.received;
            last_change = now;
        } else if (acks_done && now - last_change > seconds_to_ns(o_.drain_idle)) {
            break;
        }
        if (now - last_progress_ >= 1'000'000'000) progress(now, "drain");
        for (Conn* p : pubs_)
            flush(*p);
        poll(2);
    }
    for (Conn* p : pubs_)
        if (o_.qos > 0 && p->unacked > 0 && p->fd >= 0)
            fail(name(*p) + ": " + std::to_string(p->unacked) + " QoS " + std::to_string(o_.qos) +
                 " flow(s) never completed by the broker");

    r.expected = expected_total();
    r.delivered = unique_;
    r.lost = r.expected > unique_ ? r.expected - unique_ : 0;
    for (Conn* p : pubs_)
        for (int s : p->receivers)
            r.lost_tail += p->next_seq - last_seq_[slot(s, p->index)];

    // Phase 4: disconnect.
    disconnect_all(1.0);
    r.failed = r.failed || any_closed();
}

}  // namespace bench
