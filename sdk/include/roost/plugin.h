/* roost/plugin.h: the Roost plugin ABI, version 1. Plain C99; include it from C or C++.
 *
 * A plugin is a shared object that exports three functions (at the end of this file) and, in
 * roost_plugin_init(), registers typed hook tables with host->hook_register(). The broker passes
 * the plugin everything it may use in one table of functions (roost_host): a plugin links against
 * nothing of the broker. sdk/README.md is the contract in prose; the rules in brief:
 *
 * Borrowed, not owned. Everything the host passes is valid until the hook returns; copy what you
 *   keep. Out-fields point at plugin memory that must stay valid until the hook returns; the host
 *   copies it then. No buffer ever changes owner, so there is nothing to free.
 * Threads. A hook runs on the worker thread that owns the client; the same hook may run at the
 *   same time on other workers, so keep state per worker (lifecycle worker_start). Host functions
 *   are for the calling worker, except log, complete, post and publish, which any thread may call.
 * Verdicts. ALLOW and DENY decide; NEXT passes to the next plugin (config order), then to the
 *   listener's default; PENDING promises exactly one host->complete(call, ...) later, from any
 *   thread (even before the hook has returned PENDING, e.g. from a fast thread of the plugin's).
 *   Only where the event's `call` is non-NULL may a hook answer PENDING. Message hooks differ:
 *   on_publish's ALLOW applies a rewrite and lets later plugins see it, only DENY ends the chain.
 * Errors. Host functions return ROOST_OK (0) or a negative ROOST_E*; one that fails never calls
 *   the callback it was given. roost_plugin_init() returns < 0 to refuse to load, after host->log
 *   says why.
 * Growth. v1 only grows by appending fields to the end of structs. Every struct starts with
 *   struct_size; test a field with ROOST_HAS() before reading one newer than your header: a host
 *   function that an older broker lacks is not there at all (reading it reads past the table).
 */
#ifndef ROOST_PLUGIN_H
#define ROOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "roost/reason_codes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ROOST_ABI_V1 1u

#if defined(__GNUC__) || defined(__clang__)
#define ROOST_EXPORT __attribute__((visibility("default")))
#else
#define ROOST_EXPORT
#endif

/* Was *ptr built with `field`? Check before reading a field newer than the oldest host or plugin
 * you support. */
#define ROOST_HAS(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Return codes of host functions. */
enum {
    ROOST_OK = 0,
    ROOST_EINVAL = -1,  /* an argument is wrong (NULL, out of range, wrong thread) */
    ROOST_ENOMEM = -2,  /* out of memory */
    ROOST_EGONE = -3,   /* the client or call is gone (disconnected, already completed, timed out) */
    ROOST_ENOTSUP = -4  /* not supported here (e.g. an MQTT 5 feature on a 3.1.1 client) */
};

/* Log levels for host->log. */
enum { ROOST_LOG_ERROR = 0, ROOST_LOG_WARNING = 1, ROOST_LOG_INFO = 2, ROOST_LOG_DEBUG = 3 };

typedef struct roost_plugin roost_plugin; /* this plugin, as the host knows it */
typedef struct roost_client roost_client; /* a client, borrowed for the length of one hook call */
typedef struct roost_call roost_call;     /* a decision the plugin promised to finish (PENDING) */
typedef struct roost_conn roost_conn;     /* a connection, as a transport sees it */

typedef struct roost_bytes {
    const uint8_t *data; /* never NUL-terminated; NULL with len 0 means empty or absent */
    size_t len;
} roost_bytes;

typedef struct roost_option { /* one key = value of the plugin's [[plugin]] table */
    const char *key;          /* NUL-terminated */
    const char *value;        /* NUL-terminated; numbers and booleans as their TOML text */
} roost_option;

typedef struct roost_user_property {
    roost_bytes key, value;
} roost_user_property;

typedef enum roost_verdict {
    ROOST_ALLOW = 0,  /* decided: yes */
    ROOST_DENY = 1,   /* decided: no; ev->reason_code goes on the wire (0 = the host's default) */
    ROOST_NEXT = 2,   /* not mine: ask the next plugin, then the listener's default */
    ROOST_PENDING = 3 /* I will call host->complete(ev->call, ...) exactly once, from any thread */
} roost_verdict;

/* ---- auth ------------------------------------------------------------------------------- */

