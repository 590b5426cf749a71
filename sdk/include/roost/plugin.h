/* roost/plugin.h: the Roost plugin ABI, version 1. Plain C99; include it from C or C++.
 *
 * A plugin is a shared object that exports two functions, three or four with the optional ones
 * (at the end of this file), and, in roost_plugin_init(), registers typed hook tables with
 * host->hook_register(). The broker passes the plugin everything it may use in one table of
 * functions (roost_host): a plugin links against nothing of the broker. sdk/README.md is the
 * contract in prose; the rules in brief:
 *
 * Borrowed, not owned. Everything the host passes is valid until the hook returns; copy what you
 *   keep. Out-fields point at plugin memory that must stay valid until the hook returns; the host
 *   copies it then. No buffer ever changes owner, so there is nothing to free. A client you want
 *   to reach later is kept as a roost_client_ref (a number), never as the roost_client pointer.
 * Threads. A hook runs on the worker thread that owns the client; the same hook may run at the
 *   same time on other workers, so keep state per worker (lifecycle worker_start). Host functions
 *   that take a client or a conn are for that client's worker. Any thread may call: log,
 *   complete, complete_many, post, publish, client_ref_disconnect, strerror, worker_index and
 *   worker_count.
 * Verdicts. ALLOW and DENY decide; NEXT passes to the next plugin (config order), then to the
 *   listener's default; PENDING promises exactly one host->complete(call, ...) later, from any
 *   thread (even before the hook has returned PENDING, e.g. from a fast thread of the plugin's).
 *   Only where the event's `call` is non-NULL may a hook answer PENDING. Message hooks differ:
 *   on_publish's ALLOW applies a rewrite and lets later plugins see it, only DENY ends the chain.
 * Errors. Host functions return ROOST_OK (0) or a negative ROOST_E*; one that fails never calls
 *   the callback it was given. roost_plugin_init() returns < 0 to refuse to load, after host->log
 *   says why.
 * Fixed widths. Every value that crosses the ABI has a fixed-width type: the enums below only
 *   name values, the fields and parameters that carry them are int32_t or uint32_t typedefs, so
 *   -fshort-enums or another compiler cannot change a struct's layout.
 * Growth (the rules of v1 from its release on). v1 only grows by appending: fields at the end of
 *   structs, hook members at the end of hook tables, functions at the end of roost_host. Every
 *   struct the host hands out starts with struct_size: test a member newer than the oldest broker
 *   you support with ROOST_HAS() before reading it; a host function an older broker lacks is not
 *   there at all (reading it reads past the table). Hook tables you register also start with
 *   struct_size (fill it with sizeof): the host copies min(struct_size, its own size) bytes into a
 *   zeroed table, so a member your header lacks reads as NULL, an absent hook. Arrays of structs
 *   (roost_option, roost_user_property, roost_bytes) never grow: their stride is fixed.
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
    ROOST_EINVAL = -1, /* an argument is wrong (NULL, out of range, wrong thread), or a call was
                          completed a second time: a bug in the plugin */
    ROOST_ENOMEM = -2, /* out of memory */
    ROOST_EGONE = -3,  /* the client, connection, timer or call is gone (disconnected, timed out,
                          broker stopping): not the plugin's fault; free what you held, go on */
    ROOST_ENOTSUP = -4 /* not supported here (e.g. an MQTT 5 feature on a 3.1.1 client) */
};

/* Log levels for host->log. */
enum { ROOST_LOG_ERROR = 0, ROOST_LOG_WARNING = 1, ROOST_LOG_INFO = 2, ROOST_LOG_DEBUG = 3 };

typedef struct roost_plugin roost_plugin; /* this plugin, as the host knows it */
typedef struct roost_client roost_client; /* a client, borrowed for the length of one hook call */
typedef struct roost_call roost_call;     /* a decision the plugin promised to finish (PENDING): a
                                             number in a pointer, never dereferenced by the host */
typedef struct roost_conn roost_conn;     /* a connection, as a transport sees it (open to close) */

/* A client a plugin may keep past the hook: a number, never reused, that the host looks up (and
 * generation-checks) on every use. It costs nothing to hold and there is nothing to release; once
 * the client is gone every function taking it answers ROOST_EGONE. 0 is never a client. */
typedef uint64_t roost_client_ref;
/* A timer (host->timer_start, conn_timer_start): a number, never reused; 0 is never a timer. */
typedef uint64_t roost_timer;

typedef struct roost_bytes {
    const uint8_t *data; /* never NUL-terminated; NULL with len 0 means empty or absent */
    size_t len;
} roost_bytes;

