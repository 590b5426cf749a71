/* async_http_auth: authenticate off the event loop, with PENDING and host->complete.
 *
 * A real plugin of this kind asks a remote service (an HTTP endpoint, LDAP, a database) whether
 * a username and password are good. That takes milliseconds to seconds, and a worker thread of
 * the broker must not wait that long: every other client on it would stall. So the auth hook
 * copies what it needs, queues a job for a thread of the plugin's own and answers ROOST_PENDING;
 * that thread does the slow check and answers with host->complete(call, ...), from its own
 * thread, exactly once per job. This example simulates the remote service with a table of users
 * from the options and a configurable delay.
 *
 * Options:
 *   users    = "alice:secret bob:hunter2"  username:password pairs, separated by spaces or commas
 *   delay_ms = 200                         how long the simulated remote check takes (default 200)
 *   max_queue = 1000                       checks waiting at most; beyond, deny now with 0x89
 *                                          Server busy (default 1000)
 *   reason_code = 135                      what a refused client is told: 135 (0x87 Not
 *                                          authorized, the default, as Mosquitto answers) or 134
 *                                          (0x86 Bad user name or password)
 *
 * Clients without a username get NEXT (the listener's auth_default decides). A bad username or
 * password gets DENY with `reason_code` (MQTT 3.1.1: CONNACK 5 or 4).
 *
 * The contract in action:
 *   - borrowed, not owned: username and password are copied before the hook returns;
 *   - complete() exactly once per PENDING, from any thread; it returns ROOST_EGONE when the client
 *     left or [broker] plugin_timeout_ms passed (the broker already denied it): log, move on;
 *   - cleanup stops and joins the thread; jobs still queued are answered (the host says EGONE).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <roost/plugin.h>

typedef struct user {
    char *name, *password; /* NUL-terminated copies */
} user;

typedef struct job {
    struct job* next;
    roost_call* call;
    char *username, *password; /* copies: the event's bytes are only borrowed */
    size_t username_len, password_len;
} job;

typedef struct auth_plugin {
    const roost_host* host;
    roost_plugin* self;
    user* users;
    size_t user_count;
    unsigned long delay_ms;
    size_t max_queue;
    uint8_t reason_code; /* for refused credentials */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    job *head, *tail;
    size_t queued;
    int stopping;
    int thread_started;
    pthread_t thread;
} auth_plugin;

/* ---- the "remote" check, on the plugin's thread ----------------------------------------- */

