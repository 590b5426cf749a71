// A std::deque that exists only while it holds something. libstdc++'s deque allocates its map and
// a 512-byte block when constructed, empty or not: as a member of every session that was ~600
// bytes per idle client. Offers the deque operations the code uses, and nothing more.
#pragma once
#include <deque>
#include <memory>
#include <utility>

namespace roost {

template <class T>
class LazyDeque {
  public:
    using iterator = typename std::deque<T>::iterator;
    using const_iterator = typename std::deque<T>::const_iterator;

    size_t size() const { return _d ? _d->size() : 0; }
    bool empty() const { return !_d || _d->empty(); }
    iterator begin() { return _d ? _d->begin() : iterator{}; }
    iterator end() { return _d ? _d->end() : iterator{}; }
    const_iterator begin() const { return _d ? _d->cbegin() : const_iterator{}; }
    const_iterator end() const { return _d ? _d->cend() : const_iterator{}; }
    T& front() { return _d->front(); }
    const T& front() const { return _d->front(); }
    void push_back(T value) { get().push_back(std::move(value)); }
    void push_front(T value) { get().push_front(std::move(value)); }
    void pop_front() {
        _d->pop_front();
        if (_d->empty()) _d.reset();  // drained: the memory goes with it
    }
    void erase(iterator first, iterator last) {
        if (!_d) return;
        _d->erase(first, last);
        if (_d->empty()) _d.reset();
    }

  private:
    std::deque<T>& get() {
        if (!_d) _d = std::make_unique<std::deque<T>>();
        return *_d;
    }
    std::unique_ptr<std::deque<T>> _d;
};

}  // namespace roost
