#include "net/connection.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "net/address.hpp"
#include "net/tls_context.hpp"
#include "net/tls_peer.hpp"
#include "net/tls_stream.hpp"
#include "util/log.hpp"

namespace roost::net {
namespace {
// The longest a lingering close reads and drops before it closes anyway: enough for a peer to
// read a DISCONNECT and close its side, short enough that a peer that never closes costs little.
constexpr uint64_t kLingerMs = 2000;

// Output buffers larger than this are given back when they empty; smaller ones too once the
// connection has nothing left to send (an idle connection holds no output buffer).
constexpr size_t kKeepOutputCapacity = 0;

std::string peer_of(uv_tcp_t* tcp) {
    sockaddr_storage addr{};
    int len = sizeof addr;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
    return format_address(addr);
}

// "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "[::1]".
std::string ip_of(const std::string& peer) {
    size_t colon = peer.rfind(':');
    return colon == std::string::npos ? peer : peer.substr(0, colon);
}

NetLimits g_limits;
std::atomic<size_t> g_open{0};
std::atomic<size_t> g_pending{0};
// Bytes queued to connections, in shards: each thread that writes (the workers) has its own,
// and adds to it without a locked instruction. One atomic counter for all of them was a cache
// line every worker wrote at every write (a locked add each time): shared state on the hottest
// path, which DESIGN.md's thread model rules out. (On the 2-core VM the change is within the
// noise: perf's samples on that `lock add` were mostly the stall of the copy before it.)
// The sum is read only by the global output bound, for a client with 64 KiB unsent
// (total_output()). A connection's bytes may leave from another shard than they came to; the
// shards are signed, and the sum is still right.
constexpr size_t kOutputShards = 64;
constexpr size_t kSharedOutputShard = kOutputShards - 1;  // threads past the first 63 share it
struct alignas(64) OutputShard {
    std::atomic<int64_t> bytes{0};
};
OutputShard g_output[kOutputShards];
std::atomic<size_t> g_output_threads{0};

void add_output(int64_t delta) {
    thread_local const size_t index =
        std::min(g_output_threads.fetch_add(1, std::memory_order_relaxed), kSharedOutputShard);
    std::atomic<int64_t>& bytes = g_output[index].bytes;
    if (index == kSharedOutputShard)
        bytes.fetch_add(delta, std::memory_order_relaxed);
    else  // one writer: a load and a store, which other threads still read whole
        bytes.store(bytes.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

std::mutex g_addresses_mutex;
std::unordered_map<std::string, uint32_t> g_addresses;  // only while max_connections_per_address
}  // namespace

const NetLimits& limits() {
    return g_limits;
}

std::string configure(const LimitsConfig& config) {
    std::string note;
    g_limits.max_connections = config.max_connections;
    if (config.max_connections == 0) {
        rlimit rl{};
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128) {
            g_limits.max_connections = static_cast<uint32_t>(std::min<rlim_t>(rl.rlim_cur - 64, UINT32_MAX));
            note = "max_connections = " + std::to_string(g_limits.max_connections) +
                   " (the open-file limit " + std::to_string(rl.rlim_cur) +
                   " minus 64; raise it with ulimit -n or set [limits] max_connections)";
        } else {
            g_limits.max_connections = 64;
            note = "max_connections = 64 (the open-file limit is too low to leave room for more)";
        }
    }
    g_limits.max_pending_connects = config.max_pending_connects;
    g_limits.max_connections_per_address = config.max_connections_per_address;
    g_limits.max_total_output = config.max_total_output_buffer;
    g_limits.max_output = config.max_output_buffer;
    g_limits.send_timeout_ms = uint64_t{config.send_timeout} * 1000;
    return note;
}

NetCounts counts() {
    return {g_open.load(std::memory_order_relaxed), g_pending.load(std::memory_order_relaxed)};
}

uint64_t total_output() {
    int64_t sum = 0;
    for (const OutputShard& shard : g_output)
        sum += shard.bytes.load(std::memory_order_relaxed);
    return sum > 0 ? static_cast<uint64_t>(sum) : 0;  // shards read at different moments
}

// Per-address counts for the listener: how many are open from `ip`, after adding `delta`.
uint32_t count_address(const std::string& ip, int delta) {
    std::lock_guard lock(g_addresses_mutex);
    auto it = g_addresses.try_emplace(ip, 0).first;
    it->second = static_cast<uint32_t>(static_cast<int64_t>(it->second) + delta);
    uint32_t n = it->second;
    if (n == 0) g_addresses.erase(it);
    return n;
}

FlushQueue::FlushQueue(uv_loop_t* loop) {
    uv_check_init(loop, &_check);
    uv_idle_init(loop, &_idle);
    _check.data = this;
    uv_check_start(&_check, [](uv_check_t* h) { static_cast<FlushQueue*>(h->data)->flush_all(); });
    uv_unref(reinterpret_cast<uv_handle_t*>(&_check));
}

void FlushQueue::add(Connection* c) {
    if (_closed) {  // stopping: no loop iterations left to wait for
        c->flush();
        return;
    }
    _dirty.push_back(c);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&_idle))) uv_idle_start(&_idle, [](uv_idle_t*) {});
}

