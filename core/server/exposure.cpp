#include "server/exposure.hpp"

#include "util/log.hpp"

namespace roost {

namespace {
bool is_loopback(const std::string& bind) {
    return bind.starts_with("127.") || bind == "::1";
}
}  // namespace

void warn_about_exposure(const Config& config, bool auth_plugin_loaded) {
    bool all_loopback = !config.listeners.empty();
    for (const ListenerConfig& l : config.listeners)
        all_loopback = all_loopback && is_loopback(l.bind);
    if (all_loopback) {
        log::info(
            "listening on this machine only (127.0.0.1): to accept clients from the network, use "
            "--listen 0.0.0.0:1883 or a [[listener]] with bind = \"0.0.0.0\"");
    }
    if (auth_plugin_loaded) return;
    // allow_anonymous = false refuses only clients that send no user name: without a plugin to
    // check them, any user name and password are accepted, which is rarely what was meant.
    if (!config.broker.allow_anonymous) {
        bool all_deny = true;
        for (const ListenerConfig& l : config.listeners)
            all_deny = all_deny && l.auth_default == DefaultDecision::Deny;
        if (!all_deny)
            log::warn(
                "[broker] allow_anonymous = false, but no authentication plugin is loaded to check user "
                "names and passwords: a client that sends any user name is accepted (only clients without "
                "one are refused); load an authentication plugin, e.g. the lua plugin with scripts/acl.lua "
                "(examples/configs/lua-acl.toml)");
        return;
    }
    for (const ListenerConfig& l : config.listeners) {
        if (is_loopback(l.bind) || l.auth_default == DefaultDecision::Deny) continue;
        log::warn(
            "listener {}:{} ({}) is reachable from the network, no authentication plugin is loaded and "
            "[broker] allow_anonymous = true: anyone who reaches it can publish and subscribe",
            l.bind, l.port, l.source);
    }
}

}  // namespace roost
