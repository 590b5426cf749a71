#include "idle.hpp"

#include <cstdio>

#include "clock.hpp"

namespace bench {

bool Idle::on_packet(Conn& c, const mqtt::Frame& f, uint64_t) {
    // An idle connection subscribes to nothing: anything but CONNACK/PINGRESP is a broker error.
    close(c, std::string("unexpected ") + mqtt::type_name(f.type()));
    return false;
}

void Idle::run(Result& r) {
    const int n = o_.connections;
    if (!init(static_cast<size_t>(n))) return void(r.failed = true);
    std::vector<Conn*> order;
    for (int i = 0; i < n; ++i)
        order.push_back(&add(Role::Idle, i));
    r.connections = static_cast<uint64_t>(n);

    if (o_.broker_pid) r.broker_before = sample_process(o_.broker_pid);
    const uint64_t t0 = now_ns();
    uint64_t last_progress = t0;
    auto tick = [&](uint64_t now) {
        if (o_.quiet || now - last_progress < 1'000'000'000) return;
        last_progress = now;
        std::fprintf(stderr, "roost-bench: %6.1fs connecting %zu of %d connected\n",
                     static_cast<double>(now - t0) / 1e9, ready_count(), n);
    };
    bool ok = connect_all(order, order.size(), tick);
    const uint64_t t_connected = now_ns();
    r.connect_s = static_cast<double>(t_connected - t0) / 1e9;
    if (!ok) {
        r.failed = true;
        disconnect_all(1.0);
        return;
    }
    // Every CONNACK is in: what the broker used since "before" is the cost of accepting them.
    if (o_.broker_pid) r.broker_start = sample_process(o_.broker_pid);

    const uint64_t end = t_connected + seconds_to_ns(o_.duration);
    uint64_t next_keepalive = t_connected;
    last_progress = t_connected;
    for (uint64_t now = now_ns(); now < end && !any_closed(); now = now_ns()) {
        if (now >= next_keepalive) {
            keepalive(now);
            next_keepalive = now + 250'000'000;
        }
        if (!o_.quiet && now - last_progress >= 1'000'000'000) {
            last_progress = now;
            std::fprintf(stderr, "roost-bench: %6.1fs holding   %zu connections, %llu PINGREQ sent\n",
                         static_cast<double>(now - t0) / 1e9, ready_count(),
                         static_cast<unsigned long long>(pings_sent()));
        }
        poll(static_cast<int>(std::min<uint64_t>(100, (end - now) / 1'000'000 + 1)));
    }
    r.held_s = static_cast<double>(now_ns() - t_connected) / 1e9;
    if (o_.broker_pid) r.broker_end = sample_process(o_.broker_pid);
    r.pings = pings_sent();
    r.pongs = pongs();
    r.failed = any_closed();
    disconnect_all(3.0);
}

}  // namespace bench
