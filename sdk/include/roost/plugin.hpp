/* roost/plugin.hpp: an optional, header-only C++17 layer over roost/plugin.h (the ABI).
 *
 * It is built only on plugin.h: it adds no symbol the broker must provide and changes nothing on
 * the wire between plugin and broker. What it gives you:
 *
 *   roost::bytes_view   roost_bytes <-> std::string_view, both ways, implicitly
 *   roost::options      the [plugin.options] table, copied, with typed lookups (integers,
 *                       booleans, durations such as "30s") that throw naming the option's file:line
 *   roost::per_worker<T> one T per worker thread (a Lua state, a connection), made in worker_start
 *   roost::plugin<D>    a base class: D implements the hooks it wants as member functions, the
 *                       layer builds the static C hook tables for exactly those and registers them
 *   ROOST_PLUGIN_CPP(D) the exports (version, check, init, cleanup) for D
 *
 *   class deny_secret : public roost::plugin<deny_secret> {
 *   public:
 *       explicit deny_secret(const roost::options& o) : _topic(o.get_or("topic", "secret")) {}
 *       roost_verdict check(roost::acl_event& ev) {
 *           return ev.topic() == _topic ? ev.deny(ROOST_RC_NOT_AUTHORIZED) : ROOST_NEXT;
 *       }
 *   private:
 *       std::string _topic;
 *   };
 *   ROOST_PLUGIN_CPP(deny_secret);
 *
 * Hooks D may define (any subset; a missing one is NULL in the table, so the host skips it):
 *   roost_verdict authenticate(roost::auth_event&)        auth
 *   roost_verdict continue_auth(roost::auth_event&)       auth (MQTT 5 enhanced auth steps)
 *   roost_verdict check(roost::acl_event&)                acl
 *   roost_verdict on_publish(roost::message_event&)       message, before routing
 *   void on_routed(const roost::message_event&, size_t)   message, after routing
 *   void worker_start(unsigned) / worker_stop(unsigned)   lifecycle (return type ignored...
 *   void on_connect(roost::client) / on_disconnect(roost::client, uint8_t) / tick()
 *                                                         ...worker_start may return bool: false
 *                                                         stops the broker from starting)
 *   void client_release(roost::client, void* data)        lifecycle: data set with set_client_data
 *   void reload(const roost::options&)                    lifecycle, SIGHUP (main thread): throw (or
 *                                                         return false) to keep the old options
 *   static void check_options(const roost::options&)      roost_plugin_check: throw to refuse the
 *                                                         options (roost --check-config, start, SIGHUP)
 * D is constructed in roost_plugin_init() from `const roost::options&` if it has such a
 * constructor, else default-constructed; log() and the other host helpers work in the
 * constructor. Throw from the constructor to refuse to load: the message is logged.
 *
 * Rules the layer keeps for you:
 *  - Exceptions never cross the C boundary. A hook that throws is logged and answers DENY with
 *    0x83 Implementation specific error (init answers -1; void hooks are only logged).
 *  - Every hook gets the one D instance (worker_data is plugin_data). Hooks run concurrently on
 *    several workers: guard shared state, or keep it per worker in a roost::per_worker<T> member
 *    (start(worker, ...) in worker_start, local() in any hook, stop(worker) in worker_stop).
 *  - Out-fields you set through the event wrappers (reply, new topic, new payload) are copied
 *    into thread-local storage that lives until the next hook call on the same thread, so they
 *    stay valid until the host copies them. Raw out-fields you set yourself follow plugin.h.
 *  - Persistence and transport hooks are not wrapped: register their C tables yourself in D's
 *    constructor with host()->hook_register(self(), ...); their worker_data is the D*.
 */
#ifndef ROOST_PLUGIN_HPP
#define ROOST_PLUGIN_HPP

#if !defined(__cplusplus) || __cplusplus < 201703L
#error "roost/plugin.hpp needs C++17 or later; from C include roost/plugin.h"
#endif

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "roost/plugin.h"

namespace roost {

/* ---- bytes ------------------------------------------------------------------------------ */

// A borrowed byte range: roost_bytes with std::string_view manners. Converts implicitly from and
// to both. Like the roost_bytes it wraps, it owns nothing: valid as long as what it points at.
class bytes_view {
  public:
    bytes_view() noexcept = default;
    bytes_view(roost_bytes b) noexcept : _b(b) {}  // NOLINT: implicit on purpose
    bytes_view(std::string_view s) noexcept        // NOLINT
        : _b{reinterpret_cast<const uint8_t*>(s.data()), s.size()} {}
    bytes_view(const char* s) noexcept : bytes_view(std::string_view(s)) {}         // NOLINT
    bytes_view(const std::string& s) noexcept : bytes_view(std::string_view(s)) {}  // NOLINT

