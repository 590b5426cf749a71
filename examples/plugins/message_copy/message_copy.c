/* message_copy: copy every message under one topic prefix to another, drop a private subtree.
 *
 * Options:
 *   from = "in/"             copy messages whose topic starts with this ...
 *   to   = "out/"            ... to the same topic with this prefix instead (required, both)
 *   drop = "in/private/"     drop messages under this prefix (optional; checked first)
 *   drop_reason = 135        what an MQTT 5 QoS 1/2 publisher of a dropped message is told
 *                            (0 = Success: a silent drop; default 135, 0x87 Not authorized)
 *
 * Two message hooks:
 *   on_publish  DENY for `drop`, NEXT otherwise (a drop must be decided now: message hooks
 *               cannot answer PENDING);
 *   on_routed   for a message under `from` that routing accepted, host->publish of a copy under
 *               `to`. host->publish only queues the copy: it is routed after this hook returns,
 *               so subscribers get the original first. The copy passes through every plugin's
 *               message hooks again (this one's too, with ev->client NULL): `to` may not lie
 *               under `from`, or each copy would be copied again, forever. It carries topic,
 *               payload, QoS and retain, not the MQTT 5 properties.
 * The state is read-only after init, so the hooks need no lock on any worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roost/plugin.h>

typedef struct copy_plugin {
    const roost_host* host;
    roost_plugin* self;
    char *from, *to, *drop; /* NUL-terminated copies of the options; drop may be NULL */
    uint8_t drop_reason;
} copy_plugin;

static int has_prefix(roost_bytes topic, const char* prefix) {
    size_t n = strlen(prefix);
    return topic.len >= n && memcmp(topic.data, prefix, n) == 0;
}

static roost_verdict on_publish(void* worker_data, roost_message_event* ev) {
    const copy_plugin* p = (const copy_plugin*)worker_data;
    if (p->drop && has_prefix(ev->topic, p->drop)) {
        p->host->log(p->self, ROOST_LOG_INFO, "dropped a message on '%.*s'", (int)ev->topic.len,
                     (const char*)ev->topic.data);
        ev->reason_code = p->drop_reason;
        return ROOST_DENY;
    }
    return ROOST_NEXT; /* not mine: the next plugin sees it unchanged */
}

static void on_routed(void* worker_data, const roost_message_event* ev, size_t matched) {
    const copy_plugin* p = (const copy_plugin*)worker_data;
    size_t from_len = strlen(p->from), to_len = strlen(p->to);
    char topic[1024];
    roost_bytes copy_topic;
    int rc;
    (void)matched; /* copied even when nobody subscribes to the original */
    if (!has_prefix(ev->topic, p->from)) return;
    if (to_len + ev->topic.len - from_len > sizeof topic) {
        p->host->log(p->self, ROOST_LOG_WARNING, "'%.*s': the copy's topic would be too long",
                     (int)ev->topic.len, (const char*)ev->topic.data);
        return;
    }
    /* The event is borrowed: build the copy's topic in our memory; publish copies it and the
     * payload before it returns. */
    memcpy(topic, p->to, to_len);
    memcpy(topic + to_len, ev->topic.data + from_len, ev->topic.len - from_len);
    copy_topic.data = (const uint8_t*)topic;
    copy_topic.len = to_len + ev->topic.len - from_len;
    rc = p->host->publish(p->self, copy_topic, ev->payload, ev->qos, ev->retain);
    if (rc != ROOST_OK) /* EGONE: the broker is stopping; EINVAL: `to` made an invalid topic */
        p->host->log(p->self, ROOST_LOG_WARNING, "copy to '%.*s' not published: %s", (int)copy_topic.len,
                     topic, p->host->strerror(rc));
}

static void free_plugin(copy_plugin* p) {
    free(p->from);
    free(p->to);
    free(p->drop);
    free(p);
}

static char* copy_string(const char* s) {
    char* r = (char*)malloc(strlen(s) + 1);
    if (r) strcpy(r, s);
    return r;
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; ++i)
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    return 0;
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    roost_message_hooks hooks;
    copy_plugin* p = (copy_plugin*)calloc(1, sizeof *p);
    size_t i;
    int rc;
    if (!p) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    p->drop_reason = ROOST_RC_NOT_AUTHORIZED;
    for (i = 0; i < option_count; ++i) {
        const roost_option* o = &options[i];
        char** slot = strcmp(o->key, "from") == 0   ? &p->from
                      : strcmp(o->key, "to") == 0   ? &p->to
                      : strcmp(o->key, "drop") == 0 ? &p->drop
                                                    : NULL;
        if (slot) {
            free(*slot);
            if (!(*slot = copy_string(o->value))) {
                free_plugin(p);
                return ROOST_ENOMEM;
            }
        } else if (strcmp(o->key, "drop_reason") == 0) {
            char* end;
            long v = strtol(o->value, &end, 10);
            if (*end != '\0' || end == o->value || (v != 0 && (v < 128 || v > 255))) {
                host->log(self, ROOST_LOG_ERROR, "%s:%u: option drop_reason = \"%s\": 0 or 128 to 255",
                          o->file, o->line, o->value);
                free_plugin(p);
                return ROOST_EINVAL;
            }
            p->drop_reason = (uint8_t)v;
        } else {
            host->log(self, ROOST_LOG_ERROR, "%s:%u: unknown option %s", o->file, o->line, o->key);
            free_plugin(p);
            return ROOST_EINVAL;
        }
    }
    if (!p->from || !p->to || !*p->from || !*p->to) {
        host->log(self, ROOST_LOG_ERROR, "options from and to are required, and not empty");
        free_plugin(p);
        return ROOST_EINVAL;
    }
    if (strncmp(p->to, p->from, strlen(p->from)) == 0) {
        /* Each copy would match `from` again and be copied again: refuse the loop up front. */
        host->log(self, ROOST_LOG_ERROR,
                  "to = \"%s\" lies under from = \"%s\": copies would be copied forever", p->to, p->from);
        free_plugin(p);
        return ROOST_EINVAL;
    }

    memset(&hooks, 0, sizeof hooks); /* members by name: the table may grow in a later release */
    hooks.struct_size = sizeof hooks;
    hooks.on_publish = on_publish;
    hooks.on_routed = on_routed;
    rc = host->hook_register(self, ROOST_HOOK_MESSAGE, &hooks);
    if (rc != ROOST_OK) {
        free_plugin(p);
        return rc;
    }
    host->log(self, ROOST_LOG_INFO, "copies '%s...' to '%s...'%s%s", p->from, p->to,
              p->drop ? ", drops " : "", p->drop ? p->drop : "");
    *plugin_data = p;
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free_plugin((copy_plugin*)plugin_data);
}