/* One key = value of the plugin's [plugin.options] table, in file order. Values arrive as text:
 * strings with TOML's quotes and escapes undone, booleans "true"/"false", integers in decimal
 * however written (0x97 -> "151", 1_000 -> "1000"), floats in decimal with a point (1e3 ->
 * "1000.0"); the plugin parses them. Arrays, tables and date-times are refused by the config
 * loader. A relative file name arrives as written: the plugin resolves it (against the folder of
 * `file`, as `[[plugin]] path =` is, keeps a config working wherever roost starts). file:line let
 * an error name the exact line:
 *   host->log(self, ROOST_LOG_ERROR, "%s:%u: option %s = \"%s\": not a number", o->file, o->line, ...) */
typedef struct roost_option {
    const char *key;   /* NUL-terminated */
    const char *value; /* NUL-terminated */
    const char *file;  /* the config file the option is in, NUL-terminated ("" when none) */
    uint32_t line;     /* its line in `file` (1-based; 0 when unknown) */
} roost_option;

typedef struct roost_user_property {
    roost_bytes key, value;
} roost_user_property;

/* A hook's answer. */
typedef int32_t roost_verdict;
enum roost_verdict_value {
    ROOST_ALLOW = 0,  /* decided: yes */
    ROOST_DENY = 1,   /* decided: no; ev->reason_code goes on the wire (0 = the host's default) */
    ROOST_NEXT = 2,   /* not mine: ask the next plugin, then the listener's default */
    ROOST_PENDING = 3 /* I will call host->complete(ev->call, ...) exactly once, from any thread */
};

/* ---- auth ------------------------------------------------------------------------------- */

typedef uint32_t roost_auth_stage;
enum roost_auth_stage_value {
    ROOST_AUTH_CONNECT = 1,  /* CONNECT (with or without an MQTT 5 authentication method) */
    ROOST_AUTH_CONTINUE = 2, /* an AUTH 0x18 answering the broker's AUTH 0x18: a later step of the
                                CONNECT exchange or of a re-authentication */
    ROOST_AUTH_REAUTH = 3    /* an AUTH 0x19 on a connected client: a re-authentication begins */
};

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
    /* CONNECT: username/password, or the first step of an MQTT 5 enhanced method. A `method`
     * that every plugin answers NEXT for is refused with 0x8C Bad authentication method,
     * whatever the listener's auth_default. */
    roost_verdict (*authenticate)(void *worker_data, roost_auth_event *ev);
    /* Every later step of an enhanced exchange, and re-authentication (stage tells which).
     * Called only on the plugin that answered the first step. */
    roost_verdict (*continue_auth)(void *worker_data, roost_auth_event *ev);
} roost_auth_hooks;

/* ---- acl -------------------------------------------------------------------------------- */
/* Order: a PUBLISH is checked by the ACL hooks first; only a message they allow reaches the
 * message hooks (on_publish, then routing, then on_routed), and then a DELIVER check runs for
 * each subscriber it goes to. A SUBSCRIBE with several filters asks about all of them at once:
 * every filter's check is made before any answer is awaited, so PENDING answers for N filters
 * cost one round trip, not N; the SUBACK keeps the filters' order. A hook may call
 * host->disconnect on ev->client (or any client of its worker) from inside check: the client
 * stops being served and the check's answer is ignored for it. */

typedef uint32_t roost_acl_action;
enum roost_acl_action_value {
    ROOST_ACL_PUBLISH = 1,   /* a client publishes (call set: may be PENDING) */
    ROOST_ACL_SUBSCRIBE = 2, /* a client subscribes (call set: may be PENDING) */
    ROOST_ACL_DELIVER = 3    /* a message is about to go to a subscriber (call NULL: answer now) */
};

