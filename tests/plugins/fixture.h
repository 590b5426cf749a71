/* fixture.h: small helpers shared by the test plugins (C99, header only, no broker code).
 *
 * Each fixture .c starts with #define _POSIX_C_SOURCE 200809L (C99 + pthreads, nanosleep).
 *
 * Every line a fixture logs starts with "fixture: " so a test can tell the plugin's own lines
 * from the broker's lines about the plugin (host->log prefixes the plugin's name). */
#ifndef ROOST_TEST_FIXTURE_H
#define ROOST_TEST_FIXTURE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roost/plugin.h"

/* The state of a fixture that needs nothing but the host and its own handle. */
typedef struct fx_self {
    const roost_host* host;
    roost_plugin* self;
} fx_self;

/* A calloc'ed fx_self for host and self (NULL on failure); the plugin frees it at cleanup. */
static inline fx_self* fx_self_new(const roost_host* host, roost_plugin* self) {
    fx_self* s = (fx_self*)calloc(1, sizeof *s);
    if (!s) return NULL;
    s->host = host;
    s->self = self;
    return s;
}

/* roost_plugin_init for a fixture whose state is an fx_self: *plugin_data = a new fx_self, then
 * `hooks` registered as `kind`. ROOST_ENOMEM, or what hook_register returns. */
static inline int fx_init_self(const roost_host* host, roost_plugin* self, void** plugin_data,
                               roost_hook_kind kind, const void* hooks) {
    fx_self* s = fx_self_new(host, self);
    if (!s) return ROOST_ENOMEM;
    *plugin_data = s;
    return host->hook_register(self, kind, hooks);
}

/* What every fixture's roost_plugin_version answers: v1 if offered, else 0 (refuse). */
static inline uint32_t fx_pick_v1(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; i++)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

/* The value of option `key`, or `fallback`. */
static inline const char* fx_option(const roost_option* options, size_t count, const char* key,
                                    const char* fallback) {
    size_t i;
    for (i = 0; i < count; i++)
        if (strcmp(options[i].key, key) == 0) return options[i].value;
    return fallback;
}

/* An integer option (decimal or 0x hex), or `fallback`. */
static inline long fx_option_long(const roost_option* options, size_t count, const char* key, long fallback) {
    const char* v = fx_option(options, count, key, NULL);
    return v ? strtol(v, NULL, 0) : fallback;
}

static inline roost_bytes fx_bytes(const char* s) {
    roost_bytes b;
    b.data = (const uint8_t*)s;
    b.len = strlen(s);
    return b;
}

static inline int fx_equals(roost_bytes b, const char* s) {
    size_t n = strlen(s);
    return b.len == n && (n == 0 || memcmp(b.data, s, n) == 0);
}

static inline int fx_starts_with(roost_bytes b, const char* prefix) {
    size_t n = strlen(prefix);
    return b.len >= n && (n == 0 || memcmp(b.data, prefix, n) == 0);
}

static inline int fx_ends_with(roost_bytes b, const char* suffix) {
    size_t n = strlen(suffix);
    return b.len >= n && (n == 0 || memcmp(b.data + b.len - n, suffix, n) == 0);
}

