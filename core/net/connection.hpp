// One client's TCP connection: reads into its handler, writes batched once per loop iteration.
//
// Lifetime rule (libuv's): a Connection is created by the listener, lives until close(), and is
// deleted in its uv_close callback, after handler->on_closed() ran. Nothing may touch it after
// on_closed(). close() may be called any number of times; writes after close() are dropped.
//
// close_after_flush() closes the way nginx's lingering close does, so that the last packet (a
// DISCONNECT, a refusing CONNACK) is not destroyed by a reset: closing a socket with unread bytes
// in it makes the kernel answer with RST, and a peer that gets the RST before it read the packet
// loses the packet. So: write everything, shut the write side (the peer reads EOF after the
// packet), then read and discard until the peer closes too or kLingerMs pass, then close. The
// handler hears on_closed() once the write side is shut, as if the connection were gone: it never
// sees the bytes read while lingering, and the Connection outlives it by at most kLingerMs.
//
// Memory: an idle connection holds its uv_tcp_t, its peer's address and a few pointers, nothing
// more (issue 7, "small idle connections"). The write request and the bytes being written exist
// only while a write is in progress (Write); the timer, the shutdown request and the close reason
// only from the first timer or close on (Ending); transport attributes only once one is set; the
// listener's address is one string per listener, shared; reads go into one buffer per worker.
//
// Output (issue 7, "fewer copies"): small packets are copied into the connection's queue; a large
// payload is queued by reference (write(head, SharedBytes), see output_queue.hpp for the
// lifetime rules), so N subscribers of one message hold one copy of it. At the end of the loop
// iteration everything queued goes out in one writev (uv_try_write); what the socket does not
// take then goes in one uv_write of several uv_buf_t. The references are dropped once their
// bytes are written (or the write fails, or is cancelled by close()), and at close() for what
// was still queued. Over TLS the records are encrypted straight from the slices at the
// flush; through a transport plugin a packet is handed over in one piece (the ABI takes bytes).
// Limits count bytes queued, shared or not: backlog(), max_output_buffer and
// max_total_output_buffer see a shared 1 MiB payload as 1 MiB on every connection it waits on.
#pragma once
#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/conn_handle.hpp"
#include "net/output_queue.hpp"
#include "net/transport_filter.hpp"

namespace roost::net {

class Connection;
class TlsContext;

// Bounds on connections and their output, the same for every worker (issue 12). Set once at
// start, before any connection exists; configure() fills them from [limits].
struct NetLimits {
    uint32_t max_connections = 0;              // open sockets, counted from accept; 0 = unlimited
    uint32_t max_pending_connects = 0;         // accepted, CONNECT not finished; 0 = unlimited
    uint32_t max_connections_per_address = 0;  // 0 = unlimited
    uint64_t max_total_output = 0;             // bytes queued to all connections; 0 = unlimited
    // Bytes unsent to one connection above which what TLS answers by itself (KeyUpdates,
    // alerts) stops its reading until written: [limits] max_output_buffer, which the broker
    // applies to its own packets.
    uint64_t max_output = 1048576;
    uint64_t send_timeout_ms = 15000;  // output left unwritten this long closes the connection
};
const NetLimits& limits();
// Fills limits() from `config`. max_connections = 0 becomes the open-file limit minus 64 (the
// fds the broker needs for itself); the returned text says what was chosen, for the log.
std::string configure(const LimitsConfig& config);

// Counts across all workers, for the limits above.
struct NetCounts {
    size_t open = 0;     // accepted sockets not yet closed
    size_t pending = 0;  // of those, the ones whose CONNECT is not finished
};
NetCounts counts();
// Bytes queued or being written, all connections (for max_total_output). A sum over per-thread
// shards: costs a cache line per shard, so read it only when a connection's backlog is large.
uint64_t total_output();

class ConnectionHandler {
  public:
    virtual ~ConnectionHandler() = default;
    virtual void on_data(std::span<const uint8_t> bytes) = 0;
    // The connection is gone (peer closed, error, or close()); `reason` says which, for the log.
    virtual void on_closed(const std::string& reason) = 0;
    // Work the handler put off (defer()) may go on now: called once per defer(), in a later loop
    // turn, after that turn's I/O. Also called when output the handler waited for
    // (pause_until_drained()) is written.
    virtual void on_resume() {}
    // The transport learnt the client's real address (Connection::set_peer): log lines and
    // ROOST_CLIENT_ADDRESS name it from now on.
    virtual void on_address_changed(const std::string& address) { (void)address; }
    // Output is waiting for the peer to read (the socket took only part of it): from now on
    // write_stalled_ms() counts.
    virtual void on_write_waiting() {}
};

// Where connections with unsent bytes wait for the end of the loop iteration (a uv_check
// handle), so that all packets produced by one read go out in one write. An idle handle runs
// while anything waits, so that bytes queued outside an I/O callback (timers, close callbacks)
// do not sit until the next event.
class FlushQueue {
  public:
    explicit FlushQueue(uv_loop_t* loop);
    FlushQueue(const FlushQueue&) = delete;
    FlushQueue& operator=(const FlushQueue&) = delete;
    void add(Connection* c);
    void flush_all();
    // Connections whose handler put work off to a later loop turn (Connection::defer()).
    void defer(Connection* c);
    void undefer(Connection* c) { std::erase(_deferred, c); }
    void close();  // before the loop ends; also ends every lingering close at once
    bool closed() const { return _closed; }

