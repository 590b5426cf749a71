// loadgen: an MQTT 3.1.1 load generator for benchmarking brokers (Roost, Mosquitto, any other).
//
// It speaks just enough MQTT 3.1.1 itself (CONNECT, SUBSCRIBE, PUBLISH QoS 0/1, PUBACK, DISCONNECT)
// and depends on nothing of Roost, so it measures every broker the same way. One thread, epoll,
// non-blocking sockets: publishers and subscribers are all connections of this one process.
//
// Every PUBLISH payload starts with a 16-byte header: publisher index (u32), sequence number (u32),
// send time (u64, CLOCK_MONOTONIC ns, taken when the packet is queued for writing). The subscriber
// side uses it for latency (publish -> receipt), losses, duplicates and reordering.
//
// Flow control, so the generator measures the broker rather than kernel socket buffers:
//   * end-to-end window: a publisher pauses while it is more than --window messages ahead of the
//     slowest subscriber that receives its messages (by sequence number, so a lost QoS 0 message
//     does not stall it);
//   * QoS 1: at most --inflight unacknowledged PUBLISHes per publisher;
//   * no more than 256 KiB waiting in a connection's own write buffer.
// --rate R (messages/s published, over all publishers) paces publishers; 0 = as fast as the
// windows allow.
//
// Phases: connect + subscribe (all SUBACKs before the first PUBLISH), warm-up (messages count for
// losses but not for the rate or latency), measurement, then drain: publishers stop and the
// generator waits until every expected message arrived (or nothing arrived for --drain-idle, or
// --drain seconds passed); what is still missing then is lost.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr double kMaxDuration = 60.0;
constexpr size_t kHeaderBytes = 16;
constexpr size_t kMaxWriteBuffer = 256 * 1024;
constexpr int kMaxPendingConnects = 64;

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string scenario = "custom";  // pairwise, fanin, fanout, custom
    int publishers = -1;
    int subscribers = -1;
    int topics = -1;
    int qos = 0;
    size_t payload = 16;
    double duration = 5.0;
    double warmup = -1;  // -1: min(1 s, duration / 4)
    double rate = 0;     // messages/s published, all publishers together; 0 = unlimited
    int window = 64;     // end-to-end: messages a publisher may be ahead of its slowest subscriber
    int inflight = 32;   // QoS 1: unacknowledged PUBLISHes per publisher
    uint64_t count = 0;  // messages per publisher, 0 = unlimited (the duration still bounds it)
    double drain = 3.0;
    double drain_idle = 0.5;
    double stall_timeout = 0.25;
    double connect_timeout = 10.0;
    std::string prefix = "bench";
    std::string label;
    bool json = false;
};

[[noreturn]] void usage(int code) {
    std::fprintf(code == 0 ? stdout : stderr,
                 "usage: loadgen [options]\n"
                 "  --host ADDR          broker IPv4 address (default 127.0.0.1)\n"
                 "  --port P             broker port (default 1883)\n"
                 "  --scenario S         pairwise | fanin | fanout | custom (default custom)\n"
                 "                         pairwise: N publishers, each to its own subscriber\n"
                 "                         fanin:    N publishers, one subscriber on PREFIX/#\n"
                 "                         fanout:   one publisher, M subscribers on one topic\n"
                 "                         custom:   publisher i -> PREFIX/(i%%T), subscriber j\n"
                 "                                   subscribes PREFIX/(j%%T)\n"
                 "  --publishers N       (pairwise/fanin/custom; default 8, custom 1)\n"
                 "  --subscribers M      (fanout/custom; default 8, custom 1)\n"
                 "  --topics T           (custom; default 1)\n"
                 "  --qos 0|1            QoS of PUBLISH and SUBSCRIBE (default 0)\n"
                 "  --payload BYTES      payload size, at least 16 (default 16)\n"
                 "  --duration SECONDS   publishing time incl. warm-up, at most 60 (default 5)\n"
                 "  --warmup SECONDS     not counted in rate/latency (default min(1, duration/4))\n"
                 "  --rate MSGS_PER_S    total publish rate, 0 = as fast as possible (default 0)\n"
                 "  --window K           a publisher pauses when K messages ahead of its slowest\n"
                 "                       subscriber (default 64)\n"
                 "  --inflight K         QoS 1: max unacknowledged PUBLISHes per publisher (default 32)\n"
                 "  --count N            max messages per publisher, 0 = unlimited (default 0)\n"
                 "  --drain SECONDS      max wait for outstanding messages at the end (default 3)\n"
                 "  --stall-timeout S    a publisher whose window has not moved for S seconds\n"
                 "                       gives up on it and goes on (counted as a stall; default 0.25)\n"
                 "  --drain-idle SECONDS  ... or until nothing arrived for this long (default 0.5)\n"
                 "  --prefix STR         topic prefix (default bench)\n"
                 "  --label STR          free text copied into the output\n"
                 "  --json               print one JSON object instead of one text line\n"
                 "Exit status: 0 measured (losses are reported, not an error), 1 the run failed\n"
                 "(connection refused/closed, protocol error, timeout), 2 usage error.\n");
    std::exit(code);
}

