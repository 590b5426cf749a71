// A set of packet ids (the session's incoming QoS 2 ids awaiting PUBREL), 8 bytes while empty (a
// vector is 24, an unordered_set 56): its storage is made on the first insert and freed with
// the last erase. Small sets are a sorted vector; past kSortedMax ids the set becomes a bitmap
// of all 65536 ids (8 KiB), because an MQTT 3.1.1 client has no Receive Maximum and may hold
// every id at once (MQTT.js sends a whole burst before the first PUBREL), and a sorted vector's
// insert and erase move up to 128 KiB each time: quadratic in the ids held.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace roost {

class PacketIdSet {
  public:
    // Past this many ids the sorted vector (1 KiB) turns into the bitmap.
    static constexpr size_t kSortedMax = 512;

    bool contains(uint16_t id) const {
        if (!_s) return false;
        if (_s->bits) return test(*_s->bits, id);
        return std::binary_search(_s->sorted.begin(), _s->sorted.end(), id);
    }
    size_t size() const { return _s ? _s->count : 0; }
    bool empty() const { return size() == 0; }
    void insert(uint16_t id) {
        if (!_s) _s = std::make_unique<Storage>();
        if (_s->bits) {
            if (!test(*_s->bits, id)) {
                (*_s->bits)[id >> 6] |= bit(id);
                ++_s->count;
            }
            return;
        }
        auto it = std::lower_bound(_s->sorted.begin(), _s->sorted.end(), id);
        if (it != _s->sorted.end() && *it == id) return;
        _s->sorted.insert(it, id);
        ++_s->count;
        if (_s->count > kSortedMax) to_bitmap();
    }
    // How many were erased (0 or 1), as std::unordered_set::erase says.
    size_t erase(uint16_t id) {
        if (!_s) return 0;
        if (_s->bits) {
            if (!test(*_s->bits, id)) return 0;
            (*_s->bits)[id >> 6] &= ~bit(id);
        } else {
            auto it = std::lower_bound(_s->sorted.begin(), _s->sorted.end(), id);
            if (it == _s->sorted.end() || *it != id) return 0;
            _s->sorted.erase(it);
        }
        if (--_s->count == 0) _s.reset();  // an idle session keeps no buffer
        return 1;
    }
    // Calls f(id) for each id, in ascending order.
    template <class F>
    void for_each(F&& f) const {
        if (!_s) return;
        if (!_s->bits) {
            for (uint16_t id : _s->sorted)
                f(id);
            return;
        }
        for (size_t w = 0; w < _s->bits->size(); ++w)
            for (uint64_t word = (*_s->bits)[w]; word != 0; word &= word - 1)
                f(static_cast<uint16_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(word))));
    }

  private:
    using Bitmap = std::array<uint64_t, 65536 / 64>;
    struct Storage {
        std::vector<uint16_t> sorted;  // while count <= kSortedMax
        std::unique_ptr<Bitmap> bits;  // from then on, until the set is empty again
        size_t count = 0;
    };
    static uint64_t bit(uint16_t id) { return uint64_t{1} << (id & 63); }
    static bool test(const Bitmap& b, uint16_t id) { return (b[id >> 6] & bit(id)) != 0; }
    void to_bitmap() {
        _s->bits = std::make_unique<Bitmap>();
        for (uint16_t id : _s->sorted)
            (*_s->bits)[id >> 6] |= bit(id);
        std::vector<uint16_t>().swap(_s->sorted);
    }

    std::unique_ptr<Storage> _s;
};

}  // namespace roost