typedef struct roost_acl_event {
    uint32_t struct_size;
    roost_client *client; /* the one acting: publisher, subscriber; for DELIVER the subscriber */
    roost_call *call;     /* NULL for DELIVER */
    roost_acl_action action;
    roost_bytes topic;   /* a filter for SUBSCRIBE (with any $share/group/ prefix), a topic otherwise */
    roost_bytes payload; /* empty for SUBSCRIBE */
    uint8_t qos, retain;
    uint8_t reason_code; /* out, with DENY; 0 = 0x87 Not authorized */
    /* DELIVER: the client id of the message's publisher; empty for a message the broker or a
     * plugin published (a will carries its client's id). Empty for PUBLISH and SUBSCRIBE. */
    roost_bytes publisher_id;
    /* Appended after v1's release (test with ROOST_HAS(ev, roost_acl_event, cache_ms) before
     * writing it). Out, with ALLOW, DENY or NEXT answered now (not PENDING): for how many ms this
     * answer holds for the same client, action, topic, QoS and retain flag, whatever the payload
     * and publisher. The host then answers such checks itself, without calling check, until the
     * time is up or host->acl_cache_clear() forgets it: a publish-heavy client costs one compare
     * per check. 0 (the default) asks the host to call again every time. With several ACL
     * plugins the host keeps an answer only when every plugin it asked set cache_ms (the
     * shortest wins). Leave it 0 when the answer depends on the payload, the publisher, the time
     * or anything that can change without your calling acl_cache_clear(). */
    uint32_t cache_ms;
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
     * silent. Set e.g. ROOST_RC_QUOTA_EXCEEDED or ROOST_RC_NOT_AUTHORIZED to say it was refused
     * (MQTT 5; an MQTT 3.1.1 publisher gets a plain PUBACK/PUBREC either way). */
    uint8_t reason_code;
    const roost_user_property *user_properties;
    size_t user_property_count;
    roost_bytes content_type, response_topic, correlation_data; /* MQTT 5; empty when absent */
    /* Out, with ALLOW: what to route instead. A field left with data == NULL is unchanged (data
     * set with len 0 is empty: an empty payload); set_user_properties = 1 replaces the user
     * properties with new_user_properties (all of them: to add one, pass the event's
     * user_properties followed by yours). Copied when the hook returns. new_topic must be a
     * valid topic name (not empty, no + or #), and it and each new user property's key and
     * value MQTT strings (valid UTF-8 without U+0000, at most 65535 bytes): otherwise the message is dropped, the error
     * logged, and a QoS 1/2 publisher told 0x83. The rewritten topic is not checked by the
     * publish ACL again; DELIVER checks and subscribers see it. */
    roost_bytes new_topic, new_payload;
    const roost_user_property *new_user_properties;
    size_t new_user_property_count;
    uint8_t set_user_properties;
} roost_message_event;

typedef struct roost_message_hooks {
    uint32_t struct_size;
    /* Before routing, after the publish ACL allowed it: ALLOW (maybe rewritten: later plugins
     * see the rewrite), DENY (drop), NEXT. It answers now: the event has no call, so PENDING is
     * not an answer here (a decision that needs a slow lookup belongs in an ACL check, which
     * may answer PENDING). Runs for host->publish messages too (client NULL). */
    roost_verdict (*on_publish)(void *worker_data, roost_message_event *ev);
    /* After routing, to `matched` sessions: the seam for bridges, audit, metrics. */
    void (*on_routed)(void *worker_data, const roost_message_event *ev, size_t matched);
} roost_message_hooks;

/* ---- persistence ------------------------------------------------------------------------ */
/* What must outlive the process. The host calls these as state changes, for sessions that
 * outlive their connection (expiry > 0) and for retained messages; a store hook answers ALLOW
 * (stored), PENDING (host->complete when durable), DENY (failed) or NEXT. What PENDING holds back
 * until the plugin completes the call:
 *   message_store, delivery_save, incoming_qos2_save,  the PUBACK or PUBREC of the publish
 *   message_delivery_save (appended later), retained_set
 *   subscription_save                                  the SUBACK (a stored session's SUBSCRIBE)
 *   session_save                                       the CONNACK that creates a stored session
 *   incoming_qos2_delete                               the PUBCOMP that releases the id
 * (appended after v1's release; before, only the PUBACK/PUBREC waited for message_store and
 * delivery_save). A PENDING completed with DENY for a publish's stores makes its acknowledgement a
 * failure (MQTT 5:
 * the reason code given, e.g. 0x97 Quota exceeded for a full disk, else 0x80; MQTT 3.1.1
 * PUBACK/PUBREC carry no code, so the connection is closed instead and the client sends the
 * message again); for a SUBSCRIBE, that filter's SUBACK code is 0x80 (the subscription stays in
 * memory); elsewhere it is logged and the broker goes on in memory. A DENY answered at once is
 * logged only. A store that writes from a thread of its own completes a
 * whole committed batch with host->complete_many. A QoS 1 delivery that its connected subscriber
 * acknowledges within [broker] persist_delay_ms is never saved (nor deleted): its publisher's
 * PUBACK waits for the subscriber's instead (sdk/README.md, "Deliveries you may never see").
 * A session is stored when it outlives its connection: session_save at its CONNACK
 * (disconnected_at_ms 0) and again when the connection ends (disconnected_at_ms set); replace the
 * record by client_id. MQTT 3.1.1 clean-session-0 sessions arrive with expiry_interval =
 * [limits] max_session_expiry. session_delete comes when a stored (or restored) session ends for
 * good; still treat an unknown id as done (a failed save leaves none). Saves are upserts:
 * session_save by client_id, subscription_save by (client_id, filter) (a client that subscribes
 * again at each reconnect saves it again), delivery_save by (client_id, sequence) (the same
 * delivery is saved again when its state and packet_id change: queued, then sent, then,
 * for QoS 2, PUBREL sent). A session's records come from the worker that owns it now, and a
 * reconnect may land on another worker: never split one session's records by worker. At start
 * the host calls restore() once, on the main thread, after every plugin's init and before any
 * worker_start (it gets plugin_data) and before any listener opens. Times are milliseconds
 * since the Unix epoch; 0 means none. */

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
    uint32_t expiry_interval;   /* seconds; 0xFFFFFFFF = never */
    int64_t disconnected_at_ms; /* 0 while a client is connected */
    /* The will that waits for its delay or for the session's end; NULL when there is none.
     * A pointer, so that roost_stored_message may grow; will->id is 0. */
    const roost_stored_message *will;
    int64_t will_due_ms;
} roost_session_record;

