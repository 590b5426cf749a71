/* roost/plugin.hpp: an optional, header-only C++17 layer over roost/plugin.h (the ABI).
 *
 * It is built only on plugin.h: it adds no symbol the broker must provide and changes nothing on
 * the wire between plugin and broker. What it gives you:
 *
 *   roost::bytes_view   roost_bytes <-> std::string_view, both ways, implicitly
 *   roost::options      the [plugin.options] table, copied, with typed lookups that throw
 *   roost::plugin<D>    a base class: D implements the hooks it wants as member functions, the
 *                       layer builds the static C hook tables for exactly those and registers them
 *   ROOST_PLUGIN_CPP(D) the three exports (version, init, cleanup) for D
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
 * D is constructed in roost_plugin_init() from `const roost::options&` if it has such a
 * constructor, else default-constructed; log() and the other host helpers work in the
 * constructor. Throw from the constructor to refuse to load: the message is logged.
 *
 * Rules the layer keeps for you:
 *  - Exceptions never cross the C boundary. A hook that throws is logged and answers DENY with
 *    0x83 Implementation specific error (init answers -1; void hooks are only logged).
 *  - Every hook gets the one D instance (worker_data is plugin_data: the layer stores nothing
 *    per worker). Hooks run concurrently on several workers: guard shared state, or keep it per
 *    worker, indexed by the `worker` of worker_start or host()->worker_index().
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
    using entry = std::pair<std::string, std::string>;

    options() = default;
    options(const roost_option* array, size_t count) {
        _entries.reserve(count);
        for (size_t i = 0; i < count; ++i) {
            _entries.emplace_back(array[i].key ? array[i].key : "", array[i].value ? array[i].value : "");
        }
    }

    std::optional<std::string_view> get(std::string_view key) const noexcept {
        for (const entry& e : _entries) {
            if (e.first == key) return std::string_view(e.second);
        }
        return std::nullopt;
    }
    std::string get_or(std::string_view key, std::string_view fallback) const {
        return std::string(get(key).value_or(fallback));
    }
    bool has(std::string_view key) const noexcept { return get(key).has_value(); }

    // An integer option ("1024", "-3", "0x400"); `fallback` when absent.
    long long get_int(std::string_view key, long long fallback) const {
        std::optional<std::string_view> v = get(key);
        if (!v) return fallback;
        std::string text(*v);
        errno = 0;
        char* end = nullptr;
        long long n = std::strtoll(text.c_str(), &end, 0);
        if (text.empty() || *end != '\0' || errno == ERANGE) {
            throw std::invalid_argument("option " + std::string(key) + " = \"" + text + "\": not an integer");
        }
        return n;
    }
    // A boolean option: true/false (TOML), also yes/no, on/off, 1/0.
    bool get_bool(std::string_view key, bool fallback) const {
        std::optional<std::string_view> v = get(key);
        if (!v) return fallback;
        if (*v == "true" || *v == "yes" || *v == "on" || *v == "1") return true;
        if (*v == "false" || *v == "no" || *v == "off" || *v == "0") return false;
        throw std::invalid_argument("option " + std::string(key) + " = \"" + std::string(*v) +
                                    "\": not a boolean");
    }

    std::vector<entry>::const_iterator begin() const noexcept { return _entries.begin(); }
    std::vector<entry>::const_iterator end() const noexcept { return _entries.end(); }
    size_t size() const noexcept { return _entries.size(); }
    bool empty() const noexcept { return _entries.empty(); }

  private:
    std::vector<entry> _entries;
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
    int post(unsigned worker, void (*fn)(void*), void* arg) const noexcept {
        return _host->post(_self, worker, fn, arg);
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
                                          has<D, on_connect_t> || has<D, on_disconnect_t> || has<D, tick_t>;

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
    static int worker_start(void* pd, unsigned worker, void** /*worker_data: stays plugin_data*/) noexcept {
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
    static void worker_stop(void* pd, unsigned worker, void* /*worker_data*/) noexcept {
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

    // The static tables the host keeps pointers to; NULL for every hook D lacks.
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

// The three exports for the plugin class D (one per shared object). Write it once, at namespace
// scope, followed by a semicolon: ROOST_PLUGIN_CPP(my_plugin);
#define ROOST_PLUGIN_CPP(D)                                                                         \
    extern "C" ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {  \
        return ::roost::detail::version<D>(offered, count);                                         \
    }                                                                                               \
    extern "C" ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self,       \
                                                  const roost_option* options, size_t option_count, \
                                                  void** plugin_data) {                             \
        return ::roost::detail::init<D>(host, self, options, option_count, plugin_data);            \
    }                                                                                               \
    extern "C" ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {                          \
        ::roost::detail::cleanup<D>(plugin_data);                                                   \
    }                                                                                               \
    static_assert(true, "ROOST_PLUGIN_CPP(" #D ")")

#endif /* ROOST_PLUGIN_HPP */
