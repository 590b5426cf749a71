/* persistence_batch: a store with group commit. Every store hook answers PENDING and queues its
 * call for one writer thread, which "commits" every `commit_ms` (default 100) and completes the
 * whole batch with one host->complete_many.
 *
 * Lines: "fixture: committed batch of <n> calls: rc=<rc> ok=<k> gone=<g> other=<o>" for every
 * batch, and at cleanup (the writer drains what is left; the broker is gone by then, so those
 * answer ROOST_EGONE) "fixture: writer stopped". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

#define MAX_BATCH 4096

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    long commit_ms;
    pthread_mutex_t mutex;
    roost_call* queue[MAX_BATCH];
    size_t queued;
    int stop;
    pthread_t writer;
} state;

static void commit(state* s, roost_call** calls, size_t n) {
    int results[MAX_BATCH];
    size_t i, ok = 0, gone = 0, other = 0;
    int rc;
    if (n == 0) return;
    rc = s->host->complete_many(calls, n, ROOST_ALLOW, 0, results);
    for (i = 0; i < n; i++) {
        if (results[i] == ROOST_OK)
            ok++;
        else if (results[i] == ROOST_EGONE)
            gone++;
        else
            other++;
    }
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: committed batch of %zu calls: rc=%d ok=%zu gone=%zu other=%zu", n, rc, ok, gone,
                 other);
}

static void* writer_main(void* arg) {
    state* s = (state*)arg;
    static roost_call* batch[MAX_BATCH];
    for (;;) {
        size_t n;
        int stop;
        fx_sleep_ms(s->commit_ms); /* the fsync of a real store */
        pthread_mutex_lock(&s->mutex);
        n = s->queued;
        memcpy(batch, s->queue, n * sizeof batch[0]);
        s->queued = 0;
        stop = s->stop;
        pthread_mutex_unlock(&s->mutex);
        commit(s, batch, n);
        if (stop) break;
    }
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: writer stopped");
    return NULL;
}

static roost_verdict queue_call(state* s, roost_call* call) {
    int full;
    if (!call) return ROOST_ALLOW;
    pthread_mutex_lock(&s->mutex);
    full = s->queued == MAX_BATCH;
    if (!full) s->queue[s->queued++] = call;
    pthread_mutex_unlock(&s->mutex);
    return full ? ROOST_DENY : ROOST_PENDING;
}

static roost_verdict session_save(void* wd, roost_call* call, const roost_session_record* r) {
    (void)r;
    return queue_call((state*)wd, call);
}
static roost_verdict subscription_save(void* wd, roost_call* call, const roost_subscription_record* r) {
    (void)r;
    return queue_call((state*)wd, call);
}
static roost_verdict message_store(void* wd, roost_call* call, const roost_stored_message* m) {
    (void)m;
    return queue_call((state*)wd, call);
}
static roost_verdict delivery_save(void* wd, roost_call* call, const roost_delivery_record* d) {
    (void)d;
    return queue_call((state*)wd, call);
}
static roost_verdict retained_set(void* wd, roost_call* call, const roost_stored_message* m) {
    (void)m;
    return queue_call((state*)wd, call);
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    /* A local table: the host copies it (ABI v1 final). */
    roost_persistence_hooks hooks;
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    s->commit_ms = fx_option_long(options, option_count, "commit_ms", 100);
    pthread_mutex_init(&s->mutex, NULL);
    *plugin_data = s;
    memset(&hooks, 0, sizeof hooks);
    hooks.struct_size = sizeof hooks;
    hooks.session_save = session_save;
    hooks.subscription_save = subscription_save;
    hooks.message_store = message_store;
    hooks.delivery_save = delivery_save;
    hooks.retained_set = retained_set;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) return ROOST_ENOMEM;
    return host->hook_register(self, ROOST_HOOK_PERSISTENCE, &hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    pthread_mutex_lock(&s->mutex);
    s->stop = 1;
    pthread_mutex_unlock(&s->mutex);
    pthread_join(s->writer, NULL);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
