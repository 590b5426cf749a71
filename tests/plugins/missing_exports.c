/* missing_exports: a shared object that exports roost_plugin_version but not
 * roost_plugin_init. The broker must refuse to start and say which export is missing. */
#define _POSIX_C_SOURCE 200809L
#include "fixture.h"

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

/* Present but hidden (not exported): dlsym must not find it. */
int roost_plugin_init_hidden(void);
int roost_plugin_init_hidden(void) {
    return 0;
}