    operator roost_bytes() const noexcept { return _b; }          // NOLINT
    operator std::string_view() const noexcept { return str(); }  // NOLINT

    std::string_view str() const noexcept {
        return _b.len == 0 ? std::string_view()
                           : std::string_view(reinterpret_cast<const char*>(_b.data), _b.len);
    }
    std::string to_string() const { return std::string(str()); }
    const uint8_t* data() const noexcept { return _b.data; }
    size_t size() const noexcept { return _b.len; }
    bool empty() const noexcept { return _b.len == 0; }
    bool starts_with(std::string_view prefix) const noexcept {
        return str().substr(0, prefix.size()) == prefix;
    }

    friend bool operator==(bytes_view a, bytes_view b) noexcept { return a.str() == b.str(); }
    friend bool operator!=(bytes_view a, bytes_view b) noexcept { return !(a == b); }

  private:
    roost_bytes _b{nullptr, 0};
};

inline std::string_view to_string_view(roost_bytes b) noexcept {
    return bytes_view(b).str();
}
inline roost_bytes to_bytes(std::string_view s) noexcept {
    return bytes_view(s);
}

/* ---- options ---------------------------------------------------------------------------- */

// The plugin's [plugin.options] table, copied (the array roost_plugin_init gets is borrowed), in
// config order. Typed getters throw std::invalid_argument naming the key when a value does not
// parse: thrown from D's constructor, that refuses the load with a clear log line.
class options {
  public:
    using entry = std::pair<std::string, std::string>;  // key, value: `for (auto& [k, v] : opts)`
    struct location {
        std::string file;  // where the option is written ("" when unknown)
        uint32_t line = 0;
    };

    options() = default;
    options(const roost_option* array, size_t count) {
        _entries.reserve(count);
        _locations.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            _entries.emplace_back(array[i].key ? array[i].key : "", array[i].value ? array[i].value : "");
            _locations.push_back(location{array[i].file ? array[i].file : "", array[i].line});
        }
    }

    std::optional<std::string_view> get(std::string_view key) const noexcept {
        const entry* e = find(key);
        if (e == nullptr) return std::nullopt;
        return std::string_view(e->second);
    }
    std::string get_or(std::string_view key, std::string_view fallback) const {
        return std::string(get(key).value_or(fallback));
    }
    bool has(std::string_view key) const noexcept { return find(key) != nullptr; }
    // "roost.toml:12: " for an option written there; "" for one that is absent or came from no file.
    std::string where(std::string_view key) const {
        const entry* e = find(key);
        if (e == nullptr) return {};
        const location& l = _locations[static_cast<size_t>(e - _entries.data())];
        return l.file.empty() ? std::string() : l.file + ":" + std::to_string(l.line) + ": ";
    }

    // An integer option ("1024", "-3", "0x400") within [min, max]; `fallback` when absent.
    long long get_int(std::string_view key, long long fallback, long long min = LLONG_MIN,
                      long long max = LLONG_MAX) const {
        const entry* e = find(key);
        if (e == nullptr) return fallback;
        errno = 0;
        char* end = nullptr;
        long long n = std::strtoll(e->second.c_str(), &end, 0);
        if (e->second.empty() || *end != '\0' || errno == ERANGE) throw bad(*e, "not an integer");
        if (n < min || n > max) {
            throw bad(*e, "out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
        }
        return n;
    }
    // A boolean option: true/false (TOML), also yes/no, on/off, 1/0.
    bool get_bool(std::string_view key, bool fallback) const {
        const entry* e = find(key);
        if (e == nullptr) return fallback;
        const std::string& v = e->second;
        if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
        if (v == "false" || v == "no" || v == "off" || v == "0") return false;
        throw bad(*e, "not a boolean (true or false)");
    }
    // A duration: a number with a unit, "500ms", "30s", "5m", "2h", "1d" (a bare number is
    // milliseconds), at least `min`; `fallback` when absent.
    std::chrono::milliseconds get_duration(
        std::string_view key, std::chrono::milliseconds fallback,
        std::chrono::milliseconds min = std::chrono::milliseconds(0)) const {
        const entry* e = find(key);
        if (e == nullptr) return fallback;
        const std::string& v = e->second;
        errno = 0;
        char* end = nullptr;
        unsigned long long n = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || v[0] == '-' || end == v.c_str() || errno == ERANGE) {
            throw bad(*e, "not a duration (e.g. \"500ms\", \"30s\", \"5m\")");
        }
        std::string_view unit(end);
        unsigned long long scale = 0;
        if (unit.empty() || unit == "ms") {
            scale = 1;
        } else if (unit == "s") {
            scale = 1000;
        } else if (unit == "m" || unit == "min") {
            scale = 60 * 1000ull;
        } else if (unit == "h") {
            scale = 3600 * 1000ull;
        } else if (unit == "d") {
            scale = 86400 * 1000ull;
        } else {
            throw bad(*e, "unknown unit '" + std::string(unit) + "' (ms, s, m, h or d)");
        }
        if (n > (unsigned long long)LLONG_MAX / scale) throw bad(*e, "too long a duration");
        std::chrono::milliseconds d(static_cast<long long>(n * scale));
        if (d < min) throw bad(*e, "shorter than " + std::to_string(min.count()) + " ms");
        return d;
    }

