/* persistence_file: a persistence plugin that really keeps what the broker hands it, in a
 * directory, so tests can stop (SIGTERM) or kill (SIGKILL) the broker and start it again.
 *
 * Design (simple on purpose, fine for tests): in-memory tables (sessions by client id,
 * subscriptions by (client, filter), messages by id, deliveries by (client, sequence), retained
 * messages by topic) and, after every change, the whole state written to `<dir>/snapshot`
 * atomically (write snapshot.tmp, fsync, rename, fsync the directory). A hook that answers ALLOW
 * has made its change durable before it returns.
 *
 * Options:
 *   dir = "/path"            where the snapshot lives (required; must exist)
 *   pending = "true"         message_store and delivery_save answer PENDING; a thread writes the
 *                            snapshot (fsync) and only then calls host->complete(ALLOW)
 *   pending_delay_ms = N     with pending: the thread waits N ms before writing (default 0)
 *
 * The snapshot is a sequence of records, one per line, fields separated by one space; byte
 * fields are length-prefixed ("5:hello", "0:"), so binary payloads and property blocks
 * round-trip exactly. Records:
 *   M id qos retain expires topic payload properties origin        a stored message
 *   R id qos retain expires topic payload properties origin        a retained message
 *   S client expiry disconnected has_will will_due [will: qos retain expires topic payload props]
 *   B client filter qos no_local retain_as_published retain_handling subscription_id
 *   D client message sequence packet_id qos retain state n id1 .. idn
 *
 * Lines it logs ("fixture: ..."):
 *   fixture: loaded snapshot: 3 messages, 1 retained, 1 sessions, 2 subscriptions, 3 deliveries
 *   fixture: restore: handed back 3 messages, 1 retained, 1 sessions, 2 subscriptions, 3 deliveries, 0
 * refused fixture: restore: sink refused delivery client=c seq=4 rc=-3 fixture: message_store id=7 topic=a/b
 * qos=1 len=5 fixture: message_store id=7: PENDING                     (with pending) fixture: message_store
 * id=7 durable, completing          (with pending, before complete) fixture: message_store id=7 complete rc=0
 *   ... and one line for every other hook call (session_save, delivery_save, ...). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

/* ---- tables ------------------------------------------------------------------------------ */

typedef struct buf {
    uint8_t* data;
    size_t len;
} buf;

typedef struct msg_rec {
    uint64_t id;
    uint8_t qos, retain;
    int64_t expires;
    buf topic, payload, props, origin;
} msg_rec;

typedef struct sess_rec {
    buf client;
    uint32_t expiry;
    int64_t disconnected;
    uint8_t has_will;
    int64_t will_due;
    msg_rec will;
} sess_rec;

typedef struct sub_rec {
    buf client, filter;
    uint8_t qos, no_local, rap, rh;
    uint32_t sub_id;
} sub_rec;

typedef struct del_rec {
    buf client;
    uint64_t message, sequence;
    uint16_t packet_id;
    uint8_t qos, retain;
    int state;
    uint32_t* ids;
    size_t id_count;
} del_rec;

/* A growable array of fixed-size records; removal keeps the order. */
typedef struct table {
    void* items;
    size_t count, cap, size;
} table;

static void* tbl_at(table* t, size_t i) {
    return (char*)t->items + i * t->size;
}

static void* tbl_push(table* t) {
    void* p;
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void* n = realloc(t->items, cap * t->size);
        if (!n) return NULL;
        t->items = n;
        t->cap = cap;
    }
    p = tbl_at(t, t->count++);
    memset(p, 0, t->size);
    return p;
}

static void tbl_remove(table* t, size_t i) {
    memmove(tbl_at(t, i), tbl_at(t, i + 1), (t->count - i - 1) * t->size);
    t->count--;
}

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char dir[1024];
    int pending;
    long pending_delay_ms;
    pthread_mutex_t mutex; /* hooks run on every worker; the snapshot writer on threads */
    table messages, retained, sessions, subs, deliveries;
    fx_threads threads;
} state;

static int buf_set(buf* b, roost_bytes in) {
    uint8_t* d = NULL;
    if (in.len) {
        d = (uint8_t*)malloc(in.len);
        if (!d) return ROOST_ENOMEM;
        memcpy(d, in.data, in.len);
    }
    free(b->data);
    b->data = d;
    b->len = in.len;
    return ROOST_OK;
}

