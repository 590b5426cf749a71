// Bytes queued for one socket, in order: small packets copied into one buffer, large payloads
// referenced where they already are (issue 7, "fewer copies": no per-subscriber copy of the
// payload). A Connection writes the whole queue with one uv_write of several uv_buf_t.
//
// Lifetime rules:
// - A SharedBytes keeps its `owner` alive (one reference) for as long as a queue holds it: until
//   the queue is cleared, released or destroyed. A Connection clears the queue of a write when
//   that write completes (on_write, whatever its status) and releases the queued ones when it
//   closes, so a shared payload lives until the last connection that carries it wrote it or
//   closed.
// - Whoever makes a SharedBytes promises that `bytes` stay valid and unchanged while `owner`
//   lives (the broker's Message is immutable once built, so its payload qualifies).
// - Spans given to for_each() are valid until the queue is next changed.
// Threads: a queue belongs to its connection's worker. Only the owner's reference count is
// touched from several workers (std::shared_ptr's, atomic), when the same message is queued to
// connections of different workers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace roost::net {

struct SharedBytes {
    std::shared_ptr<const void> owner;  // keeps `bytes` alive
    std::span<const uint8_t> bytes;
};

class OutputQueue {
  public:
    // Copies `bytes` to the end of the queue. The copy buffer never grows much past kSealAt:
    // what it holds then moves, without a copy, into a block the queue references, and a new
    // buffer starts. So a backlog of megabytes (TLS records of large messages, a window of
    // small packets) is a chain of heap blocks, instead of one buffer that was moved on each
    // doubling and, past the mmap threshold main() sets, page-faulted afresh on every write
    // (TLS, 16 KiB payloads: ~5 faults and over 100 µs per delivery).
    void append(std::span<const uint8_t> bytes) {
        if (_bytes.size() >= kSealAt) seal();
        _bytes.insert(_bytes.end(), bytes.begin(), bytes.end());
    }
    static constexpr size_t kSealAt = 64 * 1024;
    // References `s` at the end of the queue (no copy).
    void append_shared(SharedBytes s) {
        if (s.bytes.empty()) return;
        if (!_shared) _shared = std::make_unique<Shared>();
        _shared->bytes += s.bytes.size();
        _shared->slices.push_back({_bytes.size(), std::move(s)});
    }

    // Bytes queued, copied and shared: what the peer still has to read of them.
    size_t size() const { return _bytes.size() + (_shared ? _shared->bytes : 0); }
    bool empty() const { return size() == 0; }
    // Heap bytes this queue holds: the copy buffer's capacity and every shared slice (counted
    // in full, although other queues may hold the same bytes).
    size_t capacity() const { return _bytes.capacity() + (_shared ? _shared->bytes : 0); }
    // The number of pieces for_each() visits (at most).
    size_t pieces() const { return 1 + (_shared ? 2 * _shared->slices.size() : 0); }

    // Calls f(std::span<const uint8_t>) for each non-empty piece, in order.
    template <class F>
    void for_each(F&& f) const {
        size_t from = 0;
        if (_shared) {
            for (const auto& [at, slice] : _shared->slices) {
                if (at > from) f(std::span<const uint8_t>(_bytes.data() + from, at - from));
                f(slice.bytes);
                from = at;
            }
        }
        if (_bytes.size() > from) f(std::span<const uint8_t>(_bytes.data() + from, _bytes.size() - from));
    }

    // Drops everything queued (the shared owners' references with it), keeping the copy
    // buffer's capacity.
    void clear() {
        _bytes.clear();
        _shared.reset();
    }
    // Drops everything and gives the memory back.
    void release() {
        std::vector<uint8_t>().swap(_bytes);
        _shared.reset();
    }
    void swap(OutputQueue& other) noexcept {
        _bytes.swap(other._bytes);
        _shared.swap(other._shared);
    }

  private:
    // The copy buffer becomes a referenced block: its pieces and the slices between them are
    // listed in order after the slices already in front of it (at 0: sealed before), all in
    // front of the (new, empty) copy buffer.
    void seal() {
        auto block = std::make_shared<const std::vector<uint8_t>>(std::move(_bytes));
        _bytes = {};
        _bytes.reserve(kSealAt + 17 * 1024);  // a TLS record or a small packet more fits
        if (!_shared) _shared = std::make_unique<Shared>();
        std::vector<Slice>& slices = _shared->slices;
        auto first =
            std::partition_point(slices.begin(), slices.end(), [](const Slice& s) { return s.at == 0; });
        std::vector<Slice> inside(std::make_move_iterator(first), std::make_move_iterator(slices.end()));
        slices.erase(first, slices.end());
        const std::shared_ptr<const void> owner = block;
        auto piece = [&](size_t from, size_t to) {
            if (to > from) slices.push_back({0, {owner, {block->data() + from, to - from}}});
        };
        size_t from = 0;
        for (auto& [at, slice] : inside) {
            piece(from, at);
            slices.push_back({0, std::move(slice)});
            from = at;
        }
        piece(from, block->size());
        _shared->bytes += block->size();
    }

    struct Slice {
        size_t at;  // goes after _bytes[0, at)
        SharedBytes bytes;
    };
    struct Shared {
        std::vector<Slice> slices;
        size_t bytes = 0;  // their total size
    };
    std::vector<uint8_t> _bytes;
    // Boxed: a connection that only ever sends small packets pays one null pointer for it.
    std::unique_ptr<Shared> _shared;
};

}  // namespace roost::net
