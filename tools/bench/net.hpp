// The connections of one thread of a run: non-blocking sockets on one epoll set. A Net and its
// connections belong to the thread that runs it; with --threads each traffic thread has its own.
// Net owns the sockets, write buffers and the MQTT session basics every scenario shares
// (CONNECT/CONNACK, keep-alive PINGREQ, DISCONNECT, errors); a scenario derives from it and
// handles the packets of its traffic (SUBACK, PUBLISH and the acknowledgements).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mqtt.hpp"
#include "options.hpp"
#include "tls.hpp"
#include "ws.hpp"

namespace bench {

enum class Role { Publisher, Subscriber, Idle };
enum class State { Idle, Connecting, WaitConnack, WaitSuback, Ready, Closing, Closed };

struct Conn {
    Role role = Role::Idle;
    int index = 0;  // publisher, subscriber or idle-connection index
    int fd = -1;
    State state = State::Idle;
    std::string out;  // bytes not yet written
    size_t out_off = 0;
    std::vector<uint8_t> in;  // bytes read, not yet a whole packet
    bool want_write = false;
    uint64_t last_send = 0;            // when bytes were last queued (keep-alive)
    uint64_t ping_sent = 0;            // when the unanswered PINGREQ went out; 0 = none
    uint16_t receive_maximum = 65535;  // MQTT 5 CONNACK: most QoS > 0 PUBLISHes in flight to the broker

    // Publisher
    std::string topic;
    std::string publish_template;  // one whole PUBLISH, appended per message and patched (traffic.cpp)
    uint32_t next_seq = 0;         // messages sent so far (sequence numbers 0..next_seq-1)
    int unacked = 0;               // QoS 1/2 flows not complete
    uint16_t next_pid = 1;
    std::vector<uint8_t> pid_state;  // per packet id: 0 free, 1 wait PUBACK/PUBREC, 2 wait PUBCOMP
    std::vector<int> receivers;      // subscribers that get this publisher's messages
    double tokens = 0;               // --rate token bucket
    uint32_t window_floor = 0;       // after a stall: messages given up on for flow control
    uint32_t seen_slowest = 0;       // slowest receiver's progress when last looked at
    uint64_t slowest_since = 0;      // when seen_slowest last changed
    bool done = false;

    // Subscriber
    std::string filter;

    ws::ConnWs ws;                      // --ws only
    std::shared_ptr<tls::Session> tls;  // --tls: the TLS session over fd
};

class Net {
  public:
    explicit Net(const Options& o);
    virtual ~Net();
    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;

    // Resolves the address, opens the epoll set and raises the open-file limit for `fds` sockets.
    bool init(size_t fds);

    Conn& add(Role role, int index);
    std::vector<std::unique_ptr<Conn>>& conns() { return conns_; }

    // What may start after the barrier: asked each turn with whether this Net's own connections
    // before the barrier are ready; Abort gives up (another thread failed).
    enum class Gate { Wait, Open, Abort };
    using GateFn = std::function<Gate(bool mine_ready)>;

    // Connects every connection of `order`, at most --connect-concurrency handshakes at a time;
    // those from `barrier` on only once all before it are Ready (publishers after every
    // subscription is in place) and `gate` (if given) says Open. `tick` runs about every 100 ms.
    // False on failure, time-out or Abort.
    bool connect_all(const std::vector<Conn*>& order, size_t barrier,
                     const std::function<void(uint64_t)>& tick, const GateFn& gate = nullptr);

    // Waits up to `timeout_ms` for socket events and handles them.
    void poll(int timeout_ms);
    // An eventfd (this Net closes it) whose write ends a poll() early; false when none was made.
    bool make_wakeup_fd();
    int wakeup_fd() const { return wake_fd_; }
    // Sends PINGREQ on connections that sent nothing for half the keep-alive; a PINGREQ
    // unanswered for a whole keep-alive is an error.
    void keepalive(uint64_t now);
    // Sends DISCONNECT everywhere, then waits (up to `timeout_s`) for the broker to close each
    // connection, so TIME_WAIT stays on the broker's side and a next run finds free local ports.
    void disconnect_all(double timeout_s);

    void flush(Conn& c);
    void close(Conn& c, const std::string& why);
    void fail(const std::string& msg);
    std::string name(const Conn& c) const;

    bool any_closed() const { return closed_ > 0; }
    uint64_t error_count() const { return error_count_; }
    const std::vector<std::string>& errors() const { return errors_; }
    uint64_t pings_sent() const { return pings_sent_; }
    uint64_t pongs() const { return pongs_; }
    size_t ready_count() const { return ready_; }

  protected:
    // After CONNACK accepted the connection: queue what comes next (SUBSCRIBE) and say which
    // state the connection is in. The default: Ready.
    virtual State on_connected(Conn& c);
    // Every packet Net does not handle itself. False when the connection was closed.
    virtual bool on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) = 0;
    void set_ready(Conn& c);

    const Options& o_;

  private:
    bool start_connect(Conn& c);
    void update_epoll(Conn& c);
    void on_events(Conn& c, uint32_t events);
    void on_readable(Conn& c);
    // Handles the whole packets at the start of [p, p+n); returns the bytes used, or -1 when the
    // connection was closed.
    long handle_all(Conn& c, const uint8_t* p, size_t n, uint64_t now);
    bool handle(Conn& c, const mqtt::Frame& f, uint64_t now);

    int ep_ = -1;
    int wake_fd_ = -1;  // make_wakeup_fd(); in the epoll set with a null data.ptr
    sockaddr_in addr_{};
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<std::string> errors_;
    uint64_t error_count_ = 0;
    uint64_t pings_sent_ = 0;
    uint64_t pongs_ = 0;
    size_t ready_ = 0;
    size_t closed_ = 0;  // closed without our DISCONNECT
    size_t started_ = 0;
    std::vector<uint8_t> read_buf_;  // one per Net (thread): what a read takes from a socket
};

}  // namespace bench
