// The `sqlite` plugin: sessions, subscriptions, in-flight, queued and retained messages in one
// SQLite database (WAL), written by one thread with group commit. The exports and the
// persistence hooks, which copy each change into an Operation for the writer (writer.hpp).
// README.md in this folder is the user's guide: options, modes and what each can lose.
#include <cstring>
#include <memory>

#include "database.hpp"
#include "operation.hpp"
#include "options.hpp"
#include "roost/plugin.h"
#include "writer.hpp"

namespace roost_sqlite {
namespace {

struct Plugin {
    const roost_host* host;
    roost_plugin* self;
    Options options;
    Database db;
    std::unique_ptr<Writer> writer;
    bool durable() const { return options.sync != SyncMode::Periodic; }
};

std::string string_of(roost_bytes b) {
    return b.data ? std::string(reinterpret_cast<const char*>(b.data), b.len) : "";
}

StoredMessageCopy copy_of(const roost_stored_message& m) {
    StoredMessageCopy c;
    c.id = m.id;
    c.topic = string_of(m.topic);
    c.payload = string_of(m.payload);
    c.properties = string_of(m.properties);
    c.origin = string_of(m.origin_client_id);
    c.qos = m.qos;
    c.retain = m.retain;
    c.expires_at_ms = m.expires_at_ms;
    return c;
}

// Queues `op`. In the durable modes a call the broker may wait on is answered PENDING and
// completed after the commit that holds it; otherwise (periodic mode, or pure deletions, whose
// loss in a crash only means a delivery may come again) the answer is ALLOW at once.
roost_verdict queue(void* data, roost_call* call, Operation&& op, bool waits) {
    auto* p = static_cast<Plugin*>(data);
    bool pending = waits && call && p->durable();
    op.call = pending ? call : nullptr;
    p->writer->push(std::move(op));
    return pending ? ROOST_PENDING : ROOST_ALLOW;
}

int restore(void* data, const roost_restore_sink* sink) {
    auto* p = static_cast<Plugin*>(data);
    std::string error;
    int rc = p->db.restore(*sink, error);
    if (rc < 0) {
        p->host->log(p->self, ROOST_LOG_ERROR, "restore failed: %s", error.c_str());
        return rc;
    }
    if (!error.empty()) p->host->log(p->self, ROOST_LOG_WARNING, "restore: %s", error.c_str());
    // From here on the database belongs to the writer thread.
    p->writer->start();
    return ROOST_OK;
}

roost_verdict session_save(void* data, roost_call* call, const roost_session_record* r) {
    Operation op;
    op.kind = OpKind::SessionSave;
    op.client_id = string_of(r->client_id);
    op.expiry_interval = r->expiry_interval;
    op.disconnected_at_ms = r->disconnected_at_ms;
    if (r->will) {
        op.has_will = true;
        op.msg = copy_of(*r->will);
        op.will_due_ms = r->will_due_ms;
    }
    return queue(data, call, std::move(op), true);
}

roost_verdict session_delete(void* data, roost_call* call, roost_bytes client_id) {
    Operation op;
    op.kind = OpKind::SessionDelete;
    op.client_id = string_of(client_id);
    return queue(data, call, std::move(op), false);
}

roost_verdict subscription_save(void* data, roost_call* call, const roost_subscription_record* r) {
    Operation op;
    op.kind = OpKind::SubscriptionSave;
    op.client_id = string_of(r->client_id);
    op.filter = string_of(r->filter);
    op.qos = r->qos;
    op.no_local = r->no_local;
    op.retain_as_published = r->retain_as_published;
    op.retain_handling = r->retain_handling;
    op.subscription_id = r->subscription_id;
    return queue(data, call, std::move(op), true);
}

roost_verdict subscription_delete(void* data, roost_call* call, roost_bytes client_id, roost_bytes filter) {
    Operation op;
    op.kind = OpKind::SubscriptionDelete;
    op.client_id = string_of(client_id);
    op.filter = string_of(filter);
    return queue(data, call, std::move(op), true);
}

roost_verdict message_store(void* data, roost_call* call, const roost_stored_message* m) {
    Operation op;
    op.kind = OpKind::MessageStore;
    op.msg = copy_of(*m);
    return queue(data, call, std::move(op), true);
}

roost_verdict message_release(void* data, roost_call* call, uint64_t id) {
    Operation op;
    op.kind = OpKind::MessageRelease;
    op.message_id = id;
    return queue(data, call, std::move(op), false);
}

Operation delivery_save_of(const roost_delivery_record* d) {
    Operation op;
    op.kind = OpKind::DeliverySave;
    op.client_id = string_of(d->client_id);
    op.message_id = d->message_id;
    op.sequence = d->sequence;
    op.packet_id = d->packet_id;
    op.qos = d->qos;
    op.retain = d->retain;
    op.state = d->state;
    if (d->subscription_id_count)
        op.subscription_ids.assign(reinterpret_cast<const char*>(d->subscription_ids),
                                   d->subscription_id_count * sizeof(uint32_t));
    return op;
}

roost_verdict delivery_save(void* data, roost_call* call, const roost_delivery_record* d) {
    return queue(data, call, delivery_save_of(d), true);
}

// message_store and delivery_save in one call. Both go into the queue together (one batch), and
// the call rides on the store: it completes with the commit that holds both, or at once when the
// message's release cancels its store in the queue (every delivery of it is over then). The
// delivery's delete alone cancels only the delivery: other deliveries may still need the message.
roost_verdict message_delivery_save(void* data, roost_call* call, const roost_stored_message* m,
                                    const roost_delivery_record* d) {
    auto* p = static_cast<Plugin*>(data);
    bool pending = call && p->durable();
    Operation store;
    store.kind = OpKind::MessageStore;
    store.msg = copy_of(*m);
    store.call = pending ? call : nullptr;
    p->writer->push_pair(std::move(store), delivery_save_of(d));
    return pending ? ROOST_PENDING : ROOST_ALLOW;
}

roost_verdict delivery_delete(void* data, roost_call* call, roost_bytes client_id, uint64_t sequence) {
    Operation op;
    op.kind = OpKind::DeliveryDelete;
    op.client_id = string_of(client_id);
    op.sequence = sequence;
    return queue(data, call, std::move(op), false);
}

// delivery_delete and message_release in one call (and one push): the delivery's save and, when
// `release` is set, the message's store are cancelled in the queue if still there.
roost_verdict message_delivery_delete(void* data, roost_call* call, roost_bytes client_id, uint64_t sequence,
                                      uint64_t message_id, int release) {
    Operation op;
    op.kind = OpKind::DeliveryDelete;
    op.client_id = string_of(client_id);
    op.sequence = sequence;
    op.message_id = message_id;
    op.release = release != 0;
    return queue(data, call, std::move(op), false);
}

roost_verdict retained_set(void* data, roost_call* call, const roost_stored_message* m) {
    Operation op;
    op.kind = OpKind::RetainedSet;
    op.msg = copy_of(*m);
    return queue(data, call, std::move(op), true);
}

roost_verdict qos2_save(void* data, roost_call* call, roost_bytes client_id, uint16_t packet_id) {
    Operation op;
    op.kind = OpKind::Qos2Save;
    op.client_id = string_of(client_id);
    op.packet_id = packet_id;
    return queue(data, call, std::move(op), true);
}

roost_verdict qos2_delete(void* data, roost_call* call, roost_bytes client_id, uint16_t packet_id) {
    Operation op;
    op.kind = OpKind::Qos2Delete;
    op.client_id = string_of(client_id);
    op.packet_id = packet_id;
    return queue(data, call, std::move(op), true);
}

}  // namespace
}  // namespace roost_sqlite

