/* host_publish: publishes as the broker, from a thread of its own and from a worker timer.
 *
 * Options: topic = "hp" ; interval_ms = 200 ; qos = 0.
 * On worker 0's worker_start it starts a thread that calls host->publish("<topic>/thread",
 * "thread <n>") every interval_ms, and host->timer_start for a timer on that worker that
 * publishes "<topic>/timer" ("timer <n>"). Each logs the return code of its first 3 publishes
 * and every failure. worker_stop on worker 0 stops and joins the thread. The thread also logs
 * host->worker_index() as seen from it (the ABI says (unsigned)-1, logged as -1). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char topic[128];
    long interval_ms;
    uint8_t qos;
    pthread_t thread;
    int thread_running;
    pthread_mutex_t mutex;
    int stop;
    unsigned long thread_count, timer_count;
} state;

static void publish_one(state* s, const char* kind, unsigned long n) {
    char topic[160], payload[64];
    int rc;
    snprintf(topic, sizeof topic, "%s/%s", s->topic, kind);
    snprintf(payload, sizeof payload, "%s %lu", kind, n);
    rc = s->host->publish(s->self, fx_bytes(topic), fx_bytes(payload), s->qos, 0);
    if (n <= 3 || rc != ROOST_OK)
        s->host->log(s->self, rc == ROOST_OK ? ROOST_LOG_INFO : ROOST_LOG_WARNING,
                     "fixture: publish %s '%s' from the %s: rc=%d (%s)", topic, payload, kind, rc,
                     s->host->strerror(rc));
}

static void* publisher(void* arg) {
    state* s = (state*)arg;
    /* The ABI: worker_index is (unsigned)-1 off the workers. */
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: worker_index on the plugin's own thread: %d",
                 (int)s->host->worker_index());
    for (;;) {
        int stop;
        fx_sleep_ms(s->interval_ms);
        pthread_mutex_lock(&s->mutex);
        stop = s->stop;
        pthread_mutex_unlock(&s->mutex);
        if (stop) break;
        publish_one(s, "thread", ++s->thread_count);
    }
    return NULL;
}

static void on_timer(void* arg) {
    state* s = (state*)arg;
    publish_one(s, "timer", ++s->timer_count);
}

static void stop_thread(state* s) {
    if (!s->thread_running) return;
    pthread_mutex_lock(&s->mutex);
    s->stop = 1;
    pthread_mutex_unlock(&s->mutex);
    pthread_join(s->thread, NULL);
    s->thread_running = 0;
}

static int worker_start(void* plugin_data, unsigned worker, void** worker_data) {
    state* s = (state*)plugin_data;
    int rc;
    (void)worker_data;
    if (worker != 0) return ROOST_OK;
    rc = s->host->timer_start(s->self, (uint64_t)s->interval_ms, (uint64_t)s->interval_ms, on_timer, s, NULL);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: timer_start on worker %u: rc=%d", worker, rc);
    if (pthread_create(&s->thread, NULL, publisher, s) != 0) {
        s->host->log(s->self, ROOST_LOG_ERROR, "fixture: cannot start the publishing thread");
        return ROOST_ENOMEM;
    }
    s->thread_running = 1;
    return ROOST_OK;
}

static void worker_stop(void* plugin_data, unsigned worker, void* worker_data) {
    state* s = (state*)plugin_data;
    (void)worker_data;
    if (worker != 0) return;
    stop_thread(s);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: stopped after %lu thread and %lu timer publishes",
                 s->thread_count, s->timer_count);
}

static const roost_lifecycle_hooks lifecycle_hooks = {
    sizeof(roost_lifecycle_hooks), worker_start, worker_stop, NULL, NULL, NULL, NULL, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->topic, sizeof s->topic, "%s", fx_option(options, option_count, "topic", "hp"));
    s->interval_ms = fx_option_long(options, option_count, "interval_ms", 200);
    s->qos = (uint8_t)fx_option_long(options, option_count, "qos", 0);
    pthread_mutex_init(&s->mutex, NULL);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    stop_thread(s); /* in case worker_stop never ran */
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
