// One change the broker asked the store for, copied out of the hook's borrowed event so the
// writer thread can apply it later. Owned by the writer's queue.
#pragma once
#include <cstdint>
#include <string>

#include "roost/plugin.h"

namespace roost_sqlite {

enum class OpKind : uint8_t {
    SessionSave,
    SessionDelete,
    SubscriptionSave,
    SubscriptionDelete,
    MessageStore,
    MessageRelease,
    DeliverySave,
    DeliveryDelete,  // with `release`: the message's release too (message_delivery_delete)
    RetainedSet,     // an empty payload clears the topic
    Qos2Save,
    Qos2Delete
};

// Operations that only remove rows: on a full disk they are applied on their own, so that the
// store can shrink back (see Writer::commit).
inline bool shrinks(OpKind k) {
    return k == OpKind::SessionDelete || k == OpKind::SubscriptionDelete || k == OpKind::MessageRelease ||
           k == OpKind::DeliveryDelete || k == OpKind::Qos2Delete;
}

struct StoredMessageCopy {
    uint64_t id = 0;
    std::string topic, payload, properties, origin;
    uint8_t qos = 0, retain = 0;
    int64_t expires_at_ms = 0;
};

struct Operation {
    OpKind kind{};
    roost_call* call = nullptr;  // nullptr: nobody waits for this one
    // A MessageStore or DeliverySave undone by its release or delete before the writer took it
    // (Writer::cancel_queued): nothing to write.
    bool cancelled = false;
    // A DeliveryDelete that also releases its message (`message_id`): one operation, one push.
    bool release = false;
    std::string client_id;
    std::string filter;     // subscriptions
    StoredMessageCopy msg;  // message_store, retained_set, a session's will
    bool has_will = false;
    uint32_t expiry_interval = 0;
    int64_t disconnected_at_ms = 0, will_due_ms = 0;
    uint8_t qos = 0, no_local = 0, retain_as_published = 0, retain_handling = 0, retain = 0;
    uint32_t subscription_id = 0;
    uint64_t message_id = 0, sequence = 0;
    uint16_t packet_id = 0;
    uint32_t state = 0;
    std::string subscription_ids;  // uint32_t values, native order, as a blob
};

}  // namespace roost_sqlite