    std::vector<entry>::const_iterator begin() const noexcept { return _entries.begin(); }
    std::vector<entry>::const_iterator end() const noexcept { return _entries.end(); }
    size_t size() const noexcept { return _entries.size(); }
    bool empty() const noexcept { return _entries.empty(); }

  private:
    const entry* find(std::string_view key) const noexcept {
        for (const entry& e : _entries) {
            if (e.first == key) return &e;
        }
        return nullptr;
    }
    // "file:line: option key = "value": why", for an exception that refuses the load.
    std::invalid_argument bad(const entry& e, const std::string& why) const {
        return std::invalid_argument(where(e.first) + "option " + e.first + " = \"" + e.second +
                                     "\": " + why);
    }
    std::vector<entry> _entries;
    std::vector<location> _locations;  // parallel to _entries
};

/* ---- clients and events ----------------------------------------------------------------- */

namespace detail {
// Storage for out-fields: lives until the next hook call on this thread, which is after the host
// copied what the previous hook set (the host copies when the hook returns, on the same thread).
struct out_storage {
    std::string reply, topic, payload;
};
inline out_storage& out() {
    static thread_local out_storage storage;
    return storage;
}
}  // namespace detail

// A client, borrowed for the length of one hook call: do not keep it.
class client {
  public:
    client(const roost_host* host, roost_client* c) noexcept : _host(host), _c(c) {}

    roost_client* raw() const noexcept { return _c; }
    explicit operator bool() const noexcept { return _c != nullptr; }

    // A fact about the client; empty when it has none (or for a message a plugin published).
    bytes_view info(roost_client_field field) const noexcept {
        roost_bytes out{nullptr, 0};
        if (_c == nullptr || _host->client_info(_c, field, &out) != ROOST_OK) return {};
        return out;
    }
    bytes_view id() const noexcept { return info(ROOST_CLIENT_ID); }
    bytes_view username() const noexcept { return info(ROOST_CLIENT_USERNAME); }
    bytes_view address() const noexcept { return info(ROOST_CLIENT_ADDRESS); }
    // 4 (MQTT 3.1.1) or 5; 0 without a client.
    int protocol() const noexcept { return _c == nullptr ? 0 : _host->client_protocol(_c); }
    bytes_view attribute(const char* name) const noexcept {
        roost_bytes out{nullptr, 0};
        if (_c == nullptr || _host->client_attribute(_c, name, &out) != ROOST_OK) return {};
        return out;
    }
    int disconnect(uint8_t reason_code) const noexcept {
        return _c == nullptr ? ROOST_EINVAL : _host->disconnect(_c, reason_code);
    }
    // A number that names the client after the hook returned (plugin::disconnect(ref, ...),
    // plugin::client_from_ref); 0 without a client.
    roost_client_ref ref() const noexcept { return _c == nullptr ? 0 : _host->client_ref(_c); }

  private:
    const roost_host* _host;
    roost_client* _c;
};

// The common part of the event wrappers: the raw C event and the verdict helpers.
template <class Event>
class event_base {
  public:
    event_base(const roost_host* host, Event* ev) noexcept : _host(host), _ev(ev) {}

    Event& raw() const noexcept { return *_ev; }
    roost::client client() const noexcept { return roost::client(_host, _ev->client); }

    roost_verdict allow() const noexcept { return ROOST_ALLOW; }
    roost_verdict next() const noexcept { return ROOST_NEXT; }
    // DENY with an MQTT 5 reason code (0 = the host's default).
    roost_verdict deny(uint8_t reason_code = 0) const noexcept {
        _ev->reason_code = reason_code;
        return ROOST_DENY;
    }

  protected:
    const roost_host* _host;
    Event* _ev;
};

