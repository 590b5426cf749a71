/* auth_slow: blocks inside the hook for `delay_ms` (default 200), then ALLOW.
 *
 * This is what a plugin must NOT do: the hook runs on the worker that owns the client, so for
 * those milliseconds that worker serves nobody else (no PINGRESP, no PUBLISH, no CONNACK). A
 * slow check belongs in a thread, answered with PENDING (see auth_pending_thread). The tests
 * use it to show the broker still answers every client correctly, only later. */
#define _POSIX_C_SOURCE 200809L
#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    long delay_ms;
} state;

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    state* s = (state*)worker_data;
    char id[128];
    fx_client_id(s->host, ev->client, id, sizeof id);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: client %s: blocking the worker for %ld ms", id,
                 s->delay_ms);
    fx_sleep_ms(s->delay_ms);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: client %s: ALLOW", id);
    return ROOST_ALLOW;
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
    s->delay_ms = fx_option_long(options, option_count, "delay_ms", 200);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
