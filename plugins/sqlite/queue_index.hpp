// Where in the writer's queue each queued save or store waits, by a 64-bit key (Writer::
// cancel_queued). An open-addressing table (linear probing) emptied in O(1) by a generation
// count when the writer takes the queue: indexing an operation allocates nothing. (A
// std::unordered_map cost a node, a malloc on a worker and a free, per save and per store.)
// Not thread-safe: used under Writer::_lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace roost_sqlite {

class QueueIndex {
  public:
    // Remembers `pos` for `key` (replacing what it held).
    void put(uint64_t key, uint32_t pos) {
        if ((_used + 1) * 2 > _slots.size()) grow();
        Slot* s = probe(key);
        if (s->gen != _gen) {
            ++_used;
            *s = Slot{key, pos, _gen};
        } else {
            s->pos = pos;
        }
    }
    // The position held for `key`, which is then forgotten; false when there is none.
    bool take(uint64_t key, uint32_t& pos) {
        if (_slots.empty()) return false;
        Slot* s = probe(key);
        if (s->gen != _gen || s->pos == kTaken) return false;
        pos = s->pos;
        s->pos = kTaken;  // stays in place so that probing for other keys goes on past it
        return true;
    }
    // Forgets everything, without touching the slots.
    void clear() {
        _used = 0;
        if (++_gen == 0) {  // wrapped: slots of an old generation could look current
            for (Slot& s : _slots)
                s.gen = 0;
            _gen = 1;
        }
    }

  private:
    struct Slot {
        uint64_t key;
        uint32_t pos;
        uint32_t gen;  // != _gen: empty
    };
    static constexpr uint32_t kTaken = UINT32_MAX;

    // The slot that holds `key`, or the empty one where it would go. The table is never full.
    Slot* probe(uint64_t key) {
        size_t mask = _slots.size() - 1;
        for (size_t i = (key * 0x9e3779b97f4a7c15ull) >> 20;; ++i) {
            Slot& s = _slots[i & mask];
            if (s.gen != _gen || s.key == key) return &s;
        }
    }
    void grow() {
        std::vector<Slot> old(_slots.size() < 1024 ? 1024 : _slots.size() * 2, Slot{0, 0, 0});
        old.swap(_slots);
        uint32_t gen = _gen;
        _gen = 1;
        _used = 0;
        for (const Slot& s : old)
            if (s.gen == gen && s.pos != kTaken) put(s.key, s.pos);
    }

    std::vector<Slot> _slots;  // a power of two long
    uint32_t _gen = 1;
    size_t _used = 0;  // slots of this generation, taken ones included
};

}  // namespace roost_sqlite