class auth_event : public event_base<roost_auth_event> {
  public:
    using event_base::event_base;

    roost_auth_stage stage() const noexcept { return _ev->stage; }
    bool has_username() const noexcept { return _ev->has_username != 0; }
    bool has_password() const noexcept { return _ev->has_password != 0; }
    bytes_view username() const noexcept { return _ev->username; }
    bytes_view password() const noexcept { return _ev->password; }
    bytes_view method() const noexcept { return _ev->method; }
    bytes_view data() const noexcept { return _ev->data; }
    // The call to complete later from any thread: return pending() after handing it off.
    roost_call* call() const noexcept { return _ev->call; }
    roost_verdict pending() const noexcept { return ROOST_PENDING; }
    // MQTT 5 enhanced auth: Authentication Data for the client (copied); more = ask another round.
    void set_reply(bytes_view reply, bool more = false) {
        std::string& s = detail::out().reply;
        s.assign(reply.str());
        _ev->reply = bytes_view(s);
        _ev->more = more ? 1 : 0;
    }
};

class acl_event : public event_base<roost_acl_event> {
  public:
    using event_base::event_base;

    roost_acl_action action() const noexcept { return _ev->action; }
    bytes_view topic() const noexcept { return _ev->topic; }
    bytes_view payload() const noexcept { return _ev->payload; }
    uint8_t qos() const noexcept { return _ev->qos; }
    bool retain() const noexcept { return _ev->retain != 0; }
    // NULL for ROOST_ACL_DELIVER: that check must answer now.
    roost_call* call() const noexcept { return _ev->call; }
    roost_verdict pending() const noexcept { return ROOST_PENDING; }
    // DELIVER: the publisher's client id (empty for messages the broker or a plugin published).
    bytes_view publisher_id() const noexcept {
        return ROOST_HAS(_ev, roost_acl_event, publisher_id) ? bytes_view(_ev->publisher_id) : bytes_view();
    }
    // Lets the host answer the same check (client, action, topic, QoS, retain) itself for `ms`
    // (roost_acl_event.cache_ms); false, and nothing kept, on a broker without it. Forget with
    // host->acl_cache_clear when the rules change.
    bool keep_for(uint32_t ms) const noexcept {
        if (!ROOST_HAS(_ev, roost_acl_event, cache_ms) || !ROOST_HAS(_host, roost_host, acl_cache_clear))
            return false;
        _ev->cache_ms = ms;
        return true;
    }
};

class message_event : public event_base<roost_message_event> {
  public:
    using event_base::event_base;

    bytes_view topic() const noexcept { return _ev->topic; }
    bytes_view payload() const noexcept { return _ev->payload; }
    uint8_t qos() const noexcept { return _ev->qos; }
    bool retain() const noexcept { return _ev->retain != 0; }
    bytes_view content_type() const noexcept { return _ev->content_type; }
    bytes_view response_topic() const noexcept { return _ev->response_topic; }
    bytes_view correlation_data() const noexcept { return _ev->correlation_data; }
    size_t user_property_count() const noexcept { return _ev->user_property_count; }
    const roost_user_property& user_property(size_t i) const noexcept { return _ev->user_properties[i]; }

    // Rewrites (answer allow() afterwards): copied, valid until the host copies them.
    void set_topic(bytes_view topic) {
        std::string& s = detail::out().topic;
        s.assign(topic.str());
        _ev->new_topic = nonnull(s);
    }
    void set_payload(bytes_view payload) {
        std::string& s = detail::out().payload;
        s.assign(payload.str());
        _ev->new_payload = nonnull(s);
    }

  private:
    // An empty rewrite must still read as "set" (data != NULL): std::string's data() never is NULL.
    static roost_bytes nonnull(const std::string& s) noexcept {
        return roost_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
    }
};

/* ---- per-worker objects ------------------------------------------------------------------ */

// One T per worker thread: what a hook on worker w touches is only ever touched on worker w, so
// it needs no lock (one Lua state, one database connection per worker). Construct it with the
// host (in D's constructor: the slots are made then, once), start(worker, args...) in D's
// worker_start, local() in any hook, stop(worker) in worker_stop.
template <class T>
class per_worker {
  public:
    explicit per_worker(const roost_host* host) : _host(host), _slots(host->worker_count()) {}

