// The TLS contexts of every TLS listener, loaded at start and swapped on SIGHUP (the server's
// only TLS state). Owned by the Server; load() and reload() run on worker 0's thread, slot() is
// read by every worker (each slot locks for itself: see TlsContextSlot).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/tls_context.hpp"

namespace roost::net {

class TlsListeners {
  public:
    // Loads a context for each listener with TLS. Returns one line per listener that does not
    // load ("listener 127.0.0.1:8883 (roost.toml:12): tls_cert_file '...' does not load: ..."),
    // or nothing.
    std::vector<std::string> load(const std::vector<ListenerConfig>& listeners);
    // The slot for listeners[i] as given to load(); nullptr for a listener without TLS.
    TlsContextSlot* slot(size_t i) const { return i < _slots.size() ? _slots[i].get() : nullptr; }
    // SIGHUP: each TLS listener reads its certificate, key and CA files again, with the settings
    // of the listener at the same address in `fresh` (the config file read again). New
    // handshakes use the new context; established connections keep theirs. Logs one line per
    // listener: what it took, or why it kept the old context.
    void reload(const std::vector<ListenerConfig>& fresh);

  private:
    std::vector<ListenerConfig> _listeners;               // as started
    std::vector<std::unique_ptr<TlsContextSlot>> _slots;  // parallel to _listeners
};

}  // namespace roost::net
