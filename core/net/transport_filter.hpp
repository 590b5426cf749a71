// A plugin's transport hooks over one connection (e.g. WebSocket framing): wire bytes from the
// socket go through decode() up to the broker, MQTT bytes from the broker through encode() down,
// flush() after each batch of encode() calls, drained() when every queued byte was written.
// `hooks` is the host's copy of the plugin's table (host-sized: members the plugin lacks are NULL).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "roost/plugin.h"

namespace roost::net {

class TransportFilter {
  public:
    // `hooks` and `worker_data` belong to the plugin and outlive every connection.
    TransportFilter(const roost_transport_hooks* hooks, void* worker_data);
    ~TransportFilter();  // calls the plugin's close() if open() succeeded
    TransportFilter(const TransportFilter&) = delete;
    TransportFilter& operator=(const TransportFilter&) = delete;

    int open(roost_conn* conn);
    int decode(roost_conn* conn, roost_bytes wire) { return _hooks->decode(_state.get(), conn, wire); }
    int encode(roost_conn* conn, roost_bytes mqtt) { return _hooks->encode(_state.get(), conn, mqtt); }
    // The end of a batch of encode() calls; ROOST_OK when the plugin has no flush hook.
    // flush() and drained() reach the plugin only between its open() and close(): over TLS the
    // handshake's own writes drain before open() ran.
    int flush(roost_conn* conn) {
        return _hooks->flush && _conn ? _hooks->flush(_state.get(), conn) : ROOST_OK;
    }
    bool has_flush() const { return _hooks->flush != nullptr; }
    // The transport's prefix for a packet of `len` bytes sent by reference (its length), or < 0
    // when the packet must go through encode() (also when the plugin has no encode_prefix).
    int encode_prefix(roost_conn* conn, size_t len, uint8_t* out, size_t cap) {
        return _hooks->encode_prefix && _conn ? _hooks->encode_prefix(_state.get(), conn, len, out, cap) : -1;
    }
    void drained(roost_conn* conn) {
        if (_hooks->drained && _conn) _hooks->drained(_state.get(), conn);
    }
    const char* name() const { return _hooks->name; }
    // Runs before the plugin's close(): what must stop with the connection (its timers).
    void on_close(std::function<void()> fn) { _on_close.push_back(std::move(fn)); }

  private:
    const roost_transport_hooks* _hooks;
    void* _worker_data;
    // operator new[] aligns for any fundamental type (__STDCPP_DEFAULT_NEW_ALIGNMENT__), and
    // bytes, unlike max_align_t, have no padding that value-initialisation might leave dirty.
    std::unique_ptr<unsigned char[]> _state;
    roost_conn* _conn = nullptr;  // set once open() succeeded
    std::vector<std::function<void()>> _on_close;
};

}  // namespace roost::net