typedef struct roost_subscription_record {
    uint32_t struct_size;
    roost_bytes client_id, filter;
    uint8_t qos, no_local, retain_as_published, retain_handling;
    uint32_t subscription_id; /* 0 = none */
} roost_subscription_record;

typedef uint32_t roost_delivery_state;
enum roost_delivery_state_value {
    ROOST_DELIVERY_QUEUED = 0,       /* waiting for the client or for room in its window */
    ROOST_DELIVERY_AWAIT_PUBACK = 1, /* QoS 1 sent */
    ROOST_DELIVERY_AWAIT_PUBREC = 2, /* QoS 2 sent */
    ROOST_DELIVERY_AWAIT_PUBCOMP = 3 /* QoS 2 PUBREL sent */
};

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

/* Handed to restore(): the plugin calls these for everything it stored, by kind: messages, then
 * sessions, then their subscriptions, deliveries and incoming QoS 2 ids (retained messages at any
 * point); deliveries in any order (each queue is sorted by sequence). Each returns ROOST_OK;
 * ROOST_EGONE for a record of a session (or a delivery of a message) not handed back before,
 * which is skipped; ROOST_EINVAL for a record it cannot take (a second session with one id, an
 * empty client id, properties that do not decode). restore() returns ROOST_OK, or < 0 after
 * logging why: the broker does not start (exit status 1). A restored message id is never reused
 * by a new message; restored sessions start offline. Each call copies the record before it returns
 * (the memory you pass is yours again). Call the sink only from inside restore(), on its thread:
 * it is gone once restore() returns. */
typedef struct roost_restore_sink {
    uint32_t struct_size;
    void *ctx;
    int (*message)(void *ctx, const roost_stored_message *m);
    int (*retained)(void *ctx, const roost_stored_message *m);
    int (*session)(void *ctx, const roost_session_record *s);
    int (*subscription)(void *ctx, const roost_subscription_record *s);
    int (*delivery)(void *ctx, const roost_delivery_record *d);
    /* Appended after v1's release (test with ROOST_HAS(sink, roost_restore_sink, incoming_qos2)),
     * after the sessions: a QoS 2 packet id the client sent, answered with PUBREC, and not yet
     * released by
     * its PUBREL (incoming_qos2_save). A PUBLISH the client sends again with that id is not
     * routed a second time. */
    int (*incoming_qos2)(void *ctx, roost_bytes client_id, uint16_t packet_id);
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
    /* Appended after v1's release (NULL in an older plugin's table: not stored). A client of a
     * stored session sent a QoS 2 PUBLISH with `packet_id`: the id awaits its PUBREL. Called with
     * the publish's
     * other stores; PENDING holds the PUBREC like theirs, so that after a crash a resend of the
     * PUBLISH is recognised and not routed twice (exactly once). */
    roost_verdict (*incoming_qos2_save)(void *worker_data, roost_call *call, roost_bytes client_id,
                                        uint16_t packet_id);
    /* Its PUBREL came: the id is free again. PENDING holds the PUBCOMP until the delete is
     * durable. */
    roost_verdict (*incoming_qos2_delete)(void *worker_data, roost_call *call, roost_bytes client_id,
                                          uint16_t packet_id);
    /* Appended after v1's release (NULL in an older plugin's table: the host calls message_store,
     * then delivery_save). The first stored delivery of message `m`: store the message and the
     * delivery `d` that names it, exactly as message_store followed by delivery_save would, in
     * one call. Its PENDING holds the PUBACK or PUBREC like theirs, until both are durable (or
     * undone: a message_release for `m` that comes before they were written means every
     * delivery of it is over). Saves one call per message. The host uses it only when every
     * persistence plugin has it. */
    roost_verdict (*message_delivery_save)(void *worker_data, roost_call *call, const roost_stored_message *m,
                                           const roost_delivery_record *d);
    /* Appended after message_delivery_save (NULL in an older plugin's table: the host calls
     * delivery_delete, then message_release when `release` is set). A delivery is over
     * (acknowledged, dropped, expired): drop the delivery (client_id, sequence) of message
     * `message_id`, and when `release` is non-zero the message too (it was the message's last
     * stored delivery), exactly as delivery_delete followed by message_release would, in one
     * call. Like them it holds nothing back: PENDING is waited for only to log a failure. Saves
     * one call per delivered message. The host uses it only when every persistence plugin has
     * it. */
    roost_verdict (*message_delivery_delete)(void *worker_data, roost_call *call, roost_bytes client_id,
                                             uint64_t sequence, uint64_t message_id, int release);
} roost_persistence_hooks;

