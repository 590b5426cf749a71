// Latency histogram with log-linear buckets: 64 per power of two, so any quantile is within
// about 1.6 % of the true value, in fixed memory whatever the number of samples (a benchmark
// records millions of them). Values are nanoseconds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace bench {

class Histogram {
  public:
    Histogram() : counts_(kBuckets, 0) {}

    void add(uint64_t v) {
        ++counts_[index(v)];
        ++total_;
        max_ = std::max(max_, v);
    }
    // Adds another histogram's samples (the traffic threads' histograms into the run's).
    void merge(const Histogram& other) {
        for (size_t i = 0; i < counts_.size(); ++i)
            counts_[i] += other.counts_[i];
        total_ += other.total_;
        max_ = std::max(max_, other.max_);
    }
    uint64_t total() const { return total_; }
    uint64_t max() const { return max_; }

    // Upper bound of the bucket holding the q-quantile (never above the largest sample).
    uint64_t quantile(double q) const {
        if (total_ == 0) return 0;
        uint64_t rank =
            std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
        uint64_t seen = 0;
        for (size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }

  private:
    static constexpr int kSub = 64;  // sub-buckets per power of two
    static constexpr size_t kBuckets = (64 - 6 + 1) * kSub;

    static size_t index(uint64_t v) {
        if (v < kSub) return static_cast<size_t>(v);
        int bits = 64 - __builtin_clzll(v);  // >= 7
        int shift = bits - 7;                // v >> shift is in [64, 128)
        return static_cast<size_t>((shift + 1) * kSub) + static_cast<size_t>((v >> shift) - kSub);
    }
    static uint64_t upper(size_t i) {
        if (i < kSub) return i;
        uint64_t shift = i / kSub - 1;
        uint64_t base = (i % kSub) + kSub;
        return ((base + 1) << shift) - 1;
    }

    std::vector<uint64_t> counts_;
    uint64_t total_ = 0;
    uint64_t max_ = 0;
};

}  // namespace bench
