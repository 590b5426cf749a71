// What the broker keeps for one client id across connections (MQTT "session state"):
// subscriptions, QoS 1/2 messages in flight both ways, the offline queue, a pending will.
//
// Lifetime and threads: owned by the Broker of one worker (shared_ptr in its session table) and
// used only on that worker's thread; a takeover from a connection on another worker hands the
// whole object over (Broker::hand_over), after which only the new worker touches it. A connected
// Client points at its session and the session at the client; Broker::client_closed() and a
// takeover cut both links. `ref` is the part other workers read (atomics): where the session
// lives and whether it is online. `client_id` is read by other workers too, under the Router's
// directory lock: the directory points at it instead of keeping a copy, so it never changes after
// the session is claimed, and the session outlives its directory entry (session_directory.hpp).
//
// Not every session has a Session: one that ends with its connection (clean session, expiry 0)
// gets it only when something needs it, the first SUBSCRIBE, QoS 2 PUBLISH or takeover; until
// then its client holds only its number (broker.hpp, "Sessions made when needed").
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/message.hpp"
#include "broker/subscription_tree.hpp"
#include "mqtt/packet.hpp"
#include "util/boxed.hpp"
#include "util/lazy_deque.hpp"
#include "util/lazy_map.hpp"
#include "util/optional_time.hpp"
#include "util/packet_id_set.hpp"

namespace roost {

class Client;
class PublishWait;

// One message on its way to one session, with the per-subscriber parts.
struct Delivery {
    MessagePtr message;
    uint8_t qos = 0;
    bool retain = false;
    std::vector<uint32_t> subscription_ids;
    uint64_t sequence = 0;   // orders a session's deliveries in storage
    std::string share{};     // "$share/group/filter" when it came through a shared subscription
    bool persisted = false;  // handed to a persistence plugin
};

enum class OutgoingState : uint8_t {
    AwaitPuback,   // QoS 1 PUBLISH sent
    AwaitPubrec,   // QoS 2 PUBLISH sent
    AwaitPubcomp,  // QoS 2 PUBREL sent
};

struct Outgoing {
    Delivery delivery;
    OutgoingState state;
    bool resend = false;  // not yet sent again on the current connection (after a resume)
    // Held back, never sent yet (Broker::send_new): a QoS 2 PUBLISH until the commit that names
    // its packet id (`awaiting_store`), and anything for the same session after it, so the
    // session's order holds. A resume skips it; Broker::send_held sends it. Both cleared when the
    // session leaves this worker (the new worker sends it as a resend).
    bool unsent = false;
    bool awaiting_store = false;
    // Deferred storing ([broker] persist_delay_ms; Broker::send_new): a QoS 1 delivery sent at
    // once to a connected stored session is not handed to the persistence plugins yet. This is
    // the part of its publisher's wait it holds (its PUBACK goes once every part is released):
    // released by the subscriber's PUBACK without any plugin call, or after the delivery was
    // stored (the window passed, or something needs the session's stored state complete).
    // Null otherwise. 16 bytes per in-flight message; the owning worker's thread only (the
    // PublishWait itself may be the publisher's on another worker: publish_wait.hpp).
    std::shared_ptr<PublishWait> deferred_wait{};
};

struct SubscriptionRecord {
    mqtt::SubscriptionOptions options;
    uint32_t subscription_id = 0;
};

struct Session {
    SessionRef ref;  // ref.key: the session's broker-wide number
    std::string client_id;
    Client* client = nullptr;  // the connection attached now, if any

    // Sizes matter here: a session per idle client (tests/bench/RESULTS.md, "Idle connections").
    // Optional moments are 8 bytes (util/optional_time.hpp), the maps exist only while not
    // empty (util/lazy_map.hpp).
    OptionalTime<Clock::time_point> expires_at;       // set while no client is attached
    OptionalTime<Clock::time_point> disconnected_at;  // likewise

    LazyMap<std::string, SubscriptionRecord, std::less<>> subscriptions;

    LazyMap<uint16_t, Outgoing> inflight;  // server → client, by packet id
    LazyDeque<Delivery> queue;             // waiting for the client or for room in its window
    size_t queued_bytes = 0;               // topic + payload bytes of `queue` ([limits] max_queued_bytes)
    // Publishers whose acknowledgement waits for room in `queue` (queue_full_policy =
    // "backpressure"), since `throttled_since`; released by Broker::pump() or the timeout.
    // Non-empty: the session is in its Broker's `_throttled` set, which the tick watches.
    // Boxed (made when the queue first fills): a session whose queue never fills pays a pointer.
    struct FullQueue {
        std::vector<std::shared_ptr<PublishWait>> throttled;
        Clock::time_point throttled_since{};
        bool backpressure_gave_up = false;  // the timeout passed: drop by offline_queue_policy until room
        uint64_t dropped_while_full = 0;    // since the queue last had room (for the log)
    };
    Boxed<FullQueue> full;
    FullQueue& full_queue() {
        if (!full) full.emplace();
        return *full;
    }
    bool throttling() const { return full && !full->throttled.empty(); }
    bool backpressure_gave_up() const { return full && full->backpressure_gave_up; }
    PacketIdSet incoming_qos2;  // client → server QoS 2 ids awaiting PUBREL

    // A will waiting for its delay (MQTT 5 Will Delay Interval) after the connection was lost,
    // with the moment it is due. Boxed: 8 bytes for every session without one.
    struct DelayedWill : mqtt::Will {
        Clock::time_point due{};
    };
    Boxed<DelayedWill> pending_will;
    void delay_will(mqtt::Will will, Clock::time_point due) {
        DelayedWill& w = pending_will.emplace();
        static_cast<mqtt::Will&>(w) = std::move(will);
        w.due = due;
    }
    // The moment this session's entry in its worker's SessionDeadlines is for, if it has one
    // there (reset when the session moves to another worker, whose heap has no entry for it).
    OptionalTime<Clock::time_point> deadline_queued;

    // The next free packet id for a message to the client, skipping ids still in flight;
    // 0 when all 65535 are in use.
    uint16_t allocate_packet_id();

    // Whether one more PUBLISH may go to a client with this Receive Maximum: only what was sent
    // on the current connection and not yet acknowledged counts (spec 4.9).
    bool window_open(uint16_t receive_maximum) const {
        return inflight.size() - resend_pending < receive_maximum;
    }
    std::map<uint16_t, Outgoing>::iterator erase_inflight(std::map<uint16_t, Outgoing>::iterator it) {
        if (it->second.resend) --resend_pending;
        if (it->second.unsent) --unsent;
        return inflight.erase(it);
    }
    uint64_t next_sequence = 1;
    // Seconds the session outlives its connection; UINT32_MAX = never expires.
    uint32_t expiry_interval = 0;
    // Entries of `inflight` with resend set (at most 65535: one per packet id). With the two
    // small fields here, it fills what would otherwise be padding.
    uint16_t resend_pending = 0;
    // Entries of `inflight` with unsent set (held back: Outgoing::unsent).
    uint16_t unsent = 0;
    // A persistence plugin was asked to keep this session (session_save) or restored it: its
    // end must reach the plugins as session_delete. A session never stored (expiry 0 all its
    // life) ends without one, so a store sees no deletes for the clients that never outlive
    // their connection (sqlite: four DELETEs per clean client). Moves with the session.
    bool stored = false;

  private:
    uint16_t _next_packet_id = 1;
};

}  // namespace roost
