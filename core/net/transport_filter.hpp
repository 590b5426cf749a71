// A plugin's transport hooks over one connection (e.g. WebSocket framing): wire bytes from the
// socket go through decode() up to the broker, MQTT bytes from the broker through encode() down.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

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
    const char* name() const { return _hooks->name; }

  private:
    const roost_transport_hooks* _hooks;
    void* _worker_data;
    // operator new[] aligns for any fundamental type (__STDCPP_DEFAULT_NEW_ALIGNMENT__), and
    // bytes, unlike max_align_t, have no padding that value-initialisation might leave dirty.
    std::unique_ptr<unsigned char[]> _state;
    roost_conn* _conn = nullptr;  // set once open() succeeded
};

}  // namespace roost::net
