// OutputQueue: bytes come out in the order they were queued, whether copied, referenced or moved
// into sealed blocks when the copy buffer grows past kSealAt.
#include "net/output_queue.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

using roost::net::OutputQueue;
using roost::net::SharedBytes;

namespace {

std::vector<uint8_t> drain(const OutputQueue& q) {
    std::vector<uint8_t> out;
    q.for_each([&](std::span<const uint8_t> piece) {
        CHECK(!piece.empty());
        out.insert(out.end(), piece.begin(), piece.end());
    });
    return out;
}

SharedBytes shared_of(std::vector<uint8_t> bytes) {
    auto owner = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    return {owner, {owner->data(), owner->size()}};
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i)
        v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

}  // namespace

TEST_CASE("copied and shared pieces keep their order across sealed blocks") {
    OutputQueue q;
    std::vector<uint8_t> expected;
    // Small packets, each followed now and then by a shared payload, well past several seals.
    for (int i = 0; i < 400; ++i) {
        auto head = pattern(static_cast<size_t>(5 + i % 300), static_cast<uint8_t>(i));
        q.append(head);
        expected.insert(expected.end(), head.begin(), head.end());
        if (i % 3 == 0) {
            auto body = pattern(static_cast<size_t>(4096 + i), static_cast<uint8_t>(i * 3));
            expected.insert(expected.end(), body.begin(), body.end());
            q.append_shared(shared_of(std::move(body)));
        }
    }
    CHECK(q.size() == expected.size());
    CHECK(drain(q) == expected);
    // The copy buffer stays near kSealAt, however much is queued.
    CHECK(q.capacity() - q.size() < 2 * OutputQueue::kSealAt);
}

TEST_CASE("a run of large copies (TLS records) is sealed into blocks without losing a byte") {
    OutputQueue q;
    std::vector<uint8_t> expected;
    for (int i = 0; i < 100; ++i) {
        auto record = pattern(16 * 1024 + 29, static_cast<uint8_t>(i));
        q.append(record);
        expected.insert(expected.end(), record.begin(), record.end());
    }
    CHECK(q.size() == expected.size());
    CHECK(drain(q) == expected);
    OutputQueue other;
    other.swap(q);
    CHECK(q.empty());
    CHECK(drain(other) == expected);
    other.clear();
    CHECK(other.empty());
    CHECK(drain(other).empty());
}
