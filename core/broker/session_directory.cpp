#include "broker/session_directory.hpp"

#include <functional>

#include "util/open_addressing.hpp"

namespace roost {

uint64_t SessionDirectory::hash_of(std::string_view id) {
    // std::hash of a string is 64 bits here (libstdc++'s murmur), good in every byte.
    return static_cast<uint64_t>(std::hash<std::string_view>{}(id));
}

size_t SessionDirectory::locate(std::string_view id, uint64_t hash) const {
    if (_slots.empty()) return SIZE_MAX;
    const size_t mask = _slots.size() - 1;
    const uint8_t tag = tag_of(hash);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& s = _slots[i];
        if (!s.id) return SIZE_MAX;
        if (s.tag() == tag && *s.id == id) return i;
    }
}

void SessionDirectory::grow() {
    std::vector<Slot> old = std::move(_slots);
    _slots.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    const size_t mask = _slots.size() - 1;
    for (const Slot& s : old) {
        if (!s.id) continue;
        size_t i = hash_of(*s.id) & mask;  // slots keep only the tag: the id is hashed again
        while (_slots[i].id)
            i = (i + 1) & mask;
        _slots[i] = s;
    }
}

std::optional<SessionDirectory::Owner> SessionDirectory::claim(const std::string* client_id, unsigned worker,
                                                               SessionKey key) {
    const uint64_t hash = hash_of(*client_id);
    if (size_t at = locate(*client_id, hash); at != SIZE_MAX)
        return Owner{_slots[at].worker(), _slots[at].key()};
    // At most 3/4 full, so that probes stay short and one slot is always empty.
    if ((_size + 1) * 4 > _slots.size() * 3) grow();
    const size_t mask = _slots.size() - 1;
    size_t i = hash & mask;
    while (_slots[i].id)
        i = (i + 1) & mask;
    _slots[i] = Slot{client_id, Slot::pack(key, worker, hash)};
    ++_size;
    return std::nullopt;
}

void SessionDirectory::move(std::string_view client_id, unsigned worker) {
    if (size_t at = locate(client_id, hash_of(client_id)); at != SIZE_MAX) _slots[at].set_worker(worker);
}

void SessionDirectory::repoint(const std::string* client_id, SessionKey key) {
    if (size_t at = locate(*client_id, hash_of(*client_id)); at != SIZE_MAX && _slots[at].key() == key)
        _slots[at].id = client_id;
}

void SessionDirectory::release(std::string_view client_id, SessionKey key) {
    size_t hole = locate(client_id, hash_of(client_id));
    if (hole == SIZE_MAX || _slots[hole].key() != key) return;
    open_addressing_erase(
        _slots, hole, [](const Slot& s) { return s.id == nullptr; },
        [](const Slot& s, size_t mask) { return hash_of(*s.id) & mask; });
    --_size;
}

std::optional<SessionDirectory::Owner> SessionDirectory::find(std::string_view client_id) const {
    size_t at = locate(client_id, hash_of(client_id));
    if (at == SIZE_MAX) return std::nullopt;
    return Owner{_slots[at].worker(), _slots[at].key()};
}

}  // namespace roost