    // On worker `worker`'s thread (worker_start): builds its T from args.
    template <class... Args>
    T& start(uint32_t worker, Args&&... args) {
        if (worker >= _slots.size())
            throw std::out_of_range("per_worker: no worker " + std::to_string(worker));
        _slots[worker] = std::make_unique<T>(std::forward<Args>(args)...);
        return *_slots[worker];
    }
    void stop(uint32_t worker) noexcept {
        if (worker < _slots.size()) _slots[worker].reset();
    }
    // The calling worker's T; throws std::logic_error off the workers or before start().
    T& local() const {
        uint32_t w = _host->worker_index();
        if (w >= _slots.size() || !_slots[w]) {
            throw std::logic_error("per_worker::local(): not on a worker whose start() ran");
        }
        return *_slots[w];
    }
    T* get(uint32_t worker) const noexcept { return worker < _slots.size() ? _slots[worker].get() : nullptr; }
    size_t size() const noexcept { return _slots.size(); }

  private:
    const roost_host* _host;
    std::vector<std::unique_ptr<T>> _slots;  // sized once; slot w written only on worker w
};

/* ---- the plugin base -------------------------------------------------------------------- */

namespace detail {
struct init_context {
    const roost_host* host;
    roost_plugin* self;
};
// Set by init() while D is constructed, so plugin<D>'s constructor learns host and self without
// D having to pass them on.
inline init_context*& constructing() {
    static thread_local init_context* ctx = nullptr;
    return ctx;
}
}  // namespace detail

template <class Derived>
class plugin {
  public:
    plugin(const plugin&) = delete;
    plugin& operator=(const plugin&) = delete;

    const roost_host* host() const noexcept { return _host; }
    roost_plugin* self() const noexcept { return _self; }

    // printf-style, any thread; the host prefixes the plugin's name.
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    void
    log(int level, const char* fmt, ...) const noexcept {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        _host->log(_self, level, "%s", line);
    }
    // Any thread, exactly once per PENDING.
    int complete(roost_call* call, roost_verdict verdict, uint8_t reason_code = 0,
                 const roost_bytes* reply = nullptr) const noexcept {
        return _host->complete(call, verdict, reason_code, reply);
    }
    // Any thread: publishes as the broker.
    int publish(bytes_view topic, bytes_view payload, uint8_t qos = 0, bool retain = false) const noexcept {
        return _host->publish(_self, topic, payload, qos, retain ? 1 : 0);
    }
    // Any thread: fn(arg) soon on `worker`'s thread.
    int post(uint32_t worker, void (*fn)(void*), void* arg) const noexcept {
        return _host->post(_self, worker, fn, arg);
    }
    // Any thread: complete() for many calls at once (one lock and one wake-up per worker).
    int complete_many(roost_call* const* calls, size_t n, roost_verdict verdict, uint8_t reason_code = 0,
                      int* results = nullptr) const noexcept {
        return _host->complete_many(calls, n, verdict, reason_code, results);
    }
    uint32_t worker_index() const noexcept {
        return _host->worker_index();
    }
    uint32_t worker_count() const noexcept {
        return _host->worker_count();
    }
    // On a worker: fn(arg) after `delay`, then every `repeat` (0: once). The id for stop_timer.
    roost_timer start_timer(std::chrono::milliseconds delay, std::chrono::milliseconds repeat,
                            void (*fn)(void*), void* arg) const noexcept {
        roost_timer t = 0;
        if (_host->timer_start(_self, static_cast<uint64_t>(delay.count()),
                               static_cast<uint64_t>(repeat.count()), fn, arg, &t) != ROOST_OK) {
            return 0;
        }
        return t;
    }
    int stop_timer(roost_timer timer) const noexcept {
        return _host->timer_stop(timer);
    }
    // Per-client data (on the client's worker); client_release(client, data) gets it back.
    int set_client_data(const client& c, void* data) const noexcept {
        return _host->client_data_set(_self, c.raw(), data);
    }
    void* client_data(const client& c) const noexcept {
        return _host->client_data_get(_self, c.raw());
    }
    // Any thread: disconnects a client kept as a ref; ROOST_EGONE once it left.
    int disconnect(roost_client_ref ref, uint8_t reason_code) const noexcept {
        return _host->client_ref_disconnect(ref, reason_code);
    }
    // On the ref's worker: the live client, or an empty one once it left.
    client client_from_ref(roost_client_ref ref) const noexcept {
        roost_client* c = nullptr;
        if (_host->client_from_ref(ref, &c) != ROOST_OK) c = nullptr;
        return client(_host, c);
    }

  protected:
    plugin() noexcept {
        if (detail::init_context* ctx = detail::constructing()) {
            _host = ctx->host;
            _self = ctx->self;
        }
    }
    ~plugin() = default;

  private:
    const roost_host* _host = nullptr;
    roost_plugin* _self = nullptr;
};

/* ---- glue: hook detection, tables, exports ---------------------------------------------- */

