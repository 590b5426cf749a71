// A std::map that exists only while it holds something: 8 bytes for an empty one instead of
// libstdc++'s 48. A session keeps two (subscriptions, messages in flight), and an idle client's
// are usually both empty. Offers the map operations the code uses, and nothing more; iterators
// are std::map's (a null map's begin() and end() are both the default iterator).
#pragma once
#include <map>
#include <memory>
#include <utility>

namespace roost {

template <class K, class V, class Compare = std::less<K>>
class LazyMap {
  public:
    using Map = std::map<K, V, Compare>;
    using iterator = typename Map::iterator;
    using const_iterator = typename Map::const_iterator;

    size_t size() const { return _m ? _m->size() : 0; }
    bool empty() const { return !_m || _m->empty(); }
    iterator begin() { return _m ? _m->begin() : iterator{}; }
    iterator end() { return _m ? _m->end() : iterator{}; }
    const_iterator begin() const { return _m ? _m->cbegin() : const_iterator{}; }
    const_iterator end() const { return _m ? _m->cend() : const_iterator{}; }

    template <class Key>
    iterator find(const Key& key) {
        return _m ? _m->find(key) : iterator{};
    }
    template <class Key>
    const_iterator find(const Key& key) const {
        return _m ? _m->find(key) : const_iterator{};
    }
    template <class Key>
    bool contains(const Key& key) const {
        return _m && _m->contains(key);
    }
    template <class Key>
    iterator lower_bound(const Key& key) {
        return _m ? _m->lower_bound(key) : iterator{};
    }
    template <class Key, class Value>
    std::pair<iterator, bool> insert_or_assign(Key&& key, Value&& value) {
        return get().insert_or_assign(std::forward<Key>(key), std::forward<Value>(value));
    }
    template <class... Args>
    std::pair<iterator, bool> emplace(Args&&... args) {
        return get().emplace(std::forward<Args>(args)...);
    }
    // Erasing the last entry frees the map; the iterator returned is then end() (the default).
    iterator erase(iterator it) {
        iterator next = _m->erase(it);
        if (!_m->empty()) return next;
        _m.reset();
        return iterator{};
    }

  private:
    Map& get() {
        if (!_m) _m = std::make_unique<Map>();
        return *_m;
    }
    std::unique_ptr<Map> _m;
};

}  // namespace roost