    // Connections in their lingering close (see Connection), so that a stopping server need not
    // wait for them.
    void lingering(Connection* c) { _lingering.push_back(c); }
    void done_lingering(Connection* c) { std::erase(_lingering, c); }

  private:
    void run_deferred();

    uv_check_t _check{};
    uv_idle_t _idle{};
    std::vector<Connection*> _dirty;
    std::vector<Connection*> _deferred;
    std::vector<Connection*> _lingering;
    bool _closed = false;
};

class Connection {
  public:
    Connection(uv_loop_t* loop, FlushQueue& flush_queue);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    uv_tcp_t* handle() { return &_tcp; }
    // Learns the peer's address; the listener calls it once uv_accept succeeded.
    void accepted();
    // For handing an accepted socket to another worker's loop: a duplicate of the socket's fd
    // (the caller then closes this connection, which closes the original), or -1. The socket's
    // place in the connection limits goes with the fd: this connection stops counting, and
    // open() on the other worker takes the place over without counting again, so no accept in
    // between sees the socket uncounted (with two workers, a 6th silent socket got past
    // max_pending_connects = 5 in that gap). Whoever gets the fd calls open(), or
    // uncount(peer_ip) if nobody will.
    int detach_fd();
    // Takes a socket another worker accepted (detach_fd()), and its place in the limits; before
    // start(). 0 or a libuv error (then the caller gives the place back with uncount()).
    int open(int fd);
    // Gives back the place of a detached fd that no connection will open.
    static void uncount(const std::string& peer_ip);
    // Puts TLS between the socket and the rest (the transport, if any, then the broker); before
    // start(), on the connection's worker. The handshake runs as bytes arrive, bounded by
    // `config.handshake_timeout`; the handler hears nothing before it is done. False (and a log
    // line) when OpenSSL cannot make the session: the caller closes the connection.
    bool start_tls(const TlsContext& context, const TlsConfig& config);
    // The client certificate's field named by use_identity_as_username once the handshake is
    // done ("" when the certificate lacks it); nullptr without TLS.
    const std::string* tls_identity() const;
    // Puts a transport plugin between the socket (or TLS) and the broker; before start(). False
    // when the plugin refused the connection. Over TLS the plugin's open() runs once the
    // handshake is done (so it sees the tls.* attributes); a refusal then closes the connection.
    bool set_transport(std::unique_ptr<TransportFilter> filter);
    const char* transport_name() const { return _transport ? _transport->name() : "tcp"; }
    roost_conn* handle_for_plugins() { return &_plugin_handle; }
    // Starts reading; call once after accepted().
    int start(ConnectionHandler* handler);

    // Queues MQTT bytes (through the transport, if any); written at the end of this loop iteration.
    void write(std::span<const uint8_t> bytes);
    // Queues one packet made of `head` (copied) and `body` (referenced: see the lifetime rules
    // above and in output_queue.hpp), written at the end of this loop iteration.
    void write(std::span<const uint8_t> head, SharedBytes body);
    // For a transport: wire bytes to the socket (through TLS, if on), MQTT bytes up to the broker.
    void write_wire(std::span<const uint8_t> bytes);
    void deliver_up(std::span<const uint8_t> bytes);
    // Facts a transport learnt (e.g. WebSocket headers), for auth and ACL plugins.
    void set_attribute(std::string name, std::string value);
    const std::string* attribute(const std::string& name) const;
    const std::string& listener_address() const { return *_listener_address; }
    // Kept as one shared copy per distinct address (listeners are few and live as long as the
    // process), so that connections pay a pointer for it.
    void set_listener_address(const std::string& a);
    // Bytes queued or being written; a slow reader shows here. Over TLS these are TLS records
    // (plus plaintext written in this loop turn, encrypted at its flush).
    size_t backlog() const;
    // How long output has waited for the peer to read: since the write in progress began, or 0.
    uint64_t write_stalled_ms() const;
    // Output waits for the peer to read it (a write the socket did not take at once).
    bool write_waiting() const;
    // Heap bytes held by the output buffers (their capacity, and shared payloads queued here in
    // full), for tests and $SYS.
    size_t buffer_capacity() const;

    // Why reading is stopped; reading goes on once no reason is left.
    enum PauseReason : uint8_t {
        kPauseWaiting = 1,    // the handler waits for a plugin's answer
        kPauseOutput = 2,     // the peer does not read what is sent to it (see pause_until_drained)
        kPauseBudget = 4,     // the handler has work left from this loop turn (see defer)
        kPauseTransport = 8,  // the transport plugin asked (conn_pause_reading)
    };
    // Stops and restarts reading from the socket (backpressure while the broker waits).
    void pause_reading(uint8_t reason = kPauseWaiting);
    void resume_reading(uint8_t reason = kPauseWaiting);
    // Stops reading until everything queued is written; then reading resumes and the handler
    // hears on_resume().
    void pause_until_drained();
    // Asks for handler->on_resume() in a later loop turn, after that turn's I/O (fairness: a
    // handler that used its budget lets the other connections go first). With `pause`, reading
    // stops until then.
    void defer(bool pause = true);

