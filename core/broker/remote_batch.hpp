// What one worker routes to the sessions of another in one loop turn: the deliveries a publish
// made for that worker's sessions, grouped by message.
//
// Compact on purpose. A fan-out to 1,000 subscribers on two workers hands ~500 deliveries per
// message to the other worker; as one self-contained Delivery each (~120 bytes, a shared_ptr copy
// of the message apiece, written by one core and read by the other) that hand-off cost a
// two-worker broker twice the CPU per delivery of a one-worker one. Here a message is named once
// per batch and each target is 16 bytes; the rare parts (subscription identifiers, a shared
// subscription's name, the publisher's wait) live beside them.
//
// The publishing worker never copies the message's shared_ptr per delivery, and the receiving
// worker copies it only for a delivery it keeps (QoS 1/2): the reference count is one cache line
// that both cores would otherwise write ~500 times per message.
//
// Thread rules: built and owned by the routing worker until flush_outbox() posts it; then owned
// by the receiving worker, which alone reads it (Broker::receive) and then gives it, emptied, to
// the routing worker's RemoteBatchPool.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/message.hpp"
#include "broker/session.hpp"
#include "broker/subscription_tree.hpp"

namespace roost {

class PublishWait;

class RemoteBatch {
  public:
    struct Target {
        SessionKey session = 0;
        uint8_t qos = 0;
        bool retain = false;
        uint32_t extra = 0;  // 1 + index into extras, or 0 when the delivery has none
    };
    struct Extra {
        std::vector<uint32_t> subscription_ids;
        std::string share;
        std::shared_ptr<PublishWait> wait;  // what the publisher's acknowledgement waits for
    };
    struct MessageRun {
        MessagePtr message;
        uint32_t first = 0;  // into targets
        uint32_t count = 0;
    };

    // A delivery of `message` to `session`. `delivery` is a new one (no sequence, not persisted):
    // what a publish or a re-route makes; its own `message` is not read (it may be empty).
    void add(SessionKey session, const MessagePtr& message, Delivery&& delivery,
             std::shared_ptr<PublishWait> wait) {
        if (_runs.empty() || _runs.back().message.get() != message.get())
            _runs.push_back({message, uint32_t(_targets.size()), 0});
        Target t{session, delivery.qos, delivery.retain, 0};
        if (!delivery.subscription_ids.empty() || !delivery.share.empty() || wait) {
            _extras.push_back(
                {std::move(delivery.subscription_ids), std::move(delivery.share), std::move(wait)});
            t.extra = uint32_t(_extras.size());
        }
        _targets.push_back(t);
        ++_runs.back().count;
    }

    bool empty() const { return _targets.empty(); }
    size_t size() const { return _targets.size(); }
    // Bytes the batch keeps allocated when empty.
    size_t capacity_bytes() const {
        return _runs.capacity() * sizeof(MessageRun) + _targets.capacity() * sizeof(Target) +
               _extras.capacity() * sizeof(Extra);
    }

    // Empties the batch and keeps its memory (a batch of a busy fan-out is hundreds of KiB: a
    // fresh one every turn came from mmap and page-faulted as it filled).
    void clear() {
        _runs.clear();
        _targets.clear();
        _extras.clear();
    }

    // Calls fn(session, const Delivery&, wait) for each target, in the order they were added.
    // The Delivery is reused for the next target: fn copies what it keeps.
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (MessageRun& run : _runs) {
            Delivery d{std::move(run.message), 0, false, {}};
            for (uint32_t i = run.first; i < run.first + run.count; ++i) {
                const Target& t = _targets[i];
                d.qos = t.qos;
                d.retain = t.retain;
                d.subscription_ids.clear();
                d.share.clear();
                std::shared_ptr<PublishWait> wait;
                if (t.extra) {
                    Extra& x = _extras[t.extra - 1];
                    d.subscription_ids = std::move(x.subscription_ids);
                    d.share = std::move(x.share);
                    wait = std::move(x.wait);
                }
                fn(t.session, std::as_const(d), std::move(wait));
            }
        }
    }

  private:
    std::vector<MessageRun> _runs;
    std::vector<Target> _targets;
    std::vector<Extra> _extras;
};

// Emptied batches on their way back to the worker that fills them, so that a busy fan-out reuses
// the same few batches instead of allocating (and the other core freeing) one per loop turn.
//
// Thread rules: get() on the routing worker, put() on the receiving one; the mutex is taken once
// per batch. Shared by the routing Broker and the batches it posted (shared_ptr), so a batch
// still in an inbox at shutdown can be returned after the Broker is gone.
class RemoteBatchPool {
  public:
    RemoteBatch get() {
        std::lock_guard lock(_mutex);
        if (_free.empty()) return {};
        RemoteBatch b = std::move(_free.back());
        _free.pop_back();
        return b;
    }

    void put(RemoteBatch&& batch) {
        batch.clear();  // the messages are released on the receiving thread, outside the lock
        if (batch.capacity_bytes() > kMaxKeptBytes) return;
        std::lock_guard lock(_mutex);
        if (_free.size() < kMaxKept) _free.push_back(std::move(batch));
    }

  private:
    // One batch per other worker is in flight at a time; a few more cover a slow receiver.
    static constexpr size_t kMaxKept = 8;
    // A burst's batch is not kept: its memory goes back to the system.
    static constexpr size_t kMaxKeptBytes = 4 << 20;
    std::mutex _mutex;
    std::vector<RemoteBatch> _free;  // guarded by _mutex
};

}  // namespace roost