typedef enum roost_auth_stage {
    ROOST_AUTH_CONNECT = 1,  /* CONNECT (with or without an MQTT 5 authentication method) */
    ROOST_AUTH_CONTINUE = 2, /* an AUTH 0x18 answering the broker's AUTH 0x18: a later step of the
                                CONNECT exchange or of a re-authentication */
    ROOST_AUTH_REAUTH = 3    /* an AUTH 0x19 on a connected client: a re-authentication begins */
} roost_auth_stage;

typedef struct roost_auth_event {
    uint32_t struct_size;
    roost_client *client;
    roost_call *call; /* always set: auth may answer PENDING */
    roost_auth_stage stage;
    uint8_t has_username, has_password; /* 1 when the CONNECT carried the field (it may be empty) */
    roost_bytes username, password;     /* empty for CONTINUE and REAUTH */
    roost_bytes method, data;           /* MQTT 5 Authentication Method and Data; empty otherwise */
    /* Out. With DENY: an MQTT 5 reason code (e.g. ROOST_RC_BAD_USERNAME_OR_PASSWORD); 0 = the
     * host's default (0x87 Not authorized). With ALLOW or NEXT it is ignored. */
    uint8_t reason_code;
    /* Out, MQTT 5 enhanced auth only: Authentication Data for the client, in the CONNACK (or
     * the AUTH 0x00 that ends a re-authentication), or with `more` in an AUTH 0x18. Copied when
     * the hook returns. */
    roost_bytes reply;
    /* Out: set to 1 with ALLOW during an enhanced exchange to ask for another round: the host
     * sends AUTH 0x18 with `reply` and calls continue_auth with the client's answer. A PENDING
     * answer asks for it with host->complete(call, ROOST_ALLOW, ROOST_RC_CONTINUE_AUTHENTICATION,
     * &reply). */
    uint8_t more;
} roost_auth_event;

typedef struct roost_auth_hooks {
    uint32_t struct_size;
    /* CONNECT: username/password, or the first step of an MQTT 5 enhanced method. */
    roost_verdict (*authenticate)(void *worker_data, roost_auth_event *ev);
    /* Every later step of an enhanced exchange, and re-authentication (stage tells which).
     * Called only on the plugin that answered the first step. */
    roost_verdict (*continue_auth)(void *worker_data, roost_auth_event *ev);
} roost_auth_hooks;

/* ---- acl -------------------------------------------------------------------------------- */

typedef enum roost_acl_action {
    ROOST_ACL_PUBLISH = 1,   /* a client publishes (call set: may be PENDING) */
    ROOST_ACL_SUBSCRIBE = 2, /* a client subscribes (call set: may be PENDING) */
    ROOST_ACL_DELIVER = 3    /* a message is about to go to a subscriber (call NULL: answer now) */
} roost_acl_action;

typedef struct roost_acl_event {
    uint32_t struct_size;
    roost_client *client;
    roost_call *call; /* NULL for DELIVER */
    roost_acl_action action;
    roost_bytes topic;   /* a filter for SUBSCRIBE (with any $share/group/ prefix), a topic otherwise */
    roost_bytes payload; /* empty for SUBSCRIBE */
    uint8_t qos, retain;
    uint8_t reason_code; /* out, with DENY; 0 = 0x87 Not authorized */
} roost_acl_event;

typedef struct roost_acl_hooks {
    uint32_t struct_size;
    roost_verdict (*check)(void *worker_data, roost_acl_event *ev);
} roost_acl_hooks;

/* ---- message ---------------------------------------------------------------------------- */

typedef struct roost_message_event {
    uint32_t struct_size;
    roost_client *client; /* the publisher; NULL for messages a plugin or the broker published */
    roost_bytes topic, payload;
    uint8_t qos, retain;
    /* Out, with DENY (drop): what a QoS 1/2 publisher is told. 0 tells it Success: the drop is
     * silent. Set e.g. ROOST_RC_QUOTA_EXCEEDED or ROOST_RC_NOT_AUTHORIZED to say it was refused. */
    uint8_t reason_code;
    const roost_user_property *user_properties;
    size_t user_property_count;
    roost_bytes content_type, response_topic, correlation_data; /* MQTT 5; empty when absent */
    /* Out, with ALLOW: what to route instead. A field left with data == NULL is unchanged;
     * set_user_properties = 1 replaces the user properties with new_user_properties. Copied
     * when the hook returns. */
    roost_bytes new_topic, new_payload;
    const roost_user_property *new_user_properties;
    size_t new_user_property_count;
    uint8_t set_user_properties;
} roost_message_event;