/* Compares without stopping at the first difference, so timing does not tell how much matched. */
static int same_secret(const char* a, size_t a_len, const char* b, size_t b_len) {
    unsigned char diff = (unsigned char)(a_len != b_len);
    size_t i, n = a_len < b_len ? a_len : b_len;
    for (i = 0; i < n; ++i)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int check_credentials(const auth_plugin* p, const job* j) {
    size_t i;
    for (i = 0; i < p->user_count; ++i) {
        const user* u = &p->users[i];
        if (strlen(u->name) == j->username_len && memcmp(u->name, j->username, j->username_len) == 0) {
            return same_secret(u->password, strlen(u->password), j->password, j->password_len);
        }
    }
    return 0;
}

static void sleep_ms(unsigned long ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void free_job(job* j) {
    free(j->username);
    free(j->password);
    free(j);
}

/* Answers one job: the only place complete() is called for a job the hook queued. */
static void answer(auth_plugin* p, job* j, roost_verdict verdict, uint8_t reason_code) {
    int rc = p->host->complete(j->call, verdict, reason_code, NULL);
    if (rc == ROOST_EGONE) {
        p->host->log(p->self, ROOST_LOG_INFO, "'%s': the client left or timed out before the answer",
                     j->username);
    } else if (rc != ROOST_OK) {
        p->host->log(p->self, ROOST_LOG_ERROR, "complete for '%s': %s", j->username, p->host->strerror(rc));
    }
}

static void* worker_main(void* arg) {
    auth_plugin* p = (auth_plugin*)arg;
    for (;;) {
        job* j;
        int stopping;
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        j = p->head;
        if (j != NULL) {
            p->head = j->next;
            if (p->head == NULL) p->tail = NULL;
            p->queued--;
        }
        stopping = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (j == NULL) break; /* stopping, and the queue is empty */

        if (stopping) {
            answer(p, j, ROOST_DENY, ROOST_RC_SERVER_SHUTTING_DOWN);
        } else {
            int good;
            sleep_ms(p->delay_ms); /* the round trip to the remote service */
            good = check_credentials(p, j);
            p->host->log(p->self, ROOST_LOG_INFO, "'%s': %s after %lu ms", j->username,
                         good ? "accepted" : "refused", p->delay_ms);
            answer(p, j, good ? ROOST_ALLOW : ROOST_DENY, good ? 0 : p->reason_code);
        }
        free_job(j);
    }
    return NULL;
}

/* ---- the hook, on a broker worker --------------------------------------------------------- */

static char* copy_bytes(roost_bytes b) {
    char* s = (char*)malloc(b.len + 1);
    if (s == NULL) return NULL;
    if (b.len) memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    return s;
}

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    auth_plugin* p = (auth_plugin*)worker_data;
    job* j;
    int busy;

    if (ev->stage != ROOST_AUTH_CONNECT || ev->method.len != 0)
        return ROOST_NEXT; /* enhanced auth: not ours */
    if (!ev->has_username) return ROOST_NEXT;

    j = (job*)calloc(1, sizeof *j);
    if (j == NULL || (j->username = copy_bytes(ev->username)) == NULL ||
        (j->password = copy_bytes(ev->password)) == NULL) {
        if (j) free_job(j);
        ev->reason_code = ROOST_RC_SERVER_UNAVAILABLE;
        return ROOST_DENY;
    }
    j->username_len = ev->username.len;
    j->password_len = ev->password.len;
    j->call = ev->call;

    pthread_mutex_lock(&p->lock);
    busy = p->queued >= p->max_queue || p->stopping;
    if (!busy) {
        if (p->tail)
            p->tail->next = j;
        else
            p->head = j;
        p->tail = j;
        p->queued++;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);

    if (busy) {
        p->host->log(p->self, ROOST_LOG_WARNING, "'%s': %zu checks already waiting, refused now", j->username,
                     p->max_queue);
        free_job(j);
        ev->reason_code = ROOST_RC_SERVER_BUSY;
        return ROOST_DENY;
    }
    /* From here the job belongs to the thread: do not touch j, and do not complete here. */
    return ROOST_PENDING;
}

/* Members by name: a hook table that grows in a later release still compiles without warnings. */
static const roost_auth_hooks auth_hooks = {.struct_size = sizeof(roost_auth_hooks),
                                            .authenticate = authenticate};

/* ---- load and unload ---------------------------------------------------------------------- */

static void destroy(auth_plugin* p) {
    size_t i;
    if (p == NULL) return;
    if (p->thread_started) {
        pthread_mutex_lock(&p->lock);
        p->stopping = 1;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL); /* it answers what is still queued, then returns */
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
    }
    for (i = 0; i < p->user_count; ++i) {
        free(p->users[i].name);
        free(p->users[i].password);
    }
    free(p->users);
    free(p);
}

/* "alice:secret bob:hunter2" (spaces or commas between pairs) into p->users. */
static int parse_users(auth_plugin* p, const roost_option* o) {
    const char* text = o->value;
    const char* s = text;
    size_t cap = 1;
    const char* c;
    for (c = text; *c; ++c)
        cap += (*c == ' ' || *c == ',');
    p->users = (user*)calloc(cap, sizeof *p->users);
    if (p->users == NULL) return ROOST_ENOMEM;
    while (*s) {
        size_t len = strcspn(s, " ,");
        const char* colon = memchr(s, ':', len);
        if (len == 0) {
            ++s;
            continue;
        }
        if (colon == NULL || colon == s) {
            p->host->log(p->self, ROOST_LOG_ERROR, "%s:%u: option users: '%.*s' is not name:password",
                         o->file, (unsigned)o->line, (int)len, s);
            return ROOST_EINVAL;
        }
        {
            user* u = &p->users[p->user_count++];
            size_t name_len = (size_t)(colon - s), pass_len = len - name_len - 1;
            u->name = copy_bytes((roost_bytes){(const uint8_t*)s, name_len});
            u->password = copy_bytes((roost_bytes){(const uint8_t*)colon + 1, pass_len});
            if (u->name == NULL || u->password == NULL) return ROOST_ENOMEM;
        }
        s += len;
    }
    return ROOST_OK;
}

