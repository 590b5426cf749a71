/* init_fails: refuses to load. roost_plugin_init logs why (option `reason`, default "the
 * fixture always refuses") through host->log and returns -1: the broker must not start, and must
 * say which plugin, where in the config, and this reason. */
#define _POSIX_C_SOURCE 200809L
#include "fixture.h"

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    *plugin_data = NULL;
    host->log(self, ROOST_LOG_ERROR, "fixture: cannot start: %s",
              fx_option(options, option_count, "reason", "the fixture always refuses"));
    return -1;
}
