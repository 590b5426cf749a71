/* no_version: speaks no ABI the host offers (roost_plugin_version returns 0). The broker must
 * refuse to start and name the plugin; roost_plugin_init must never run. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    (void)offered;
    (void)count;
    return 0;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    (void)options;
    (void)option_count;
    *plugin_data = NULL;
    fprintf(stderr, "no_version fixture: INIT CALLED although the version was refused\n");
    host->log(self, ROOST_LOG_ERROR, "fixture: init called although the version was refused");
    return -1;
}
