// A map from nonzero 64-bit keys to pointers as one flat array (open addressing, linear probing,
// backward-shift deletion): 16 bytes a slot, at most 3/4 full, and no allocation per entry, where
// a std::unordered_map node and its bucket cost about 40 bytes. For per-connection tables
// (tests/bench/RESULTS.md, "Idle connections").
//
// Threads: none of its own; the owner guards it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/open_addressing.hpp"

namespace roost {

template <class T>
class FlatPointerMap {
  public:
    // `key` must not be 0 (it marks an empty slot) nor be present already.
    void insert(uint64_t key, T* value) {
        if ((_size + 1) * 4 > _slots.size() * 3) grow();
        place(Slot{key, value});
        ++_size;
    }
    T* find(uint64_t key) const {
        size_t at = locate(key);
        return at == SIZE_MAX ? nullptr : _slots[at].value;
    }
    void erase(uint64_t key) {
        size_t hole = locate(key);
        if (hole == SIZE_MAX) return;
        open_addressing_erase(
            _slots, hole, [](const Slot& slot) { return slot.key == 0; },
            [](const Slot& slot, size_t mask) { return home_of(slot.key, mask); });
        --_size;
    }
    size_t size() const { return _size; }

  private:
    struct Slot {
        uint64_t key = 0;  // 0: empty
        T* value = nullptr;
    };
    static size_t home_of(uint64_t key, size_t mask) {
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;  // Fibonacci hashing
    }
    size_t locate(uint64_t key) const {
        if (_slots.empty() || key == 0) return SIZE_MAX;
        const size_t mask = _slots.size() - 1;
        for (size_t i = home_of(key, mask);; i = (i + 1) & mask) {
            if (_slots[i].key == key) return i;
            if (!_slots[i].key) return SIZE_MAX;
        }
    }
    void place(Slot s) {
        const size_t mask = _slots.size() - 1;
        size_t i = home_of(s.key, mask);
        while (_slots[i].key)
            i = (i + 1) & mask;
        _slots[i] = s;
    }
    void grow() {
        std::vector<Slot> old = std::move(_slots);
        _slots.assign(old.empty() ? 16 : old.size() * 2, Slot{});
        for (const Slot& s : old)
            if (s.key) place(s);
    }

    std::vector<Slot> _slots;  // size 0 or a power of two
    size_t _size = 0;
};

}  // namespace roost
