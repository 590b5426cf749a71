/* auth_twice: answers PENDING, then a thread completes the call twice: first with `verdict`
 * (allow|deny, default allow), then with the opposite. The first answer must stand; the second
 * must return ROOST_EINVAL (the broker logs it too). The thread logs both return codes.
 *
 * Options: verdict = "allow" | "deny"; delay_ms = 50. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    roost_verdict first;
    long delay_ms;
    fx_threads threads;
} state;

typedef struct job {
    state* s;
    roost_call* call;
    char client[128];
} job;

static void complete_twice(void* arg) {
    job* j = (job*)arg;
    state* s = j->s;
    roost_verdict second = s->first == ROOST_ALLOW ? ROOST_DENY : ROOST_ALLOW;
    int rc1, rc2;
    fx_sleep_ms(s->delay_ms);
    rc1 = s->host->complete(j->call, s->first, s->first == ROOST_DENY ? ROOST_RC_NOT_AUTHORIZED : 0, NULL);
    /* The call may be freed by now: the host must recognise it without touching freed memory
     * (this is the misuse the fixture exists for). */
    rc2 = s->host->complete(j->call, second, second == ROOST_DENY ? ROOST_RC_NOT_AUTHORIZED : 0, NULL);
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: client %s: first complete(%s) rc=%d, repeat complete(%s) rc=%d %s", j->client,
                 fx_verdict_name(s->first), rc1, fx_verdict_name(second), rc2,
                 rc2 == ROOST_EINVAL ? "as the ABI says" : "UNEXPECTED, the ABI says ROOST_EINVAL");
    free(j);
}

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    state* s = (state*)worker_data;
    job* j = (job*)calloc(1, sizeof *j);
    if (!j) return ROOST_DENY;
    j->s = s;
    j->call = ev->call;
    fx_client_id(s->host, ev->client, j->client, sizeof j->client);
    if (fx_threads_spawn(&s->threads, complete_twice, j) != ROOST_OK) {
        free(j);
        return ROOST_DENY;
    }
    return ROOST_PENDING;
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    s->first =
        strcmp(fx_option(options, option_count, "verdict", "allow"), "deny") == 0 ? ROOST_DENY : ROOST_ALLOW;
    s->delay_ms = fx_option_long(options, option_count, "delay_ms", 50);
    fx_threads_init(&s->threads);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    if (fx_threads_drain(&s->threads, 5000) == 0) free(s);
}