namespace detail {

// The detection idiom (C++17): detected<T, Op> is true when Op<T> is well-formed.
template <class T, template <class> class Op, class = void>
struct detected : std::false_type {};
template <class T, template <class> class Op>
struct detected<T, Op, std::void_t<Op<T>>> : std::true_type {};

template <class T>
using authenticate_t = decltype(std::declval<T&>().authenticate(std::declval<auth_event&>()));
template <class T>
using continue_auth_t = decltype(std::declval<T&>().continue_auth(std::declval<auth_event&>()));
template <class T>
using check_t = decltype(std::declval<T&>().check(std::declval<acl_event&>()));
template <class T>
using on_publish_t = decltype(std::declval<T&>().on_publish(std::declval<message_event&>()));
template <class T>
using on_routed_t =
    decltype(std::declval<T&>().on_routed(std::declval<const message_event&>(), std::declval<size_t>()));
template <class T>
using worker_start_t = decltype(std::declval<T&>().worker_start(0u));
template <class T>
using worker_stop_t = decltype(std::declval<T&>().worker_stop(0u));
template <class T>
using on_connect_t = decltype(std::declval<T&>().on_connect(std::declval<client>()));
template <class T>
using on_disconnect_t = decltype(std::declval<T&>().on_disconnect(std::declval<client>(), uint8_t{}));
template <class T>
using tick_t = decltype(std::declval<T&>().tick());
template <class T>
using client_release_t =
    decltype(std::declval<T&>().client_release(std::declval<client>(), std::declval<void*>()));
template <class T>
using reload_t = decltype(std::declval<T&>().reload(std::declval<const options&>()));
template <class T>
using check_options_t = decltype(T::check_options(std::declval<const options&>()));
template <class T>
using abi_version_t = decltype(T::abi_version(std::declval<const uint32_t*>(), size_t{}));

template <class T, template <class> class Op>
constexpr bool has = detected<T, Op>::value;

// A verdict hook must return roost_verdict: catch a typo'd signature at compile time.
template <class T, template <class> class Op>
constexpr bool returns_verdict() {
    if constexpr (has<T, Op>) {
        return std::is_same_v<Op<T>, roost_verdict>;
    } else {
        return true;
    }
}

template <class D>
void log_exception(D* d, const char* hook) noexcept {
    try {
        throw;
    } catch (const std::exception& e) {
        d->log(ROOST_LOG_ERROR, "%s threw: %s", hook, e.what());
    } catch (...) {
        d->log(ROOST_LOG_ERROR, "%s threw an exception that is not a std::exception", hook);
    }
}

template <class D>
struct glue {
    static_assert(returns_verdict<D, authenticate_t>(),
                  "authenticate(roost::auth_event&) must return roost_verdict");
    static_assert(returns_verdict<D, continue_auth_t>(),
                  "continue_auth(roost::auth_event&) must return roost_verdict");
    static_assert(returns_verdict<D, check_t>(), "check(roost::acl_event&) must return roost_verdict");
    static_assert(returns_verdict<D, on_publish_t>(),
                  "on_publish(roost::message_event&) must return roost_verdict");

    static constexpr bool any_auth = has<D, authenticate_t> || has<D, continue_auth_t>;
    static constexpr bool any_acl = has<D, check_t>;
    static constexpr bool any_message = has<D, on_publish_t> || has<D, on_routed_t>;
    static constexpr bool any_lifecycle = has<D, worker_start_t> || has<D, worker_stop_t> ||
                                          has<D, on_connect_t> || has<D, on_disconnect_t> || has<D, tick_t> ||
                                          has<D, client_release_t> || has<D, reload_t>;

    // A hook that threw: DENY with 0x83 where a verdict is owed.
    template <class Event>
    static roost_verdict failed(D* d, Event* ev, const char* hook) noexcept {
        log_exception(d, hook);
        ev->reason_code = ROOST_RC_IMPLEMENTATION_SPECIFIC_ERROR;
        return ROOST_DENY;
    }

