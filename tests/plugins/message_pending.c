/* message_pending: answers PENDING from on_publish, which a message hook may not (its event has
 * no call). The broker must drop the message, tell a QoS 1 publisher 0x83, and log where a
 * decision that must wait belongs. */
#define _POSIX_C_SOURCE 200809L
#include "fixture.h"

static roost_verdict on_publish(void* worker_data, roost_message_event* ev) {
    (void)worker_data;
    (void)ev;
    return ROOST_PENDING;
}

static const roost_message_hooks message_hooks = {.struct_size = sizeof(roost_message_hooks),
                                                  .on_publish = on_publish};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    (void)options;
    (void)option_count;
    *plugin_data = NULL;
    return host->hook_register(self, ROOST_HOOK_MESSAGE, &message_hooks);
}
