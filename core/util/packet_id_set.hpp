// A set of packet ids kept as a sorted vector made on the first insert and freed with the last
// erase: 8 bytes while empty (a vector is 24, an unordered_set 56), and small when full, since a
// session holds at most max_inflight ids. Offers the operations the session's incoming QoS 2 ids
// need.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace roost {

class PacketIdSet {
  public:
    bool contains(uint16_t id) const { return _ids && std::binary_search(_ids->begin(), _ids->end(), id); }
    size_t size() const { return _ids ? _ids->size() : 0; }
    bool empty() const { return size() == 0; }
    void insert(uint16_t id) {
        if (!_ids) _ids = std::make_unique<std::vector<uint16_t>>();
        auto it = std::lower_bound(_ids->begin(), _ids->end(), id);
        if (it == _ids->end() || *it != id) _ids->insert(it, id);
    }
    // How many were erased (0 or 1), as std::unordered_set::erase says.
    size_t erase(uint16_t id) {
        if (!_ids) return 0;
        auto it = std::lower_bound(_ids->begin(), _ids->end(), id);
        if (it == _ids->end() || *it != id) return 0;
        _ids->erase(it);
        if (_ids->empty()) _ids.reset();  // an idle session keeps no buffer
        return 1;
    }
    const uint16_t* begin() const { return _ids ? _ids->data() : nullptr; }
    const uint16_t* end() const { return _ids ? _ids->data() + _ids->size() : nullptr; }

  private:
    std::unique_ptr<std::vector<uint16_t>> _ids;
};

}  // namespace roost