/* ---- transport -------------------------------------------------------------------------- */
/* A byte filter over a connection the core owns (TCP, after TLS): wire bytes come up through
 * decode(), which hands MQTT bytes to host->conn_deliver(); MQTT bytes go down through encode(),
 * which hands wire bytes to host->conn_send(). A listener selects it with `transport = "name"`.
 * Every hook runs on the connection's worker. Backpressure: host->conn_backlog says how many wire
 * bytes wait unsent; conn_pause_reading/conn_resume_reading stop and restart decode() calls;
 * drained() says when the backlog reached 0. Timers tied to the connection (ping, close
 * handshake): host->conn_timer_start; they stop by themselves before close().
 *
 * Attributes the TLS layer sets on a TLS listener's connections (auth and ACL hooks read them with
 * client_attribute; there is no host call for a transport to read them):
 *   "tls.version"       e.g. "TLSv1.3"
 *   "tls.cipher"        e.g. "TLS_AES_256_GCM_SHA384"
 *   "tls.peer.subject"  the client certificate's subject, RFC 4514 ("CN=dev1,O=Acme")
 *   "tls.peer.issuer"   its issuer, RFC 4514
 *   "tls.peer.san"      its subject alternative names, comma-separated, each with its type:
 *                       "DNS:dev1.example.com,IP:10.0.0.7,URI:spiffe://acme/dev1,email:a@b.c"
 *   "tls.peer.serial"   its serial number, hex
 * They are set once the handshake is done, before the first MQTT byte; the "tls.peer.*" ones
 * only when the client sent a certificate, and "tls.peer.san" only
 * lists DNS, IP, URI and email names. A transport's own attributes start with its name
 * ("ws.header.origin", "ws.path"). */

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
    /* Once, iff open() returned ROOST_OK: release what `state` holds (the host frees `state`).
     * The connection's timers are already stopped. */
    void (*close)(void *state, roost_conn *conn);
    /* Optional. Once after each batch of encode() calls of one loop iteration, before the wire
     * bytes are written: a transport that buffers in encode() frames and sends here, so the
     * MQTT packets of one batch go out as one frame. Return < 0 to close the connection. */
    int (*flush)(void *state, roost_conn *conn);
    /* Optional. Every wire byte queued so far was written (conn_backlog is 0 again): e.g.
     * resume reading that was paused for backpressure. */
    void (*drained)(void *state, roost_conn *conn);
    /* Optional; appended after v1 was frozen (a host or plugin that lacks it is still v1: check
     * with ROOST_HAS(hooks, roost_transport_hooks, encode_prefix) or struct_size). For a
     * transport whose framing of a packet is only bytes put in front of it, like a WebSocket
     * server's binary frame (a header, no mask, nothing after). Write the prefix for one MQTT
     * packet of `len` bytes to `out` (at most `cap`, 16 or more) and return its length; the host
     * then queues that prefix and the packet itself, after every byte the transport sent so far,
     * instead of calling encode(). So a large payload goes to the socket without a copy per
     * connection, as it does over plain TCP. The host asks only for packets it holds by
     * reference (large payloads); the others still go through encode(). Return < 0 when this
     * packet must go through encode() (e.g. once a close frame was sent). A transport that
     * buffers in encode() must send (conn_send) what it holds before returning a prefix. The
     * flush() hook still runs after the batch. */
    int (*encode_prefix)(void *state, roost_conn *conn, size_t len, uint8_t *out, size_t cap);
} roost_transport_hooks;

/* ---- lifecycle -------------------------------------------------------------------------- */
/* What each client goes through, in this order, on its worker:
 *   auth hooks (authenticate, continue_auth)    CONNECT and its AUTH rounds
 *   on_connect                                  after a successful CONNACK was queued
 *   acl / message hooks                         while it publishes and subscribes
 *   on_disconnect                               iff on_connect ran: the connection ended
 *   client_release                              iff the plugin set client data: the last call
 *                                               that names the client, whatever the path
 * A CONNECT that auth refuses gets no on_connect and no on_disconnect; client_release still runs
 * for data set during auth. A takeover (a new CONNECT with a client id that is connected):
 *   1. the old connection gets DISCONNECT 0x8E Session taken over (MQTT 5; 3.1.1: the socket
 *      closes) and on_disconnect(old, 0x8E) runs, before anything is sent to the new one;
 *   2. the new connection gets its CONNACK, then on_connect(new);
 *   3. client_release(old) when the old socket is closed (after its DISCONNECT was written); it
 *      may come after on_connect(new). Old and new are different roost_client and refs.
 * A lost socket, a keep-alive timeout or a broker shutdown: on_disconnect (reason 0, or the code
 * sent, e.g. 0x8B Server shutting down), then client_release; every client is released before
 * worker_stop. */

