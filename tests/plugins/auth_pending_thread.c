/* auth_pending_thread: answers PENDING and decides later, from a thread of its own.
 *
 * Options:
 *   allow = "carol,dave"   users completed with ALLOW
 *   deny = "eve"           users completed with DENY `reason`
 *   later_next = "alice"   users completed with NEXT: the chain goes on to the next plugin
 *   delay_ms = 100         how long the thread waits before host->complete
 *   reason = 0x87          the reason code of a DENY
 * Any other user (or no username) is NEXT, at once. The thread logs what host->complete
 * returned: ROOST_OK, or ROOST_EGONE when the client left or the call timed out meanwhile. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct config {
    const roost_host* host;
    roost_plugin* self;
    char allow[256], deny[256], later_next[256];
    long delay_ms;
    uint8_t reason;
    fx_threads threads;
} config;

typedef struct job {
    config* cfg;
    roost_call* call;
    roost_verdict verdict;
    char user[64], client[128];
} job;

static void answer_later(void* arg) {
    job* j = (job*)arg;
    config* c = j->cfg;
    int rc;
    fx_sleep_ms(c->delay_ms);
    rc = c->host->complete(j->call, j->verdict, j->verdict == ROOST_DENY ? c->reason : 0, NULL);
    c->host->log(c->self, ROOST_LOG_INFO,
                 "fixture: completed user %s client %s with %s after %ld ms: rc=%d (%s)", j->user, j->client,
                 fx_verdict_name(j->verdict), c->delay_ms, rc, c->host->strerror(rc));
    free(j);
}

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    config* c = (config*)worker_data;
    job* j;
    char id[128], name[64];
    fx_client_id(c->host, ev->client, id, sizeof id);
    fx_cstr(ev->username, name, sizeof name);
    if (!ev->has_username || !ev->call ||
        (!fx_in_list(ev->username, c->allow) && !fx_in_list(ev->username, c->deny) &&
         !fx_in_list(ev->username, c->later_next))) {
        c->host->log(c->self, ROOST_LOG_INFO, "fixture: user %s client %s: NEXT", name, id);
        return ROOST_NEXT;
    }
    j = (job*)calloc(1, sizeof *j);
    if (!j) return ROOST_DENY;
    j->cfg = c;
    j->call = ev->call;
    j->verdict = fx_in_list(ev->username, c->allow)        ? ROOST_ALLOW
                 : fx_in_list(ev->username, c->later_next) ? ROOST_NEXT
                                                           : ROOST_DENY;
    snprintf(j->user, sizeof j->user, "%s", name);
    snprintf(j->client, sizeof j->client, "%s", id);
    if (fx_threads_spawn(&c->threads, answer_later, j) != ROOST_OK) {
        free(j);
        c->host->log(c->self, ROOST_LOG_ERROR, "fixture: cannot start a thread: DENY");
        return ROOST_DENY;
    }
    c->host->log(c->self, ROOST_LOG_INFO, "fixture: user %s client %s: PENDING", name, id);
    return ROOST_PENDING;
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    config* c = (config*)calloc(1, sizeof *c);
    if (!c) return ROOST_ENOMEM;
    c->host = host;
    c->self = self;
    snprintf(c->allow, sizeof c->allow, "%s", fx_option(options, option_count, "allow", ""));
    snprintf(c->deny, sizeof c->deny, "%s", fx_option(options, option_count, "deny", ""));
    snprintf(c->later_next, sizeof c->later_next, "%s", fx_option(options, option_count, "later_next", ""));
    c->delay_ms = fx_option_long(options, option_count, "delay_ms", 100);
    c->reason = (uint8_t)fx_option_long(options, option_count, "reason", ROOST_RC_NOT_AUTHORIZED);
    fx_threads_init(&c->threads);
    *plugin_data = c;
    return host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    config* c = (config*)plugin_data;
    if (fx_threads_drain(&c->threads, 5000) == 0) free(c); /* else leak it: a thread still uses it */
}
