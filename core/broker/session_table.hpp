// The sessions one worker owns, by number: a flat open-addressing table (linear probing,
// backward-shift deletion, at most 3/4 full) of 16-byte slots holding the owning pointer, where
// an unordered_map node and its bucket cost about 56 bytes per session (tests/bench/RESULTS.md,
// "Idle connections"). A slot's key is its session's own `ref.key`, which never changes while the
// session is in a table.
//
// Threads and lifetime: the owning Broker's thread only. The table owns (shares) its sessions;
// erase() drops the table's reference only after the table is consistent again, so a session that
// dies with it may not find the table half-shifted.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "broker/session.hpp"
#include "util/open_addressing.hpp"

namespace roost {

class SessionTable {
  public:
    Session* find(SessionKey key) const {
        size_t at = locate(key);
        return at == SIZE_MAX ? nullptr : _slots[at].get();
    }
    std::shared_ptr<Session> find_shared(SessionKey key) const {
        size_t at = locate(key);
        return at == SIZE_MAX ? nullptr : _slots[at];
    }
    // Adds `session` unless a session with its key is there already (as unordered_map::emplace).
    void insert(std::shared_ptr<Session> session) {
        if (locate(session->ref.key) != SIZE_MAX) return;
        if ((_size + 1) * 4 > _slots.size() * 3) grow();
        place(std::move(session));
        ++_size;
    }
    void erase(SessionKey key) {
        size_t hole = locate(key);
        if (hole == SIZE_MAX) return;
        std::shared_ptr<Session> dying = std::move(_slots[hole]);  // dropped once the table is whole
        open_addressing_erase(
            _slots, hole, [](const std::shared_ptr<Session>& slot) { return slot == nullptr; },
            [](const std::shared_ptr<Session>& slot, size_t mask) { return home_of(slot->ref.key, mask); });
        --_size;
    }
    size_t size() const { return _size; }
    // Calls `fn(Session&)` for each session; `fn` may not add or erase sessions.
    template <class Fn>
    void for_each(Fn fn) const {
        for (const std::shared_ptr<Session>& slot : _slots)
            if (slot) fn(*slot);
    }

  private:
    static size_t home_of(SessionKey key, size_t mask) {
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;  // Fibonacci hashing
    }
    size_t locate(SessionKey key) const {
        if (_slots.empty()) return SIZE_MAX;
        const size_t mask = _slots.size() - 1;
        for (size_t i = home_of(key, mask);; i = (i + 1) & mask) {
            if (!_slots[i]) return SIZE_MAX;
            if (_slots[i]->ref.key == key) return i;
        }
    }
    void place(std::shared_ptr<Session> session) {
        const size_t mask = _slots.size() - 1;
        size_t i = home_of(session->ref.key, mask);
        while (_slots[i])
            i = (i + 1) & mask;
        _slots[i] = std::move(session);
    }
    void grow() {
        std::vector<std::shared_ptr<Session>> old = std::move(_slots);
        _slots.clear();
        _slots.resize(old.empty() ? 16 : old.size() * 2);
        for (std::shared_ptr<Session>& s : old)
            if (s) place(std::move(s));
    }

    std::vector<std::shared_ptr<Session>> _slots;  // size 0 or a power of two; nullptr: empty
    size_t _size = 0;
};

}  // namespace roost
