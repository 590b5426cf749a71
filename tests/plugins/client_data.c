/* client_data: per-client plugin data, client refs kept past the hook, the order of lifecycle
 * events.
 *
 * Options: deny = "name" (auth DENY for that username; default "bad"); kick = "id" (a client with
 * that id is disconnected 300 ms after its CONNACK, from a thread of the plugin's own, through a
 * kept ref, with 0x98 Administrative action).
 *
 * authenticate sets client data (a record with a serial number) for every client, then ALLOW, or
 * DENY for the `deny` username. Lines (all "fixture: "):
 *   set id=<id> serial=<n>                       authenticate, data set
 *   connect id=<id> serial=<n> data=ok           on_connect (data=WRONG if the slot lost it)
 *   disconnect id=<id> serial=<n> reason=<hex>   on_disconnect
 *   release id=<id> serial=<n> sets=<s> releases=<r>   client_release, exactly once per record
 *   ref of serial=<n> answers EGONE (client_from_ref=<rc> disconnect=<rc>)  from a worker timer
 *   kick serial=<n> rc=<rc>                      the thread's client_ref_disconnect
 *   kick again serial=<n> rc=<rc>                the same ref after the client left
 *   totals sets=<s> releases=<r> double=<d>      worker_stop and cleanup
 * A record released twice logs "fixture: WRONG: released twice". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct record {
    struct record* next; /* every record, freed at cleanup (so a second release is seen, not a crash) */
    unsigned long serial;
    char id[96];
    roost_client_ref ref;
    int released;
    int ref_gone_logged;
} record;

#define MAX_KEPT 256

typedef struct state state;
struct state {
    const roost_host* host;
    roost_plugin* self;
    char deny[64], kick[96];
    pthread_mutex_t mutex;
    unsigned long serial, sets, releases, doubles;
    /* Refs kept past the hook, checked by a worker timer until they answer EGONE. */
    roost_client_ref kept[MAX_KEPT];
    unsigned long kept_serial[MAX_KEPT];
    uint32_t kept_worker[MAX_KEPT]; /* a ref is looked up on its client's worker */
    size_t kept_count;
    struct worker_timer {
        struct state* s;
        uint32_t worker;
        roost_timer timer;
    } timers[64];
    fx_threads threads;
    record* records;
};

static roost_verdict authenticate(void* wd, roost_auth_event* ev) {
    state* s = (state*)wd;
    record* r = (record*)calloc(1, sizeof *r);
    char user[64];
    int rc;
    if (!r) return ROOST_DENY;
    fx_client_id(s->host, ev->client, r->id, sizeof r->id);
    pthread_mutex_lock(&s->mutex);
    r->serial = ++s->serial;
    r->next = s->records;
    s->records = r;
    s->sets++;
    pthread_mutex_unlock(&s->mutex);
    rc = s->host->client_data_set(s->self, ev->client, r);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: set id=%s serial=%lu rc=%d", r->id, r->serial, rc);
    if (ev->has_username && fx_equals(ev->username, s->deny)) {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: deny id=%s serial=%lu user=%s", r->id, r->serial,
                     fx_cstr(ev->username, user, sizeof user));
        ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
        return ROOST_DENY;
    }
    return ROOST_ALLOW;
}

typedef struct kick_job {
    state* s;
    roost_client_ref ref;
    unsigned long serial;
} kick_job;

static void kick_thread(void* arg) {
    fx_deferred* j = (fx_deferred*)arg;
    kick_job* k = (kick_job*)j->data;
    state* s = k->s;
    int rc;
    fx_sleep_ms(300);
    rc = s->host->client_ref_disconnect(k->ref, ROOST_RC_ADMINISTRATIVE_ACTION);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: kick serial=%lu rc=%d", k->serial, rc);
    fx_sleep_ms(500);
    rc = s->host->client_ref_disconnect(k->ref, ROOST_RC_ADMINISTRATIVE_ACTION);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: kick again serial=%lu rc=%d", k->serial, rc);
    free(k);
    free(j);
}

static void on_connect(void* wd, roost_client* client) {
    state* s = (state*)wd;
    record* r = (record*)s->host->client_data_get(s->self, client);
    char id[96];
    fx_client_id(s->host, client, id, sizeof id);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: connect id=%s serial=%lu data=%s", id, r ? r->serial : 0,
                 r && strcmp(r->id, id) == 0 ? "ok" : "WRONG");
    if (!r) return;
    r->ref = s->host->client_ref(client);
    pthread_mutex_lock(&s->mutex);
    if (s->kept_count < MAX_KEPT) {
        s->kept[s->kept_count] = r->ref;
        s->kept_serial[s->kept_count] = r->serial;
        s->kept_worker[s->kept_count] = s->host->worker_index();
        s->kept_count++;
    }
    pthread_mutex_unlock(&s->mutex);
    if (s->kick[0] && strcmp(id, s->kick) == 0) {
        kick_job* k = (kick_job*)calloc(1, sizeof *k);
        if (!k) return;
        k->s = s;
        k->ref = r->ref;
        k->serial = r->serial;
        if (fx_defer(&s->threads, kick_thread, k, NULL, "kick") != ROOST_OK) free(k);
    }
}