typedef struct roost_lifecycle_hooks {
    uint32_t struct_size;
    /* On each worker thread as it starts: *worker_data is what every later hook on that worker
     * gets (it starts as plugin_data). Return < 0 to stop the broker from starting. */
    int (*worker_start)(void *plugin_data, uint32_t worker, void **worker_data);
    /* On each worker thread as it stops, after its last client was released. */
    void (*worker_stop)(void *plugin_data, uint32_t worker, void *worker_data);
    /* A client's CONNACK was sent with success / its connection closed (reason: the MQTT 5
     * code the broker sent or received, 0 for a normal DISCONNECT or a lost connection). */
    void (*on_connect)(void *worker_data, roost_client *client);
    void (*on_disconnect)(void *worker_data, roost_client *client, uint8_t reason_code);
    /* Once a second on every worker. */
    void (*tick)(void *worker_data);
    /* Exactly once for every client this plugin set non-NULL client data for (client_data_set),
     * with that data, when the client goes: refused CONNECT, takeover, lost socket, shutdown. The
     * client's facts are still readable; its data slot reads NULL afterwards. */
    void (*client_release)(void *worker_data, roost_client *client, void *client_data);
    /* SIGHUP: the broker re-read its config file; these are the plugin's options now (changed
     * or not), borrowed until the call returns. Once, on the main thread (the one init ran on,
     * which also runs worker 0), while the other workers go on: publish new settings to them
     * yourself (atomics, a lock, or host->post to each worker). Return ROOST_OK to take them, < 0 (after host->log says why)
     * to keep the old ones; roost_plugin_check, if exported, ran first and passed. */
    int (*reload)(void *plugin_data, const roost_option *options, size_t option_count);
} roost_lifecycle_hooks;

typedef uint32_t roost_hook_kind;
enum roost_hook_kind_value {
    ROOST_HOOK_AUTH = 1,        /* const roost_auth_hooks * */
    ROOST_HOOK_ACL = 2,         /* const roost_acl_hooks * */
    ROOST_HOOK_MESSAGE = 3,     /* const roost_message_hooks * */
    ROOST_HOOK_TRANSPORT = 4,   /* const roost_transport_hooks * */
    ROOST_HOOK_PERSISTENCE = 5, /* const roost_persistence_hooks * */
    ROOST_HOOK_LIFECYCLE = 6    /* const roost_lifecycle_hooks * */
};

/* Which fact about a client host->client_info (or about a connection conn_info) reads. */
typedef uint32_t roost_client_field;
enum roost_client_field_value {
    ROOST_CLIENT_ID = 1,       /* client_info only */
    ROOST_CLIENT_USERNAME = 2, /* client_info only */
    ROOST_CLIENT_ADDRESS = 3,  /* the peer: "127.0.0.1:50000", "[::1]:50000" */
    ROOST_CLIENT_LISTENER = 4, /* the listener's "address:port" */
    ROOST_CLIENT_TRANSPORT = 5 /* "tcp", or the transport's name */
};

