/* timers: host->timer_start with ids, one-shots, timer_stop (from inside the callback, from
 * another timer, twice), on worker 0.
 *
 * worker_start(0) starts:
 *   A  one-shot after 100 ms: "fixture: one-shot fired"; then timer_stop(A) -> "stop fired one-shot rc=<rc>"
 *   B  every 50 ms; on its 3rd run it stops itself: "repeat B run 3 stop rc=<rc>"; a 4th run logs
 *      "fixture: WRONG: B ran after its stop"
 *   C  every 40 ms, stopped by D
 *   D  one-shot after 300 ms: stops C ("stop C rc=<rc> after <n> runs"), stops C again
 *      ("stop C again rc=<rc>"), stops 0 ("stop 0 rc=<rc>"), and checks C does not run again with
 *      E, a one-shot 200 ms later: "C runs after stop: <n>" (0 expected).
 * Also timer_start off the workers (in init): "init timer_start rc=<rc>" (ROOST_EINVAL expected),
 * and with delay and repeat 0: "zero timer rc=<rc>". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    roost_timer a, b, c, d, e;
    int b_runs, c_runs, c_runs_at_stop;
} state;

static void log_line(state* s, const char* fmt, int x, int y) {
    char line[160];
    snprintf(line, sizeof line, fmt, x, y);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s", line);
}

static void on_a(void* arg) {
    state* s = (state*)arg;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: one-shot fired");
    log_line(s, "stop fired one-shot rc=%d%.0d", s->host->timer_stop(s->a), 0);
}

static void on_b(void* arg) {
    state* s = (state*)arg;
    s->b_runs++;
    if (s->b_runs == 3) log_line(s, "repeat B run %d stop rc=%d", s->b_runs, s->host->timer_stop(s->b));
    if (s->b_runs > 3) s->host->log(s->self, ROOST_LOG_ERROR, "fixture: WRONG: B ran after its stop");
}

static void on_c(void* arg) {
    ((state*)arg)->c_runs++;
}

static void on_e(void* arg) {
    state* s = (state*)arg;
    log_line(s, "C runs after stop: %d%.0d", s->c_runs - s->c_runs_at_stop, 0);
}

static void on_d(void* arg) {
    state* s = (state*)arg;
    int rc = s->host->timer_stop(s->c);
    s->c_runs_at_stop = s->c_runs;
    log_line(s, "stop C rc=%d after %d runs", rc, s->c_runs);
    log_line(s, "stop C again rc=%d%.0d", s->host->timer_stop(s->c), 0);
    log_line(s, "stop 0 rc=%d%.0d", s->host->timer_stop(0), 0);
    s->host->timer_start(s->self, 200, 0, on_e, s, &s->e);
}

static int worker_start(void* pd, uint32_t worker, void** wd) {
    state* s = (state*)pd;
    int rc = 0;
    roost_timer zero = 0;
    (void)wd;
    if (worker != 0) return ROOST_OK;
    rc |= s->host->timer_start(s->self, 100, 0, on_a, s, &s->a);
    rc |= s->host->timer_start(s->self, 50, 50, on_b, s, &s->b);
    rc |= s->host->timer_start(s->self, 40, 40, on_c, s, &s->c);
    rc |= s->host->timer_start(s->self, 300, 0, on_d, s, &s->d);
    log_line(s, "started rc=%d distinct=%d", rc,
             s->a && s->b && s->c && s->d && s->a != s->b && s->b != s->c && s->c != s->d);
    log_line(s, "zero timer rc=%d%.0d", s->host->timer_start(s->self, 0, 0, on_c, s, &zero), 0);
    return ROOST_OK;
}

static const roost_lifecycle_hooks lifecycle_hooks = {
    sizeof(roost_lifecycle_hooks), worker_start, NULL, NULL, NULL, NULL, NULL, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    roost_timer t = 0;
    (void)options;
    (void)option_count;
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    *plugin_data = s;
    log_line(s, "init timer_start rc=%d%.0d", host->timer_start(self, 10, 0, on_c, s, &t), 0);
    return host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
