#include "net/tls_listeners.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace roost::net {

std::vector<std::string> TlsListeners::load(const std::vector<ListenerConfig>& listeners) {
    std::vector<std::string> errors;
    _listeners = listeners;
    _slots.clear();
    for (const ListenerConfig& l : listeners) {
        std::unique_ptr<TlsContextSlot> slot;
        if (l.tls.enabled()) {
            try {
                auto context = TlsContext::load(l.tls);
                log::info("listener {}:{}: TLS certificate {}", l.bind, l.port, context->summary());
                slot = std::make_unique<TlsContextSlot>(std::move(context));
            } catch (const TlsError& e) {
                errors.push_back(fmt::format("listener {}:{} ({}): {}", l.bind, l.port, l.source, e.what()));
            }
        }
        _slots.push_back(std::move(slot));
    }
    return errors;
}

void TlsListeners::reload(const std::vector<ListenerConfig>& fresh) {
    for (size_t i = 0; i < _listeners.size(); ++i) {
        if (!_slots[i]) continue;
        const ListenerConfig& running = _listeners[i];
        std::string where = fmt::format("listener {}:{}", running.bind, running.port);
        const ListenerConfig* now = nullptr;
        for (const ListenerConfig& l : fresh)
            if (l.bind == running.bind && l.port == running.port) now = &l;
        if (!now || !now->tls.enabled()) {
            log::warn(
                "SIGHUP: {}: {} in the file now; keeps its TLS certificate (listeners change on restart)",
                where, now ? "has no TLS" : "is not");
            continue;
        }
        try {
            auto context = TlsContext::load(now->tls);
            log::info("SIGHUP: {}: new TLS certificate for new connections ({}; from {})", where,
                      context->summary(), now->tls.cert_file);
            _slots[i]->replace(std::move(context));
        } catch (const TlsError& e) {
            log::error("SIGHUP: {}: keeps its TLS certificate: {}", where, e.what());
        }
    }
}

}  // namespace roost::net