typedef struct roost_message_hooks {
    uint32_t struct_size;
    /* Before routing: ALLOW (maybe rewritten: later plugins see the rewrite), DENY (drop), NEXT. */
    roost_verdict (*on_publish)(void *worker_data, roost_message_event *ev);
    /* After routing, to `matched` sessions: the seam for bridges, audit, metrics. */
    void (*on_routed)(void *worker_data, const roost_message_event *ev, size_t matched);
} roost_message_hooks;

/* ---- persistence ------------------------------------------------------------------------ */
/* What must outlive the process. The host calls these as state changes, for sessions that
 * outlive their connection (expiry > 0) and for retained messages; a store hook answers ALLOW
 * (stored), PENDING (host->complete when durable: the broker holds the PUBACK or PUBREC of the
 * publish that caused message_store and delivery_save until then), DENY (failed; the host logs
 * it and goes on in memory) or NEXT. At start
 * the host calls restore() once, on the main thread, before any listener opens. Times are
 * milliseconds since the Unix epoch; 0 means none. */

typedef struct roost_stored_message {
    uint32_t struct_size;
    uint64_t id; /* the broker's message id: unique while the message is stored */
    roost_bytes topic, payload;
    uint8_t qos, retain;
    int64_t expires_at_ms; /* 0 = never */
    /* The MQTT 5 properties that travel with the message (payload format, content type,
     * response topic, correlation data, user properties) as an MQTT 5 property block, length
     * prefix included: store it as it is. */
    roost_bytes properties;
    roost_bytes origin_client_id;
} roost_stored_message;

typedef struct roost_session_record {
    uint32_t struct_size;
    roost_bytes client_id;
    uint32_t expiry_interval;      /* seconds; 0xFFFFFFFF = never */
    int64_t disconnected_at_ms;    /* 0 while a client is connected */
    uint8_t has_will;              /* a will waits for its delay or for the session's end */
    roost_stored_message will;     /* with has_will; will.id is 0 */
    int64_t will_due_ms;
} roost_session_record;

typedef struct roost_subscription_record {
    uint32_t struct_size;
    roost_bytes client_id, filter;
    uint8_t qos, no_local, retain_as_published, retain_handling;
    uint32_t subscription_id; /* 0 = none */
} roost_subscription_record;

typedef enum roost_delivery_state {
    ROOST_DELIVERY_QUEUED = 0,       /* waiting for the client or for room in its window */
    ROOST_DELIVERY_AWAIT_PUBACK = 1, /* QoS 1 sent */
    ROOST_DELIVERY_AWAIT_PUBREC = 2, /* QoS 2 sent */
    ROOST_DELIVERY_AWAIT_PUBCOMP = 3 /* QoS 2 PUBREL sent */
} roost_delivery_state;

typedef struct roost_delivery_record { /* one message on its way to one session */
    uint32_t struct_size;
    roost_bytes client_id;
    uint64_t message_id; /* a roost_stored_message stored before */
    uint64_t sequence;   /* orders a session's deliveries */
    uint16_t packet_id;  /* 0 while queued */
    uint8_t qos, retain;
    roost_delivery_state state;
    const uint32_t *subscription_ids;
    size_t subscription_id_count;
} roost_delivery_record;

/* Handed to restore(): the plugin calls these, in this order of kinds (messages before the
 * deliveries that name them), for everything it stored. Each returns ROOST_OK or an error. */
typedef struct roost_restore_sink {
    uint32_t struct_size;
    void *ctx;
    int (*message)(void *ctx, const roost_stored_message *m);
    int (*retained)(void *ctx, const roost_stored_message *m);
    int (*session)(void *ctx, const roost_session_record *s);
    int (*subscription)(void *ctx, const roost_subscription_record *s);
    int (*delivery)(void *ctx, const roost_delivery_record *d);
} roost_restore_sink;