using namespace roost_sqlite;

extern "C" {

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    for (size_t i = 0; i < count; ++i)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    Options o;
    return parse_options(host, self, options, option_count, o) ? ROOST_OK : ROOST_EINVAL;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    if (!ROOST_HAS(host, roost_host, complete_many)) {
        host->log(self, ROOST_LOG_ERROR, "needs a broker with host->complete_many (Roost 0.1 or later)");
        return ROOST_ENOTSUP;
    }
    auto p = std::make_unique<Plugin>();
    p->host = host;
    p->self = self;
    if (!parse_options(host, self, options, option_count, p->options)) return ROOST_EINVAL;
    std::string error;
    if (!p->db.open(p->options, error)) {
        host->log(self, ROOST_LOG_ERROR, "%s", error.c_str());
        return ROOST_ENOTSUP;  // not the options' fault: a run-time failure (exit status 1)
    }
    p->writer = std::make_unique<Writer>(host, self, p->db, p->options);

    roost_persistence_hooks hooks{};
    hooks.struct_size = sizeof hooks;
    hooks.restore = restore;
    hooks.session_save = session_save;
    hooks.session_delete = session_delete;
    hooks.subscription_save = subscription_save;
    hooks.subscription_delete = subscription_delete;
    hooks.message_store = message_store;
    hooks.message_release = message_release;
    hooks.delivery_save = delivery_save;
    hooks.delivery_delete = delivery_delete;
    hooks.retained_set = retained_set;
    hooks.incoming_qos2_save = qos2_save;
    hooks.incoming_qos2_delete = qos2_delete;
    hooks.message_delivery_save = message_delivery_save;
    hooks.message_delivery_delete = message_delivery_delete;
    if (int rc = host->hook_register(self, ROOST_HOOK_PERSISTENCE, &hooks); rc < 0) return rc;
    const char* limit = "";
    char limit_text[64] = "";
    if (p->options.max_size_bytes) {
        std::snprintf(limit_text, sizeof limit_text, ", max_size %llu MB",
                      (unsigned long long)(p->options.max_size_bytes >> 20));
        limit = limit_text;
    }
    host->log(self, ROOST_LOG_INFO, "%s opened (schema %d, sync = \"%s\"%s%s)", p->db.path().c_str(),
              Database::schema_version, sync_name(p->options.sync),
              p->options.sync == SyncMode::Periodic
                  ? (", commit every " + std::to_string(p->options.commit_interval_ms) + " ms").c_str()
                  : "",
              limit);
    *plugin_data = p.release();
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    auto* p = static_cast<Plugin*>(plugin_data);
    if (!p) return;
    if (p->writer) p->writer->stop();  // the last batch commits; its calls answer EGONE
    delete p;
}
}
