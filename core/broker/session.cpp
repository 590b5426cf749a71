#include "broker/session.hpp"

namespace roost {

uint16_t Session::allocate_packet_id() {
    for (int tries = 0; tries < 65535; ++tries) {
        uint16_t id = _next_packet_id;
        _next_packet_id = static_cast<uint16_t>(_next_packet_id == 65535 ? 1 : _next_packet_id + 1);
        if (!inflight.contains(id)) return id;
    }
    return 0;
}

}  // namespace roost