void FlushQueue::close() {
    _closed = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&_check), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&_idle), nullptr);
    // A stopping server waits for no peer: their last packet was written, their handler is gone.
    std::vector<Connection*> lingering;
    lingering.swap(_lingering);
    for (Connection* c : lingering)
        c->close("server stopping");
}

void FlushQueue::defer(Connection* c) {
    _deferred.push_back(c);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&_idle))) uv_idle_start(&_idle, [](uv_idle_t*) {});
}

void FlushQueue::run_deferred() {
    // Each deferred handler gets one more turn, in order; what it defers again waits for the
    // next loop turn, after the other connections' I/O.
    std::vector<Connection*> batch;
    batch.swap(_deferred);
    for (Connection* c : batch)
        c->run_deferred();
}

void FlushQueue::flush_all() {
    uv_idle_stop(&_idle);
    if (!_deferred.empty() && !_closed) run_deferred();
    if (!_deferred.empty()) uv_idle_start(&_idle, [](uv_idle_t*) {});
    // A flush can queue more (a write error closes, whose handler publishes a will), so swap first.
    while (!_dirty.empty()) {
        std::vector<Connection*> batch;
        batch.swap(_dirty);
        for (Connection* c : batch)
            c->flush();
    }
}

struct Connection::Write {
    uv_write_t req{};
    OutputQueue queue;     // owned by the write until on_write (which drops its shared references)
    uint64_t started = 0;  // uv_now() when it began
};

struct Connection::Ending {
    uv_timer_t timer{};  // initialised on first use (start_timer)
    uv_shutdown_t shutdown{};
    std::string reason;
};

struct Connection::Extra {
    std::map<std::string, std::string> attributes;
    std::string socket_ip;  // set once set_peer() replaced _peer; "" before
};

namespace {
const std::string kNoListener;
}

// Boxed, so that a plain TCP connection pays one null pointer for TLS.
struct Connection::Tls {
    explicit Tls(SSL_CTX* ctx) : stream(ctx) {}
    TlsStream stream;
    OutputQueue plain_out;  // written since the last flush; encrypted there, slice by slice
    TlsIdentity identity_field = TlsIdentity::None;
    std::string identity;  // the certificate's field for use_identity_as_username
    uint32_t handshake_timeout_s = 0;
    bool close_notify_sent = false;
};

Connection::Connection(uv_loop_t* loop, FlushQueue& flush_queue)
    : _flush_queue(flush_queue), _listener_address(&kNoListener) {
    uv_tcp_init(loop, &_tcp);
    _tcp.data = this;
}

