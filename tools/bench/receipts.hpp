// Which sequence numbers of one receipt stream (a subscriber's messages from one publisher)
// arrived: tells a new message from a late one (out of order) and from a duplicate.
//
// A broker delivers a stream in order nearly always, so the record is built for that case: `high`
// is the next sequence number in order (every number below it arrived, unless it is marked in
// `missing`), and `missing` holds only the numbers a later one skipped over (lost so far, or
// late). A message in order then touches one counter, where a bitset of every number seen cost a
// cache miss per message with many subscribers (fan-out S=1000: 1,000 bitsets, each read and
// written at every delivery).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace bench {

class Receipts {
  public:
    enum class Kind { New, Late, Duplicate };

    // Records `seq`: New (never seen, and no lower number is still missing because of it: in
    // order or past a gap), Late (a number skipped over earlier: new, but out of order) or
    // Duplicate.
    Kind add(uint32_t seq) {
        if (seq == high_) {
            ++high_;
            return Kind::New;
        }
        if (seq > high_) {
            if (missing_.size() < seq) missing_.resize(std::max<size_t>(seq, missing_.size() * 2), false);
            std::fill(missing_.begin() + high_, missing_.begin() + seq, true);
            high_ = seq + 1;
            return Kind::New;
        }
        if (seq < missing_.size() && missing_[seq]) {
            missing_[seq] = false;
            return Kind::Late;
        }
        return Kind::Duplicate;
    }
    // The highest sequence number seen + 1.
    uint32_t high() const { return high_; }

  private:
    uint32_t high_ = 0;
    std::vector<bool> missing_;
};

}  // namespace bench
