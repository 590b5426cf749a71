#include "net/transport_filter.hpp"

#include <cstring>

namespace roost::net {

TransportFilter::TransportFilter(const roost_transport_hooks* hooks, void* worker_data)
    : _hooks(hooks), _worker_data(worker_data) {
    size_t n = (hooks->conn_state_size + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    _state = std::make_unique<std::max_align_t[]>(n ? n : 1);  // value-initialised: zeroed
}

TransportFilter::~TransportFilter() {
    if (_conn && _hooks->close) _hooks->close(_state.get(), _conn);
}

int TransportFilter::open(roost_conn* conn) {
    int rc = _hooks->open ? _hooks->open(_worker_data, conn, _state.get()) : ROOST_OK;
    if (rc == ROOST_OK) _conn = conn;
    return rc;
}

}  // namespace roost::net