Connection::~Connection() {
    if (!_counted) return;
    g_open.fetch_sub(1, std::memory_order_relaxed);
    release_places();
}

void Connection::release_places() {
    if (!_counted || _places_released) return;
    _places_released = true;
    if (_pending_connect) {
        _pending_connect = false;
        g_pending.fetch_sub(1, std::memory_order_relaxed);
    }
    if (g_limits.max_connections_per_address != 0) count_address(peer_ip(), -1);
}

void Connection::accepted() {
    _peer = peer_of(&_tcp);
    if (_counted) return;
    _counted = true;
    g_open.fetch_add(1, std::memory_order_relaxed);
    g_pending.fetch_add(1, std::memory_order_relaxed);
    if (g_limits.max_connections_per_address != 0) count_address(peer_ip(), 1);
}

void Connection::established() {
    if (!_pending_connect) return;
    _pending_connect = false;
    if (!_counted) return;
    g_pending.fetch_sub(1, std::memory_order_relaxed);
}

std::string Connection::peer_ip() const {
    if (_extra && !_extra->socket_ip.empty()) return _extra->socket_ip;
    return ip_of(_peer);
}

void Connection::set_peer(std::string address) {
    if (!_extra) _extra = std::make_unique<Extra>();
    if (_extra->socket_ip.empty()) _extra->socket_ip = ip_of(_peer);
    _peer = std::move(address);
    if (_handler) _handler->on_address_changed(_peer);
}

void Connection::set_attribute(std::string name, std::string value) {
    if (!_extra) _extra = std::make_unique<Extra>();
    _extra->attributes[std::move(name)] = std::move(value);
}

const std::string* Connection::attribute(const std::string& name) const {
    if (!_extra) return nullptr;
    auto it = _extra->attributes.find(name);
    return it == _extra->attributes.end() ? nullptr : &it->second;
}

void Connection::set_listener_address(const std::string& a) {
    // Entries are never removed: there are as many as distinct listener addresses in the config.
    static std::mutex mutex;
    static std::set<std::string, std::less<>> addresses;
    std::lock_guard lock(mutex);
    _listener_address = &*addresses.insert(a).first;
}

size_t Connection::buffer_capacity() const {
    return _pending.capacity() + (_write ? _write->queue.capacity() : 0);
}

Connection::Ending& Connection::ending() {
    if (!_ending) _ending = std::make_unique<Ending>();
    return *_ending;
}

const std::string& Connection::close_reason() const {
    return _ending ? _ending->reason : kNoListener;
}

uint32_t Connection::connections_from(const std::string& ip) {
    std::lock_guard lock(g_addresses_mutex);
    auto it = g_addresses.find(ip);
    return it == g_addresses.end() ? 0 : it->second;
}

void Connection::count_output(int64_t delta) {
    add_output(delta);
}

bool Connection::write_waiting() const {
    return _write && !_write->queue.empty();
}

uint64_t Connection::write_stalled_ms() const {
    if (!write_waiting()) return 0;
    return uv_now(_tcp.loop) - _write->started;
}

void Connection::pause_until_drained() {
    if (backlog() == 0) return;
    pause_reading(kPauseOutput);
}

void Connection::defer(bool pause) {
    if (_closing || _deferred) return;
    _deferred = true;
    if (pause) pause_reading(kPauseBudget);
    _flush_queue.defer(this);
}

void Connection::run_deferred() {
    _deferred = false;
    resume_reading(kPauseBudget);
    if (!_closing && !_close_after_flush && _handler) _handler->on_resume();
}

int Connection::detach_fd() {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&_tcp), &fd) != 0) return -1;
    int copy = ::dup(fd);
    if (copy >= 0) _counted = false;  // the place in the limits goes with the fd
    return copy;
}

int Connection::open(int fd) {
    if (int rc = uv_tcp_open(&_tcp, fd); rc != 0) return rc;
    _peer = peer_of(&_tcp);
    _counted = true;  // the place detach_fd() gave away: not counted again
    return 0;
}

