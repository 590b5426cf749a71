/* plugin.h must compile on its own as C99 -pedantic (built by sdk/CMakeLists.txt). */
#include "roost/plugin.h"

/* Not exported: only here so the compiler sees the header's macros and types in use. */
int roost_sdk_check_has_strerror(const roost_host* host);
int roost_sdk_check_has_strerror(const roost_host* host) {
    return ROOST_HAS(host, roost_host, strerror);
}