double parse_double(const char* name, const char* v) {
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || !std::isfinite(d) || d < 0) {
        std::fprintf(stderr, "loadgen: bad value for %s: %s\n", name, v);
        usage(2);
    }
    return d;
}

long parse_long(const char* name, const char* v, long lo, long hi) {
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi) {
        std::fprintf(stderr, "loadgen: bad value for %s: %s (expected %ld..%ld)\n", name, v, lo, hi);
        usage(2);
    }
    return n;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "loadgen: %s needs a value\n", argv[i]);
                usage(2);
            }
            return argv[++i];
        };
        if (a == "-h" || a == "--help") usage(0);
        else if (a == "--host") o.host = next();
        else if (a == "--port") o.port = static_cast<int>(parse_long("--port", next(), 1, 65535));
        else if (a == "--scenario") o.scenario = next();
        else if (a == "--publishers") o.publishers = static_cast<int>(parse_long("--publishers", next(), 1, 10000));
        else if (a == "--subscribers") o.subscribers = static_cast<int>(parse_long("--subscribers", next(), 1, 10000));
        else if (a == "--topics") o.topics = static_cast<int>(parse_long("--topics", next(), 1, 10000));
        else if (a == "--qos") o.qos = static_cast<int>(parse_long("--qos", next(), 0, 1));
        else if (a == "--payload") o.payload = static_cast<size_t>(parse_long("--payload", next(), kHeaderBytes, 16 * 1024 * 1024));
        else if (a == "--duration") o.duration = parse_double("--duration", next());
        else if (a == "--warmup") o.warmup = parse_double("--warmup", next());
        else if (a == "--rate") o.rate = parse_double("--rate", next());
        else if (a == "--window") o.window = static_cast<int>(parse_long("--window", next(), 1, 1000000));
        else if (a == "--inflight") o.inflight = static_cast<int>(parse_long("--inflight", next(), 1, 65535));
        else if (a == "--count") o.count = static_cast<uint64_t>(parse_long("--count", next(), 0, 4000000000L));
        else if (a == "--drain") o.drain = parse_double("--drain", next());
        else if (a == "--stall-timeout") o.stall_timeout = parse_double("--stall-timeout", next());
        else if (a == "--drain-idle") o.drain_idle = parse_double("--drain-idle", next());
        else if (a == "--prefix") o.prefix = next();
        else if (a == "--label") o.label = next();
        else if (a == "--json") o.json = true;
        else {
            std::fprintf(stderr, "loadgen: unknown option %s\n", argv[i]);
            usage(2);
        }
    }
    if (o.duration <= 0 || o.duration > kMaxDuration) {
        std::fprintf(stderr, "loadgen: --duration must be in (0, %g]\n", kMaxDuration);
        usage(2);
    }
    o.drain = std::min(o.drain, 30.0);
    if (o.warmup < 0) o.warmup = std::min(1.0, o.duration / 4);
    if (o.warmup >= o.duration) {
        std::fprintf(stderr, "loadgen: --warmup must be shorter than --duration\n");
        usage(2);
    }
    if (o.scenario == "pairwise") {
        if (o.publishers < 0) o.publishers = 8;
        o.subscribers = o.publishers;
        o.topics = o.publishers;
    } else if (o.scenario == "fanin") {
        if (o.publishers < 0) o.publishers = 8;
        o.subscribers = 1;
        o.topics = o.publishers;
    } else if (o.scenario == "fanout") {
        o.publishers = 1;
        if (o.subscribers < 0) o.subscribers = 8;
        o.topics = 1;
    } else if (o.scenario == "custom") {
        if (o.publishers < 0) o.publishers = 1;
        if (o.subscribers < 0) o.subscribers = 1;
        if (o.topics < 0) o.topics = 1;
    } else {
        std::fprintf(stderr, "loadgen: unknown scenario %s\n", o.scenario.c_str());
        usage(2);
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: log-linear buckets (64 per power of two, < 1.6 % error), values in ns.

class Histogram {
public:
    Histogram() : counts_(kBuckets, 0) {}
    void add(uint64_t v) {
        ++counts_[index(v)];
        ++total_;
        max_ = std::max(max_, v);
    }
    uint64_t total() const { return total_; }
    uint64_t max() const { return max_; }
    // Upper bound of the bucket holding the q-quantile.
    uint64_t quantile(double q) const {
        if (total_ == 0) return 0;
        uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
        rank = std::max<uint64_t>(rank, 1);
        uint64_t seen = 0;
        for (size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static constexpr int kSub = 64;  // sub-buckets per power of two
    static constexpr size_t kBuckets = (64 - 6 + 1) * kSub;
    static size_t index(uint64_t v) {
        if (v < kSub) return static_cast<size_t>(v);
        int bits = 64 - __builtin_clzll(v);  // >= 7
        int shift = bits - 7;                // v >> shift in [64, 128)
        return static_cast<size_t>((shift + 1) * kSub) + static_cast<size_t>((v >> shift) - kSub);
    }
    static uint64_t upper(size_t i) {
        if (i < kSub) return i;
        uint64_t shift = i / kSub - 1;
        uint64_t base = (i % kSub) + kSub;
        return ((base + 1) << shift) - 1;
    }
    std::vector<uint64_t> counts_;
    uint64_t total_ = 0;
    uint64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// MQTT 3.1.1 encoding

void put_u16(std::string& s, uint16_t v) {
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v & 0xff));
}

void put_str(std::string& s, std::string_view v) {
    put_u16(s, static_cast<uint16_t>(v.size()));
    s.append(v);
}

void put_varint(std::string& s, size_t n) {
    do {
        uint8_t b = n % 128;
        n /= 128;
        if (n > 0) b |= 0x80;
        s.push_back(static_cast<char>(b));
    } while (n > 0);
}

void put_packet(std::string& out, uint8_t first, const std::string& body) {
    out.push_back(static_cast<char>(first));
    put_varint(out, body.size());
    out.append(body);
}

std::string connect_packet(const std::string& client_id) {
    std::string body;
    put_str(body, "MQTT");
    body.push_back(4);     // protocol level 3.1.1
    body.push_back(0x02);  // clean session
    put_u16(body, 300);    // keep alive (runs are far shorter)
    put_str(body, client_id);
    std::string out;
    put_packet(out, 0x10, body);
    return out;
}

std::string subscribe_packet(uint16_t id, const std::string& filter, int qos) {
    std::string body;
    put_u16(body, id);
    put_str(body, filter);
    body.push_back(static_cast<char>(qos));
    std::string out;
    put_packet(out, 0x82, body);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Connections

enum class Role { Publisher, Subscriber };
enum class State { Idle, Connecting, WaitConnack, WaitSuback, Ready, Closed };

struct Conn {
    Role role = Role::Publisher;
    int index = 0;  // publisher or subscriber index
    int fd = -1;
    State state = State::Idle;
    std::string out;
    size_t out_off = 0;
    std::vector<uint8_t> in;
    bool want_write = false;
    bool disconnecting = false;

    // Publisher
    int topic = 0;
    std::string topic_name;
    uint32_t next_seq = 0;  // messages sent so far (sequence numbers 0..next_seq-1)
    uint32_t acked = 0;     // QoS 1 PUBACKs received
    int unacked = 0;
    uint16_t next_pid = 1;
    std::vector<uint8_t> pid_inflight;  // QoS 1: 1 if the packet id is unacknowledged
    std::vector<int> receivers;         // subscriber indexes that get this publisher's messages
    double tokens = 0;                  // --rate token bucket
    uint32_t window_floor = 0;          // after a stall: messages given up on for flow control
    uint32_t seen_slowest = 0;          // slowest receiver's progress when last looked at
    uint64_t slowest_since = 0;         // when seen_slowest last changed
    bool done = false;

    // Subscriber
    std::string filter;
    bool wildcard = false;
};

struct Stats {
    uint64_t published = 0;
    uint64_t received = 0;  // all PUBLISHes received by subscribers (incl. duplicates)
    uint64_t received_in_window = 0;
    uint64_t duplicates = 0;
    uint64_t reordered = 0;
    uint64_t unexpected = 0;  // payload that is not ours / publisher that should not reach this sub
    uint64_t window_stalls = 0;  // publishers that waited --stall-timeout for a window that never moved
    uint64_t gaps = 0;  // times a subscriber saw a sequence number jump (messages missing before it)
    Histogram latency;
};

class LoadGen {
public:
    explicit LoadGen(const Options& o) : o_(o) {}

    int run();

private:
    void fail(const std::string& msg) {
        if (errors_.size() < 10) errors_.push_back(msg);
        ++error_count_;
    }
    std::string conn_name(const Conn& c) const {
        return (c.role == Role::Publisher ? "publisher " : "subscriber ") + std::to_string(c.index);
    }
    bool start_connect(Conn& c);
    void close_conn(Conn& c, const std::string& why);
    void flush(Conn& c);
    void update_epoll(Conn& c);
    void on_readable(Conn& c, uint64_t now);
    bool handle_packet(Conn& c, uint8_t type, const uint8_t* p, size_t n, uint64_t now);
    void on_publish_received(Conn& c, uint8_t flags, const uint8_t* p, size_t n, uint64_t now);
    bool can_publish(Conn& c, uint64_t now);
    void publish_one(Conn& c, uint64_t now);
    uint64_t expected_total() const;
    uint64_t unique_total() const;
    void report(double measured_s, bool ok);

    const Options& o_;
    int ep_ = -1;
    sockaddr_in addr_{};
    std::vector<std::unique_ptr<Conn>> pubs_;
    std::vector<std::unique_ptr<Conn>> subs_;
    // last_seq_[sub * P + pub]: highest sequence number + 1 seen (0 = none); unique_[...] count.
    std::vector<uint32_t> last_seq_;
    std::vector<uint32_t> unique_;
    Stats st_;
    std::vector<std::string> errors_;
    uint64_t error_count_ = 0;
    uint64_t measure_start_ = 0;
    uint64_t measure_end_ = 0;
    bool measuring_ = false;
    uint64_t last_measured_receipt_ = 0;
    std::string payload_template_;
};

bool LoadGen::start_connect(Conn& c) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(conn_name(c) + ": socket: " + std::strerror(errno));
        return false;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc < 0 && errno != EINPROGRESS) {
        fail(conn_name(c) + ": connect: " + std::strerror(errno));
        ::close(c.fd);
        c.fd = -1;
        c.state = State::Closed;
        return false;
    }
    c.state = State::Connecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_write = true;
    c.out = connect_packet("lg" + std::to_string(getpid()) + (c.role == Role::Publisher ? "p" : "s") +
                           std::to_string(c.index));
    c.out_off = 0;
    return true;
}

void LoadGen::close_conn(Conn& c, const std::string& why) {
    if (c.fd >= 0) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
    }
    if (c.state != State::Closed && !c.disconnecting && !why.empty()) fail(conn_name(c) + ": " + why);
    c.state = State::Closed;
}