void Connection::uncount(const std::string& peer_ip) {
    g_open.fetch_sub(1, std::memory_order_relaxed);
    g_pending.fetch_sub(1, std::memory_order_relaxed);
    if (g_limits.max_connections_per_address != 0) count_address(peer_ip, -1);
}

int Connection::start(ConnectionHandler* handler) {
    _handler = handler;
    uv_tcp_nodelay(&_tcp, 1);
    if (_paused != 0) return 0;  // a transport paused it in open(): resume starts reading
    int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&_tcp), on_alloc, on_read);
    _reading = rc == 0;
    return rc;
}

bool Connection::set_transport(std::unique_ptr<TransportFilter> filter) {
    _transport = std::move(filter);
    if (_tls && !_tls->stream.established()) return true;  // tls_established() opens it
    return _transport->open(&_plugin_handle) == ROOST_OK;
}

void Connection::deliver_up(std::span<const uint8_t> bytes) {
    if (!_closing && !_close_after_flush && _handler) _handler->on_data(bytes);
}

void Connection::write(std::span<const uint8_t> bytes) {
    if (_closing || _close_after_flush) return;
    if (_transport) {
        if (_transport->encode(&_plugin_handle, {bytes.data(), bytes.size()}) < 0)
            return close(std::string("transport '") + _transport->name() + "' failed to encode");
        if (_transport->has_flush() && !_encoded) {
            _encoded = true;
            if (!_queued_for_flush) {
                _queued_for_flush = true;
                _flush_queue.add(this);
            }
        }
        return;
    }
    write_wire(bytes);
}

void Connection::write(std::span<const uint8_t> head, SharedBytes body) {
    if (_closing || _close_after_flush) return;
    const size_t size = head.size() + body.bytes.size();
    uint8_t prefix[16];
    int prefix_size = 0;
    if (_transport) {
        // A transport whose framing is a prefix (WebSocket) lets the payload go by reference too.
        prefix_size = _transport->encode_prefix(&_plugin_handle, size, prefix, sizeof prefix);
        if (prefix_size < 0 || prefix_size > static_cast<int>(sizeof prefix)) {
            // Otherwise it gets whole packets, as it always did: one contiguous copy.
            thread_local std::vector<uint8_t> packet;
            packet.assign(head.begin(), head.end());
            packet.insert(packet.end(), body.bytes.begin(), body.bytes.end());
            write(packet);
            if (packet.capacity() > 64 * 1024) std::vector<uint8_t>().swap(packet);
            return;
        }
        if (_transport->has_flush()) _encoded = true;  // the batch's flush() hook still runs
    }
    OutputQueue& queue = _tls ? _tls->plain_out : _pending;
    queue.append({prefix, static_cast<size_t>(prefix_size)});
    queue.append(head);
    queue.append_shared(std::move(body));
    if (!_tls) count_output(static_cast<int64_t>(prefix_size + size));
    if (!_queued_for_flush) {
        _queued_for_flush = true;
        _flush_queue.add(this);
    }
}

void Connection::write_wire(std::span<const uint8_t> bytes) {
    if (_closing) return;
    if (_tls) {
        // Encrypted at the flush: one SSL_write (records of up to 16 KiB) for all of this turn's
        // packets, not a record per packet.
        _tls->plain_out.append(bytes);
        if (!_queued_for_flush) {
            _queued_for_flush = true;
            _flush_queue.add(this);
        }
        return;
    }
    _pending.append(bytes);
    count_output(static_cast<int64_t>(bytes.size()));
    if (!_queued_for_flush) {
        _queued_for_flush = true;
        _flush_queue.add(this);
    }
}