/* Is b one of the comma-separated names in `list`? */
static inline int fx_in_list(roost_bytes b, const char* list) {
    const char* p = list;
    while (p && *p) {
        const char* end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == b.len && (n == 0 || memcmp(p, b.data, n) == 0)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Copies b into a NUL-terminated string in buf (cut to size - 1). */
static inline const char* fx_cstr(roost_bytes b, char* buf, size_t size) {
    size_t n = b.len < size - 1 ? b.len : size - 1;
    if (n) memcpy(buf, b.data, n);
    buf[n] = '\0';
    return buf;
}

/* A malloc'ed NUL-terminated copy of b (NULL on failure). */
static inline char* fx_strdup_bytes(roost_bytes b) {
    char* s = (char*)malloc(b.len + 1);
    if (!s) return NULL;
    if (b.len) memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    return s;
}

/* The client's id as a string in buf ("?" when the host has none). */
static inline const char* fx_client_id(const roost_host* host, const roost_client* client, char* buf,
                                       size_t size) {
    roost_bytes id = {NULL, 0};
    if (!client || host->client_info(client, ROOST_CLIENT_ID, &id) != ROOST_OK) {
        buf[0] = '?';
        buf[1] = '\0';
        return buf;
    }
    return fx_cstr(id, buf, size);
}

static inline const char* fx_verdict_name(roost_verdict v) {
    switch (v) {
        case ROOST_ALLOW:
            return "ALLOW";
        case ROOST_DENY:
            return "DENY";
        case ROOST_NEXT:
            return "NEXT";
        case ROOST_PENDING:
            return "PENDING";
    }
    return "?";
}

/* Sleeps `ms` milliseconds. (Every fixture defines _POSIX_C_SOURCE before its includes.) */
static inline void fx_sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Detached worker threads a plugin starts to answer later. roost_plugin_cleanup waits for them
 * (fx_threads_drain) so none runs plugin code after the broker unloads the plugin. */
typedef struct fx_threads {
    pthread_mutex_t mutex;
    pthread_cond_t idle;
    int running;
} fx_threads;

typedef struct fx_thread_start {
    fx_threads* group;
    void (*fn)(void*);
    void* arg;
} fx_thread_start;

static inline void fx_threads_init(fx_threads* g) {
    pthread_mutex_init(&g->mutex, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->running = 0;
}

static inline void* fx_thread_main(void* p) {
    fx_thread_start s = *(fx_thread_start*)p;
    free(p);
    s.fn(s.arg);
    pthread_mutex_lock(&s.group->mutex);
    if (--s.group->running == 0) pthread_cond_broadcast(&s.group->idle);
    pthread_mutex_unlock(&s.group->mutex);
    return NULL;
}

/* Runs fn(arg) on a new detached thread; ROOST_OK or ROOST_ENOMEM (then fn is not called). */
static inline int fx_threads_spawn(fx_threads* g, void (*fn)(void*), void* arg) {
    pthread_t thread;
    pthread_attr_t attr;
    int rc;
    fx_thread_start* s = (fx_thread_start*)malloc(sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->group = g;
    s->fn = fn;
    s->arg = arg;
    pthread_mutex_lock(&g->mutex);
    g->running++;
    pthread_mutex_unlock(&g->mutex);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&thread, &attr, fx_thread_main, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(s);
        pthread_mutex_lock(&g->mutex);
        g->running--;
        pthread_mutex_unlock(&g->mutex);
        return ROOST_ENOMEM;
    }
    return ROOST_OK;
}

/* A hook call a fixture answers later from a thread (fx_defer): whose it is, the call to
 * host->complete, and what it was (for the log). */
typedef struct fx_deferred {
    void* data;
    roost_call* call;
    char what[192];
} fx_deferred;

/* Runs fn(job) on a new thread of `g`, job a calloc'ed fx_deferred holding data, call and `what`
 * (cut to 191 bytes); fn frees it. ROOST_OK, or ROOST_ENOMEM (then fn is not called). */
static inline int fx_defer(fx_threads* g, void (*fn)(void*), void* data, roost_call* call, const char* what) {
    size_t n = strlen(what);
    fx_deferred* j = (fx_deferred*)calloc(1, sizeof *j);
    if (!j) return ROOST_ENOMEM;
    j->data = data;
    j->call = call;
    if (n >= sizeof j->what) n = sizeof j->what - 1;
    memcpy(j->what, what, n);
    if (fx_threads_spawn(g, fn, j) != ROOST_OK) {
        free(j);
        return ROOST_ENOMEM;
    }
    return ROOST_OK;
}

/* Waits up to `ms` for every spawned thread to finish; returns how many still run. */
static inline int fx_threads_drain(fx_threads* g, long ms) {
    int left;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mutex);
    while (g->running > 0)
        if (pthread_cond_timedwait(&g->idle, &g->mutex, &deadline) != 0) break;
    left = g->running;
    pthread_mutex_unlock(&g->mutex);
    return left;
}

#endif /* ROOST_TEST_FIXTURE_H */