static void buf_free(buf* b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static roost_bytes rb(const buf* b) {
    roost_bytes r;
    r.data = b->data;
    r.len = b->len;
    return r;
}

static int buf_eq(const buf* b, roost_bytes x) {
    return b->len == x.len && (x.len == 0 || memcmp(b->data, x.data, x.len) == 0);
}

static void msg_free(msg_rec* m) {
    buf_free(&m->topic);
    buf_free(&m->payload);
    buf_free(&m->props);
    buf_free(&m->origin);
}

static int msg_set(msg_rec* m, const roost_stored_message* in) {
    m->id = in->id;
    m->qos = in->qos;
    m->retain = in->retain;
    m->expires = in->expires_at_ms;
    if (buf_set(&m->topic, in->topic) || buf_set(&m->payload, in->payload) ||
        buf_set(&m->props, in->properties) || buf_set(&m->origin, in->origin_client_id))
        return ROOST_ENOMEM;
    return ROOST_OK;
}

static roost_stored_message msg_view(const msg_rec* m) {
    roost_stored_message out;
    memset(&out, 0, sizeof out);
    out.struct_size = sizeof out;
    out.id = m->id;
    out.topic = rb(&m->topic);
    out.payload = rb(&m->payload);
    out.qos = m->qos;
    out.retain = m->retain;
    out.expires_at_ms = m->expires;
    out.properties = rb(&m->props);
    out.origin_client_id = rb(&m->origin);
    return out;
}

static void sess_free(sess_rec* s) {
    buf_free(&s->client);
    msg_free(&s->will);
}

static void sub_free(sub_rec* s) {
    buf_free(&s->client);
    buf_free(&s->filter);
}

static void del_free(del_rec* d) {
    buf_free(&d->client);
    free(d->ids);
    d->ids = NULL;
}

static void free_tables(state* s) {
    size_t i;
    for (i = 0; i < s->messages.count; i++)
        msg_free((msg_rec*)tbl_at(&s->messages, i));
    for (i = 0; i < s->retained.count; i++)
        msg_free((msg_rec*)tbl_at(&s->retained, i));
    for (i = 0; i < s->sessions.count; i++)
        sess_free((sess_rec*)tbl_at(&s->sessions, i));
    for (i = 0; i < s->subs.count; i++)
        sub_free((sub_rec*)tbl_at(&s->subs, i));
    for (i = 0; i < s->deliveries.count; i++)
        del_free((del_rec*)tbl_at(&s->deliveries, i));
    free(s->messages.items);
    free(s->retained.items);
    free(s->sessions.items);
    free(s->subs.items);
    free(s->deliveries.items);
}

/* ---- the snapshot file ------------------------------------------------------------------- */

static void put_u(FILE* f, unsigned long long v) {
    fprintf(f, " %llu", v);
}
static void put_i(FILE* f, long long v) {
    fprintf(f, " %lld", v);
}

static void put_b(FILE* f, const buf* b) {
    fprintf(f, " %lu:", (unsigned long)b->len);
    if (b->len) fwrite(b->data, 1, b->len, f);
}

static void put_msg_fields(FILE* f, const msg_rec* m) {
    put_u(f, m->qos);
    put_u(f, m->retain);
    put_i(f, (long long)m->expires);
    put_b(f, &m->topic);
    put_b(f, &m->payload);
    put_b(f, &m->props);
    put_b(f, &m->origin);
}

static int fsync_dir(const char* dir) {
    int fd = open(dir, O_RDONLY);
    int rc;
    if (fd < 0) return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes the whole state to <dir>/snapshot atomically. Call with the mutex held. */
static int write_snapshot(state* s) {
    char tmp[1100], path[1100];
    FILE* f;
    size_t i, k;
    int ok;
    snprintf(tmp, sizeof tmp, "%s/snapshot.tmp", s->dir);
    snprintf(path, sizeof path, "%s/snapshot", s->dir);
    f = fopen(tmp, "wb");
    if (!f) return -1;
    fprintf(f, "roost-persistence-file 1\n");
    for (i = 0; i < s->messages.count; i++) {
        msg_rec* m = (msg_rec*)tbl_at(&s->messages, i);
        fprintf(f, "M %llu", (unsigned long long)m->id);
        put_msg_fields(f, m);
        fputc('\n', f);
    }
    for (i = 0; i < s->retained.count; i++) {
        msg_rec* m = (msg_rec*)tbl_at(&s->retained, i);
        fprintf(f, "R %llu", (unsigned long long)m->id);
        put_msg_fields(f, m);
        fputc('\n', f);
    }
    for (i = 0; i < s->sessions.count; i++) {
        sess_rec* r = (sess_rec*)tbl_at(&s->sessions, i);
        fputc('S', f);
        put_b(f, &r->client);
        put_u(f, r->expiry);
        put_i(f, (long long)r->disconnected);
        put_u(f, r->has_will);
        put_i(f, (long long)r->will_due);
        if (r->has_will) put_msg_fields(f, &r->will);
        fputc('\n', f);
    }
    for (i = 0; i < s->subs.count; i++) {
        sub_rec* r = (sub_rec*)tbl_at(&s->subs, i);
        fputc('B', f);
        put_b(f, &r->client);
        put_b(f, &r->filter);
        put_u(f, r->qos);
        put_u(f, r->no_local);
        put_u(f, r->rap);
        put_u(f, r->rh);
        put_u(f, r->sub_id);
        fputc('\n', f);
    }
    for (i = 0; i < s->deliveries.count; i++) {
        del_rec* d = (del_rec*)tbl_at(&s->deliveries, i);
        fputc('D', f);
        put_b(f, &d->client);
        put_u(f, d->message);
        put_u(f, d->sequence);
        put_u(f, d->packet_id);
        put_u(f, d->qos);
        put_u(f, d->retain);
        put_u(f, (unsigned long long)d->state);
        put_u(f, d->id_count);
        for (k = 0; k < d->id_count; k++)
            put_u(f, d->ids[k]);
        fputc('\n', f);
    }
    fprintf(f, "end\n");
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        s->host->log(s->self, ROOST_LOG_ERROR, "fixture: cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fsync_dir(s->dir);
    return 0;
}

/* A reader over the snapshot's bytes. */
typedef struct reader {
    const char* p;
    const char* end;
    int bad;
} reader;

static void rd_space(reader* r) {
    if (r->p < r->end && *r->p == ' ')
        r->p++;
    else
        r->bad = 1;
}

static unsigned long long rd_u(reader* r) {
    unsigned long long v = 0;
    int any = 0;
    rd_space(r);
    while (!r->bad && r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        v = v * 10 + (unsigned long long)(*r->p++ - '0');
        any = 1;
    }
    if (!any) r->bad = 1;
    return v;
}

static long long rd_i(reader* r) {
    int neg = 0;
    unsigned long long v = 0;
    int any = 0;
    rd_space(r);
    if (!r->bad && r->p < r->end && *r->p == '-') {
        neg = 1;
        r->p++;
    }
    while (!r->bad && r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        v = v * 10 + (unsigned long long)(*r->p++ - '0');
        any = 1;
    }
    if (!any) r->bad = 1;
    return neg ? -(long long)v : (long long)v;
}

static void rd_b(reader* r, buf* out) {
    unsigned long long n = rd_u(r);
    roost_bytes b;
    if (r->bad || r->p >= r->end || *r->p != ':' || (unsigned long long)(r->end - r->p - 1) < n) {
        r->bad = 1;
        return;
    }
    r->p++;
    b.data = (const uint8_t*)r->p;
    b.len = (size_t)n;
    if (buf_set(out, b) != ROOST_OK) r->bad = 1;
    r->p += n;
}

static void rd_eol(reader* r) {
    if (r->p < r->end && *r->p == '\n')
        r->p++;
    else
        r->bad = 1;
}

static void rd_msg_fields(reader* r, msg_rec* m) {
    m->qos = (uint8_t)rd_u(r);
    m->retain = (uint8_t)rd_u(r);
    m->expires = (int64_t)rd_i(r);
    rd_b(r, &m->topic);
    rd_b(r, &m->payload);
    rd_b(r, &m->props);
    rd_b(r, &m->origin);
}

/* Loads <dir>/snapshot into the (empty) tables. 0 if there is none or it loaded, -1 if bad. */
static int load_snapshot(state* s) {
    char path[1100];
    FILE* f;
    char* data;
    long size;
    reader r;
    static const char header[] = "roost-persistence-file 1\n";
    snprintf(path, sizeof path, "%s/snapshot", s->dir);
    f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    data = (char*)malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    r.p = data;
    r.end = data + size;
    r.bad = 0;
    if ((size_t)size < sizeof header - 1 || memcmp(data, header, sizeof header - 1) != 0) r.bad = 1;
    r.p += sizeof header - 1;
    while (!r.bad && r.p < r.end) {
        char tag = *r.p++;
        if (tag == 'e') { /* "end\n" */
            if (r.end - r.p >= 3 && memcmp(r.p, "nd\n", 3) == 0)
                r.p = r.end;
            else
                r.bad = 1;
            break;
        }
        if (tag == 'M' || tag == 'R') {
            msg_rec* m = (msg_rec*)tbl_push(tag == 'M' ? &s->messages : &s->retained);
            if (!m) break;
            m->id = rd_u(&r);
            rd_msg_fields(&r, m);
        } else if (tag == 'S') {
            sess_rec* x = (sess_rec*)tbl_push(&s->sessions);
            if (!x) break;
            rd_b(&r, &x->client);
            x->expiry = (uint32_t)rd_u(&r);
            x->disconnected = (int64_t)rd_i(&r);
            x->has_will = (uint8_t)rd_u(&r);
            x->will_due = (int64_t)rd_i(&r);
            if (x->has_will) rd_msg_fields(&r, &x->will);
        } else if (tag == 'B') {
            sub_rec* x = (sub_rec*)tbl_push(&s->subs);
            if (!x) break;
            rd_b(&r, &x->client);
            rd_b(&r, &x->filter);
            x->qos = (uint8_t)rd_u(&r);
            x->no_local = (uint8_t)rd_u(&r);
            x->rap = (uint8_t)rd_u(&r);
            x->rh = (uint8_t)rd_u(&r);
            x->sub_id = (uint32_t)rd_u(&r);
        } else if (tag == 'D') {
            size_t k;
            del_rec* x = (del_rec*)tbl_push(&s->deliveries);
            if (!x) break;
            rd_b(&r, &x->client);
            x->message = rd_u(&r);
            x->sequence = rd_u(&r);
            x->packet_id = (uint16_t)rd_u(&r);
            x->qos = (uint8_t)rd_u(&r);
            x->retain = (uint8_t)rd_u(&r);
            x->state = (int)rd_u(&r);
            x->id_count = (size_t)rd_u(&r);
            if (!r.bad && x->id_count) {
                x->ids = (uint32_t*)calloc(x->id_count, sizeof *x->ids);
                if (!x->ids) {
                    x->id_count = 0;
                    r.bad = 1;
                }
            }
            for (k = 0; !r.bad && k < x->id_count; k++)
                x->ids[k] = (uint32_t)rd_u(&r);
        } else {
            r.bad = 1;
        }
        if (!r.bad) rd_eol(&r);
    }
    free(data);
    if (r.bad) {
        s->host->log(s->self, ROOST_LOG_ERROR, "fixture: %s is damaged", path);
        return -1;
    }
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: loaded snapshot: %lu messages, %lu retained, %lu sessions, %lu subscriptions, "
                 "%lu deliveries",
                 (unsigned long)s->messages.count, (unsigned long)s->retained.count,
                 (unsigned long)s->sessions.count, (unsigned long)s->subs.count,
                 (unsigned long)s->deliveries.count);
    return 0;
}

/* ---- lookups ----------------------------------------------------------------------------- */

static long find_message(state* s, uint64_t id) {
    size_t i;
    for (i = 0; i < s->messages.count; i++)
        if (((msg_rec*)tbl_at(&s->messages, i))->id == id) return (long)i;
    return -1;
}

static long find_retained(state* s, roost_bytes topic) {
    size_t i;
    for (i = 0; i < s->retained.count; i++)
        if (buf_eq(&((msg_rec*)tbl_at(&s->retained, i))->topic, topic)) return (long)i;
    return -1;
}

static long find_session(state* s, roost_bytes client) {
    size_t i;
    for (i = 0; i < s->sessions.count; i++)
        if (buf_eq(&((sess_rec*)tbl_at(&s->sessions, i))->client, client)) return (long)i;
    return -1;
}

static long find_sub(state* s, roost_bytes client, roost_bytes filter) {
    size_t i;
    for (i = 0; i < s->subs.count; i++) {
        sub_rec* x = (sub_rec*)tbl_at(&s->subs, i);
        if (buf_eq(&x->client, client) && buf_eq(&x->filter, filter)) return (long)i;
    }
    return -1;
}

static long find_delivery(state* s, roost_bytes client, uint64_t sequence) {
    size_t i;
    for (i = 0; i < s->deliveries.count; i++) {
        del_rec* x = (del_rec*)tbl_at(&s->deliveries, i);
        if (x->sequence == sequence && buf_eq(&x->client, client)) return (long)i;
    }
    return -1;
}

/* ---- durability -------------------------------------------------------------------------- */

static void write_then_complete(void* arg) {
    fx_deferred* j = (fx_deferred*)arg;
    state* s = (state*)j->data;
    int ok, rc;
    if (s->pending_delay_ms > 0) fx_sleep_ms(s->pending_delay_ms);
    pthread_mutex_lock(&s->mutex);
    ok = write_snapshot(s) == 0; /* holds this change and every one before it */
    pthread_mutex_unlock(&s->mutex);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s durable, completing", j->what);
    rc = s->host->complete(j->call, ok ? ROOST_ALLOW : ROOST_DENY, 0, NULL);
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s complete rc=%d", j->what, rc);
    free(j);
}

/* After a change (mutex held): durable now (ALLOW), or PENDING and durable from a thread (which
 * takes the mutex first, so it logs after this PENDING line). */
static roost_verdict commit(state* s, roost_call* call, int may_pend, const char* what) {
    if (may_pend && s->pending && call &&
        fx_defer(&s->threads, write_then_complete, s, call, what) == ROOST_OK) {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: %s: PENDING", what);
        return ROOST_PENDING;
    }
    return write_snapshot(s) == 0 ? ROOST_ALLOW : ROOST_DENY;
}

/* ---- restore ----------------------------------------------------------------------------- */

static int restore(void* plugin_data, const roost_restore_sink* sink) {
    state* s = (state*)plugin_data;
    size_t i, n[5] = {0, 0, 0, 0, 0}, refused = 0;
    char id[128], text[256];
    int rc;
    pthread_mutex_lock(&s->mutex);
    for (i = 0; i < s->messages.count; i++) {
        roost_stored_message m = msg_view((msg_rec*)tbl_at(&s->messages, i));
        if ((rc = sink->message(sink->ctx, &m)) == ROOST_OK) {
            n[0]++;
        } else {
            refused++;
            s->host->log(s->self, ROOST_LOG_WARNING, "fixture: restore: sink refused message id=%llu rc=%d",
                         (unsigned long long)m.id, rc);
        }
    }
    for (i = 0; i < s->retained.count; i++) {
        roost_stored_message m = msg_view((msg_rec*)tbl_at(&s->retained, i));
        if ((rc = sink->retained(sink->ctx, &m)) == ROOST_OK) {
            n[1]++;
        } else {
            refused++;
            s->host->log(s->self, ROOST_LOG_WARNING, "fixture: restore: sink refused retained topic=%s rc=%d",
                         fx_cstr(m.topic, text, sizeof text), rc);
        }
    }
    for (i = 0; i < s->sessions.count; i++) {
        sess_rec* x = (sess_rec*)tbl_at(&s->sessions, i);
        roost_session_record r;
        roost_stored_message will;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.client_id = rb(&x->client);
        r.expiry_interval = x->expiry;
        r.disconnected_at_ms = x->disconnected;
        if (x->has_will) {
            will = msg_view(&x->will);
            r.will = &will;
        }
        r.will_due_ms = x->will_due;
        if ((rc = sink->session(sink->ctx, &r)) == ROOST_OK) {
            n[2]++;
        } else {
            refused++;
            s->host->log(s->self, ROOST_LOG_WARNING, "fixture: restore: sink refused session client=%s rc=%d",
                         fx_cstr(r.client_id, id, sizeof id), rc);
        }
    }
    for (i = 0; i < s->subs.count; i++) {
        sub_rec* x = (sub_rec*)tbl_at(&s->subs, i);
        roost_subscription_record r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.client_id = rb(&x->client);
        r.filter = rb(&x->filter);
        r.qos = x->qos;
        r.no_local = x->no_local;
        r.retain_as_published = x->rap;
        r.retain_handling = x->rh;
        r.subscription_id = x->sub_id;
        if ((rc = sink->subscription(sink->ctx, &r)) == ROOST_OK) {
            n[3]++;
        } else {
            refused++;
            s->host->log(s->self, ROOST_LOG_WARNING,
                         "fixture: restore: sink refused subscription client=%s filter=%s rc=%d",
                         fx_cstr(r.client_id, id, sizeof id), fx_cstr(r.filter, text, sizeof text), rc);
        }
    }
    for (i = 0; i < s->deliveries.count; i++) {
        del_rec* x = (del_rec*)tbl_at(&s->deliveries, i);
        roost_delivery_record r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.client_id = rb(&x->client);
        r.message_id = x->message;
        r.sequence = x->sequence;
        r.packet_id = x->packet_id;
        r.qos = x->qos;
        r.retain = x->retain;
        r.state = (roost_delivery_state)x->state;
        r.subscription_ids = x->ids;
        r.subscription_id_count = x->id_count;
        if ((rc = sink->delivery(sink->ctx, &r)) == ROOST_OK) {
            n[4]++;
        } else {
            refused++;
            s->host->log(s->self, ROOST_LOG_WARNING,
                         "fixture: restore: sink refused delivery client=%s seq=%llu message=%llu rc=%d",
                         fx_cstr(r.client_id, id, sizeof id), (unsigned long long)r.sequence,
                         (unsigned long long)r.message_id, rc);
        }
    }
    pthread_mutex_unlock(&s->mutex);
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: restore: handed back %lu messages, %lu retained, %lu sessions, %lu subscriptions, "
                 "%lu deliveries, %lu refused",
                 (unsigned long)n[0], (unsigned long)n[1], (unsigned long)n[2], (unsigned long)n[3],
                 (unsigned long)n[4], (unsigned long)refused);
    return ROOST_OK;
}

/* ---- store hooks ------------------------------------------------------------------------- */

static roost_verdict session_save(void* wd, roost_call* call, const roost_session_record* r) {
    state* s = (state*)wd;
    char id[128];
    long i;
    sess_rec* x;
    roost_verdict v = ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: session_save client=%s expiry=%u connected=%s will=%s",
                 fx_cstr(r->client_id, id, sizeof id), (unsigned)r->expiry_interval,
                 r->disconnected_at_ms == 0 ? "yes" : "no", r->will ? "yes" : "no");
    pthread_mutex_lock(&s->mutex);
    i = find_session(s, r->client_id);
    x = i >= 0 ? (sess_rec*)tbl_at(&s->sessions, (size_t)i) : (sess_rec*)tbl_push(&s->sessions);
    if (x && buf_set(&x->client, r->client_id) == ROOST_OK) {
        x->expiry = r->expiry_interval;
        x->disconnected = r->disconnected_at_ms;
        x->has_will = r->will != NULL;
        x->will_due = r->will_due_ms;
        msg_free(&x->will);
        memset(&x->will, 0, sizeof x->will);
        if (!r->will || msg_set(&x->will, r->will) == ROOST_OK) v = commit(s, call, 0, "session_save");
    }
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict session_delete(void* wd, roost_call* call, roost_bytes client_id) {
    state* s = (state*)wd;
    char id[128];
    long i;
    size_t k;
    roost_verdict v;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: session_delete client=%s",
                 fx_cstr(client_id, id, sizeof id));
    pthread_mutex_lock(&s->mutex);
    if ((i = find_session(s, client_id)) >= 0) {
        sess_free((sess_rec*)tbl_at(&s->sessions, (size_t)i));
        tbl_remove(&s->sessions, (size_t)i);
    }
    /* The session's subscriptions and deliveries end with it. */
    for (k = s->subs.count; k-- > 0;) {
        sub_rec* x = (sub_rec*)tbl_at(&s->subs, k);
        if (buf_eq(&x->client, client_id)) {
            sub_free(x);
            tbl_remove(&s->subs, k);
        }
    }
    for (k = s->deliveries.count; k-- > 0;) {
        del_rec* x = (del_rec*)tbl_at(&s->deliveries, k);
        if (buf_eq(&x->client, client_id)) {
            del_free(x);
            tbl_remove(&s->deliveries, k);
        }
    }
    v = commit(s, call, 0, "session_delete");
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict subscription_save(void* wd, roost_call* call, const roost_subscription_record* r) {
    state* s = (state*)wd;
    char id[128], filter[256];
    long i;
    sub_rec* x;
    roost_verdict v = ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscription_save client=%s filter=%s qos=%u",
                 fx_cstr(r->client_id, id, sizeof id), fx_cstr(r->filter, filter, sizeof filter),
                 (unsigned)r->qos);
    pthread_mutex_lock(&s->mutex);
    i = find_sub(s, r->client_id, r->filter);
    x = i >= 0 ? (sub_rec*)tbl_at(&s->subs, (size_t)i) : (sub_rec*)tbl_push(&s->subs);
    if (x && buf_set(&x->client, r->client_id) == ROOST_OK && buf_set(&x->filter, r->filter) == ROOST_OK) {
        x->qos = r->qos;
        x->no_local = r->no_local;
        x->rap = r->retain_as_published;
        x->rh = r->retain_handling;
        x->sub_id = r->subscription_id;
        v = commit(s, call, 0, "subscription_save");
    }
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict subscription_delete(void* wd, roost_call* call, roost_bytes client_id,
                                         roost_bytes filter) {
    state* s = (state*)wd;
    char id[128], f[256];
    long i;
    roost_verdict v;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: subscription_delete client=%s filter=%s",
                 fx_cstr(client_id, id, sizeof id), fx_cstr(filter, f, sizeof f));
    pthread_mutex_lock(&s->mutex);
    if ((i = find_sub(s, client_id, filter)) >= 0) {
        sub_free((sub_rec*)tbl_at(&s->subs, (size_t)i));
        tbl_remove(&s->subs, (size_t)i);
    }
    v = commit(s, call, 0, "subscription_delete");
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict message_store(void* wd, roost_call* call, const roost_stored_message* m) {
    state* s = (state*)wd;
    char topic[256], what[64];
    long i;
    msg_rec* x;
    roost_verdict v = ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: message_store id=%llu topic=%s qos=%u retain=%u len=%u",
                 (unsigned long long)m->id, fx_cstr(m->topic, topic, sizeof topic), (unsigned)m->qos,
                 (unsigned)m->retain, (unsigned)m->payload.len);
    snprintf(what, sizeof what, "message_store id=%llu", (unsigned long long)m->id);
    pthread_mutex_lock(&s->mutex);
    i = find_message(s, m->id);
    if (i >= 0)
        s->host->log(s->self, ROOST_LOG_WARNING, "fixture: message_store id=%llu: replaces a stored message",
                     (unsigned long long)m->id);
    x = i >= 0 ? (msg_rec*)tbl_at(&s->messages, (size_t)i) : (msg_rec*)tbl_push(&s->messages);
    if (x && msg_set(x, m) == ROOST_OK) v = commit(s, call, 1, what);
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict message_release(void* wd, roost_call* call, uint64_t message_id) {
    state* s = (state*)wd;
    long i;
    roost_verdict v;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: message_release id=%llu", (unsigned long long)message_id);
    pthread_mutex_lock(&s->mutex);
    if ((i = find_message(s, message_id)) >= 0) {
        msg_free((msg_rec*)tbl_at(&s->messages, (size_t)i));
        tbl_remove(&s->messages, (size_t)i);
    }
    v = commit(s, call, 0, "message_release");
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict delivery_save(void* wd, roost_call* call, const roost_delivery_record* d) {
    state* s = (state*)wd;
    char id[128], what[192];
    long i;
    del_rec* x;
    roost_verdict v = ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: delivery_save client=%s message=%llu seq=%llu state=%d packet_id=%u qos=%u",
                 fx_cstr(d->client_id, id, sizeof id), (unsigned long long)d->message_id,
                 (unsigned long long)d->sequence, (int)d->state, (unsigned)d->packet_id, (unsigned)d->qos);
    snprintf(what, sizeof what, "delivery_save client=%s seq=%llu", id, (unsigned long long)d->sequence);
    pthread_mutex_lock(&s->mutex);
    i = find_delivery(s, d->client_id, d->sequence);
    x = i >= 0 ? (del_rec*)tbl_at(&s->deliveries, (size_t)i) : (del_rec*)tbl_push(&s->deliveries);
    if (x && buf_set(&x->client, d->client_id) == ROOST_OK) {
        free(x->ids);
        x->ids = NULL;
        x->id_count = 0;
        x->message = d->message_id;
        x->sequence = d->sequence;
        x->packet_id = d->packet_id;
        x->qos = d->qos;
        x->retain = d->retain;
        x->state = (int)d->state;
        if (d->subscription_id_count) {
            x->ids = (uint32_t*)malloc(d->subscription_id_count * sizeof *x->ids);
            if (x->ids) {
                memcpy(x->ids, d->subscription_ids, d->subscription_id_count * sizeof *x->ids);
                x->id_count = d->subscription_id_count;
            }
        }
        if (!d->subscription_id_count || x->ids) v = commit(s, call, 1, what);
    }
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict delivery_delete(void* wd, roost_call* call, roost_bytes client_id, uint64_t sequence) {
    state* s = (state*)wd;
    char id[128];
    long i;
    roost_verdict v;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: delivery_delete client=%s seq=%llu",
                 fx_cstr(client_id, id, sizeof id), (unsigned long long)sequence);
    pthread_mutex_lock(&s->mutex);
    if ((i = find_delivery(s, client_id, sequence)) >= 0) {
        del_free((del_rec*)tbl_at(&s->deliveries, (size_t)i));
        tbl_remove(&s->deliveries, (size_t)i);
    }
    v = commit(s, call, 0, "delivery_delete");
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static roost_verdict retained_set(void* wd, roost_call* call, const roost_stored_message* m) {
    state* s = (state*)wd;
    char topic[256];
    long i;
    roost_verdict v = ROOST_DENY;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: retained_set topic=%s len=%u id=%llu",
                 fx_cstr(m->topic, topic, sizeof topic), (unsigned)m->payload.len, (unsigned long long)m->id);
    pthread_mutex_lock(&s->mutex);
    i = find_retained(s, m->topic);
    if (m->payload.len == 0) {
        if (i >= 0) {
            msg_free((msg_rec*)tbl_at(&s->retained, (size_t)i));
            tbl_remove(&s->retained, (size_t)i);
        }
        v = commit(s, call, 0, "retained_set");
    } else {
        msg_rec* x = i >= 0 ? (msg_rec*)tbl_at(&s->retained, (size_t)i) : (msg_rec*)tbl_push(&s->retained);
        if (x && msg_set(x, m) == ROOST_OK) v = commit(s, call, 0, "retained_set");
    }
    pthread_mutex_unlock(&s->mutex);
    return v;
}

static const roost_persistence_hooks persistence_hooks = {sizeof(roost_persistence_hooks),
                                                          restore,
                                                          session_save,
                                                          session_delete,
                                                          subscription_save,
                                                          subscription_delete,
                                                          message_store,
                                                          message_release,
                                                          delivery_save,
                                                          delivery_delete,
                                                          retained_set,
                                                          NULL /* incoming_qos2_save: not kept */,
                                                          NULL /* incoming_qos2_delete */,
                                                          NULL /* message_delivery_save: the two calls */,
                                                          NULL /* message_delivery_delete: the two calls */};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    const char* dir = fx_option(options, option_count, "dir", NULL);
    const char* pending = fx_option(options, option_count, "pending", "false");
    struct stat st;
    state* s;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        host->log(self, ROOST_LOG_ERROR, "fixture: option dir must name an existing directory");
        return ROOST_EINVAL;
    }
    s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->pending = strcmp(pending, "true") == 0 || strcmp(pending, "1") == 0;
    s->pending_delay_ms = fx_option_long(options, option_count, "pending_delay_ms", 0);
    s->messages.size = sizeof(msg_rec);
    s->retained.size = sizeof(msg_rec);
    s->sessions.size = sizeof(sess_rec);
    s->subs.size = sizeof(sub_rec);
    s->deliveries.size = sizeof(del_rec);
    pthread_mutex_init(&s->mutex, NULL);
    fx_threads_init(&s->threads);
    if (load_snapshot(s) != 0) {
        free_tables(s);
        free(s);
        return ROOST_EINVAL;
    }
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_PERSISTENCE, &persistence_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    if (fx_threads_drain(&s->threads, 5000) != 0) return; /* a thread still runs: leak rather than race */
    free_tables(s);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
