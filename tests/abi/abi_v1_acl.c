/* abi_v1_acl: a plugin built only against the frozen v1 header (tests/abi/v1), never against
 * sdk/include. Today's broker must load it and run it as it would have on the day v1 shipped.
 *
 * It refuses PUBLISH to topics under "forbidden/" (DENY 0x87) and SUBSCRIBE to filters under
 * "forbidden/", answers NEXT for everything else, and logs its decisions. It also probes the host
 * table the way a v1 plugin must (struct_size, ROOST_HAS) and logs what it found. */
#include <stdio.h>
#include <string.h>

#include "roost/plugin.h"

static const roost_host* g_host;
static roost_plugin* g_self;

static int under_forbidden(roost_bytes topic) {
    static const char prefix[] = "forbidden/";
    size_t n = sizeof prefix - 1;
    return topic.len >= n && memcmp(topic.data, prefix, n) == 0;
}

static roost_verdict check(void* worker_data, roost_acl_event* ev) {
    (void)worker_data;
    if (ev->action == ROOST_ACL_DELIVER || !under_forbidden(ev->topic)) return ROOST_NEXT;
    g_host->log(g_self, ROOST_LOG_INFO, "fixture: v1 plugin refuses %s of %.*s",
                ev->action == ROOST_ACL_PUBLISH ? "publish" : "subscribe", (int)ev->topic.len,
                (const char*)ev->topic.data);
    ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
    return ROOST_DENY;
}

static const roost_acl_hooks acl_hooks = {sizeof(roost_acl_hooks), check};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; i++)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    (void)options;
    (void)option_count;
    *plugin_data = NULL;
    /* A v1 host table has at least every v1 member; a newer one is longer. */
    if (host->struct_size < sizeof(roost_host) || !ROOST_HAS(host, roost_host, strerror)) return -1;
    g_host = host;
    g_self = self;
    host->log(self, ROOST_LOG_INFO,
              "fixture: v1 plugin loaded: abi %u, host table %u bytes (v1: %u), broker %s", host->abi_version,
              host->struct_size, (unsigned)sizeof(roost_host), host->broker_version);
    return host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks);
}