void LoadGen::update_epoll(Conn& c) {
    if (c.fd < 0) return;
    bool want = c.out_off < c.out.size() || c.state == State::Connecting;
    if (want == c.want_write) return;
    c.want_write = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
}

void LoadGen::flush(Conn& c) {
    if (c.fd < 0 || c.state == State::Connecting) return;
    while (c.out_off < c.out.size()) {
        ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c.out_off += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            close_conn(c, std::string("write: ") + std::strerror(errno));
            return;
        }
    }
    if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
    } else if (c.out_off > 64 * 1024) {
        c.out.erase(0, c.out_off);
        c.out_off = 0;
    }
    update_epoll(c);
}

void LoadGen::on_readable(Conn& c, uint64_t now) {
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
            c.in.insert(c.in.end(), buf, buf + n);
            if (static_cast<size_t>(n) < sizeof buf) break;
        } else if (n == 0) {
            close_conn(c, "connection closed by the broker");
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            close_conn(c, std::string("read: ") + std::strerror(errno));
            return;
        }
    }
    size_t off = 0;
    while (c.in.size() - off >= 2) {
        const uint8_t* p = c.in.data() + off;
        size_t avail = c.in.size() - off;
        size_t len = 0, mult = 1, i = 1;
        bool complete = false;
        for (; i < avail && i <= 4; ++i) {
            len += (p[i] & 0x7f) * mult;
            mult *= 128;
            if ((p[i] & 0x80) == 0) {
                complete = true;
                break;
            }
        }
        if (!complete) {
            if (i > 4) {
                close_conn(c, "malformed remaining length from the broker");
                return;
            }
            break;
        }
        size_t hdr = i + 1;
        if (avail < hdr + len) break;
        if (!handle_packet(c, p[0], p + hdr, len, now)) return;
        off += hdr + len;
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<ptrdiff_t>(off));
    flush(c);  // PUBACKs
}

