/* acl_prefix: clients may publish and subscribe only under a prefix; one topic is never
 * delivered.
 *
 * Options:
 *   prefix = "allowed/"              PUBLISH and SUBSCRIBE outside it: DENY 0x87 (a shared
 *                                    subscription's "$share/group/" is skipped before the test)
 *   deliver_deny = "allowed/secret"  DELIVER of this exact topic: DENY (the subscriber never
 *                                    sees it; others still do get the rest)
 * Everything else is ALLOW. One log line per PUBLISH/SUBSCRIBE decision and per refused
 * delivery. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char prefix[128], deliver_deny[128];
} state;

static const char* action_name(roost_acl_action a) {
    switch (a) {
        case ROOST_ACL_PUBLISH:
            return "publish";
        case ROOST_ACL_SUBSCRIBE:
            return "subscribe";
        case ROOST_ACL_DELIVER:
            return "deliver";
    }
    return "?";
}

static roost_bytes strip_share(roost_bytes topic) {
    size_t i;
    if (!fx_starts_with(topic, "$share/")) return topic;
    for (i = 7; i < topic.len; i++) {
        if (topic.data[i] == '/') {
            topic.data += i + 1;
            topic.len -= i + 1;
            return topic;
        }
    }
    return topic;
}

static roost_verdict check(void* worker_data, roost_acl_event* ev) {
    state* s = (state*)worker_data;
    char id[128], topic[256];
    fx_client_id(s->host, ev->client, id, sizeof id);
    fx_cstr(ev->topic, topic, sizeof topic);
    if (ev->action == ROOST_ACL_DELIVER) {
        /* The ABI: DELIVER must be answered now, so it comes without a call. */
        if (ev->call) s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: a DELIVER event with a call");
        if (fx_equals(ev->topic, s->deliver_deny)) {
            s->host->log(s->self, ROOST_LOG_INFO, "fixture: deliver %s to %s: DENY", topic, id);
            return ROOST_DENY;
        }
        return ROOST_ALLOW;
    }
    if (!fx_starts_with(strip_share(ev->topic), s->prefix)) {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s %s by %s: DENY 0x87", action_name(ev->action),
                     topic, id);
        ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
        return ROOST_DENY;
    }
    if (!ev->call)
        s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: a %s event without a call",
                     action_name(ev->action));
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s %s by %s qos %u: ALLOW", action_name(ev->action),
                 topic, id, (unsigned)ev->qos);
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
    snprintf(s->prefix, sizeof s->prefix, "%s", fx_option(options, option_count, "prefix", "allowed/"));
    snprintf(s->deliver_deny, sizeof s->deliver_deny, "%s",
             fx_option(options, option_count, "deliver_deny", "allowed/secret"));
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