    static roost_verdict authenticate(void* wd, roost_auth_event* ev) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            auth_event e(d->host(), ev);
            if constexpr (has<D, authenticate_t>) return d->authenticate(e);
            return ROOST_NEXT;
        } catch (...) {
            return failed(d, ev, "authenticate");
        }
    }
    static roost_verdict continue_auth(void* wd, roost_auth_event* ev) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            auth_event e(d->host(), ev);
            if constexpr (has<D, continue_auth_t>) return d->continue_auth(e);
            return ROOST_NEXT;
        } catch (...) {
            return failed(d, ev, "continue_auth");
        }
    }
    static roost_verdict check(void* wd, roost_acl_event* ev) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            acl_event e(d->host(), ev);
            if constexpr (has<D, check_t>) return d->check(e);
            return ROOST_NEXT;
        } catch (...) {
            return failed(d, ev, "check");
        }
    }
    static roost_verdict on_publish(void* wd, roost_message_event* ev) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            message_event e(d->host(), ev);
            if constexpr (has<D, on_publish_t>) return d->on_publish(e);
            return ROOST_NEXT;
        } catch (...) {
            return failed(d, ev, "on_publish");
        }
    }
    static void on_routed(void* wd, const roost_message_event* ev, size_t matched) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            const message_event e(d->host(), const_cast<roost_message_event*>(ev));
            if constexpr (has<D, on_routed_t>) d->on_routed(e, matched);
        } catch (...) {
            log_exception(d, "on_routed");
        }
    }
    static int worker_start(void* pd, uint32_t worker, void** /*worker_data: stays plugin_data*/) noexcept {
        D* d = static_cast<D*>(pd);
        try {
            if constexpr (has<D, worker_start_t>) {
                if constexpr (std::is_same_v<worker_start_t<D>, bool>) {
                    return d->worker_start(worker) ? ROOST_OK : ROOST_EINVAL;
                } else {
                    d->worker_start(worker);
                }
            }
            return ROOST_OK;
        } catch (...) {
            log_exception(d, "worker_start");
            return ROOST_EINVAL;
        }
    }
    static void worker_stop(void* pd, uint32_t worker, void* /*worker_data*/) noexcept {
        D* d = static_cast<D*>(pd);
        try {
            if constexpr (has<D, worker_stop_t>) d->worker_stop(worker);
        } catch (...) {
            log_exception(d, "worker_stop");
        }
    }
    static void on_connect(void* wd, roost_client* c) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            if constexpr (has<D, on_connect_t>) d->on_connect(client(d->host(), c));
        } catch (...) {
            log_exception(d, "on_connect");
        }
    }
    static void on_disconnect(void* wd, roost_client* c, uint8_t reason_code) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            if constexpr (has<D, on_disconnect_t>) d->on_disconnect(client(d->host(), c), reason_code);
        } catch (...) {
            log_exception(d, "on_disconnect");
        }
    }
    static void tick(void* wd) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            if constexpr (has<D, tick_t>) d->tick();
        } catch (...) {
            log_exception(d, "tick");
        }
    }

    static void client_release(void* wd, roost_client* c, void* data) noexcept {
        D* d = static_cast<D*>(wd);
        try {
            if constexpr (has<D, client_release_t>) d->client_release(client(d->host(), c), data);
        } catch (...) {
            log_exception(d, "client_release");
        }
    }
    static int reload(void* pd, const roost_option* opts, size_t count) noexcept {
        D* d = static_cast<D*>(pd);
        try {
            if constexpr (has<D, reload_t>) {
                if constexpr (std::is_same_v<reload_t<D>, bool>) {
                    return d->reload(options(opts, count)) ? ROOST_OK : ROOST_EINVAL;
                } else {
                    d->reload(options(opts, count));
                }
            }
            return ROOST_OK;
        } catch (...) {
            log_exception(d, "reload");
            return ROOST_EINVAL;
        }
    }

    // The tables handed to hook_register (the host copies them); NULL for every hook D lacks.
    static constexpr roost_auth_hooks auth_hooks = {
        sizeof(roost_auth_hooks),
        has<D, authenticate_t> ? &glue::authenticate : nullptr,
        has<D, continue_auth_t> ? &glue::continue_auth : nullptr,
    };
    static constexpr roost_acl_hooks acl_hooks = {
        sizeof(roost_acl_hooks),
        has<D, check_t> ? &glue::check : nullptr,
    };
    static constexpr roost_message_hooks message_hooks = {
        sizeof(roost_message_hooks),
        has<D, on_publish_t> ? &glue::on_publish : nullptr,
        has<D, on_routed_t> ? &glue::on_routed : nullptr,
    };
    static constexpr roost_lifecycle_hooks lifecycle_hooks = {
        sizeof(roost_lifecycle_hooks),
        has<D, worker_start_t> ? &glue::worker_start : nullptr,
        has<D, worker_stop_t> ? &glue::worker_stop : nullptr,
        has<D, on_connect_t> ? &glue::on_connect : nullptr,
        has<D, on_disconnect_t> ? &glue::on_disconnect : nullptr,
        has<D, tick_t> ? &glue::tick : nullptr,
        has<D, client_release_t> ? &glue::client_release : nullptr,
        has<D, reload_t> ? &glue::reload : nullptr,
    };
};