bool LoadGen::handle_packet(Conn& c, uint8_t first, const uint8_t* p, size_t n, uint64_t now) {
    uint8_t type = first >> 4;
    switch (type) {
    case 2:  // CONNACK
        if (c.state != State::WaitConnack || n != 2) {
            close_conn(c, "unexpected CONNACK");
            return false;
        }
        if (p[1] != 0) {
            close_conn(c, "CONNACK refused, return code " + std::to_string(p[1]));
            return false;
        }
        if (c.role == Role::Subscriber) {
            c.out += subscribe_packet(1, c.filter, o_.qos);
            c.state = State::WaitSuback;
        } else {
            c.state = State::Ready;
        }
        return true;
    case 9:  // SUBACK
        if (c.state != State::WaitSuback || n != 3) {
            close_conn(c, "unexpected SUBACK");
            return false;
        }
        if (p[2] == 0x80) {
            close_conn(c, "subscription to " + c.filter + " refused");
            return false;
        }
        if (p[2] != o_.qos) fail(conn_name(c) + ": granted QoS " + std::to_string(p[2]));
        c.state = State::Ready;
        return true;
    case 3:  // PUBLISH
        if (c.role != Role::Subscriber || c.state != State::Ready) {
            close_conn(c, "unexpected PUBLISH");
            return false;
        }
        on_publish_received(c, first & 0x0f, p, n, now);
        return c.state != State::Closed;
    case 4: {  // PUBACK
        if (c.role != Role::Publisher || n != 2) {
            close_conn(c, "unexpected PUBACK");
            return false;
        }
        uint16_t id = static_cast<uint16_t>(p[0] << 8 | p[1]);
        if (!c.pid_inflight[id]) {
            fail(conn_name(c) + ": PUBACK for unknown packet id " + std::to_string(id));
            return true;
        }
        c.pid_inflight[id] = 0;
        --c.unacked;
        ++c.acked;
        return true;
    }
    case 13:  // PINGRESP
        return true;
    default:
        close_conn(c, "unexpected packet type " + std::to_string(type));
        return false;
    }
}

