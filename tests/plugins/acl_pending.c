/* acl_pending: answers every PUBLISH check with PENDING and completes it from a thread after
 * `delay_ms`: DENY 0x87 when the topic contains `deny` (default "/deny"), else ALLOW. SUBSCRIBE
 * and DELIVER are NEXT. The thread logs what host->complete returned (ROOST_EGONE when the
 * broker timed the call out first: set delay_ms above [broker] plugin_timeout_ms to see it).
 *
 * Options: delay_ms = 50; deny = "/deny". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    long delay_ms;
    char deny[64];
    fx_threads threads;
} state;

typedef struct job {
    state* s;
    roost_call* call;
    roost_verdict verdict;
    char topic[256];
} job;

static void answer_later(void* arg) {
    job* j = (job*)arg;
    state* s = j->s;
    int rc;
    fx_sleep_ms(s->delay_ms);
    rc = s->host->complete(j->call, j->verdict, j->verdict == ROOST_DENY ? ROOST_RC_NOT_AUTHORIZED : 0, NULL);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: publish %s completed %s after %ld ms: rc=%d (%s)",
                 j->topic, fx_verdict_name(j->verdict), s->delay_ms, rc, s->host->strerror(rc));
    free(j);
}

static roost_verdict check(void* worker_data, roost_acl_event* ev) {
    state* s = (state*)worker_data;
    job* j;
    if (ev->action != ROOST_ACL_PUBLISH || !ev->call) return ROOST_NEXT;
    j = (job*)calloc(1, sizeof *j);
    if (!j) return ROOST_DENY;
    j->s = s;
    j->call = ev->call;
    fx_cstr(ev->topic, j->topic, sizeof j->topic);
    j->verdict = strstr(j->topic, s->deny) ? ROOST_DENY : ROOST_ALLOW;
    if (fx_threads_spawn(&s->threads, answer_later, j) != ROOST_OK) {
        free(j);
        return ROOST_DENY;
    }
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: publish %s qos %u: PENDING", j->topic, (unsigned)ev->qos);
    return ROOST_PENDING;
}

static const roost_acl_hooks acl_hooks = {sizeof(roost_acl_hooks), check};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    s->delay_ms = fx_option_long(options, option_count, "delay_ms", 50);
    snprintf(s->deny, sizeof s->deny, "%s", fx_option(options, option_count, "deny", "/deny"));
    fx_threads_init(&s->threads);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    if (fx_threads_drain(&s->threads, 5000) == 0) free(s);
}
