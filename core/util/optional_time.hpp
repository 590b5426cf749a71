// An optional moment in 8 bytes instead of std::optional's 16: "none" is the time_point's
// minimum, a moment the broker never uses. Offers the std::optional operations the code uses
// (test, *, ->, =, reset, comparison with a time_point), so members can switch type in place.
#pragma once
#include <optional>

namespace roost {

template <class TimePoint>
class OptionalTime {
  public:
    OptionalTime() = default;
    OptionalTime(std::nullopt_t) {}
    OptionalTime(TimePoint t) : _t(t) {}
    OptionalTime(const std::optional<TimePoint>& t) : _t(t ? *t : kNone) {}

    explicit operator bool() const { return _t != kNone; }
    bool has_value() const { return _t != kNone; }
    const TimePoint& operator*() const { return _t; }
    const TimePoint* operator->() const { return &_t; }
    void reset() { _t = kNone; }
    operator std::optional<TimePoint>() const {
        return has_value() ? std::optional<TimePoint>(_t) : std::nullopt;
    }

    friend bool operator==(const OptionalTime& a, const TimePoint& b) { return a.has_value() && a._t == b; }
    friend bool operator==(const OptionalTime& a, const OptionalTime& b) { return a._t == b._t; }

  private:
    static constexpr TimePoint kNone = TimePoint::min();
    TimePoint _t = kNone;
};

}  // namespace roost