    // The handler finished the CONNECT: the connection no longer counts as pending.
    void established();
    // Open connections from `ip` (only counted while max_connections_per_address is set).
    static uint32_t connections_from(const std::string& ip);
    // The socket's peer without the port ("1.2.3.4", "[::1]"), whatever set_peer() said since.
    std::string peer_ip() const;
    TransportFilter* transport() const { return _transport.get(); }

    // Closes now; queued bytes are dropped.
    void close(const std::string& reason);
    // Closes once every queued byte is written (for a final CONNACK or DISCONNECT), lingering
    // as described above. What the peer sends from now on is read and dropped.
    void close_after_flush(const std::string& reason);
    bool closing() const { return _closing || _close_after_flush; }

    const std::string& peer() const { return _peer; }
    // The client's real address as a transport learnt it (a trusted proxy's X-Forwarded-For):
    // replaces peer() and tells the handler. peer_ip(), which the per-address limit counts,
    // stays the socket's peer.
    void set_peer(std::string address);

    // FlushQueue's, at the end of a loop iteration: the transport's flush() if it encoded since
    // the last one, then write_pending().
    void flush();

  private:
    void write_pending();  // writes what is pending if no write is in progress
    void update_reading();
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    // Everything handed to the socket is written: what was queued meanwhile goes next, and a
    // reader paused for output (or the transport, drained()) hears the backlog is empty.
    void written();
    // Gives back this connection's places in max_pending_connects and
    // max_connections_per_address once it closes or lingers (the open count stays until the fd
    // is gone): a client that saw our EOF and reconnects at once must find its place free, and
    // uv_close's callback, which destroys us, comes a loop turn after the peer saw the EOF.
    void release_places();
    static void on_close(uv_handle_t* h);
    static void on_shutdown(uv_shutdown_t* req, int status);
    // Everything is written: shut the write side and linger (or close, where lingering is moot).
    void linger();
    void resume_reading_to_discard();  // reads during close_after_flush, which on_read drops

    void count_output(int64_t delta);
    // Counts what was appended to _pending since it held `before` bytes, and queues the flush.
    void queued_wire(size_t before);
    // Starts (or restarts) the Ending's timer, initialising it on first use.
    void start_timer(uint64_t ms, uv_timer_cb cb);
    struct Ending;
    Ending& ending();  // made on first use
    const std::string& close_reason() const;
    // TLS: ciphertext read from the socket; the handshake done; plaintext to encrypt at flush.
    void read_tls(std::span<const uint8_t> cipher);
    void tls_established();
    void encrypt_pending();
    void run_deferred();
    friend class FlushQueue;

    uv_tcp_t _tcp{};
    FlushQueue& _flush_queue;
    ConnectionHandler* _handler = nullptr;
    OutputQueue _pending;  // queued, not yet handed to libuv
    // The write in progress: its request and the queue it owns (connection.cpp). Made when a
    // write starts, dropped when one ends with nothing more queued.
    struct Write;
    std::unique_ptr<Write> _write;
    // What only a closing connection (or a TLS handshake) needs: the timer that bounds the
    // handshake, then the flush and the linger; the shutdown request; the close reason.
    std::unique_ptr<Ending> _ending;
    std::string _peer;
    const std::string* _listener_address;  // shared per address (set_listener_address)
    std::unique_ptr<TransportFilter> _transport;
    struct Tls;  // connection.cpp: the TLS session and its buffers, only on TLS listeners
    std::unique_ptr<Tls> _tls;
    // Transport attributes, and the socket's address once set_peer() replaced _peer.
    struct Extra;
    std::unique_ptr<Extra> _extra;
    roost_conn _plugin_handle{this};
    int _open_handles = 1;  // _tcp, plus the Ending's timer once initialised: deleted at 0
    uint8_t _paused = 0;    // PauseReason bits
    bool _queued_for_flush : 1 = false;
    bool _closing : 1 = false;
    bool _close_after_flush : 1 = false;
    bool _reading : 1 = false;
    bool _encoded : 1 = false;          // encode() ran since the transport's last flush()
    bool _deferred : 1 = false;         // in the flush queue's deferred list
    bool _counted : 1 = false;          // counted in counts() (accepted(), until destroyed)
    bool _pending_connect : 1 = true;   // counted as pending until established()
    bool _places_released : 1 = false;  // release_places() gave back the pending and address places
    bool _lingering : 1 = false;        // uv_shutdown issued; the handler may already be gone
    bool _peer_eof : 1 = false;         // the peer shut its write side during close_after_flush
};

}  // namespace roost::net
