/* allow_all: the benchmark's do-nothing plugin (C99). It measures what the plugin ABI costs on the
 * publish path when every hook says yes; run_plugin_bench.sh compares a broker that loads it with
 * one that loads nothing.
 *
 * Hooks:
 *   acl      check       -> ROOST_ALLOW for every action (publish, subscribe, deliver)
 *   message  on_publish  -> ROOST_ALLOW (no rewrite)
 *            on_routed   -> nothing (a real function, so the host builds and passes the event)
 *   lifecycle worker_start/worker_stop: per-worker call counters, logged when the worker stops,
 *            so a run can show the hooks were really called. The hooks do one increment each.
 *
 * No options. Built by tests/bench/CMakeLists.txt as allow_all.so (hidden visibility; only the
 * three ROOST_EXPORT functions are exported).
 */
#include <stdlib.h>

#include <roost/plugin.h>

typedef struct allow_all {
    const roost_host *host;
    roost_plugin *self;
} allow_all;

/* One per worker (worker_start), so the hooks need no lock or atomics. */
typedef struct worker_counts {
    allow_all *plugin;
    unsigned long long acl_publish, acl_subscribe, acl_deliver, on_publish, on_routed;
} worker_counts;

static roost_verdict check(void *worker_data, roost_acl_event *ev) {
    worker_counts *w = (worker_counts *)worker_data;
    switch (ev->action) {
        case ROOST_ACL_PUBLISH:
            w->acl_publish++;
            break;
        case ROOST_ACL_SUBSCRIBE:
            w->acl_subscribe++;
            break;
        case ROOST_ACL_DELIVER:
            w->acl_deliver++;
            break;
    }
    return ROOST_ALLOW;
}

static roost_verdict on_publish(void *worker_data, roost_message_event *ev) {
    worker_counts *w = (worker_counts *)worker_data;
    (void)ev;
    w->on_publish++;
    return ROOST_ALLOW;
}

static void on_routed(void *worker_data, const roost_message_event *ev, size_t matched) {
    worker_counts *w = (worker_counts *)worker_data;
    (void)ev;
    (void)matched;
    w->on_routed++;
}

static int worker_start(void *plugin_data, unsigned worker, void **worker_data) {
    allow_all *p = (allow_all *)plugin_data;
    worker_counts *w = (worker_counts *)calloc(1, sizeof *w);
    if (w == NULL) {
        p->host->log(p->self, ROOST_LOG_ERROR, "worker %u: out of memory", worker);
        return ROOST_ENOMEM;
    }
    w->plugin = p;
    *worker_data = w;
    return ROOST_OK;
}

static void worker_stop(void *plugin_data, unsigned worker, void *worker_data) {
    allow_all *p = (allow_all *)plugin_data;
    worker_counts *w = (worker_counts *)worker_data;
    if (w == NULL || w == (void *)p) return; /* worker_start never ran for this worker */
    p->host->log(p->self, ROOST_LOG_INFO,
                 "worker %u: acl publish %llu, subscribe %llu, deliver %llu; on_publish %llu, on_routed %llu",
                 worker, w->acl_publish, w->acl_subscribe, w->acl_deliver, w->on_publish, w->on_routed);
    free(w);
}

static const roost_acl_hooks acl_hooks = {sizeof(roost_acl_hooks), check};
static const roost_message_hooks message_hooks = {sizeof(roost_message_hooks), on_publish, on_routed};
static const roost_lifecycle_hooks lifecycle_hooks = {sizeof(roost_lifecycle_hooks), worker_start, worker_stop,
                                                      NULL, NULL, NULL, NULL, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t *offered, size_t count) {
    size_t i;
    for (i = 0; i < count; ++i) {
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    }
    return 0;
}

ROOST_EXPORT int roost_plugin_init(const roost_host *host, roost_plugin *self, const roost_option *options,
                                   size_t option_count, void **plugin_data) {
    allow_all *p;
    int rc;
    (void)options;
    if (option_count != 0) {
        host->log(self, ROOST_LOG_ERROR, "takes no options (got %zu)", option_count);
        return ROOST_EINVAL;
    }
    p = (allow_all *)calloc(1, sizeof *p);
    if (p == NULL) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    if ((rc = host->hook_register(self, ROOST_HOOK_ACL, &acl_hooks)) != ROOST_OK ||
        (rc = host->hook_register(self, ROOST_HOOK_MESSAGE, &message_hooks)) != ROOST_OK ||
        (rc = host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks)) != ROOST_OK) {
        host->log(self, ROOST_LOG_ERROR, "hook_register: %s", host->strerror(rc));
        free(p);
        return rc;
    }
    *plugin_data = p;
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void *plugin_data) {
    free(plugin_data);
}
