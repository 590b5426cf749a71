// A map from nonzero 64-bit keys to objects that carry their own key, as one flat array of
// pointers (open addressing, linear probing, backward-shift deletion): 8 bytes a slot, at most
// 3/4 full, and no allocation per entry, where a std::unordered_map node and its bucket cost
// about 40 bytes. For per-connection tables (tests/bench/RESULTS.md, "Idle connections").
//
// `Key::of(const T&)` gives an object's key. A probe reads it through the pointer (one more
// memory access than a slot holding the key, for 8 bytes a slot less): these tables are asked at
// connects, closes and plugin calls, never per message.
//
// Lifetime: an object's key must not change while it is in the map, and the object must outlive
// its entry (erase it before it goes): every probe may read any listed object.
// Threads: none of its own; the owner guards it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/open_addressing.hpp"

namespace roost {

template <class T, class Key>
class FlatPointerMap {
  public:
    // `value`'s key must not be 0 (it marks an empty slot) nor be present already.
    void insert(T* value) {
        if ((_size + 1) * 4 > _slots.size() * 3) grow();
        place(value);
        ++_size;
    }
    T* find(uint64_t key) const {
        size_t at = locate(key);
        return at == SIZE_MAX ? nullptr : _slots[at];
    }
    void erase(uint64_t key) {
        size_t hole = locate(key);
        if (hole == SIZE_MAX) return;
        open_addressing_erase(
            _slots, hole, [](T* slot) { return slot == nullptr; },
            [](T* slot, size_t mask) { return home_of(Key::of(*slot), mask); });
        --_size;
    }
    size_t size() const { return _size; }

  private:
    static size_t home_of(uint64_t key, size_t mask) {
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;  // Fibonacci hashing
    }
    size_t locate(uint64_t key) const {
        if (_slots.empty() || key == 0) return SIZE_MAX;
        const size_t mask = _slots.size() - 1;
        for (size_t i = home_of(key, mask);; i = (i + 1) & mask) {
            if (!_slots[i]) return SIZE_MAX;
            if (Key::of(*_slots[i]) == key) return i;
        }
    }
    void place(T* value) {
        const size_t mask = _slots.size() - 1;
        size_t i = home_of(Key::of(*value), mask);
        while (_slots[i])
            i = (i + 1) & mask;
        _slots[i] = value;
    }
    void grow() {
        std::vector<T*> old = std::move(_slots);
        _slots.assign(old.empty() ? 16 : old.size() * 2, nullptr);
        for (T* s : old)
            if (s) place(s);
    }

    std::vector<T*> _slots;  // size 0 or a power of two; nullptr: empty
    size_t _size = 0;
};

}  // namespace roost