void Connection::flush() {
    if (_encoded && _transport && !_closing) {
        _encoded = false;
        // What the transport sends now joins this flush (write_wire must not queue us again).
        _queued_for_flush = true;
        int rc = _transport->flush(&_plugin_handle);
        if (rc < 0) return close(std::string("transport '") + _transport->name() + "' failed to flush");
    }
    if (_tls && !_closing) {
        encrypt_pending();
        if (_closing) return;
    }
    _queued_for_flush = false;
    write_pending();
}

size_t Connection::backlog() const {
    return _pending.size() + (_write ? _write->queue.size() : 0) + (_tls ? _tls->plain_out.size() : 0);
}

void Connection::queued_wire(size_t before) {
    if (_pending.size() == before) return;
    count_output(static_cast<int64_t>(_pending.size() - before));
    if (!_queued_for_flush) {
        _queued_for_flush = true;
        _flush_queue.add(this);
    }
}

void Connection::start_timer(uint64_t ms, uv_timer_cb cb) {
    Ending& e = ending();
    if (_open_handles == 1) {
        uv_timer_init(_tcp.loop, &e.timer);
        e.timer.data = this;
        ++_open_handles;
    }
    uv_timer_start(&e.timer, cb, ms, 0);
}

bool Connection::start_tls(const TlsContext& context, const TlsConfig& config) {
    _tls = std::make_unique<Tls>(context.get());
    if (!_tls->stream.ok()) {
        log::error("listener {}: cannot start TLS for {}: {}", *_listener_address, _peer, openssl_errors());
        return false;
    }
    _tls->identity_field = config.identity_as_username;
    _tls->handshake_timeout_s = config.handshake_timeout;
    start_timer(uint64_t{config.handshake_timeout} * 1000, [](uv_timer_t* t) {
        auto* self = static_cast<Connection*>(t->data);
        log::limit("tls_handshake",
                   "listener {}: TLS handshake with {} not finished within {} s ([[listener]] "
                   "tls_handshake_timeout); closing",
                   *self->_listener_address, self->_peer, self->_tls->handshake_timeout_s);
        self->close("TLS handshake timed out");
    });
    return true;
}

const std::string* Connection::tls_identity() const {
    return _tls ? &_tls->identity : nullptr;
}

void Connection::read_tls(std::span<const uint8_t> cipher) {
    // Plaintext of one socket read, handed up in one piece as a plain read would be (the handler
    // keeps what it needs before it returns). One buffer per worker thread.
    thread_local std::vector<uint8_t> plain;
    plain.clear();
    const bool was_established = _tls->stream.established();
    size_t before = _pending.size();
    TlsStream::Result result = _tls->stream.receive(cipher, plain, _pending);
    queued_wire(before);  // handshake flights, alerts, session tickets, KeyUpdates
    // What TLS answers by itself never passes the broker's output check: a client that keeps
    // asking for KeyUpdates (each answered with one) and never reads made us queue the answers
    // until send_timeout, as fast as the worker could make them. Past max_output_buffer it is
    // not read until it has read what waits, as for MQTT output. (Not during the handshake:
    // the server's flight may be larger than a small max_output_buffer, and is bounded anyway.)
    if (was_established && _pending.size() > before && backlog() > g_limits.max_output &&
        !(_paused & kPauseOutput) && result != TlsStream::Result::Failed) {
        log::limit("tls_output",
                   "listener {}: {} does not read what TLS answers ({} bytes unsent, over [limits] "
                   "max_output_buffer = {}): not reading from it until it reads",
                   *_listener_address, _peer, backlog(), g_limits.max_output);
        pause_until_drained();
    }
    if (result == TlsStream::Result::Failed) {
        if (!was_established && !_tls->stream.established())
            log::limit("tls_handshake", "listener {}: TLS handshake with {} failed: {}", *_listener_address,
                       _peer, _tls->stream.error());
        else
            log::limit("tls_handshake", "listener {}: TLS error from {}: {}", *_listener_address, _peer,
                       _tls->stream.error());
        // The alert OpenSSL queued goes out first, then the socket closes.
        return close_after_flush("TLS: " + _tls->stream.error());
    }
    if (result == TlsStream::Result::Handshaking) return;
    if (!was_established) {
        tls_established();
        if (closing()) return;
    }
    if (!plain.empty()) {
        std::span<const uint8_t> bytes{plain.data(), plain.size()};
        if (!_transport) {
            _handler->on_data(bytes);
        } else if (_transport->decode(&_plugin_handle, {bytes.data(), bytes.size()}) < 0) {
            return close(std::string("transport '") + _transport->name() + "' rejected the bytes");
        }
    }
    if (result == TlsStream::Result::PeerClosed && !closing())
        close("connection closed by peer (TLS close_notify)");
}

