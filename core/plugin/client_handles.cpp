#include "plugin/client_handles.hpp"

namespace roost {

void ClientHandles::add(roost_client* handle) {
    std::lock_guard lock(_mutex);
    handle->ref = (_next++ << kWorkerBits) | _worker;
    _live.emplace(handle->ref, handle);
}

void ClientHandles::remove(roost_client* handle) {
    std::lock_guard lock(_mutex);
    _live.erase(handle->ref);
}

roost_client* ClientHandles::find(roost_client_ref ref) const {
    std::lock_guard lock(_mutex);
    auto it = _live.find(ref);
    return it == _live.end() ? nullptr : it->second;
}

bool ClientHandles::alive(roost_client_ref ref) const {
    return find(ref) != nullptr;
}

}  // namespace roost