void LoadGen::on_publish_received(Conn& c, uint8_t flags, const uint8_t* p, size_t n, uint64_t now) {
    int qos = (flags >> 1) & 3;
    bool dup = flags & 0x08;
    if (n < 2) {
        close_conn(c, "short PUBLISH");
        return;
    }
    size_t tlen = static_cast<size_t>(p[0] << 8 | p[1]);
    size_t off = 2 + tlen;
    if (qos > 0) {
        if (n < off + 2) {
            close_conn(c, "short PUBLISH");
            return;
        }
        c.out.push_back(0x40);
        c.out.push_back(0x02);
        c.out.push_back(static_cast<char>(p[off]));
        c.out.push_back(static_cast<char>(p[off + 1]));
        off += 2;
    }
    if (qos != o_.qos) {
        fail(conn_name(c) + ": received QoS " + std::to_string(qos));
    }
    if (n < off + kHeaderBytes) {
        ++st_.unexpected;
        return;
    }
    const uint8_t* h = p + off;
    uint32_t pub, seq;
    uint64_t ts;
    std::memcpy(&pub, h, 4);
    std::memcpy(&seq, h + 4, 4);
    std::memcpy(&ts, h + 8, 8);
    ++st_.received;
    if (pub >= pubs_.size() || seq >= pubs_[pub]->next_seq || ts > now) {
        ++st_.unexpected;
        return;
    }
    size_t k = static_cast<size_t>(c.index) * pubs_.size() + pub;
    if (seq + 1 > last_seq_[k]) {
        if (seq > last_seq_[k]) ++st_.gaps;
        last_seq_[k] = seq + 1;
        ++unique_[k];
    } else {
        // Older than the newest seen: a duplicate (QoS 1 redelivery) or out of order.
        if (dup || qos > 0) ++st_.duplicates;
        else ++st_.reordered;
        return;
    }
    if (measuring_ && ts >= measure_start_ && ts <= measure_end_) {
        ++st_.received_in_window;
        st_.latency.add(now - ts);
        last_measured_receipt_ = now;
    }
}

