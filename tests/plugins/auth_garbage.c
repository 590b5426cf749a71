/* auth_garbage: returns verdict 42, which no roost_verdict is. The broker must treat it as
 * DENY and log a line naming the plugin. */
#define _POSIX_C_SOURCE 200809L
#include "fixture.h"

typedef fx_self state;

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    state* s = (state*)worker_data;
    char id[128];
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: client %s: answering with a bad value",
                 fx_client_id(s->host, ev->client, id, sizeof id));
    ev->reason_code = 0;
    return (roost_verdict)42;
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    (void)options;
    (void)option_count;
    return fx_init_self(host, self, plugin_data, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
