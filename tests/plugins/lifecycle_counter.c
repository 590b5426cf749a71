/* lifecycle_counter: every lifecycle hook, with per-worker state.
 *
 * worker_start allocates a counter block for its worker and stores it as worker_data; every
 * later hook checks it got that block back (magic and worker index) and logs it. Lines:
 *   fixture: worker_start 0
 *   fixture: on_connect client=<id> worker=0 worker_data=ok protocol=5
 *   fixture: on_disconnect client=<id> reason=0x00 worker=0 worker_data=ok
 *   fixture: tick worker=0 n=3                  (the first 3 ticks of each worker, then quiet)
 *   fixture: worker_stop 0 connects=1 disconnects=1 ticks=5 worker_data=ok
 * cleanup writes "lifecycle_counter fixture: cleanup" to stderr (the host may be gone). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

#define MAGIC 0x1ce0c0de

typedef fx_self state;

typedef struct per_worker {
    unsigned magic;
    state* s;
    unsigned worker;
    unsigned long connects, disconnects, ticks;
} per_worker;

/* "ok" when `w` is a block worker_start made for the worker this runs on. */
static const char* check(const per_worker* w) {
    if (!w || w->magic != MAGIC) return "WRONG(not from worker_start)";
    if (w->s->host->worker_index() != w->worker) return "WRONG(another worker's)";
    return "ok";
}

static int worker_start(void* plugin_data, unsigned worker, void** worker_data) {
    state* s = (state*)plugin_data;
    per_worker* w = (per_worker*)calloc(1, sizeof *w);
    if (!w) return ROOST_ENOMEM;
    w->magic = MAGIC;
    w->s = s;
    w->worker = worker;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: worker_start %u of %u (worker_data was %s)", worker,
                 s->host->worker_count(), *worker_data == plugin_data ? "plugin_data" : "WRONG");
    *worker_data = w;
    return ROOST_OK;
}

static void worker_stop(void* plugin_data, unsigned worker, void* worker_data) {
    state* s = (state*)plugin_data;
    per_worker* w = (per_worker*)worker_data;
    const char* ok = check(w);
    if (w && w->magic == MAGIC) {
        s->host->log(s->self, ROOST_LOG_INFO,
                     "fixture: worker_stop %u connects=%lu disconnects=%lu ticks=%lu worker_data=%s", worker,
                     w->connects, w->disconnects, w->ticks, ok);
        w->magic = 0;
        free(w);
    } else {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: worker_stop %u worker_data=%s", worker, ok);
    }
}

static void on_connect(void* worker_data, roost_client* client) {
    per_worker* w = (per_worker*)worker_data;
    char id[128];
    w->connects++;
    w->s->host->log(w->s->self, ROOST_LOG_INFO,
                    "fixture: on_connect client=%s worker=%u worker_data=%s protocol=%d",
                    fx_client_id(w->s->host, client, id, sizeof id), w->worker, check(w),
                    w->s->host->client_protocol(client));
}

static void on_disconnect(void* worker_data, roost_client* client, uint8_t reason_code) {
    per_worker* w = (per_worker*)worker_data;
    char id[128];
    w->disconnects++;
    w->s->host->log(
        w->s->self, ROOST_LOG_INFO, "fixture: on_disconnect client=%s reason=0x%02x worker=%u worker_data=%s",
        fx_client_id(w->s->host, client, id, sizeof id), (unsigned)reason_code, w->worker, check(w));
}

static void tick(void* worker_data) {
    per_worker* w = (per_worker*)worker_data;
    w->ticks++;
    if (w->ticks <= 3)
        w->s->host->log(w->s->self, ROOST_LOG_INFO, "fixture: tick worker=%u n=%lu worker_data=%s", w->worker,
                        w->ticks, check(w));
}

static const roost_lifecycle_hooks lifecycle_hooks = {
    sizeof(roost_lifecycle_hooks), worker_start, worker_stop, on_connect, on_disconnect, tick, NULL, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = fx_self_new(host, self);
    (void)options;
    (void)option_count;
    if (!s) return ROOST_ENOMEM;
    *plugin_data = s;
    host->log(self, ROOST_LOG_INFO, "fixture: init, abi %u, broker %s", host->abi_version,
              host->broker_version);
    return host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    fprintf(stderr, "lifecycle_counter fixture: cleanup\n");
    free(plugin_data);
}