typedef struct roost_host {
    uint32_t struct_size;
    uint32_t abi_version;       /* what roost_plugin_version() chose */
    const char *broker_version; /* "0.1.0" */

    /* Registers a hook table, in roost_plugin_init() only; one table per kind per plugin. The
     * host copies the table (min(struct_size, its size) bytes into a zeroed one: members your
     * header lacks read as NULL), so it may live on the stack. ROOST_EINVAL for a struct_size
     * smaller than the table's first member. */
    int (*hook_register)(roost_plugin *self, roost_hook_kind kind, const void *hooks);
    /* Any thread. printf-style; the line is prefixed "plugin 'name': ". */
    void (*log)(roost_plugin *self, int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Any thread, exactly once per PENDING. reason_code as in the event's out-field (for auth,
     * ROOST_ALLOW with ROOST_RC_CONTINUE_AUTHENTICATION stands for `more`); `reply` is auth's
     * out-field (may be NULL). ROOST_OK; ROOST_EGONE when the answer is no longer wanted (the
     * client left, the call timed out and the host answered it, the broker is stopping);
     * ROOST_EINVAL for a call never issued or completed a second time (logged: a plugin bug). */
    int (*complete)(roost_call *call, roost_verdict verdict, uint8_t reason_code, const roost_bytes *reply);
    /* Any thread: runs fn(arg) soon on `worker`'s thread. ROOST_EGONE while the workers do not
     * run (in roost_plugin_init, or a thread it started racing the start; once the broker
     * stops): fn does not run. ROOST_EINVAL for a worker >= worker_count(). */
    int (*post)(roost_plugin *self, uint32_t worker, void (*fn)(void *arg), void *arg);
    /* Any thread: publishes as the broker (message hooks see client == NULL). ROOST_EGONE while
     * the workers do not run (in roost_plugin_init, or a thread it started racing the start;
     * once the broker stops): nothing is published. Publish from worker_start on. ROOST_EINVAL
     * for an invalid topic name or qos > 2.
     * Queued, not done: the message is routed later, on the calling worker (from a thread of
     * the plugin's: on worker 0), after the calling hook returns, so a copy made in on_publish
     * reaches subscribers after the original. ROOST_OK means queued; nothing tells you when it
     * was delivered, and a crash before it is routed loses it. No publish ACL check runs (there
     * is no publishing client); every plugin's on_publish and on_routed run for it, yours too:
     * a rule that publishes to a topic it also matches loops. The message carries no MQTT 5
     * properties (user properties, content type, ...) and DELIVER checks see an empty
     * publisher_id. */
    int (*publish)(roost_plugin *self, roost_bytes topic, roost_bytes payload, uint8_t qos, uint8_t retain);
    /* A fact about the client (see roost_client_field) into *out, valid until the hook returns.
     * ROOST_EGONE when it has none (no username, say): here EGONE means absent, not an error. */
    int (*client_info)(const roost_client *client, roost_client_field field, roost_bytes *out);
    /* 4 for MQTT 3.1.1, 5 for MQTT 5.0. */
    int (*client_protocol)(const roost_client *client);
    /* An attribute the TLS layer or a transport set on the connection (e.g. "tls.peer.subject",
     * "ws.header.origin"; see the transport section); ROOST_EGONE if none (absent, not an error). */
    int (*client_attribute)(const roost_client *client, const char *name, roost_bytes *out);
    /* Disconnects the client (MQTT 5: with a DISCONNECT carrying reason_code), on its worker.
     * Safe from any hook, ACL checks included; the client's hooks stop (on_disconnect and
     * client_release follow). ROOST_EGONE when it is already closing. */
    int (*disconnect)(roost_client *client, uint8_t reason_code);
    /* Transport hooks only: MQTT bytes up to the broker, wire bytes down to the socket. */
    int (*conn_deliver)(roost_conn *conn, roost_bytes mqtt);
    int (*conn_send)(roost_conn *conn, roost_bytes wire);
    /* Transport hooks only: an attribute auth and ACL hooks can read with client_attribute. */
    int (*conn_set_attribute)(roost_conn *conn, const char *name, roost_bytes value);
    /* Transport hooks only: closes the connection after what was sent is written. */
    int (*conn_close)(roost_conn *conn);
    /* On a worker thread (a hook, worker_start, a timer, a posted fn): calls fn(arg) on this
     * worker after delay_ms, then every repeat_ms (0: once, a one-shot). *timer (may be NULL)
     * gets the id for timer_stop. Timers stop by themselves when the broker stops. ROOST_EINVAL
     * off the workers or with delay_ms and repeat_ms both 0. */
    int (*timer_start)(roost_plugin *self, uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void *arg),
                       void *arg, roost_timer *timer);
    /* Any thread: the calling thread's worker index, or (uint32_t)-1 off the workers. The main
     * thread is worker 0's: roost_plugin_init, restore and reload read 0 there, although no
     * worker runs yet during init and restore (timer_start answers EINVAL, post and publish
     * EGONE). */
    uint32_t (*worker_index)(void);
    /* Any thread: how many workers run (fixed for the broker's life). */
    uint32_t (*worker_count)(void);
    /* Any thread: "invalid argument" for ROOST_EINVAL, ... */
    const char *(*strerror)(int code);

    /* On the timer's worker (fn may stop its own timer): the timer fires no more.
     * ROOST_EGONE for a one-shot that fired, a timer stopped before or one whose connection
     * closed. */
    int (*timer_stop)(roost_timer timer);
    /* Transport hooks only: a timer as timer_start's, tied to `conn`: it stops by itself when
     * the connection closes (before the transport's close()). For ping and close-handshake
     * timeouts. */
    int (*conn_timer_start)(roost_conn *conn, uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void *arg),
                            void *arg, roost_timer *timer);
    /* Transport hooks only: wire bytes queued for the socket and not yet written (0 when the
     * connection is gone). */
    size_t (*conn_backlog)(const roost_conn *conn);
    /* Transport hooks only: stop / restart reading the socket (no decode() meanwhile). The
     * broker pauses reading too (a client waiting for a plugin's answer): the socket is read
     * only when neither the transport nor the broker holds it. */
    int (*conn_pause_reading)(roost_conn *conn);
    int (*conn_resume_reading)(roost_conn *conn);
    /* Transport hooks only: ROOST_CLIENT_ADDRESS (the peer), ROOST_CLIENT_LISTENER or
     * ROOST_CLIENT_TRANSPORT of the connection, valid until the hook returns. */
    int (*conn_info)(const roost_conn *conn, roost_client_field field, roost_bytes *out);
    /* On the client's worker: this plugin's pointer for this client (one slot per plugin and
     * client; it starts NULL). Setting non-NULL data promises the plugin a client_release
     * (lifecycle hooks) with it when the client goes; setting again replaces it (the old one is
     * yours). ROOST_EGONE once the client was released. */
    int (*client_data_set)(roost_plugin *self, roost_client *client, void *data);
    void *(*client_data_get)(roost_plugin *self, const roost_client *client);
    /* On the client's worker: a ref to the client that stays valid after the hook returns (see
     * roost_client_ref). The client lives on the worker host->worker_index() said when you took
     * it, for its whole life. 0 for a NULL client. */
    roost_client_ref (*client_ref)(const roost_client *client);
    /* On the ref's worker: the live client for `ref` in *client, borrowed until the calling
     * hook, timer or posted fn returns. ROOST_EGONE once the client is gone; ROOST_EINVAL on
     * another thread. */
    int (*client_from_ref)(roost_client_ref ref, roost_client **client);
    /* Any thread: disconnects the client of `ref` as disconnect() does, on its worker (posted
     * there from other threads). ROOST_OK when the client was there at the call;
     * ROOST_EGONE once it is gone. */
    int (*client_ref_disconnect)(roost_client_ref ref, uint8_t reason_code);
    /* Any thread: complete() for n calls with one verdict, e.g. every message_store of one
     * committed batch. Costs one lock and one wake-up per worker the calls belong to, not per
     * call: from a writer thread, completing 1000 calls is as cheap as completing a handful.
     * results (may be NULL) gets what complete() would have returned for each call. Returns
     * ROOST_OK when every call was taken, else the first error among the results. */
    int (*complete_many)(roost_call *const *calls, size_t n, roost_verdict verdict, uint8_t reason_code,
                         int *results);

    /* Appended after v1's release (test with ROOST_HAS(host, roost_host, conn_set_address)). */

    /* Transport hooks only: the client's real address, when the transport learnt it from the
     * protocol it carries (e.g. X-Forwarded-For or Forwarded from a proxy it trusts). From then
     * on ROOST_CLIENT_ADDRESS (client_info and conn_info) and the broker's log lines about the
     * client name this address; limits per address still count the socket's peer. Set it before
     * the client's CONNECT is delivered (auth hooks see it). Any text up to 255 bytes, written
     * as the host writes addresses ("203.0.113.7", "[2001:db8::1]:4711"); ROOST_EINVAL for an
     * empty or longer one, ROOST_EGONE once the connection is closing. */
    int (*conn_set_address)(roost_conn *conn, roost_bytes address);

    /* Appended after v1's release (test with ROOST_HAS(host, roost_host, acl_cache_clear)). */

    /* Forgets ACL answers the host kept because a check set cache_ms (roost_acl_event): those of
     * `client` (on its worker), or with client NULL those of every client (any thread; takes
     * effect at each worker's next check). Call it when the rules behind your answers change:
     * after a reload, when a client's rights change. ROOST_EINVAL for a client on another
     * thread. */
    int (*acl_cache_clear)(roost_plugin *self, roost_client *client);
    /* Appended in later releases only; test with ROOST_HAS(host, roost_host, member). */
} roost_host;

