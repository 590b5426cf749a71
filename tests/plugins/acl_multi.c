/* acl_multi: what the ACL contract says about order, clients and several filters.
 *
 * Options: delay_ms = 300 (how long a SUBSCRIBE answer takes, from a thread).
 * SUBSCRIBE: every filter answers PENDING ("fixture: subscribe <filter> PENDING at <ms>") and a
 *   thread completes it delay_ms later (DENY 0x87 when the filter contains "deny", else ALLOW):
 *   "fixture: subscribe <filter> completed rc=<rc>".
 * PUBLISH: "fixture: publish check <topic> by <client>"; to "kick/publisher" it calls
 *   host->disconnect on the publisher from inside the check ("fixture: disconnect in publish check
 *   rc=<rc>") and answers ALLOW.
 * DELIVER: "fixture: deliver <topic> to=<subscriber> from=<publisher_id>"; for "kick/subscriber"
 *   it disconnects a subscriber whose id starts with "victim" from inside the check ("fixture: disconnect in
 * deliver check rc=<rc>") and answers ALLOW. A message hook logs "fixture: on_publish <topic>" so the test
 * sees the ACL check comes first. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    long delay_ms;
    fx_threads threads;
    struct timespec start;
} state;

static long ms_since(const struct timespec* t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

static void answer_later(void* arg) {
    fx_deferred* j = (fx_deferred*)arg;
    state* s = (state*)j->data;
    int deny = strstr(j->what, "deny") != NULL;
    int rc;
    fx_sleep_ms(s->delay_ms);
    rc =
        s->host->complete(j->call, deny ? ROOST_DENY : ROOST_ALLOW, deny ? ROOST_RC_NOT_AUTHORIZED : 0, NULL);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscribe %s completed rc=%d", j->what, rc);
    free(j);
}

static roost_verdict check(void* wd, roost_acl_event* ev) {
    state* s = (state*)wd;
    char topic[128], id[96], from[96];
    fx_cstr(ev->topic, topic, sizeof topic);
    fx_client_id(s->host, ev->client, id, sizeof id);
    switch (ev->action) {
        case ROOST_ACL_SUBSCRIBE:
            if (fx_defer(&s->threads, answer_later, s, ev->call, topic) != ROOST_OK) return ROOST_DENY;
            s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscribe %s PENDING at %ld", topic,
                         ms_since(&s->start));
            return ROOST_PENDING;
        case ROOST_ACL_PUBLISH:
            s->host->log(s->self, ROOST_LOG_INFO, "fixture: publish check %s by %s", topic, id);
            if (strcmp(topic, "kick/publisher") == 0)
                s->host->log(s->self, ROOST_LOG_INFO, "fixture: disconnect in publish check rc=%d",
                             s->host->disconnect(ev->client, ROOST_RC_ADMINISTRATIVE_ACTION));
            return ROOST_ALLOW;
        case ROOST_ACL_DELIVER:
            s->host->log(s->self, ROOST_LOG_INFO, "fixture: deliver %s to=%s from=%s", topic, id,
                         fx_cstr(ev->publisher_id, from, sizeof from));
            if (strcmp(topic, "kick/subscriber") == 0 && strncmp(id, "victim", 6) == 0)
                s->host->log(s->self, ROOST_LOG_INFO, "fixture: disconnect in deliver check rc=%d",
                             s->host->disconnect(ev->client, ROOST_RC_ADMINISTRATIVE_ACTION));
            return ROOST_ALLOW;
    }
    return ROOST_NEXT;
}

static roost_verdict on_publish(void* wd, roost_message_event* ev) {
    state* s = (state*)wd;
    char topic[128];
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: on_publish %s", fx_cstr(ev->topic, topic, sizeof topic));
    return ROOST_NEXT;
}

static const roost_acl_hooks acl_hooks = {sizeof(roost_acl_hooks), check};
static const roost_message_hooks message_hooks = {sizeof(roost_message_hooks), on_publish, NULL};

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
    s->delay_ms = fx_option_long(options, option_count, "delay_ms", 300);
    fx_threads_init(&s->threads);
    clock_gettime(CLOCK_MONOTONIC, &s->start);
    *plugin_data = s;
    rc = host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks);
    if (rc == ROOST_OK) rc = host->hook_register(self, ROOST_HOOK_MESSAGE, &message_hooks);
    return rc;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    fx_threads_drain(&s->threads, 3000);
    free(s);
}
