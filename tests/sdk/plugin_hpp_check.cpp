// plugin.hpp must compile as C++17 -Wall -Wextra -Werror -pedantic with every hook it wraps
// (built by sdk/CMakeLists.txt; not loaded by anything).
#include "roost/plugin.hpp"

#include <atomic>
#include <string>

namespace {

class everything : public roost::plugin<everything> {
  public:
    explicit everything(const roost::options& o)
        : _secret(o.get_or("secret", "secret")), _limit(o.get_int("limit", 10)), _on(o.get_bool("on", true)) {
        log(ROOST_LOG_INFO, "secret=%s limit=%lld on=%d", _secret.c_str(), _limit, _on ? 1 : 0);
    }
    roost_verdict authenticate(roost::auth_event& ev) {
        if (!ev.has_username()) return ev.next();
        if (ev.username() == "later") {
            complete(ev.call(), ROOST_ALLOW);
            return ev.pending();
        }
        return ev.password() == _secret ? ev.allow() : ev.deny(ROOST_RC_BAD_USERNAME_OR_PASSWORD);
    }
    roost_verdict continue_auth(roost::auth_event& ev) {
        ev.set_reply("challenge", true);
        return ev.allow();
    }
    roost_verdict check(roost::acl_event& ev) {
        if (ev.action() == ROOST_ACL_DELIVER) return ev.next();
        return ev.topic().starts_with(_secret) ? ev.deny() : ev.next();
    }
    roost_verdict on_publish(roost::message_event& ev) {
        if (ev.payload().size() > static_cast<size_t>(_limit)) throw std::runtime_error("too big");
        std::string t = "v2/" + ev.topic().to_string();
        ev.set_topic(t);
        return ev.allow();
    }
    void on_routed(const roost::message_event& ev, size_t matched) { _routed += matched + ev.qos(); }
    bool worker_start(unsigned worker) { return worker < 1024; }
    void worker_stop(unsigned) {}
    void on_connect(roost::client c) { publish("$events/connect", c.id()); }
    void on_disconnect(roost::client c, uint8_t reason) {
        if (c.protocol() == 5 && reason != 0) log(ROOST_LOG_DEBUG, "left: 0x%02x", reason);
    }
    void tick() {}

  private:
    std::string _secret;
    long long _limit;
    bool _on;
    std::atomic<size_t> _routed{0};
};

}  // namespace

ROOST_PLUGIN_CPP(everything);

// A plugin with only one hook and a default constructor: the other tables stay unregistered.
namespace {
class minimal : public roost::plugin<minimal> {
  public:
    roost_verdict check(roost::acl_event&) { return ROOST_NEXT; }
};
static_assert(roost::detail::glue<minimal>::any_acl);
static_assert(!roost::detail::glue<minimal>::any_auth);
static_assert(roost::detail::has<minimal, roost::detail::check_t>);
static_assert(roost::detail::has<everything, roost::detail::tick_t>);
static_assert(roost::detail::glue<minimal>::message_hooks.on_publish == nullptr);
}  // namespace

// bytes_view both ways.
static_assert(std::is_convertible_v<roost::bytes_view, roost_bytes>);
static_assert(std::is_convertible_v<roost::bytes_view, std::string_view>);
static_assert(std::is_convertible_v<std::string_view, roost::bytes_view>);
static_assert(std::is_convertible_v<roost_bytes, roost::bytes_view>);