static int parse_count(const auth_plugin* p, const roost_option* o, unsigned long* out) {
    const char* value = o->value;
    char* end = NULL;
    errno = 0;
    *out = strtoul(value, &end, 10);
    if (value[0] == '\0' || value[0] == '-' || *end != '\0' || errno != 0) {
        p->host->log(p->self, ROOST_LOG_ERROR, "%s:%u: option %s = \"%s\": expected a whole number", o->file,
                     (unsigned)o->line, o->key, value);
        return ROOST_EINVAL;
    }
    return ROOST_OK;
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; ++i) {
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    }
    return 0;
}

/* Reads the options into p (host and self set); each error names the option's file:line. */
static int read_options(auth_plugin* p, const roost_option* options, size_t option_count) {
    unsigned long max_queue = 1000, reason_code = ROOST_RC_NOT_AUTHORIZED;
    size_t i;
    int rc = ROOST_OK;
    p->delay_ms = 200;
    for (i = 0; i < option_count && rc == ROOST_OK; ++i) {
        const roost_option* o = &options[i];
        if (strcmp(o->key, "users") == 0) {
            rc = parse_users(p, o);
        } else if (strcmp(o->key, "delay_ms") == 0) {
            rc = parse_count(p, o, &p->delay_ms);
        } else if (strcmp(o->key, "max_queue") == 0) {
            rc = parse_count(p, o, &max_queue);
        } else if (strcmp(o->key, "reason_code") == 0) {
            rc = parse_count(p, o, &reason_code);
            if (rc == ROOST_OK && (reason_code < 0x80 || reason_code > 0xFF)) {
                p->host->log(p->self, ROOST_LOG_ERROR,
                             "%s:%u: option reason_code = %s: an MQTT 5 error code is 128 to 255", o->file,
                             (unsigned)o->line, o->value);
                rc = ROOST_EINVAL;
            }
        } else {
            p->host->log(p->self, ROOST_LOG_ERROR,
                         "%s:%u: unknown option '%s' (known: users, delay_ms, max_queue, reason_code)",
                         o->file, (unsigned)o->line, o->key);
            rc = ROOST_EINVAL;
        }
    }
    p->max_queue = (size_t)max_queue;
    p->reason_code = (uint8_t)reason_code;
    return rc;
}

/* `roost --check-config` (and the broker, before init and before a reload): the options only. */
ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    auth_plugin* p = (auth_plugin*)calloc(1, sizeof *p);
    int rc;
    if (p == NULL) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    rc = read_options(p, options, option_count);
    destroy(p);
    return rc;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    auth_plugin* p = (auth_plugin*)calloc(1, sizeof *p);
    int rc;

    if (p == NULL) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    rc = read_options(p, options, option_count);
    if (rc == ROOST_OK && p->user_count == 0) {
        host->log(self, ROOST_LOG_WARNING, "option users is empty: every username will be refused");
    }
    if (rc == ROOST_OK) rc = host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
    if (rc == ROOST_OK) {
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->wake, NULL);
        if (pthread_create(&p->thread, NULL, worker_main, p) != 0) {
            host->log(self, ROOST_LOG_ERROR, "cannot start the checking thread");
            pthread_cond_destroy(&p->wake);
            pthread_mutex_destroy(&p->lock);
            rc = ROOST_ENOMEM;
        } else {
            p->thread_started = 1;
        }
    }
    if (rc != ROOST_OK) {
        destroy(p);
        return rc;
    }
    host->log(self, ROOST_LOG_INFO, "%zu user(s), simulated check delay %lu ms", p->user_count, p->delay_ms);
    *plugin_data = p;
    return ROOST_OK;
}

/* After every worker stopped: no hook runs any more, so the queue only shrinks. */
ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    destroy((auth_plugin*)plugin_data);
}