void Connection::tls_established() {
    if (!_close_after_flush && _open_handles == 2) uv_timer_stop(&_ending->timer);
    const SSL* ssl = _tls->stream.ssl();
    for (auto& [name, value] : tls_attributes(ssl))
        set_attribute(std::move(name), std::move(value));
    _tls->identity = net::tls_identity(ssl, _tls->identity_field);
    log::debug("listener {}: TLS with {} established ({}, {}){}", *_listener_address, _peer,
               SSL_get_version(ssl), SSL_get_cipher_name(ssl),
               attribute("tls.peer.subject") ? ", client " + *attribute("tls.peer.subject") : "");
    // The transport opens now, above TLS, and sees the tls.* attributes.
    if (_transport && _transport->open(&_plugin_handle) != ROOST_OK) {
        log::info("connection from {} refused by transport '{}'", _peer, _transport->name());
        close("refused by its transport");
    }
}

void Connection::encrypt_pending() {
    if (!_tls->stream.established()) return;  // nothing is written before; kept until it is
    size_t before = _pending.size();
    if (!_tls->plain_out.empty()) {
        // Straight from the queued slices (a shared payload is encrypted where it is); the
        // records land in the copy buffer, after what is queued there already.
        bool ok = true;
        _tls->plain_out.for_each([&](std::span<const uint8_t> piece) {
            if (ok) ok = _tls->stream.send(piece, _pending);
        });
        // A burst's buffer is given back; an everyday one is kept for the next turn. The shared
        // slices' references go now: their bytes are encrypted.
        if (_tls->plain_out.capacity() > 64 * 1024)
            _tls->plain_out.release();
        else
            _tls->plain_out.clear();
        if (!ok) {
            count_output(static_cast<int64_t>(_pending.size() - before));
            return close("TLS: " + _tls->stream.error());
        }
    }
    if (_close_after_flush && !_tls->close_notify_sent) {
        _tls->close_notify_sent = true;
        _tls->stream.shutdown(_pending);
    }
    count_output(static_cast<int64_t>(_pending.size() - before));
}

