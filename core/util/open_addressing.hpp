// What the flat tables (util/flat_pointer_map.hpp, broker/session_directory.hpp) share: erasing
// from a linear-probing table without tombstones.
#pragma once
#include <cstddef>
#include <vector>

namespace roost {

// Empties slot `hole` of `slots` (a power-of-two size) and moves later slots of the same probe
// run up into it (backward-shift deletion), so that lookups never meet a gap in a run.
// `empty(slot)` tells an empty slot, `home(slot, mask)` the slot its key hashes to.
template <class Slot, class Empty, class Home>
void open_addressing_erase(std::vector<Slot>& slots, size_t hole, Empty empty, Home home) {
    const size_t mask = slots.size() - 1;
    for (size_t i = (hole + 1) & mask; !empty(slots[i]); i = (i + 1) & mask) {
        size_t h = home(slots[i], mask);
        // Slot i may fill the hole unless its home lies cyclically in (hole, i].
        bool home_after_hole = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
        if (home_after_hole) continue;
        slots[hole] = slots[i];
        hole = i;
    }
    slots[hole] = Slot{};
}

}  // namespace roost
