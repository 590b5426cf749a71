/* persistence_log: persistence hooks that store nothing and log every call, so tests can see
 * which state changes the broker reports. Every store answers ALLOW (stored).
 *
 * With store_delay_ms = N > 0, message_store and delivery_save answer PENDING and a thread
 * completes them (ALLOW) N ms later, as a plugin that waits for its disk would: the broker must
 * hold the publisher's PUBACK until then.
 *
 * restore() hands back one retained message: `restore_topic` (default "restored/topic") with
 * payload `restore_payload` (default "from-restore"), QoS 1, so a subscriber gets it after the
 * broker starts. Lines, one per call:
 *   fixture: restore: retained restored/topic rc=0
 *   fixture: session_save client=c1 expiry=300 connected=yes will=no
 *   fixture: session_delete client=c1
 *   fixture: subscription_save client=c1 filter=a/# qos=1
 *   fixture: subscription_delete client=c1 filter=a/#
 *   fixture: message_store id=7 topic=a/b qos=1 retain=0 len=5
 *   fixture: message_release id=7
 *   fixture: delivery_save client=c1 message=7 seq=1 state=0 packet_id=0
 *   fixture: delivery_delete client=c1 seq=1
 *   fixture: retained_set topic=r/x len=3 (len=0: cleared) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char restore_topic[128], restore_payload[128];
    long store_delay_ms; /* > 0: message_store and delivery_save answer PENDING, durable later */
    fx_threads threads;
} state;

static void complete_durable(void* arg) {
    fx_deferred* j = (fx_deferred*)arg;
    state* s = (state*)j->data;
    int rc;
    fx_sleep_ms(s->store_delay_ms);
    rc = s->host->complete(j->call, ROOST_ALLOW, 0, NULL);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s durable after %ld ms: complete rc=%d", j->what,
                 s->store_delay_ms, rc);
    free(j);
}

/* ALLOW now, or (store_delay_ms > 0 and a call to answer) PENDING and ALLOW from a thread later. */
static roost_verdict stored(state* s, roost_call* call, const char* what) {
    if (s->store_delay_ms <= 0 || !call) return ROOST_ALLOW;
    if (fx_defer(&s->threads, complete_durable, s, call, what) != ROOST_OK) return ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s: PENDING", what);
    return ROOST_PENDING;
}

static int restore(void* plugin_data, const roost_restore_sink* sink) {
    state* s = (state*)plugin_data;
    roost_stored_message m;
    int rc;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.id = 1;
    m.topic = fx_bytes(s->restore_topic);
    m.payload = fx_bytes(s->restore_payload);
    m.qos = 1;
    m.retain = 1;
    rc = sink->retained(sink->ctx, &m);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: restore: retained %s rc=%d", s->restore_topic, rc);
    return ROOST_OK;
}

static roost_verdict session_save(void* wd, roost_call* call, const roost_session_record* r) {
    state* s = (state*)wd;
    char id[128];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: session_save client=%s expiry=%u connected=%s will=%s",
                 fx_cstr(r->client_id, id, sizeof id), (unsigned)r->expiry_interval,
                 r->disconnected_at_ms == 0 ? "yes" : "no", r->will ? "yes" : "no");
    return ROOST_ALLOW;
}

static roost_verdict session_delete(void* wd, roost_call* call, roost_bytes client_id) {
    state* s = (state*)wd;
    char id[128];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: session_delete client=%s",
                 fx_cstr(client_id, id, sizeof id));
    return ROOST_ALLOW;
}

static roost_verdict subscription_save(void* wd, roost_call* call, const roost_subscription_record* r) {
    state* s = (state*)wd;
    char id[128], filter[256];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscription_save client=%s filter=%s qos=%u",
                 fx_cstr(r->client_id, id, sizeof id), fx_cstr(r->filter, filter, sizeof filter),
                 (unsigned)r->qos);
    return ROOST_ALLOW;
}

static roost_verdict subscription_delete(void* wd, roost_call* call, roost_bytes client_id,
                                         roost_bytes filter) {
    state* s = (state*)wd;
    char id[128], f[256];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscription_delete client=%s filter=%s",
                 fx_cstr(client_id, id, sizeof id), fx_cstr(filter, f, sizeof f));
    return ROOST_ALLOW;
}

static roost_verdict message_store(void* wd, roost_call* call, const roost_stored_message* m) {
    state* s = (state*)wd;
    char topic[256], what[64];
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: message_store id=%llu topic=%s qos=%u retain=%u len=%u",
                 (unsigned long long)m->id, fx_cstr(m->topic, topic, sizeof topic), (unsigned)m->qos,
                 (unsigned)m->retain, (unsigned)m->payload.len);
    snprintf(what, sizeof what, "message_store id=%llu", (unsigned long long)m->id);
    return stored(s, call, what);
}

static roost_verdict message_release(void* wd, roost_call* call, uint64_t message_id) {
    state* s = (state*)wd;
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: message_release id=%llu", (unsigned long long)message_id);
    return ROOST_ALLOW;
}

static roost_verdict delivery_save(void* wd, roost_call* call, const roost_delivery_record* d) {
    state* s = (state*)wd;
    char id[128], what[160];
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: delivery_save client=%s message=%llu seq=%llu state=%d packet_id=%u",
                 fx_cstr(d->client_id, id, sizeof id), (unsigned long long)d->message_id,
                 (unsigned long long)d->sequence, (int)d->state, (unsigned)d->packet_id);
    snprintf(what, sizeof what, "delivery_save client=%s seq=%llu", id, (unsigned long long)d->sequence);
    return stored(s, call, what);
}

static roost_verdict delivery_delete(void* wd, roost_call* call, roost_bytes client_id, uint64_t sequence) {
    state* s = (state*)wd;
    char id[128];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: delivery_delete client=%s seq=%llu",
                 fx_cstr(client_id, id, sizeof id), (unsigned long long)sequence);
    return ROOST_ALLOW;
}

static roost_verdict retained_set(void* wd, roost_call* call, const roost_stored_message* m) {
    state* s = (state*)wd;
    char topic[256];
    (void)call;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: retained_set topic=%s len=%u",
                 fx_cstr(m->topic, topic, sizeof topic), (unsigned)m->payload.len);
    return ROOST_ALLOW;
}

static const roost_persistence_hooks persistence_hooks = {sizeof(roost_persistence_hooks),
                                                          restore,
                                                          session_save,
                                                          session_delete,
                                                          subscription_save,
                                                          subscription_delete,
                                                          message_store,
                                                          message_release,
                                                          delivery_save,
                                                          delivery_delete,
                                                          retained_set,
                                                          NULL /* incoming_qos2_save: not kept */,
                                                          NULL /* incoming_qos2_delete */,
                                                          NULL /* message_delivery_save: the two calls */,
                                                          NULL /* message_delivery_delete: the two calls */};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->restore_topic, sizeof s->restore_topic, "%s",
             fx_option(options, option_count, "restore_topic", "restored/topic"));
    snprintf(s->restore_payload, sizeof s->restore_payload, "%s",
             fx_option(options, option_count, "restore_payload", "from-restore"));
    s->store_delay_ms = fx_option_long(options, option_count, "store_delay_ms", 0);
    fx_threads_init(&s->threads);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_PERSISTENCE, &persistence_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    if (fx_threads_drain(&s->threads, 5000) == 0) free(s);
}
