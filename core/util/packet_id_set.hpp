// A set of packet ids kept as a sorted vector: 24 bytes while empty (an unordered_set is 56), and
// small when full, since a session holds at most max_inflight ids. Offers the operations the
// session's incoming QoS 2 ids need.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace roost {

class PacketIdSet {
  public:
    bool contains(uint16_t id) const { return std::binary_search(_ids.begin(), _ids.end(), id); }
    size_t size() const { return _ids.size(); }
    bool empty() const { return _ids.empty(); }
    void insert(uint16_t id) {
        auto it = std::lower_bound(_ids.begin(), _ids.end(), id);
        if (it == _ids.end() || *it != id) _ids.insert(it, id);
    }
    // How many were erased (0 or 1), as std::unordered_set::erase says.
    size_t erase(uint16_t id) {
        auto it = std::lower_bound(_ids.begin(), _ids.end(), id);
        if (it == _ids.end() || *it != id) return 0;
        _ids.erase(it);
        if (_ids.empty()) std::vector<uint16_t>().swap(_ids);  // an idle session keeps no buffer
        return 1;
    }
    auto begin() const { return _ids.begin(); }
    auto end() const { return _ids.end(); }

  private:
    std::vector<uint16_t> _ids;
};

}  // namespace roost