template <class D>
uint32_t version(const uint32_t* offered, size_t count) noexcept {
    if constexpr (has<D, abi_version_t>) {
        return D::abi_version(offered, count);
    } else {
        for (size_t i = 0; i < count; ++i) {
            if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
        }
        return 0;
    }
}

// roost_plugin_check: D::check_options(options) if D has it (throw to refuse), else ROOST_OK.
template <class D>
int check(const roost_host* host, roost_plugin* self, const roost_option* opts, size_t count) noexcept {
    try {
        if constexpr (has<D, check_options_t>) D::check_options(options(opts, count));
        return ROOST_OK;
    } catch (const std::exception& e) {
        host->log(self, ROOST_LOG_ERROR, "%s", e.what());
    } catch (...) {
        host->log(self, ROOST_LOG_ERROR, "check_options threw an exception that is not a std::exception");
    }
    return ROOST_EINVAL;
}

template <class D>
int init(const roost_host* host, roost_plugin* self, const roost_option* opts, size_t count,
         void** plugin_data) noexcept {
    static_assert(std::is_base_of_v<plugin<D>, D>,
                  "ROOST_PLUGIN_CPP(D): D must derive from roost::plugin<D>");
    using G = glue<D>;
    struct reset {
        ~reset() { constructing() = nullptr; }
    } reset_on_exit;
    init_context ctx{host, self};
    constructing() = &ctx;
    try {
        std::unique_ptr<D> d;
        if constexpr (std::is_constructible_v<D, const options&>) {
            d = std::make_unique<D>(options(opts, count));
        } else {
            static_assert(std::is_default_constructible_v<D>,
                          "D needs a constructor D(const roost::options&) or D()");
            d = std::make_unique<D>();
        }
        constructing() = nullptr;
        struct table {
            bool wanted;
            roost_hook_kind kind;
            const void* hooks;
            const char* name;
        };
        const table tables[] = {
            {G::any_auth, ROOST_HOOK_AUTH, &G::auth_hooks, "auth"},
            {G::any_acl, ROOST_HOOK_ACL, &G::acl_hooks, "acl"},
            {G::any_message, ROOST_HOOK_MESSAGE, &G::message_hooks, "message"},
            {G::any_lifecycle, ROOST_HOOK_LIFECYCLE, &G::lifecycle_hooks, "lifecycle"},
        };
        for (const table& t : tables) {
            if (!t.wanted) continue;
            int rc = host->hook_register(self, t.kind, t.hooks);
            if (rc < 0) {
                host->log(self, ROOST_LOG_ERROR, "registering the %s hooks failed: %s", t.name,
                          host->strerror(rc));
                return rc;
            }
        }
        *plugin_data = d.release();
        return ROOST_OK;
    } catch (const std::invalid_argument& e) {
        host->log(self, ROOST_LOG_ERROR, "%s", e.what());  // a bad option: already says where
    } catch (const std::exception& e) {
        host->log(self, ROOST_LOG_ERROR, "init failed: %s", e.what());
    } catch (...) {
        host->log(self, ROOST_LOG_ERROR, "init failed: an exception that is not a std::exception");
    }
    return ROOST_EINVAL;
}

template <class D>
void cleanup(void* plugin_data) noexcept {
    try {
        delete static_cast<D*>(plugin_data);
    } catch (...) {  // a destructor that throws: nothing to tell anyone, nowhere to go
    }
}

}  // namespace detail
}  // namespace roost

// The four exports for the plugin class D (one per shared object). Write it once, at namespace
// scope, followed by a semicolon: ROOST_PLUGIN_CPP(my_plugin);
#define ROOST_PLUGIN_CPP(D)                                                                            \
    extern "C" ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {     \
        return ::roost::detail::version<D>(offered, count);                                            \
    }                                                                                                  \
    extern "C" ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self,         \
                                                   const roost_option* options, size_t option_count) { \
        return ::roost::detail::check<D>(host, self, options, option_count);                           \
    }                                                                                                  \
    extern "C" ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self,          \
                                                  const roost_option* options, size_t option_count,    \
                                                  void** plugin_data) {                                \
        return ::roost::detail::init<D>(host, self, options, option_count, plugin_data);               \
    }                                                                                                  \
    extern "C" ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {                             \
        ::roost::detail::cleanup<D>(plugin_data);                                                      \
    }                                                                                                  \
    static_assert(true, "ROOST_PLUGIN_CPP(" #D ")")

#endif /* ROOST_PLUGIN_HPP */
