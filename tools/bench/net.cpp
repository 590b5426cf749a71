#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clock.hpp"

namespace bench {

namespace {
// A connection's own write buffer is compacted once this much of it has been written.
constexpr size_t kCompactAt = 64 * 1024;
// Bytes one read may take from a socket.
constexpr size_t kReadBuffer = 256 * 1024;
}  // namespace

Net::Net(const Options& o) : o_(o) {}

Net::~Net() {
    for (auto& c : conns_)
        if (c->fd >= 0) ::close(c->fd);
    if (ep_ >= 0) ::close(ep_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool Net::init(size_t fds) {
    if (inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) {
        fail("--host must be an IPv4 address: " + o_.host);
        return false;
    }
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o_.port));
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        fail(std::string("epoll_create1: ") + std::strerror(errno));
        return false;
    }
    // One socket per connection, plus stdio, epoll and /proc reads: raise the soft limit as far
    // as needed (and the hard one too, which root may), rather than fail at connection 1021.
    const rlim_t want = static_cast<rlim_t>(fds) + 32;
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rlimit raised{std::min(want, rl.rlim_max), rl.rlim_max};
        if (rl.rlim_max < want) {
            rlimit both{want, want};
            if (setrlimit(RLIMIT_NOFILE, &both) == 0) raised = both;
        }
        setrlimit(RLIMIT_NOFILE, &raised);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want) {
            fail("open-file limit " + std::to_string(rl.rlim_cur) + " is too low for " + std::to_string(fds) +
                 " connections (raise it with ulimit -n)");
            return false;
        }
    }
    return true;
}

Conn& Net::add(Role role, int index) {
    auto c = std::make_unique<Conn>();
    c->role = role;
    c->index = index;
    conns_.push_back(std::move(c));
    return *conns_.back();
}

std::string Net::name(const Conn& c) const {
    const char* r = c.role == Role::Publisher    ? "publisher "
                    : c.role == Role::Subscriber ? "subscriber "
                                                 : "connection ";
    return r + std::to_string(c.index);
}

void Net::fail(const std::string& msg) {
    if (errors_.size() < 10) errors_.push_back(msg);
    ++error_count_;
}

bool Net::start_connect(Conn& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        c.state = State::Closed;
        ++closed_;
        fail(name(c) + ": socket: " + std::strerror(errno));
        return false;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o_.source_ips > 1) {
        // Linux searches the local port range for each connect(); with ~14k connections from one
        // address to one port that search dominates. Another source address (the whole of
        // 127/8 is loopback) gives each its own port range; the port is still chosen at connect.
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001u + static_cast<uint32_t>(started_ % size_t(o_.source_ips)));
        setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) < 0) {
            close(c, std::string("bind: ") + std::strerror(errno));
            return false;
        }
    }
    ++started_;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) < 0 && errno != EINPROGRESS) {
        close(c, std::string("connect: ") + std::strerror(errno));
        return false;
    }
    c.state = State::Connecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_write = true;
    // Unique per process and connection, so two runs against one broker do not take over each
    // other's sessions.
    std::string id = "rb" + std::to_string(getpid()) + "-" + name(c).substr(0, 1) + std::to_string(c.index);
    size_t mqtt_from = c.out.size();
    mqtt::encode_connect(c.out, o_.version, id, o_.keep_alive, o_.clean);
    if (o_.ws) ws::begin(c, mqtt_from, o_.host, o_.port, o_.ws_path);
    return true;
}

void Net::close(Conn& c, const std::string& why) {
    if (c.fd >= 0) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        c.tls.reset();
        ::close(c.fd);
        c.fd = -1;
    }
    if (c.state != State::Closed && c.state != State::Closing) {
        ++closed_;
        if (!why.empty()) fail(name(c) + ": " + why);
    }
    c.state = State::Closed;
}

void Net::set_ready(Conn& c) {
    c.state = State::Ready;
    ++ready_;
}

