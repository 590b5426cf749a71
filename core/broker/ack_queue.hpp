// The PUBACKs and PUBRECs one client is owed, in the order its PUBLISHes came (spec 4.6.0-2/3),
// and the PUBCOMPs, in the order its PUBRELs came, when some of them wait (for durable stores,
// or for room in a subscriber's full queue) and others do not. The client goes on reading while
// acknowledgements wait, so that many of its messages share one commit of a persistence plugin;
// Client bounds how many may wait at once.
//
// Owned by one Client, on its worker's thread. Tickets are positions in the order of arrival.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "mqtt/reason_codes.hpp"

namespace roost {

class AckQueue {
  public:
    static constexpr uint8_t kPubcomp = 3;
    struct Ack {
        uint8_t qos = 1;  // 1: PUBACK, 2: PUBREC, kPubcomp: PUBCOMP (the answer to a PUBREL)
        uint16_t packet_id = 0;
        mqtt::ReasonCode reason = mqtt::ReasonCode::Success;
    };

    // A PUBLISH whose acknowledgement waits, holding `bytes` of message; returns its ticket.
    uint64_t add_waiting(Ack ack, size_t bytes) {
        _entries.push_back({ack, false, bytes});
        _bytes_held += bytes;
        ++_waiting;
        return _front_ticket + _entries.size() - 1;
    }
    // An acknowledgement that is ready now: `out` gets it, after the waiting ones before it.
    void add_ready(Ack ack, std::vector<Ack>& out) {
        _entries.push_back({ack, true, 0});
        pop_ready(out);
    }
    // The reason decided once routing finished, for an acknowledgement still waiting.
    void set_reason(uint64_t ticket, mqtt::ReasonCode reason) { entry(ticket).ack.reason = reason; }
    // The wait of `ticket` ended (`reason`, if given, replaces the one it had); `out` gets every
    // acknowledgement that may go now, in order.
    void complete(uint64_t ticket, std::optional<mqtt::ReasonCode> reason, std::vector<Ack>& out) {
        Entry& e = entry(ticket);
        if (reason) e.ack.reason = *reason;
        e.ready = true;
        --_waiting;
        _bytes_held -= e.bytes;
        e.bytes = 0;
        pop_ready(out);
    }
    bool empty() const { return _entries.empty(); }
    size_t waiting() const { return _waiting; }
    size_t bytes_held() const { return _bytes_held; }

  private:
    struct Entry {
        Ack ack;
        bool ready;
        size_t bytes;
    };
    Entry& entry(uint64_t ticket) { return _entries[static_cast<size_t>(ticket - _front_ticket)]; }
    void pop_ready(std::vector<Ack>& out) {
        while (!_entries.empty() && _entries.front().ready) {
            out.push_back(_entries.front().ack);
            _entries.pop_front();
            ++_front_ticket;
        }
    }

    std::deque<Entry> _entries;  // from the oldest acknowledgement not yet sent
    uint64_t _front_ticket = 0;  // the ticket of _entries.front()
    size_t _waiting = 0;         // entries not ready
    size_t _bytes_held = 0;      // message bytes of the entries not ready
};

}  // namespace roost