typedef struct roost_persistence_hooks {
    uint32_t struct_size;
    int (*restore)(void *plugin_data, const roost_restore_sink *sink);
    roost_verdict (*session_save)(void *worker_data, roost_call *call, const roost_session_record *s);
    /* The session ended: drop it with its subscriptions and deliveries (no delivery_delete
     * follows); message_release follows for messages nothing else refers to. */
    roost_verdict (*session_delete)(void *worker_data, roost_call *call, roost_bytes client_id);
    roost_verdict (*subscription_save)(void *worker_data, roost_call *call, const roost_subscription_record *s);
    roost_verdict (*subscription_delete)(void *worker_data, roost_call *call, roost_bytes client_id,
                                         roost_bytes filter);
    roost_verdict (*message_store)(void *worker_data, roost_call *call, const roost_stored_message *m);
    /* No delivery refers to the message any more: drop it. */
    roost_verdict (*message_release)(void *worker_data, roost_call *call, uint64_t message_id);
    roost_verdict (*delivery_save)(void *worker_data, roost_call *call, const roost_delivery_record *d);
    roost_verdict (*delivery_delete)(void *worker_data, roost_call *call, roost_bytes client_id, uint64_t sequence);
    /* An empty payload clears the topic. */
    roost_verdict (*retained_set)(void *worker_data, roost_call *call, const roost_stored_message *m);
} roost_persistence_hooks;

/* ---- transport -------------------------------------------------------------------------- */
/* A byte filter over a connection the core owns (TCP, after TLS): wire bytes come up through
 * decode(), which hands MQTT bytes to host->conn_deliver(); MQTT bytes go down through encode(),
 * which hands wire bytes to host->conn_send(). A listener selects it with `transport = "name"`. */

typedef struct roost_transport_hooks {
    uint32_t struct_size;
    const char *name;       /* the `transport` value that selects it, e.g. "ws" */
    size_t conn_state_size; /* the host allocates this much per connection, zeroed, aligned for any type */
    /* A connection opened. Return ROOST_OK, or < 0 to refuse it (the host closes it). */
    int (*open)(void *worker_data, roost_conn *conn, void *state);
    /* Wire bytes arrived. Return ROOST_OK, or < 0 to close the connection (log why first). */
    int (*decode)(void *state, roost_conn *conn, roost_bytes wire);
    /* The broker sends MQTT bytes. Return ROOST_OK, or < 0 to close the connection. */
    int (*encode)(void *state, roost_conn *conn, roost_bytes mqtt);
    /* Once, iff open() returned ROOST_OK: release what `state` holds (the host frees `state`). */
    void (*close)(void *state, roost_conn *conn);
} roost_transport_hooks;

/* ---- lifecycle -------------------------------------------------------------------------- */

typedef struct roost_lifecycle_hooks {
    uint32_t struct_size;
    /* On each worker thread as it starts: *worker_data is what every later hook on that worker
     * gets (it starts as plugin_data). Return < 0 to stop the broker from starting. */
    int (*worker_start)(void *plugin_data, unsigned worker, void **worker_data);
    void (*worker_stop)(void *plugin_data, unsigned worker, void *worker_data);
    /* A client's CONNACK was sent with success / its connection closed (reason: the MQTT 5
     * code the broker sent or received, 0 for a normal DISCONNECT or a lost connection). */
    void (*on_connect)(void *worker_data, roost_client *client);
    void (*on_disconnect)(void *worker_data, roost_client *client, uint8_t reason_code);
    /* Once a second on every worker. */
    void (*tick)(void *worker_data);
} roost_lifecycle_hooks;

typedef enum roost_hook_kind {
    ROOST_HOOK_AUTH = 1,        /* const roost_auth_hooks * */
    ROOST_HOOK_ACL = 2,         /* const roost_acl_hooks * */
    ROOST_HOOK_MESSAGE = 3,     /* const roost_message_hooks * */
    ROOST_HOOK_TRANSPORT = 4,   /* const roost_transport_hooks * */
    ROOST_HOOK_PERSISTENCE = 5, /* const roost_persistence_hooks * */
    ROOST_HOOK_LIFECYCLE = 6    /* const roost_lifecycle_hooks * */
} roost_hook_kind;