bool LoadGen::can_publish(Conn& c, uint64_t now) {
    if (c.state != State::Ready || c.done) return false;
    if (o_.count > 0 && c.next_seq >= o_.count) return false;
    if (c.out.size() - c.out_off >= kMaxWriteBuffer) return false;
    if (o_.qos == 1 && c.unacked >= o_.inflight) return false;
    uint32_t slowest = c.next_seq;
    for (int s : c.receivers) {
        slowest = std::min(slowest, last_seq_[static_cast<size_t>(s) * pubs_.size() + static_cast<size_t>(c.index)]);
    }
    if (slowest != c.seen_slowest || c.slowest_since == 0) {
        c.seen_slowest = slowest;
        c.slowest_since = now;
    }
    slowest = std::max(slowest, c.window_floor);
    if (c.next_seq - slowest >= static_cast<uint32_t>(o_.window)) {
        // The broker dropped (or is sitting on) a whole window: give up waiting for it, so one
        // lost burst costs --stall-timeout of this publisher's time, not the rest of the run.
        if (now - c.slowest_since >= static_cast<uint64_t>(o_.stall_timeout * 1e9)) {
            ++st_.window_stalls;
            c.window_floor = c.next_seq;
            c.slowest_since = now;
            return true;
        }
        return false;
    }
    return true;
}

void LoadGen::publish_one(Conn& c, uint64_t now) {
    size_t body = 2 + c.topic_name.size() + (o_.qos ? 2 : 0) + o_.payload;
    c.out.push_back(static_cast<char>(0x30 | (o_.qos << 1)));
    put_varint(c.out, body);
    put_str(c.out, c.topic_name);
    if (o_.qos) {
        while (c.pid_inflight[c.next_pid] || c.next_pid == 0) ++c.next_pid;
        c.pid_inflight[c.next_pid] = 1;
        put_u16(c.out, c.next_pid);
        ++c.next_pid;
        ++c.unacked;
    }
    uint32_t pub = static_cast<uint32_t>(c.index);
    uint32_t seq = c.next_seq++;
    char h[kHeaderBytes];
    std::memcpy(h, &pub, 4);
    std::memcpy(h + 4, &seq, 4);
    std::memcpy(h + 8, &now, 8);
    c.out.append(h, kHeaderBytes);
    c.out.append(payload_template_);
    ++st_.published;
}

uint64_t LoadGen::expected_total() const {
    uint64_t e = 0;
    for (auto& p : pubs_) e += static_cast<uint64_t>(p->next_seq) * p->receivers.size();
    return e;
}

uint64_t LoadGen::unique_total() const {
    uint64_t u = 0;
    for (uint32_t x : unique_) u += x;
    return u;
}

