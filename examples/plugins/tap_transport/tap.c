/* tap: a transport plugin in C99 that passes MQTT through unchanged and watches it.
 *
 * A listener with `transport = "tap"` sends every connection's bytes through this plugin:
 * decode() hands the wire bytes to the broker (host->conn_deliver), encode() hands the broker's
 * bytes to the socket (host->conn_send). On the way it shows what the other examples do not:
 *
 *   - a transport's hooks and its per-connection state (conn_state_size, open/decode/encode/close);
 *   - a connection attribute (host->conn_set_attribute) that client hooks read later with
 *     host->client_attribute: "tap.accepted_ms", when the socket was accepted;
 *   - a timer tied to one connection (host->conn_timer_start): a connection that sends nothing
 *     within `silent_ms` is closed; the timer stops by itself when the connection closes;
 *   - per-worker state (lifecycle worker_start): each worker counts its own connections and
 *     bytes, so no hook needs a lock;
 *   - host->publish from a timer (host->timer_start in worker_start): each worker publishes its
 *     counters, retained, to `<stats_topic><worker>` every `stats_ms`.
 *
 * Options (all optional):
 *   silent_ms   = 10000         close a connection that sends no byte for this long after it
 *                               opened (0: never)
 *   stats_ms    = 0             publish each worker's counters this often (0: never)
 *   stats_topic = "tap/stats/"  the topic prefix; the worker's index follows
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <roost/plugin.h>

typedef struct tap_plugin {
    const roost_host* host;
    roost_plugin* self;
    unsigned long long silent_ms, stats_ms;
    char stats_topic[128];
} tap_plugin;

/* One per worker (worker_start): only that worker's hooks and timers touch it. */
typedef struct tap_worker {
    tap_plugin* p;
    uint32_t index;
    unsigned long long opened, open_now, bytes_in, bytes_out;
} tap_worker;

/* One per connection: the host allocates conn_state_size bytes, zeroed, and frees them. */
typedef struct tap_conn {
    tap_worker* w;
    roost_conn* conn;
    int heard; /* a byte came from the client */
} tap_conn;

static unsigned long long wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* ---- the transport, on the connection's worker --------------------------------------------- */

static void silent_timeout(void* arg) {
    tap_conn* c = (tap_conn*)arg;
    if (c->heard) return;
    c->w->p->host->log(c->w->p->self, ROOST_LOG_INFO, "closed a connection that sent nothing for %llu ms",
                       c->w->p->silent_ms);
    c->w->p->host->conn_close(c->conn);
}

static int tap_open(void* worker_data, roost_conn* conn, void* state) {
    tap_worker* w = (tap_worker*)worker_data;
    tap_conn* c = (tap_conn*)state;
    char stamp[24];
    int n = snprintf(stamp, sizeof stamp, "%llu", wall_ms());
    c->w = w;
    c->conn = conn;
    w->opened++;
    w->open_now++;
    /* Before the CONNECT is delivered, so that auth hooks can read it already. */
    w->p->host->conn_set_attribute(conn, "tap.accepted_ms", (roost_bytes){(const uint8_t*)stamp, (size_t)n});
    /* Tied to the connection: no need to stop it in close(), the host did already. */
    if (w->p->silent_ms) w->p->host->conn_timer_start(conn, w->p->silent_ms, 0, silent_timeout, c, NULL);
    return ROOST_OK;
}

static int tap_decode(void* state, roost_conn* conn, roost_bytes wire) {
    tap_conn* c = (tap_conn*)state;
    c->heard = 1;
    c->w->bytes_in += wire.len;
    return c->w->p->host->conn_deliver(conn, wire); /* < 0 closes the connection */
}

static int tap_encode(void* state, roost_conn* conn, roost_bytes mqtt) {
    tap_conn* c = (tap_conn*)state;
    c->w->bytes_out += mqtt.len;
    return c->w->p->host->conn_send(conn, mqtt);
}

static void tap_close(void* state, roost_conn* conn) {
    tap_conn* c = (tap_conn*)state;
    (void)conn;
    c->w->open_now--;
}

/* ---- a client hook reads the transport's attribute ----------------------------------------- */

static void on_connect(void* worker_data, roost_client* client) {
    tap_worker* w = (tap_worker*)worker_data;
    roost_bytes accepted = {NULL, 0}, id = {NULL, 0};
    char text[24];
    /* ROOST_EGONE means absent: a client of another listener, which tap does not carry. */
    if (w->p->host->client_attribute(client, "tap.accepted_ms", &accepted) != ROOST_OK ||
        accepted.len >= sizeof text)
        return;
    memcpy(text, accepted.data, accepted.len); /* roost_bytes are never NUL-terminated */
    text[accepted.len] = '\0';
    w->p->host->client_info(client, ROOST_CLIENT_ID, &id);
    w->p->host->log(w->p->self, ROOST_LOG_DEBUG, "'%.*s' connected %llu ms after its socket was accepted",
                    (int)id.len, (const char*)id.data, wall_ms() - strtoull(text, NULL, 10));
}

/* ---- per worker: state and the stats timer ------------------------------------------------- */

