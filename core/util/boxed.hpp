// An optional value kept on the heap: what a long-lived object holds for rare, large state (a
// CONNECT under authentication, a SUBSCRIBE in progress, a will), so that the state costs one
// pointer while absent. Offers the std::optional operations the code uses, and nothing more.
#pragma once
#include <memory>
#include <optional>
#include <utility>

namespace roost {

template <class T>
class Boxed {
  public:
    Boxed() = default;
    Boxed(std::nullopt_t) {}
    Boxed(Boxed&&) noexcept = default;
    Boxed& operator=(Boxed&&) noexcept = default;
    Boxed& operator=(std::nullopt_t) {
        _p.reset();
        return *this;
    }
    Boxed& operator=(T value) {
        if (_p)
            *_p = std::move(value);
        else
            _p = std::make_unique<T>(std::move(value));
        return *this;
    }
    Boxed& operator=(std::optional<T> value) {
        if (value)
            *this = std::move(*value);
        else
            _p.reset();
        return *this;
    }
    template <class... Args>
    T& emplace(Args&&... args) {
        _p = std::make_unique<T>(std::forward<Args>(args)...);
        return *_p;
    }
    void reset() { _p.reset(); }
    bool has_value() const { return _p != nullptr; }
    explicit operator bool() const { return has_value(); }
    T& operator*() { return *_p; }
    const T& operator*() const { return *_p; }
    T* operator->() { return _p.get(); }
    const T* operator->() const { return _p.get(); }
    // Hands the value on as a std::optional (the box is left empty).
    operator std::optional<T>() && {
        if (!_p) return std::nullopt;
        std::optional<T> out(std::move(*_p));
        _p.reset();
        return out;
    }

  private:
    std::unique_ptr<T> _p;
};

}  // namespace roost
