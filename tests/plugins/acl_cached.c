/* acl_cached: ACL answers the host may keep (roost_acl_event.cache_ms) and acl_cache_clear.
 *
 * Options:
 *   cache_ms = "60000"   what every answer says it holds for, except:
 *     "nocache/..."      ALLOW, cache_ms 0 (asked every time)
 *     "short/..."        ALLOW, cache_ms 500
 *     "deny/..."         DENY 0x87 (kept like an ALLOW)
 *   A SUBSCRIBE to "clear/all" calls acl_cache_clear(self, NULL), to "clear/me"
 *   acl_cache_clear(self, client); both ALLOW, cache_ms 0.
 * Logs "fixture: check <action> <topic>" for every call it gets, so a test counts the calls the
 * host did not answer itself. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    uint32_t cache_ms;
} state;

static const char* action_name(roost_acl_action a) {
    return a == ROOST_ACL_PUBLISH ? "publish" : a == ROOST_ACL_SUBSCRIBE ? "subscribe" : "deliver";
}

static void keep(const state* s, roost_acl_event* ev, uint32_t ms) {
    if (ROOST_HAS(ev, roost_acl_event, cache_ms) && ROOST_HAS(s->host, roost_host, acl_cache_clear))
        ev->cache_ms = ms;
}

static roost_verdict check(void* worker_data, roost_acl_event* ev) {
    state* s = (state*)worker_data;
    char topic[256];
    fx_cstr(ev->topic, topic, sizeof topic);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: check %s %s", action_name(ev->action), topic);
    if (ev->action == ROOST_ACL_SUBSCRIBE &&
        (fx_equals(ev->topic, "clear/all") || fx_equals(ev->topic, "clear/me"))) {
        int rc = s->host->acl_cache_clear(s->self, fx_equals(ev->topic, "clear/me") ? ev->client : NULL);
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s rc=%d", topic, rc);
        return ROOST_ALLOW;
    }
    if (fx_starts_with(ev->topic, "nocache/")) return ROOST_ALLOW;
    if (fx_starts_with(ev->topic, "short/")) {
        keep(s, ev, 500);
        return ROOST_ALLOW;
    }
    keep(s, ev, s->cache_ms);
    if (fx_starts_with(ev->topic, "deny/")) {
        ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
        return ROOST_DENY;
    }
    return ROOST_ALLOW;
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
    s->cache_ms = (uint32_t)fx_option_long(options, option_count, "cache_ms", 60000);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