/* The exports. */

/* Required. Picks the ABI version the plugin speaks from `offered` (newest first); 0 refuses. */
ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t *offered, size_t count);
/* Optional. Checks the options and nothing else: no threads, no files opened for writing, no
 * hooks (hook_register answers ROOST_EINVAL here). `roost --check-config` calls it for every
 * plugin that exports it, and the broker calls it before init at start and before reload on
 * SIGHUP. Return ROOST_OK, or log why (name the option's file:line) and return < 0: the config is
 * refused (--check-config and a start exit with status 2). */
ROOST_EXPORT int roost_plugin_check(const roost_host *host, roost_plugin *self, const roost_option *options,
                                    size_t option_count);
/* Required. Once, on the main thread, before workers start: register hooks here and set
 * *plugin_data. `self` identifies the plugin in host calls for as long as it is loaded. On
 * failure log why with host->log and return < 0: the broker does not start (exit status 2 when
 * the reason is the options: return ROOST_EINVAL for those). A failed init gets no
 * roost_plugin_cleanup: free what it allocated, join threads it started, before returning. */
ROOST_EXPORT int roost_plugin_init(const roost_host *host, roost_plugin *self, const roost_option *options,
                                   size_t option_count, void **plugin_data);
/* Optional. Once, on the main thread, after every worker stopped; hooks are already gone. Runs
 * for every plugin whose init returned ROOST_OK, also when the broker then fails to start, in
 * reverse config order. */
ROOST_EXPORT void roost_plugin_cleanup(void *plugin_data);

#ifdef __cplusplus
}
#endif
#endif /* ROOST_PLUGIN_H */