int LoadGen::run() {
    if (inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) {
        std::fprintf(stderr, "loadgen: --host must be an IPv4 address: %s\n", o_.host.c_str());
        return 2;
    }
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o_.port));
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    payload_template_.assign(o_.payload - kHeaderBytes, 'x');

    const int P = o_.publishers, S = o_.subscribers, T = o_.topics;
    for (int i = 0; i < S; ++i) {
        auto c = std::make_unique<Conn>();
        c->role = Role::Subscriber;
        c->index = i;
        if (o_.scenario == "fanin") {
            c->filter = o_.prefix + "/#";
            c->wildcard = true;
        } else {
            c->filter = o_.prefix + "/" + std::to_string(i % T);
        }
        subs_.push_back(std::move(c));
    }
    for (int i = 0; i < P; ++i) {
        auto c = std::make_unique<Conn>();
        c->role = Role::Publisher;
        c->index = i;
        c->topic = i % T;
        c->topic_name = o_.prefix + "/" + std::to_string(c->topic);
        c->pid_inflight.assign(65536, 0);
        for (auto& s : subs_) {
            if (s->wildcard || s->index % T == c->topic) c->receivers.push_back(s->index);
        }
        pubs_.push_back(std::move(c));
    }
    last_seq_.assign(static_cast<size_t>(P) * static_cast<size_t>(S), 0);
    unique_.assign(last_seq_.size(), 0);

    // Phase 1: connect subscribers (and subscribe), then publishers, at most kMaxPendingConnects
    // handshakes at a time.
    std::vector<Conn*> order;
    for (auto& s : subs_) order.push_back(s.get());
    for (auto& p : pubs_) order.push_back(p.get());
    size_t next_conn = 0;
    const uint64_t t_setup = now_ns();
    const uint64_t setup_deadline = t_setup + static_cast<uint64_t>(o_.connect_timeout * 1e9);
    epoll_event events[256];

    auto process_events = [&](int timeout_ms) {
        int n = epoll_wait(ep_, events, 256, timeout_ms);
        uint64_t now = now_ns();
        for (int i = 0; i < n; ++i) {
            Conn& c = *static_cast<Conn*>(events[i].data.ptr);
            if (c.fd < 0) continue;
            if (c.state == State::Connecting && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    close_conn(c, std::string("connect: ") + std::strerror(err));
                    continue;
                }
                c.state = State::WaitConnack;
                flush(c);
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, now);
            if (c.fd >= 0 && (events[i].events & EPOLLOUT)) flush(c);
        }
    };

    auto all_closed_or_ready = [&](std::vector<std::unique_ptr<Conn>>& v) {
        for (auto& c : v)
            if (c->state != State::Ready) return false;
        return true;
    };

    bool setup_ok = true;
    for (;;) {
        int pending = 0;
        for (size_t i = 0; i < next_conn; ++i) {
            State s = order[i]->state;
            if (s == State::Connecting || s == State::WaitConnack || s == State::WaitSuback) ++pending;
            if (s == State::Closed) setup_ok = false;
        }
        if (!setup_ok) break;
        // Publishers only once every subscription is in place.
        while (pending < kMaxPendingConnects && next_conn < order.size()) {
            if (order[next_conn]->role == Role::Publisher && !all_closed_or_ready(subs_)) break;
            if (!start_connect(*order[next_conn])) {
                setup_ok = false;
                break;
            }
            ++next_conn;
            ++pending;
        }
        if (!setup_ok) break;
        if (next_conn == order.size() && pending == 0) break;
        if (now_ns() > setup_deadline) {
            fail("timeout: connections not ready after " + std::to_string(o_.connect_timeout) + " s");
            setup_ok = false;
            break;
        }
        process_events(10);
    }
    if (!setup_ok) {
        report(0, false);
        return 1;
    }

    // Phase 2: publish for --duration (the first --warmup seconds are not measured).
    const uint64_t t0 = now_ns();
    measure_start_ = t0 + static_cast<uint64_t>(o_.warmup * 1e9);
    measure_end_ = t0 + static_cast<uint64_t>(o_.duration * 1e9);
    measuring_ = true;
    const double per_pub_rate = o_.rate > 0 ? o_.rate / P : 0;
    uint64_t last_tick = t0;
    bool broken = false;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= measure_end_) break;
        if (o_.count > 0) {
            bool all_sent = true;
            for (auto& p : pubs_)
                if (p->next_seq < o_.count) all_sent = false;
            if (all_sent) break;
        }
        if (per_pub_rate > 0) {
            double dt = static_cast<double>(now - last_tick) / 1e9;
            last_tick = now;
            for (auto& p : pubs_) p->tokens = std::min(p->tokens + dt * per_pub_rate, std::max(1.0, per_pub_rate * 0.01));
        }
        bool any_can = false;
        for (auto& pp : pubs_) {
            Conn& p = *pp;
            // A bounded batch per turn keeps publishers fair and subscribers served.
            for (int b = 0; b < 64; ++b) {
                if (per_pub_rate > 0 && p.tokens < 1.0) break;
                if (!can_publish(p, now)) break;
                publish_one(p, now);
                if (per_pub_rate > 0) p.tokens -= 1.0;
            }
            flush(p);
            if (can_publish(p, now) && (per_pub_rate == 0 || p.tokens >= 1.0)) any_can = true;
        }
        for (auto& c : pubs_)
            if (c->state == State::Closed) broken = true;
        for (auto& c : subs_)
            if (c->state == State::Closed) broken = true;
        if (broken) break;
        process_events(any_can ? 0 : 1);
    }
    const uint64_t t_stop = now_ns();
    measure_end_ = std::min(measure_end_, t_stop);
    if (measure_start_ > t_stop) measure_start_ = t0;  // --count ran out during the warm-up
    for (auto& p : pubs_) p->done = true;

    // Phase 3: drain.
    const uint64_t drain_deadline = t_stop + static_cast<uint64_t>(o_.drain * 1e9);
    uint64_t last_progress = t_stop;
    uint64_t last_count = st_.received;
    while (!broken) {
        uint64_t now = now_ns();
        bool acks_done = true;
        for (auto& p : pubs_)
            if (p->unacked > 0) acks_done = false;
        if (acks_done && unique_total() >= expected_total()) break;
        if (now >= drain_deadline) break;
        if (st_.received != last_count) {
            last_count = st_.received;
            last_progress = now;
        } else if (acks_done && now - last_progress > static_cast<uint64_t>(o_.drain_idle * 1e9)) {
            break;
        }
        for (auto& p : pubs_) flush(*p);
        process_events(2);
        for (auto& c : subs_)
            if (c->state == State::Closed) broken = true;
        for (auto& c : pubs_)
            if (c->state == State::Closed) broken = true;
    }
    for (auto& p : pubs_) {
        if (o_.qos == 1 && p->unacked > 0 && p->state != State::Closed)
            fail(conn_name(*p) + ": " + std::to_string(p->unacked) + " PUBLISH(es) never acknowledged");
    }

    // Phase 4: disconnect.
    for (auto* v : {&pubs_, &subs_}) {
        for (auto& c : *v) {
            if (c->fd < 0) continue;
            c->out.append("\xe0\x00", 2);
            c->disconnecting = true;
            flush(*c);
            close_conn(*c, "");
        }
    }
    ::close(ep_);
    // The measured messages are those sent in [measure_start, stop]; the rate is over the time from
    // measure_start to the last of them arriving.
    uint64_t end = std::max(measure_end_, last_measured_receipt_);
    double measured = static_cast<double>(end - measure_start_) / 1e9;
    report(measured, error_count_ == 0);
    return error_count_ == 0 ? 0 : 1;
}

