/* transport_flow: a pass-through transport (plain MQTT on the wire) that shows the transport
 * additions: a flush after each batch of encode() calls, backpressure, connection timers and
 * conn_info.
 *
 * Options: name = "flow"; high = 65536 (wire bytes unsent above which it pauses reading).
 *
 * encode() only buffers; flush() sends the batch with one conn_send and logs
 * "fixture: flush of <n> encodes" when a batch had more than one packet. After each flush, a
 * backlog over `high` pauses reading ("fixture: paused at backlog <b>"); drained() resumes it
 * ("fixture: resumed after drain"). open() logs "fixture: open peer=<addr> listener=<addr>
 * transport=<name>" (conn_info) and starts a connection timer every 50 ms; close() logs
 * "fixture: close conn timer runs=<n> stop after close rc=<rc>" (ROOST_EGONE expected: the host
 * stopped it before close()). A connection timer that runs after close logs "WRONG". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct config {
    const roost_host* host;
    roost_plugin* self;
    size_t high;
    char name[32];
    roost_transport_hooks hooks;
} config;

typedef struct conn_state {
    const config* cfg;
    roost_conn* conn;
    uint8_t* buf;
    size_t len, cap;
    unsigned batch;
    int paused;
    int closed;
    unsigned timer_runs;
    roost_timer timer;
} conn_state;

static void on_conn_timer(void* arg) {
    conn_state* st = (conn_state*)arg;
    if (st->closed)
        st->cfg->host->log(st->cfg->self, ROOST_LOG_ERROR, "fixture: WRONG: conn timer after close");
    st->timer_runs++;
}

static int flow_open(void* worker_data, roost_conn* conn, void* state) {
    const config* c = (const config*)worker_data;
    conn_state* st = (conn_state*)state;
    roost_bytes peer = {NULL, 0}, listener = {NULL, 0}, transport = {NULL, 0};
    char a[96], b[96], t[32];
    st->cfg = c;
    st->conn = conn;
    c->host->conn_info(conn, ROOST_CLIENT_ADDRESS, &peer);
    c->host->conn_info(conn, ROOST_CLIENT_LISTENER, &listener);
    c->host->conn_info(conn, ROOST_CLIENT_TRANSPORT, &transport);
    c->host->log(c->self, ROOST_LOG_INFO, "fixture: open peer=%s listener=%s transport=%s",
                 fx_cstr(peer, a, sizeof a), fx_cstr(listener, b, sizeof b), fx_cstr(transport, t, sizeof t));
    return c->host->conn_timer_start(conn, 50, 50, on_conn_timer, st, &st->timer);
}

static int flow_decode(void* state, roost_conn* conn, roost_bytes wire) {
    (void)state;
    return ((conn_state*)state)->cfg->host->conn_deliver(conn, wire);
}

static int flow_encode(void* state, roost_conn* conn, roost_bytes mqtt) {
    conn_state* st = (conn_state*)state;
    (void)conn;
    if (st->len + mqtt.len > st->cap) {
        size_t cap = st->cap ? st->cap : 4096;
        uint8_t* grown;
        while (cap < st->len + mqtt.len)
            cap *= 2;
        grown = (uint8_t*)realloc(st->buf, cap);
        if (!grown) return ROOST_ENOMEM;
        st->buf = grown;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, mqtt.data, mqtt.len);
    st->len += mqtt.len;
    st->batch++;
    return ROOST_OK;
}

static int flow_flush(void* state, roost_conn* conn) {
    conn_state* st = (conn_state*)state;
    const config* c = st->cfg;
    roost_bytes out;
    int rc;
    size_t backlog;
    if (st->batch > 1) c->host->log(c->self, ROOST_LOG_INFO, "fixture: flush of %u encodes", st->batch);
    out.data = st->buf;
    out.len = st->len;
    rc = st->len ? c->host->conn_send(conn, out) : ROOST_OK;
    st->len = 0;
    st->batch = 0;
    backlog = c->host->conn_backlog(conn);
    if (!st->paused && backlog > c->high) {
        st->paused = 1;
        c->host->log(c->self, ROOST_LOG_INFO, "fixture: paused at backlog %zu rc=%d", backlog,
                     c->host->conn_pause_reading(conn));
    }
    return rc;
}

static void flow_drained(void* state, roost_conn* conn) {
    conn_state* st = (conn_state*)state;
    if (!st->paused) return;
    st->paused = 0;
    st->cfg->host->log(st->cfg->self, ROOST_LOG_INFO, "fixture: resumed after drain (backlog %zu) rc=%d",
                       st->cfg->host->conn_backlog(conn), st->cfg->host->conn_resume_reading(conn));
}

static void flow_close(void* state, roost_conn* conn) {
    conn_state* st = (conn_state*)state;
    int rc = st->cfg->host->timer_stop(st->timer);
    (void)conn;
    st->closed = 1;
    st->cfg->host->log(st->cfg->self, ROOST_LOG_INFO,
                       "fixture: close conn timer runs=%u stop after close rc=%d", st->timer_runs, rc);
    free(st->buf);
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    config* c = (config*)calloc(1, sizeof *c);
    if (!c) return ROOST_ENOMEM;
    c->host = host;
    c->self = self;
    c->high = (size_t)fx_option_long(options, option_count, "high", 65536);
    snprintf(c->name, sizeof c->name, "%s", fx_option(options, option_count, "name", "flow"));
    c->hooks.struct_size = sizeof c->hooks;
    c->hooks.name = c->name;
    c->hooks.conn_state_size = sizeof(conn_state);
    c->hooks.open = flow_open;
    c->hooks.decode = flow_decode;
    c->hooks.encode = flow_encode;
    c->hooks.close = flow_close;
    c->hooks.flush = flow_flush;
    c->hooks.drained = flow_drained;
    *plugin_data = c;
    return host->hook_register(self, ROOST_HOOK_TRANSPORT, &c->hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