void Net::update_epoll(Conn& c) {
    if (c.fd < 0) return;
    bool want = c.out_off < c.out.size() || c.state == State::Connecting;
    if (want == c.want_write) return;
    c.want_write = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Net::flush(Conn& c) {
    if (c.fd < 0 || c.state == State::Connecting) return;
    if (o_.ws) ws::frame_out(c);
    while (c.out_off < c.out.size()) {
        std::string tls_error;
        ssize_t n = c.tls ? tls::send(*c.tls, c.out.data() + c.out_off, c.out.size() - c.out_off, tls_error)
                          : ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += static_cast<size_t>(n);
            c.last_send = now_ns();
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            close(c, tls_error.empty() ? std::string("write: ") + std::strerror(errno) : tls_error);
            return;
        }
    }
    if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
    } else if (c.out_off > kCompactAt) {
        c.out.erase(0, c.out_off);
        c.out_off = 0;
    }
    c.ws.framed = c.out.size();  // --ws: all of it is framed now
    update_epoll(c);
}

bool Net::make_wakeup_fd() {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    return epoll_ctl(ep_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0;
}

void Net::poll(int timeout_ms) {
    epoll_event events[256];
    int n = epoll_wait(ep_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
        if (!events[i].data.ptr) {  // the wake-up: it only had to end the wait
            uint64_t count;
            [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
            continue;
        }
        on_events(*static_cast<Conn*>(events[i].data.ptr), events[i].events);
    }
}

void Net::on_events(Conn& c, uint32_t events) {
    if (c.fd < 0) return;
    if (c.state == State::Connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            close(c, std::string("connect: ") + std::strerror(err));
            return;
        }
        c.state = State::WaitConnack;
        if (o_.tls) {
            std::string error;
            if (!(c.tls = tls::start(c.fd, error))) return close(c, error);
        }
        flush(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
    if (c.fd >= 0 && (events & EPOLLOUT)) flush(c);
}

long Net::handle_all(Conn& c, const uint8_t* p, size_t n, uint64_t now) {
    size_t off = 0;
    for (;;) {
        mqtt::Frame f;
        long len = mqtt::split_frame(p + off, n - off, f);
        if (len < 0) {
            close(c, "malformed remaining length from the broker");
            return -1;
        }
        if (len == 0) return static_cast<long>(off);
        if (!handle(c, f, now)) return -1;
        off += static_cast<size_t>(len);
    }
}

void Net::on_readable(Conn& c) {
    // One big buffer per thread: a read takes whatever the socket holds (many packets), and
    // packets are handled where they landed; only a packet cut at the end is copied (to c.in).
    if (read_buf_.empty()) read_buf_.resize(kReadBuffer);
    uint8_t* buf = read_buf_.data();
    const size_t cap = read_buf_.size();
    for (;;) {
        std::string tls_error;
        ssize_t n = c.tls ? tls::recv(*c.tls, buf, cap, tls_error) : ::recv(c.fd, buf, cap, 0);
        if (n > 0) {
            // The receipt time, taken after the read: with --threads a publisher on another thread
            // may have stamped a message after this thread's epoll_wait returned.
            const uint64_t now = now_ns();
            const size_t got = static_cast<size_t>(n);
            // While closing, what still arrives is not counted: the run is over.
            if (c.state != State::Closing) {
                if (o_.ws) {
                    if (std::string err = ws::on_bytes(c, buf, got); !err.empty()) {
                        close(c, err);
                        return;
                    }
                }
                if (!o_.ws && c.in.empty()) {
                    long used = handle_all(c, buf, got, now);
                    if (used < 0) return;
                    c.in.assign(buf + used, buf + got);
                } else {
                    if (!o_.ws) c.in.insert(c.in.end(), buf, buf + got);
                    long used = handle_all(c, c.in.data(), c.in.size(), now);
                    if (used < 0) return;
                    c.in.erase(c.in.begin(), c.in.begin() + used);
                }
            }
            // A short read emptied the socket (epoll is level-triggered: more will be announced);
            // TLS hands out a record at a time, so it reads on while it holds bytes.
            if (c.tls ? !tls::pending(*c.tls) : got < cap) break;
        } else if (n == 0) {
            close(c, "connection closed by the broker");
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            close(c, tls_error.empty() ? std::string("read: ") + std::strerror(errno) : tls_error);
            return;
        }
    }
    flush(c);  // acknowledgements queued while handling
}

bool Net::handle(Conn& c, const mqtt::Frame& f, uint64_t now) {
    switch (f.type()) {
        case mqtt::CONNACK: {
            std::string err;
            mqtt::Connack ack;
            if (c.state != State::WaitConnack) {
                close(c, "unexpected CONNACK");
                return false;
            }
            if (!mqtt::parse_connack(f, o_.version, ack, &err)) {
                close(c, err);
                return false;
            }
            if (ack.code != 0) {
                close(c, "CONNACK refused: " + mqtt::reason_text(o_.version, ack.code, true) +
                             (ack.reason_string.empty() ? "" : " (" + ack.reason_string + ")"));
                return false;
            }
            if (ack.receive_maximum > 0) c.receive_maximum = ack.receive_maximum;
            if (ack.maximum_qos < o_.qos) {
                close(c, "the broker's Maximum QoS is " + std::to_string(ack.maximum_qos));
                return false;
            }
            State next = on_connected(c);
            if (next == State::Ready)
                set_ready(c);
            else
                c.state = next;
            return true;
        }
        case mqtt::PINGRESP:
            c.ping_sent = 0;
            ++pongs_;
            return true;
        case mqtt::DISCONNECT: {
            std::string err;
            mqtt::Disconnect d;
            if (!mqtt::parse_disconnect(f, o_.version, d, &err)) {
                close(c, err);
                return false;
            }
            close(c, "DISCONNECT from the broker: " + mqtt::reason_text(o_.version, d.reason) +
                         (d.reason_string.empty() ? "" : " (" + d.reason_string + ")"));
            return false;
        }
        default:
            if (c.state == State::WaitConnack) {
                close(c, std::string("expected CONNACK, got ") + mqtt::type_name(f.type()));
                return false;
            }
            return on_packet(c, f, now);
    }
}

State Net::on_connected(Conn&) {
    return State::Ready;
}

bool Net::connect_all(const std::vector<Conn*>& order, size_t barrier,
                      const std::function<void(uint64_t)>& tick, const GateFn& gate) {
    const uint64_t deadline = now_ns() + seconds_to_ns(o_.connect_timeout);
    const size_t max_pending = static_cast<size_t>(o_.connect_concurrency);
    uint64_t next_tick = now_ns() + 100'000'000;
    size_t next = 0;
    for (;;) {
        if (closed_ > 0) return false;
        const bool mine_ready = ready_ >= barrier;
        const Gate g = gate ? gate(mine_ready) : mine_ready ? Gate::Open : Gate::Wait;
        if (g == Gate::Abort) return false;
        size_t pending = next - ready_;
        while (pending < max_pending && next < order.size()) {
            if (next >= barrier && (!mine_ready || g != Gate::Open)) break;
            if (!start_connect(*order[next])) return false;
            ++next;
            ++pending;
        }
        if (ready_ == order.size()) return true;
        uint64_t now = now_ns();
        if (now > deadline) {
            fail("time-out: " + std::to_string(ready_) + " of " + std::to_string(order.size()) +
                 " connections ready after " + std::to_string(o_.connect_timeout) + " s");
            return false;
        }
        if (now >= next_tick) {
            next_tick = now + 100'000'000;
            if (tick) tick(now);
        }
        poll(10);
    }
}

void Net::keepalive(uint64_t now) {
    if (o_.keep_alive == 0) return;
    const uint64_t ka = seconds_to_ns(o_.keep_alive);
    for (auto& cp : conns_) {
        Conn& c = *cp;
        if (c.fd < 0 || (c.state != State::Ready && c.state != State::WaitSuback)) continue;
        if (c.ping_sent != 0) {
            if (now - c.ping_sent > ka) {
                close(c, "no PINGRESP within the keep alive");
            }
            continue;
        }
        if (now - c.last_send >= ka / 2) {
            mqtt::encode_pingreq(c.out);
            c.ping_sent = now;
            ++pings_sent_;
            flush(c);
        }
    }
}

void Net::disconnect_all(double timeout_s) {
    size_t open = 0;
    for (auto& cp : conns_) {
        Conn& c = *cp;
        if (c.fd < 0) continue;
        if (c.state == State::Connecting) {
            close(c, "");
            continue;
        }
        mqtt::encode_disconnect(c.out);
        flush(c);
        if (c.fd < 0) continue;
        c.state = State::Closing;
        if (c.out_off == c.out.size()) shutdown(c.fd, SHUT_WR);
        ++open;
    }
    const uint64_t deadline = now_ns() + seconds_to_ns(timeout_s);
    while (open > 0 && now_ns() < deadline) {
        poll(10);
        open = 0;
        for (auto& cp : conns_)
            if (cp->fd >= 0) ++open;
    }
    for (auto& cp : conns_)
        if (cp->fd >= 0) close(*cp, "");
}

}  // namespace bench
