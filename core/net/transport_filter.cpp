#include "net/transport_filter.hpp"

#include <cstring>

namespace roost::net {

TransportFilter::TransportFilter(const roost_transport_hooks* hooks, void* worker_data)
    : _hooks(hooks), _worker_data(worker_data) {
    static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= alignof(std::max_align_t));
    _state =
        std::make_unique<unsigned char[]>(hooks->conn_state_size ? hooks->conn_state_size : 1);  // zeroed
}

TransportFilter::~TransportFilter() {
    for (auto& fn : _on_close)
        fn();
    if (_conn && _hooks->close) _hooks->close(_state.get(), _conn);
}

int TransportFilter::open(roost_conn* conn) {
    int rc = _hooks->open ? _hooks->open(_worker_data, conn, _state.get()) : ROOST_OK;
    if (rc == ROOST_OK) _conn = conn;
    return rc;
}

}  // namespace roost::net