std::string json_escape(const std::string& s) {
    std::string r;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') {
            r.push_back('\\');
            r.push_back(ch);
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            r += b;
        } else {
            r.push_back(ch);
        }
    }
    return r;
}

void LoadGen::report(double measured_s, bool ok) {
    const uint64_t expected = expected_total();
    const uint64_t unique = unique_total();
    const uint64_t lost = expected > unique ? expected - unique : 0;
    // Lost at the tail: sent after the last message a subscriber got from that publisher (a queue
    // that stopped moving); the rest of the losses are gaps in the middle (messages dropped).
    uint64_t tail = 0;
    for (auto& p : pubs_)
        for (int s : p->receivers)
            tail += p->next_seq - last_seq_[static_cast<size_t>(s) * pubs_.size() + static_cast<size_t>(p->index)];
    const double rate = measured_s > 0 ? static_cast<double>(st_.received_in_window) / measured_s : 0;
    const double p50 = static_cast<double>(st_.latency.quantile(0.50)) / 1e3;
    const double p99 = static_cast<double>(st_.latency.quantile(0.99)) / 1e3;
    const double pmax = static_cast<double>(st_.latency.max()) / 1e3;
    if (o_.json) {
        std::printf("{\"label\":\"%s\",\"host\":\"%s\",\"port\":%d,\"scenario\":\"%s\",\"qos\":%d,"
                    "\"payload\":%zu,\"publishers\":%d,\"subscribers\":%d,\"topics\":%d,"
                    "\"rate_limit\":%g,\"window\":%d,\"inflight\":%d,\"measured_s\":%.3f,"
                    "\"published\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"received\":%" PRIu64
                    ",\"delivered_per_s\":%.1f,\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
                    "\"lost\":%" PRIu64 ",\"lost_tail\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"duplicates\":%" PRIu64
                    ",\"reordered\":%" PRIu64
                    ",\"unexpected\":%" PRIu64 ",\"stalls\":%" PRIu64 ",\"ok\":%s,\"errors\":%" PRIu64 ",\"error_messages\":[",
                    json_escape(o_.label).c_str(), o_.host.c_str(), o_.port, o_.scenario.c_str(), o_.qos,
                    o_.payload, o_.publishers, o_.subscribers, o_.topics, o_.rate, o_.window, o_.inflight,
                    measured_s, st_.published, expected, st_.received, rate, p50, p99, pmax, lost,
                    tail, st_.gaps, st_.duplicates, st_.reordered, st_.unexpected, st_.window_stalls, ok ? "true" : "false", error_count_);
        for (size_t i = 0; i < errors_.size(); ++i)
            std::printf("%s\"%s\"", i ? "," : "", json_escape(errors_[i]).c_str());
        std::printf("]}\n");
    } else {
        std::printf("%s%s%s qos=%d payload=%zu pubs=%d subs=%d: %.0f msgs/s delivered, latency p50=%.0fus "
                    "p99=%.0fus max=%.0fus, published=%" PRIu64 " expected=%" PRIu64 " lost=%" PRIu64
                    " (tail %" PRIu64 ", %" PRIu64 " gaps) dup=%" PRIu64 " reordered=%" PRIu64 " stalls=%" PRIu64 " errors=%" PRIu64 "%s\n",
                    o_.label.c_str(), o_.label.empty() ? "" : " ", o_.scenario.c_str(), o_.qos, o_.payload,
                    o_.publishers, o_.subscribers, rate, p50, p99, pmax, st_.published, expected, lost,
                    tail, st_.gaps, st_.duplicates, st_.reordered, st_.window_stalls, error_count_, ok ? "" : " FAILED");
    }
    for (auto& e : errors_) std::fprintf(stderr, "loadgen: %s\n", e.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    // Hard upper bound on the whole run, whatever the broker does.
    alarm(static_cast<unsigned>(o.connect_timeout + o.duration + o.drain + 15));
    LoadGen g(o);
    return g.run();
}