static void publish_stats(void* arg) {
    tap_worker* w = (tap_worker*)arg;
    char topic[160], text[160];
    int tn = snprintf(topic, sizeof topic, "%s%u", w->p->stats_topic, (unsigned)w->index);
    int n = snprintf(text, sizeof text, "connections=%llu open=%llu bytes_in=%llu bytes_out=%llu", w->opened,
                     w->open_now, w->bytes_in, w->bytes_out);
    roost_bytes t = {(const uint8_t*)topic, (size_t)tn}, payload = {(const uint8_t*)text, (size_t)n};
    /* Queued on this worker and routed after this function returns; copies topic and payload. */
    int rc = w->p->host->publish(w->p->self, t, payload, 0, 1);
    if (rc != ROOST_OK)
        w->p->host->log(w->p->self, ROOST_LOG_WARNING, "publish: %s", w->p->host->strerror(rc));
}

static int worker_start(void* plugin_data, uint32_t worker, void** worker_data) {
    tap_plugin* p = (tap_plugin*)plugin_data;
    tap_worker* w = (tap_worker*)calloc(1, sizeof *w);
    if (w == NULL) return ROOST_ENOMEM;
    w->p = p;
    w->index = worker;
    /* Timers start on a worker, never in init; they stop by themselves when the broker stops. */
    if (p->stats_ms) {
        int rc = p->host->timer_start(p->self, p->stats_ms, p->stats_ms, publish_stats, w, NULL);
        if (rc != ROOST_OK) {
            p->host->log(p->self, ROOST_LOG_ERROR, "timer_start: %s", p->host->strerror(rc));
            free(w);
            return rc;
        }
    }
    *worker_data = w; /* what every later hook on this worker gets, open() included */
    return ROOST_OK;
}

/* After the worker's last connection closed: nothing refers to w any more. */
static void worker_stop(void* plugin_data, uint32_t worker, void* worker_data) {
    (void)plugin_data;
    (void)worker;
    free(worker_data);
}

/* ---- load and unload ------------------------------------------------------------------------ */

static int parse_ms(const tap_plugin* p, const roost_option* o, unsigned long long* out) {
    char* end = NULL;
    errno = 0;
    *out = strtoull(o->value, &end, 10);
    if (o->value[0] == '\0' || o->value[0] == '-' || *end != '\0' || errno != 0) {
        p->host->log(p->self, ROOST_LOG_ERROR,
                     "%s:%u: option %s = \"%s\": expected milliseconds (a whole number)", o->file,
                     (unsigned)o->line, o->key, o->value);
        return ROOST_EINVAL;
    }
    return ROOST_OK;
}

static int read_options(tap_plugin* p, const roost_option* options, size_t option_count) {
    size_t i;
    int rc = ROOST_OK;
    p->silent_ms = 10000;
    p->stats_ms = 0;
    strcpy(p->stats_topic, "tap/stats/");
    for (i = 0; i < option_count && rc == ROOST_OK; ++i) {
        const roost_option* o = &options[i];
        if (strcmp(o->key, "silent_ms") == 0) {
            rc = parse_ms(p, o, &p->silent_ms);
        } else if (strcmp(o->key, "stats_ms") == 0) {
            rc = parse_ms(p, o, &p->stats_ms);
        } else if (strcmp(o->key, "stats_topic") == 0) {
            if (o->value[0] == '\0' || strlen(o->value) >= sizeof p->stats_topic || strpbrk(o->value, "+#")) {
                p->host->log(p->self, ROOST_LOG_ERROR,
                             "%s:%u: option stats_topic = \"%s\": a topic prefix, 1 to 127 bytes, no + or #",
                             o->file, (unsigned)o->line, o->value);
                rc = ROOST_EINVAL;
            } else {
                strcpy(p->stats_topic, o->value);
            }
        } else {
            p->host->log(p->self, ROOST_LOG_ERROR,
                         "%s:%u: unknown option '%s' (known: silent_ms, stats_ms, stats_topic)", o->file,
                         (unsigned)o->line, o->key);
            rc = ROOST_EINVAL;
        }
    }
    return rc;
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; ++i) {
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    }
    return 0;
}

/* `roost --check-config`, and before init and before a reload: the options only. */
ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    tap_plugin p;
    memset(&p, 0, sizeof p);
    p.host = host;
    p.self = self;
    return read_options(&p, options, option_count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    tap_plugin* p = (tap_plugin*)calloc(1, sizeof *p);
    roost_transport_hooks transport;
    roost_lifecycle_hooks lifecycle;
    int rc;
    if (p == NULL) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    rc = read_options(p, options, option_count);

    /* Zeroed, members by name: a table that grows in a later release still compiles cleanly.
     * The host copies the tables, so locals will do. */
    memset(&transport, 0, sizeof transport);
    transport.struct_size = sizeof transport;
    transport.name = "tap"; /* [[listener]] transport = "tap" */
    transport.conn_state_size = sizeof(tap_conn);
    transport.open = tap_open;
    transport.decode = tap_decode;
    transport.encode = tap_encode;
    transport.close = tap_close;
    memset(&lifecycle, 0, sizeof lifecycle);
    lifecycle.struct_size = sizeof lifecycle;
    lifecycle.worker_start = worker_start;
    lifecycle.worker_stop = worker_stop;
    lifecycle.on_connect = on_connect;
    if (rc == ROOST_OK) rc = host->hook_register(self, ROOST_HOOK_TRANSPORT, &transport);
    if (rc == ROOST_OK) rc = host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle);
    if (rc != ROOST_OK) {
        free(p); /* a failed init gets no cleanup */
        return rc;
    }
    host->log(self, ROOST_LOG_INFO,
              "transport 'tap': closes connections silent for %llu ms, stats every %llu ms to %s<worker>",
              p->silent_ms, p->stats_ms, p->stats_topic);
    *plugin_data = p;
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
