/* reload_options: roost_plugin_check and the lifecycle reload event (SIGHUP).
 *
 * Option: level = <integer> (required to be an integer; any other option is unknown).
 * roost_plugin_check refuses a level that is not an integer, or an unknown option, with
 * "fixture: <file>:<line>: option <key> = "<value>": ..." and ROOST_EINVAL.
 * init logs "fixture: init level=<n> at <file>:<line>"; reload (main thread) logs
 * "fixture: reload level=<n> at <file>:<line> worker_index=<i>" and takes it; a level of 13 is
 * refused by reload itself ("fixture: reload refuses 13"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    long level;
} state;

static int read_level(const roost_host* host, roost_plugin* self, const roost_option* options, size_t n,
                      long* level, const roost_option** where) {
    size_t i;
    *level = 0;
    *where = NULL;
    for (i = 0; i < n; i++) {
        const roost_option* o = &options[i];
        if (strcmp(o->key, "level") == 0) {
            char* end = NULL;
            errno = 0;
            *level = strtol(o->value, &end, 10);
            if (o->value[0] == '\0' || *end != '\0' || errno != 0) {
                host->log(self, ROOST_LOG_ERROR, "fixture: %s:%u: option level = \"%s\": not an integer",
                          o->file, (unsigned)o->line, o->value);
                return ROOST_EINVAL;
            }
            *where = o;
        } else {
            host->log(self, ROOST_LOG_ERROR, "fixture: %s:%u: unknown option '%s'", o->file,
                      (unsigned)o->line, o->key);
            return ROOST_EINVAL;
        }
    }
    return ROOST_OK;
}

static int reload(void* pd, const roost_option* options, size_t n) {
    state* s = (state*)pd;
    long level;
    const roost_option* o;
    int rc = read_level(s->host, s->self, options, n, &level, &o);
    if (rc != ROOST_OK) return rc;
    if (level == 13) {
        s->host->log(s->self, ROOST_LOG_WARNING, "fixture: reload refuses 13");
        return ROOST_EINVAL;
    }
    s->level = level;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: reload level=%ld at %s:%u worker_index=%d", level,
                 o ? o->file : "-", o ? (unsigned)o->line : 0u, (int)s->host->worker_index());
    return ROOST_OK;
}

static const roost_lifecycle_hooks lifecycle_hooks = {
    sizeof(roost_lifecycle_hooks), NULL, NULL, NULL, NULL, NULL, NULL, reload};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    long level;
    const roost_option* o;
    int rc = read_level(host, self, options, option_count, &level, &o);
    host->log(self, ROOST_LOG_INFO, "fixture: check rc=%d", rc);
    return rc;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    const roost_option* o;
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    *plugin_data = s;
    if (read_level(host, self, options, option_count, &s->level, &o) != ROOST_OK) {
        free(s);
        return ROOST_EINVAL;
    }
    host->log(self, ROOST_LOG_INFO, "fixture: init level=%ld at %s:%u", s->level, o ? o->file : "-",
              o ? (unsigned)o->line : 0u);
    return host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