void Connection::write_pending() {
    if (_closing || _lingering || (_write && !_write->queue.empty())) return;  // on_write goes on
    if (_pending.empty()) {
        if (_close_after_flush) linger();
        return;
    }
    // The whole queue as consecutive buffers: copied packets and shared payloads. (A burst's
    // long array is given back at the next write that needs a short one.)
    thread_local std::vector<uv_buf_t> bufs;
    if (bufs.capacity() > 1024 && _pending.pieces() <= 1024) std::vector<uv_buf_t>().swap(bufs);
    bufs.clear();
    bufs.reserve(_pending.pieces());
    _pending.for_each([](std::span<const uint8_t> piece) {
        bufs.push_back(uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(piece.data())),
                                   static_cast<unsigned>(piece.size())));
    });
    // First at once (one writev), which nearly always takes it all: a uv_write that completes
    // at once still reports on the next loop turn, and libuv then re-registers the socket with
    // epoll (an epoll_ctl per write: 12 % of a fan-out worker's samples).
    const size_t total = _pending.size();
    int n =
        uv_try_write(reinterpret_cast<uv_stream_t*>(&_tcp), bufs.data(), static_cast<unsigned>(bufs.size()));
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) return close(std::string("write failed: ") + uv_strerror(n));
    if (static_cast<size_t>(n) == total) {
        count_output(-static_cast<int64_t>(total));
        _pending.release();  // nothing is kept between writes (see kKeepOutputCapacity)
        written();
        return;
    }
    // The rest waits for the socket: one uv_write of what is left, holding the queue (and its
    // shared payloads) until it completes. on_write counts the whole queue out then.
    size_t skip = static_cast<size_t>(n);
    size_t first = 0;
    while (skip >= bufs[first].len)
        skip -= bufs[first++].len;
    bufs[first].base += skip;
    bufs[first].len -= static_cast<unsigned>(skip);
    if (!_write) {
        _write = std::make_unique<Write>();
        _write->req.data = this;
    }
    _write->queue.swap(_pending);
    _write->started = uv_now(_tcp.loop);
    if (_handler) _handler->on_write_waiting();
    int rc = uv_write(&_write->req, reinterpret_cast<uv_stream_t*>(&_tcp), bufs.data() + first,
                      static_cast<unsigned>(bufs.size() - first), on_write);
    if (rc < 0) {
        count_output(-static_cast<int64_t>(_write->queue.size()));
        _write.reset();
        close(std::string("write failed: ") + uv_strerror(rc));
    }
}

void Connection::written() {
    if (_closing) return;
    write_pending();
    if (backlog() == 0 && (_paused & kPauseOutput)) {
        resume_reading(kPauseOutput);
        if (_handler && !_close_after_flush) _handler->on_resume();
    }
    if (!_closing && _transport && backlog() == 0 && !_close_after_flush)
        _transport->drained(&_plugin_handle);
}

void Connection::on_write(uv_write_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    self->count_output(-static_cast<int64_t>(self->_write->queue.size()));
    // The request and its buffer go when nothing more waits, so an idle connection keeps
    // neither; a large buffer (one 20 MB message) goes at once. Shared payloads written are
    // released here either way.
    if (self->_pending.empty())
        self->_write.reset();
    else if (self->_write->queue.capacity() > kKeepOutputCapacity)
        self->_write->queue.release();
    else
        self->_write->queue.clear();
    if (status < 0) {
        if (status != UV_ECANCELED) self->close(std::string("write failed: ") + uv_strerror(status));
        return;
    }
    self->written();
}

void Connection::close(const std::string& reason) {
    if (_closing) return;
    _closing = true;
    release_places();
    if (_deferred) {
        _deferred = false;
        _flush_queue.undefer(this);
    }
    // What was queued is dropped (a write in progress is cancelled by uv_close: on_write counts it).
    count_output(-static_cast<int64_t>(_pending.size()));
    _pending.release();
    // Once closing after a flush, that reason stays the one the handler hears (not the reset or
    // timeout that ends it).
    if (!_close_after_flush) ending().reason = reason;
    if (_open_handles == 2) {
        _flush_queue.done_lingering(this);
        uv_close(reinterpret_cast<uv_handle_t*>(&_ending->timer), on_close);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&_tcp), on_close);
}

void Connection::linger() {
    if (_lingering || _closing) return;
    _lingering = true;
    release_places();
    // Nothing left to read after the peer's EOF, so no reset to fear; and a stopping server
    // closes at once, as it always did (the process is about to end anyway).
    if (_peer_eof || _flush_queue.closed()) {
        _lingering = false;
        return close(close_reason());
    }
    Ending& e = ending();
    e.shutdown.data = this;
    if (uv_shutdown(&e.shutdown, reinterpret_cast<uv_stream_t*>(&_tcp), on_shutdown) != 0) {
        _lingering = false;
        return close(close_reason());
    }
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    if (self->_closing) return;  // closed meanwhile (UV_ECANCELED): on_close tells the handler
    // From here on the handler is done with this connection, as after a close.
    self->_transport.reset();
    if (ConnectionHandler* h = std::exchange(self->_handler, nullptr)) h->on_closed(self->close_reason());
    if (self->_closing) return;
    if (status < 0 || self->_peer_eof || self->_flush_queue.closed())
        return self->close(self->close_reason());
    self->_flush_queue.lingering(self);
    uv_timer_start(
        &self->_ending->timer,
        [](uv_timer_t* t) { static_cast<Connection*>(t->data)->close("lingering close timed out"); },
        kLingerMs, 0);
    self->resume_reading_to_discard();
}

