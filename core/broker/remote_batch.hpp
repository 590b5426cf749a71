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
// Thread rules: built and owned by the routing worker until flush_outbox() posts it; then owned
// by the receiving worker, which alone reads it (Broker::receive).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
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

    // `delivery` is a new one (no sequence, not persisted): what a publish or a re-route makes.
    void add(SessionKey session, Delivery&& delivery, std::shared_ptr<PublishWait> wait) {
        if (_runs.empty() || _runs.back().message.get() != delivery.message.get())
            _runs.push_back({std::move(delivery.message), uint32_t(_targets.size()), 0});
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

    // Moves the contents out, leaving this batch empty with room for as many again: the next
    // turn's batch is likely as big, so one allocation now instead of a doubling series.
    RemoteBatch take() {
        RemoteBatch out = std::move(*this);
        *this = RemoteBatch();
        _runs.reserve(out._runs.size());
        _targets.reserve(out._targets.size());
        return out;
    }

    // Calls fn(session, Delivery&&, wait) for each target, in the order they were added.
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (MessageRun& run : _runs)
            for (uint32_t i = run.first; i < run.first + run.count; ++i) {
                const Target& t = _targets[i];
                Delivery d{run.message, t.qos, t.retain, {}};
                std::shared_ptr<PublishWait> wait;
                if (t.extra) {
                    Extra& x = _extras[t.extra - 1];
                    d.subscription_ids = std::move(x.subscription_ids);
                    d.share = std::move(x.share);
                    wait = std::move(x.wait);
                }
                fn(t.session, std::move(d), std::move(wait));
            }
    }

  private:
    std::vector<MessageRun> _runs;
    std::vector<Target> _targets;
    std::vector<Extra> _extras;
};

}  // namespace roost