/* Which fact about a client host->client_info reads. */
typedef enum roost_client_field {
    ROOST_CLIENT_ID = 1,
    ROOST_CLIENT_USERNAME = 2,
    ROOST_CLIENT_ADDRESS = 3,  /* "127.0.0.1:50000", "[::1]:50000" */
    ROOST_CLIENT_LISTENER = 4, /* the listener's "address:port" */
    ROOST_CLIENT_TRANSPORT = 5 /* "tcp", or the transport's name */
} roost_client_field;

typedef struct roost_host {
    uint32_t struct_size;
    uint32_t abi_version; /* what roost_plugin_version() chose */
    const char *broker_version; /* "0.1.0" */

    /* Registers a hook table (a `static const` table: the host keeps the pointer). In
     * roost_plugin_init() only. One table per kind per plugin. */
    int (*hook_register)(roost_plugin *self, roost_hook_kind kind, const void *hooks);
    /* Any thread. printf-style; the line is prefixed with the plugin's name. */
    void (*log)(roost_plugin *self, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Any thread, exactly once per PENDING. reason_code as in the event's out-field (for auth,
     * ROOST_ALLOW with ROOST_RC_CONTINUE_AUTHENTICATION stands for `more`); `reply` is auth's
     * out-field (may be NULL). ROOST_EGONE when the client left or the call timed out (the host
     * already answered it), ROOST_EINVAL for a second completion. */
    int (*complete)(roost_call *call, roost_verdict verdict, uint8_t reason_code, const roost_bytes *reply);
    /* Any thread: runs fn(arg) soon on `worker`'s thread. */
    int (*post)(roost_plugin *self, unsigned worker, void (*fn)(void *arg), void *arg);
    /* Any thread: publishes as the broker (message hooks see client == NULL). */
    int (*publish)(roost_plugin *self, roost_bytes topic, roost_bytes payload, uint8_t qos, uint8_t retain);
    /* A fact about the client (see roost_client_field) into *out, valid until the hook returns.
     * ROOST_EGONE when it has none (no username, say). */
    int (*client_info)(const roost_client *client, roost_client_field field, roost_bytes *out);
    /* 4 for MQTT 3.1.1, 5 for MQTT 5.0. */
    int (*client_protocol)(const roost_client *client);
    /* An attribute a transport set on the connection (e.g. "ws.header.origin"); EGONE if none. */
    int (*client_attribute)(const roost_client *client, const char *name, roost_bytes *out);
    /* Disconnects the client (MQTT 5: with a DISCONNECT carrying reason_code). */
    int (*disconnect)(roost_client *client, uint8_t reason_code);
    /* Transport hooks only: MQTT bytes up to the broker, wire bytes down to the socket. */
    int (*conn_deliver)(roost_conn *conn, roost_bytes mqtt);
    int (*conn_send)(roost_conn *conn, roost_bytes wire);
    /* Transport hooks only: an attribute auth and ACL hooks can read with client_attribute. */
    int (*conn_set_attribute)(roost_conn *conn, const char *name, roost_bytes value);
    /* Transport hooks only: closes the connection after what was sent is written. */
    int (*conn_close)(roost_conn *conn);
    /* Calls fn(arg) every `every_ms` on the calling worker until the broker stops. */
    int (*timer_start)(roost_plugin *self, uint64_t every_ms, void (*fn)(void *arg), void *arg);
    /* The calling thread's worker index, or (unsigned)-1 off the workers. */
    unsigned (*worker_index)(void);
    /* How many workers run. */
    unsigned (*worker_count)(void);
    /* "invalid argument" for ROOST_EINVAL, ... */
    const char *(*strerror)(int code);
    /* Appended in later releases only; test with ROOST_HAS(host, roost_host, member). */
} roost_host;

/* The three exports. */

/* Picks the ABI version the plugin speaks from `offered` (newest first); 0 refuses to load. */
ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t *offered, size_t count);
/* Once, on the main thread, before workers start: register hooks here and set *plugin_data.
 * `self` identifies the plugin in host calls for as long as it is loaded. On failure log why
 * with host->log and return < 0: the broker does not start. */
ROOST_EXPORT int roost_plugin_init(const roost_host *host, roost_plugin *self, const roost_option *options,
                                   size_t option_count, void **plugin_data);
/* Optional. Once, on the main thread, after every worker stopped; hooks are already gone. */
ROOST_EXPORT void roost_plugin_cleanup(void *plugin_data);

#ifdef __cplusplus
}
#endif
#endif /* ROOST_PLUGIN_H */
