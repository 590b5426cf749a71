/* message_rewrite: rewrites, drops and counts messages.
 *
 * Options:
 *   from = "in/", to = "out/"   a topic starting with `from` is routed as `to` + the rest, with
 *                               the user property rewritten-by=message_rewrite appended to the
 *                               publisher's own user properties
 *   drop = "drop/me"            this exact topic is dropped: DENY with `drop_reason`
 *   drop_reason = 0x83          what a QoS 1/2 (MQTT 5) publisher is told
 * on_routed logs every routed message with the sessions it matched and a running count, and
 * whether a client published it ("client=<id>") or the broker/a plugin did ("client=none"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

#define MAX_PROPS 32

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char from[128], to[128], drop[128];
    uint8_t drop_reason;
    pthread_mutex_t mutex;
    unsigned long routed;
} state;

static const char kPropKey[] = "rewritten-by";
static const char kPropValue[] = "message_rewrite";
static const char kNulValue[] = {'a', '\0', 'b'};
static const char kBadUtf8Key[] = {'k', (char)0xC3, (char)0x28};
static char s_long_value[65536]; /* 'x's (filled at init): one byte more than an MQTT string holds */

static roost_verdict on_publish(void* worker_data, roost_message_event* ev) {
    state* s = (state*)worker_data;
    char topic[512], new_topic[512], id[128];
    /* Out-fields must stay valid until this function returns; locals do. */
    roost_user_property props[MAX_PROPS + 1];
    size_t n = 0, i;
    fx_cstr(ev->topic, topic, sizeof topic);
    fx_client_id(s->host, ev->client, id, sizeof id);
    if (fx_equals(ev->topic, s->drop)) {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: dropping %s from %s: DENY 0x%02x", topic, id,
                     (unsigned)s->drop_reason);
        ev->reason_code = s->drop_reason;
        return ROOST_DENY;
    }
    if (!fx_starts_with(ev->topic, s->from)) return ROOST_NEXT;
    snprintf(new_topic, sizeof new_topic, "%s%s", s->to, topic + strlen(s->from));
    for (i = 0; i < ev->user_property_count && n < MAX_PROPS; i++)
        props[n++] = ev->user_properties[i];
    props[n].key = fx_bytes(kPropKey);
    props[n].value = fx_bytes(kPropValue);
    /* Topics ending in /nul or /badutf8 get a property no MQTT string may carry: the host must
     * refuse the rewrite. */
    if (fx_ends_with(ev->topic, "/nul")) {
        props[n].value.data = (const uint8_t*)kNulValue;
        props[n].value.len = sizeof kNulValue;
    } else if (fx_ends_with(ev->topic, "/badutf8")) {
        props[n].key.data = (const uint8_t*)kBadUtf8Key;
        props[n].key.len = sizeof kBadUtf8Key;
    } else if (fx_ends_with(ev->topic, "/long")) {
        props[n].value.data = (const uint8_t*)s_long_value;
        props[n].value.len = sizeof s_long_value;
    }
    n++;
    ev->new_topic = fx_bytes(new_topic);
    ev->new_user_properties = props;
    ev->new_user_property_count = n;
    ev->set_user_properties = 1;
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: rewriting %s to %s (%u user properties)", topic,
                 new_topic, (unsigned)n);
    return ROOST_ALLOW;
}

static void on_routed(void* worker_data, const roost_message_event* ev, size_t matched) {
    state* s = (state*)worker_data;
    char topic[512], id[128];
    unsigned long count;
    pthread_mutex_lock(&s->mutex);
    count = ++s->routed;
    pthread_mutex_unlock(&s->mutex);
    if (ev->client)
        fx_client_id(s->host, ev->client, id, sizeof id);
    else
        snprintf(id, sizeof id, "none");
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: routed %s client=%s matched=%u count=%lu",
                 fx_cstr(ev->topic, topic, sizeof topic), id, (unsigned)matched, count);
}

static const roost_message_hooks message_hooks = {sizeof(roost_message_hooks), on_publish, on_routed};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    memset(s_long_value, 'x', sizeof s_long_value);
    snprintf(s->from, sizeof s->from, "%s", fx_option(options, option_count, "from", "in/"));
    snprintf(s->to, sizeof s->to, "%s", fx_option(options, option_count, "to", "out/"));
    snprintf(s->drop, sizeof s->drop, "%s", fx_option(options, option_count, "drop", "drop/me"));
    s->drop_reason =
        (uint8_t)fx_option_long(options, option_count, "drop_reason", ROOST_RC_IMPLEMENTATION_SPECIFIC_ERROR);
    pthread_mutex_init(&s->mutex, NULL);
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_MESSAGE, &message_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    fprintf(stderr, "message_rewrite fixture: cleanup after %lu routed messages\n", s->routed);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
