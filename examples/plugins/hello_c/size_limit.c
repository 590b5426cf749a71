/* size_limit: a Roost plugin in C99 that drops publishes larger than a limit, per topic prefix.
 *
 * Options (all optional; sizes in bytes of payload, 0 = no limit):
 *   max_bytes   = 1024      the limit for topics no prefix below matches (default 0: none)
 *   "sensors/"  = 256       any other key is a topic prefix with its own limit; the longest
 *   "logs/"     = 65536     matching prefix wins
 *   reason_code = 151       what an MQTT 5 QoS 1/2 publisher is told: 0x97 (151) Quota
 *                           exceeded by default; 0x87 (135) Not authorized is the other usual one
 *
 * It registers one message hook, on_publish: it answers DENY (drop, with the reason code) for a
 * payload over the limit and NEXT otherwise, so later plugins still see every message it lets
 * through. Its state is read-only after init, so the hook needs no lock on any worker.
 *
 * It exports roost_plugin_check too, so `roost --check-config` refuses a bad option (say
 * max_bytes = "abc") and names the file:line it is on, instead of the broker failing at start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <roost/plugin.h>

typedef struct limit {
    char* prefix; /* NUL-terminated copy of the option key: options are borrowed */
    size_t prefix_len;
    unsigned long long max_bytes; /* 0 = no limit */
} limit;

typedef struct size_limit {
    const roost_host* host;
    roost_plugin* self;
    unsigned long long default_max; /* for topics no prefix matches; 0 = no limit */
    uint8_t reason_code;
    limit* limits;
    size_t limit_count;
} size_limit;

static int parse_number(const char* text, unsigned long long* out) {
    char* end = NULL;
    errno = 0;
    if (text[0] == '-' || text[0] == '\0') return -1;
    *out = strtoull(text, &end, 0);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/* The limit for `topic`: the longest matching prefix's, else max_bytes. */
static const limit* find_limit(const size_limit* p, roost_bytes topic) {
    const limit* best = NULL;
    size_t i;
    for (i = 0; i < p->limit_count; ++i) {
        const limit* l = &p->limits[i];
        if (l->prefix_len <= topic.len && memcmp(topic.data, l->prefix, l->prefix_len) == 0 &&
            (best == NULL || l->prefix_len > best->prefix_len)) {
            best = l;
        }
    }
    return best;
}

static roost_verdict on_publish(void* worker_data, roost_message_event* ev) {
    const size_limit* p = (const size_limit*)worker_data;
    const limit* l = find_limit(p, ev->topic);
    unsigned long long max = l ? l->max_bytes : p->default_max;
    roost_bytes id = {NULL, 0};

    if (max == 0 || ev->payload.len <= max) return ROOST_NEXT;
    /* client is NULL for a message another plugin published. */
    if (ev->client) p->host->client_info(ev->client, ROOST_CLIENT_ID, &id);
    p->host->log(p->self, ROOST_LOG_INFO,
                 "dropped %zu-byte publish to '%.*s' from '%.*s': limit %llu (%s%s%s)", ev->payload.len,
                 (int)ev->topic.len, (const char*)ev->topic.data, (int)id.len,
                 id.len ? (const char*)id.data : "", max, l ? "prefix '" : "max_bytes", l ? l->prefix : "",
                 l ? "'" : "");
    ev->reason_code = p->reason_code;
    return ROOST_DENY;
}

/* Members by name: a hook table that grows in a later release still compiles without warnings. */
static const roost_message_hooks message_hooks = {.struct_size = sizeof(roost_message_hooks),
                                                  .on_publish = on_publish};

static void destroy(size_limit* p) {
    size_t i;
    if (p == NULL) return;
    for (i = 0; i < p->limit_count; ++i)
        free(p->limits[i].prefix);
    free(p->limits);
    free(p);
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    size_t i;
    for (i = 0; i < count; ++i) {
        if (offered[i] == ROOST_ABI_V1) return ROOST_ABI_V1;
    }
    return 0;
}

/* Reads the options into p, or only checks them when p is NULL (roost_plugin_check). Every error
 * names the option's file:line, which roost_option carries. */
static int read_options(const roost_host* host, roost_plugin* self, const roost_option* options,
                        size_t option_count, size_limit* p) {
    size_t i;
    for (i = 0; i < option_count; ++i) {
        const roost_option* o = &options[i];
        unsigned long long n;
        if (parse_number(o->value, &n) != 0) {
            host->log(self, ROOST_LOG_ERROR, "%s:%u: option %s = \"%s\": expected a number of bytes", o->file,
                      (unsigned)o->line, o->key, o->value);
            return ROOST_EINVAL;
        }
        if (strcmp(o->key, "reason_code") == 0 && (n < 0x80 || n > 0xFF)) {
            host->log(self, ROOST_LOG_ERROR,
                      "%s:%u: option reason_code = %s: an MQTT 5 error code is 128 to 255", o->file,
                      (unsigned)o->line, o->value);
            return ROOST_EINVAL;
        }
        if (p == NULL) continue;
        if (strcmp(o->key, "max_bytes") == 0) {
            p->default_max = n;
        } else if (strcmp(o->key, "reason_code") == 0) {
            p->reason_code = (uint8_t)n;
        } else {
            limit* l = &p->limits[p->limit_count];
            l->prefix_len = strlen(o->key);
            l->prefix = (char*)malloc(l->prefix_len + 1);
            if (l->prefix == NULL) return ROOST_ENOMEM;
            memcpy(l->prefix, o->key, l->prefix_len + 1);
            l->max_bytes = n;
            p->limit_count++;
        }
    }
    return ROOST_OK;
}

ROOST_EXPORT int roost_plugin_check(const roost_host* host, roost_plugin* self, const roost_option* options,
                                    size_t option_count) {
    return read_options(host, self, options, option_count, NULL);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    size_limit* p = (size_limit*)calloc(1, sizeof *p);
    int rc;

    if (p == NULL) return ROOST_ENOMEM;
    p->host = host;
    p->self = self;
    p->reason_code = ROOST_RC_QUOTA_EXCEEDED;
    p->limits = (limit*)calloc(option_count ? option_count : 1, sizeof *p->limits);
    if (p->limits == NULL) {
        destroy(p);
        return ROOST_ENOMEM;
    }
    if ((rc = read_options(host, self, options, option_count, p)) != ROOST_OK) {
        destroy(p);
        return rc;
    }
    rc = host->hook_register(self, ROOST_HOOK_MESSAGE, &message_hooks);
    if (rc != ROOST_OK) {
        host->log(self, ROOST_LOG_ERROR, "hook_register: %s", host->strerror(rc));
        destroy(p);
        return rc;
    }
    host->log(self, ROOST_LOG_INFO, "max_bytes %llu, %zu topic prefix limit(s), reason code 0x%02x",
              p->default_max, p->limit_count, p->reason_code);
    *plugin_data = p;
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    destroy((size_limit*)plugin_data);
}