static void on_disconnect(void* wd, roost_client* client, uint8_t reason) {
    state* s = (state*)wd;
    record* r = (record*)s->host->client_data_get(s->self, client);
    char id[96];
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: disconnect id=%s serial=%lu reason=0x%02x",
                 fx_client_id(s->host, client, id, sizeof id), r ? r->serial : 0, reason);
}

static void client_release(void* wd, roost_client* client, void* data) {
    state* s = (state*)wd;
    record* r = (record*)data;
    char id[96];
    unsigned long sets, releases;
    fx_client_id(s->host, client, id, sizeof id);
    if (r->released) {
        s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: released twice serial=%lu", r->serial);
        pthread_mutex_lock(&s->mutex);
        s->doubles++;
        pthread_mutex_unlock(&s->mutex);
        return;
    }
    r->released = 1;
    pthread_mutex_lock(&s->mutex);
    releases = ++s->releases;
    sets = s->sets;
    pthread_mutex_unlock(&s->mutex);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: release id=%s serial=%lu sets=%lu releases=%lu%s", id,
                 r->serial, sets, releases,
                 s->host->client_data_get(s->self, client) == data ? "" : " (slot already cleared)");
}

/* Every 100 ms on every worker: kept refs of that worker's clients that stopped answering say
 * so, once. */
static void check_refs(void* arg) {
    struct worker_timer* t = (struct worker_timer*)arg;
    state* s = t->s;
    size_t i;
    pthread_mutex_lock(&s->mutex);
    for (i = 0; i < s->kept_count; i++) {
        roost_client* c = NULL;
        int rc;
        if (s->kept[i] == 0 || s->kept_worker[i] != t->worker) continue;
        rc = s->host->client_from_ref(s->kept[i], &c);
        if (rc == ROOST_EGONE) {
            int d = s->host->client_ref_disconnect(s->kept[i], 0);
            s->host->log(s->self, ROOST_LOG_INFO,
                         "fixture: ref of serial=%lu answers EGONE (client_from_ref=%d disconnect=%d)",
                         s->kept_serial[i], rc, d);
            s->kept[i] = 0;
        } else if (rc == ROOST_OK) {
            roost_bytes id = {NULL, 0};
            if (!c || s->host->client_info(c, ROOST_CLIENT_ID, &id) != ROOST_OK)
                s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: live ref without facts");
        } else {
            s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: client_from_ref on its worker: %d", rc);
        }
    }
    pthread_mutex_unlock(&s->mutex);
}

static int worker_start(void* pd, uint32_t worker, void** wd) {
    state* s = (state*)pd;
    struct worker_timer* t;
    (void)wd;
    if (worker >= 64) return ROOST_OK;
    t = &s->timers[worker];
    t->s = s;
    t->worker = worker;
    return s->host->timer_start(s->self, 100, 100, check_refs, t, &t->timer);
}

static void worker_stop(void* pd, uint32_t worker, void* wd) {
    state* s = (state*)pd;
    (void)wd;
    pthread_mutex_lock(&s->mutex);
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: totals at worker_stop %u sets=%lu releases=%lu double=%lu", (unsigned)worker,
                 s->sets, s->releases, s->doubles);
    pthread_mutex_unlock(&s->mutex);
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};
static const roost_lifecycle_hooks lifecycle_hooks = {sizeof(roost_lifecycle_hooks),
                                                      worker_start,
                                                      worker_stop,
                                                      on_connect,
                                                      on_disconnect,
                                                      NULL,
                                                      client_release,
                                                      NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    int rc;
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->deny, sizeof s->deny, "%s", fx_option(options, option_count, "deny", "bad"));
    snprintf(s->kick, sizeof s->kick, "%s", fx_option(options, option_count, "kick", ""));
    pthread_mutex_init(&s->mutex, NULL);
    fx_threads_init(&s->threads);
    *plugin_data = s;
    rc = host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
    if (rc == ROOST_OK) rc = host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
    return rc;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    fx_threads_drain(&s->threads, 3000);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: totals at cleanup sets=%lu releases=%lu double=%lu",
                 s->sets, s->releases, s->doubles);
    while (s->records) {
        record* r = s->records;
        s->records = r->next;
        free(r);
    }
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