void Connection::pause_reading(uint8_t reason) {
    _paused |= reason;
    update_reading();
}

void Connection::resume_reading(uint8_t reason) {
    _paused &= static_cast<uint8_t>(~reason);
    update_reading();
}

void Connection::update_reading() {
    if (_closing || _close_after_flush || !_handler) return;
    bool want = _paused == 0;
    if (want == _reading) return;
    if (want) {
        _reading = uv_read_start(reinterpret_cast<uv_stream_t*>(&_tcp), on_alloc, on_read) == 0;
    } else {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&_tcp));
        _reading = false;
    }
}

void Connection::resume_reading_to_discard() {
    if (_reading || _closing) return;
    _reading = uv_read_start(reinterpret_cast<uv_stream_t*>(&_tcp), on_alloc, on_read) == 0;
}

void Connection::close_after_flush(const std::string& reason) {
    if (_closing || _close_after_flush) return;
    // Reading goes on, into nothing (on_read drops it): a peer still sending must not fill our
    // receive buffer, nor block on its own writes while ours wait for it to read.
    resume_reading_to_discard();
    _close_after_flush = true;
    ending().reason = reason;
    if (_deferred) {
        _deferred = false;
        _flush_queue.undefer(this);
    }
    // The last packet waits for a peer that reads, but not for ever: send_timeout bounds it.
    start_timer(g_limits.send_timeout_ms, [](uv_timer_t* t) {
        static_cast<Connection*>(t->data)->close("the peer did not read the last packet");
    });
    if (!_queued_for_flush) {
        _queued_for_flush = true;
        _flush_queue.add(this);
    }
}

void Connection::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    // One read buffer per worker thread, not per connection: libuv fills it and calls on_read,
    // which hands the bytes on (the decoder keeps what it needs), before it asks again. 100,000
    // idle devices then cost no 64 KiB each.
    thread_local uint8_t read_buffer[64 * 1024];
    *buf = uv_buf_init(reinterpret_cast<char*>(read_buffer), sizeof read_buffer);
}

void Connection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(s->data);
    if (n > 0) {
        if (self->_closing || self->_close_after_flush) return;
        std::span<const uint8_t> bytes{reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(n)};
        if (self->_tls) return self->read_tls(bytes);
        if (!self->_transport) return self->_handler->on_data(bytes);
        if (self->_transport->decode(&self->_plugin_handle, {bytes.data(), bytes.size()}) < 0)
            self->close(std::string("transport '") + self->_transport->name() + "' rejected the bytes");
        return;
    }
    if (n == UV_EOF) {
        if (self->_close_after_flush && !self->_lingering) {
            // The peer is done sending, maybe not reading: the last packet still goes.
            self->_peer_eof = true;
            uv_read_stop(s);
            self->_reading = false;
            return;
        }
        self->close(self->_lingering ? self->close_reason() : "connection closed by peer");
    } else if (n < 0) {
        self->close(std::string("read failed: ") + uv_strerror(static_cast<int>(n)));
    }
}

void Connection::on_close(uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    if (--self->_open_handles > 0) return;
    self->_transport.reset();  // the plugin's close() runs before the broker forgets the client
    if (ConnectionHandler* handler = std::exchange(self->_handler, nullptr))
        handler->on_closed(self->close_reason());
    delete self;
}

}  // namespace roost::net
