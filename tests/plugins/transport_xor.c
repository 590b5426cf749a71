/* transport_xor: a transport that XORs every byte, both ways, with a one-byte key. A client
 * that XORs its bytes with the same key speaks MQTT through it; a plain MQTT client does not.
 *
 * Options: name = "xor" (what `transport = ...` on a listener selects); key = 0x5a;
 * max_up = 0 (> 0: decode() returns ROOST_EINVAL once a connection sent more bytes than that).
 * open() sets the connection attribute "xor.key" (the key in decimal), which auth and ACL
 * plugins can read with host->client_attribute. close() logs the bytes seen each way. open()
 * checks the state the host allocated is zeroed and logs "fixture: WRONG: ..." when it is not. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct config {
    const roost_host* host;
    roost_plugin* self;
    uint8_t key;
    long max_up; /* > 0: decode() fails once a connection sent more wire bytes than this */
    char name[32];
    roost_transport_hooks hooks; /* the table names the transport, so it is per plugin */
} config;

typedef struct conn_state {
    const config* cfg;
    size_t up, down;
} conn_state;

static int xor_open(void* worker_data, roost_conn* conn, void* state) {
    const config* c = (const config*)worker_data;
    conn_state* st = (conn_state*)state;
    char value[8];
    int rc;
    size_t i;
    /* The ABI: the host hands over conn_state_size bytes, zeroed. Say so if not, then zero them so
     * the rest of the fixture still works. */
    for (i = 0; i < sizeof *st; i++) {
        if (((const unsigned char*)state)[i] != 0) {
            c->host->log(c->self, ROOST_LOG_ERROR, "fixture: WRONG: conn state byte %u is 0x%02x, not zero",
                         (unsigned)i, (unsigned)((const unsigned char*)state)[i]);
            memset(state, 0, sizeof *st);
            break;
        }
    }
    st->cfg = c;
    snprintf(value, sizeof value, "%u", (unsigned)c->key);
    rc = c->host->conn_set_attribute(conn, "xor.key", fx_bytes(value));
    c->host->log(c->self, ROOST_LOG_INFO, "fixture: open, attribute xor.key=%s rc=%d", value, rc);
    return ROOST_OK;
}

/* XORs `in` in chunks and hands each chunk to `out` (conn_deliver or conn_send). */
static int xor_pass(const config* c, roost_conn* conn, roost_bytes in, int (*out)(roost_conn*, roost_bytes)) {
    uint8_t buf[4096];
    size_t done = 0;
    while (done < in.len) {
        size_t n = in.len - done < sizeof buf ? in.len - done : sizeof buf, i;
        roost_bytes chunk;
        int rc;
        for (i = 0; i < n; i++)
            buf[i] = (uint8_t)(in.data[done + i] ^ c->key);
        chunk.data = buf;
        chunk.len = n;
        rc = out(conn, chunk);
        if (rc != ROOST_OK) {
            c->host->log(c->self, ROOST_LOG_WARNING, "fixture: passing %u bytes on failed: %s", (unsigned)n,
                         c->host->strerror(rc));
            return rc;
        }
        done += n;
    }
    return ROOST_OK;
}

static int xor_decode(void* state, roost_conn* conn, roost_bytes wire) {
    conn_state* st = (conn_state*)state;
    st->up += wire.len;
    if (st->cfg->max_up > 0 && st->up > (size_t)st->cfg->max_up) {
        st->cfg->host->log(st->cfg->self, ROOST_LOG_WARNING,
                           "fixture: %u bytes up is over max_up %ld: failing decode", (unsigned)st->up,
                           st->cfg->max_up);
        return ROOST_EINVAL;
    }
    return xor_pass(st->cfg, conn, wire, st->cfg->host->conn_deliver);
}

static int xor_encode(void* state, roost_conn* conn, roost_bytes mqtt) {
    conn_state* st = (conn_state*)state;
    st->down += mqtt.len;
    return xor_pass(st->cfg, conn, mqtt, st->cfg->host->conn_send);
}

static void xor_close(void* state, roost_conn* conn) {
    conn_state* st = (conn_state*)state;
    (void)conn;
    st->cfg->host->log(st->cfg->self, ROOST_LOG_INFO, "fixture: close after %u bytes up, %u bytes down",
                       (unsigned)st->up, (unsigned)st->down);
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
    c->key = (uint8_t)fx_option_long(options, option_count, "key", 0x5a);
    c->max_up = fx_option_long(options, option_count, "max_up", 0);
    snprintf(c->name, sizeof c->name, "%s", fx_option(options, option_count, "name", "xor"));
    c->hooks.struct_size = sizeof c->hooks;
    c->hooks.name = c->name;
    c->hooks.conn_state_size = sizeof(conn_state);
    c->hooks.open = xor_open;
    c->hooks.decode = xor_decode;
    c->hooks.encode = xor_encode;
    c->hooks.close = xor_close;
    *plugin_data = c;
    return host->hook_register(self, ROOST_HOOK_TRANSPORT, &c->hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
