/* auth_table: username/password authentication from a table in the options.
 *
 * Options:
 *   users = "alice:secret,bob:hunter2,xavier:pw@xor.key"
 *     A wrong password is DENY 0x86 (Bad user name or password); a user not in the table, or a
 *     CONNECT without a username, is NEXT (the next plugin, then the listener's auth_default).
 *     "@attr" after a password also requires the connection attribute `attr` (set by a transport,
 *     read with host->client_attribute): without it the user is DENY 0x87 (Not authorized).
 * Logs one line per decision, with the client's transport (host->client_info). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

#define MAX_USERS 32

typedef struct user {
    char name[64], password[64], attribute[64];
} user;

typedef struct table {
    const roost_host* host;
    roost_plugin* self;
    user users[MAX_USERS];
    size_t count;
} table;

static void parse_users(table* t, const char* spec) {
    const char* p = spec;
    while (*p && t->count < MAX_USERS) {
        const char* end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char entry[200];
        char *colon, *at;
        user* u = &t->users[t->count];
        if (len >= sizeof entry) len = sizeof entry - 1;
        memcpy(entry, p, len);
        entry[len] = '\0';
        colon = strchr(entry, ':');
        if (colon) {
            *colon = '\0';
            at = strchr(colon + 1, '@');
            if (at) {
                *at = '\0';
                snprintf(u->attribute, sizeof u->attribute, "%s", at + 1);
            }
            snprintf(u->name, sizeof u->name, "%s", entry);
            snprintf(u->password, sizeof u->password, "%s", colon + 1);
            t->count++;
        }
        if (!end) break;
        p = end + 1;
    }
}

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    table* t = (table*)worker_data;
    char name[64], id[128], transport[64], value[128];
    roost_bytes tr = {NULL, 0};
    size_t i;
    fx_client_id(t->host, ev->client, id, sizeof id);
    if (t->host->client_info(ev->client, ROOST_CLIENT_TRANSPORT, &tr) == ROOST_OK)
        fx_cstr(tr, transport, sizeof transport);
    else
        snprintf(transport, sizeof transport, "?");
    if (!ev->has_username) {
        t->host->log(t->self, ROOST_LOG_INFO, "fixture: client %s has no username: NEXT", id);
        return ROOST_NEXT;
    }
    fx_cstr(ev->username, name, sizeof name);
    for (i = 0; i < t->count; i++) {
        user* u = &t->users[i];
        if (!fx_equals(ev->username, u->name)) continue;
        if (!ev->has_password || !fx_equals(ev->password, u->password)) {
            t->host->log(t->self, ROOST_LOG_INFO, "fixture: user %s client %s wrong password: DENY 0x86",
                         name, id);
            ev->reason_code = ROOST_RC_BAD_USERNAME_OR_PASSWORD;
            return ROOST_DENY;
        }
        if (u->attribute[0]) {
            roost_bytes attr = {NULL, 0};
            if (t->host->client_attribute(ev->client, u->attribute, &attr) != ROOST_OK) {
                t->host->log(t->self, ROOST_LOG_INFO,
                             "fixture: user %s client %s transport=%s lacks attribute %s: DENY 0x87", name,
                             id, transport, u->attribute);
                ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
                return ROOST_DENY;
            }
            t->host->log(t->self, ROOST_LOG_INFO, "fixture: user %s client %s attribute %s=%s", name, id,
                         u->attribute, fx_cstr(attr, value, sizeof value));
        }
        t->host->log(t->self, ROOST_LOG_INFO, "fixture: user %s client %s transport=%s: ALLOW", name, id,
                     transport);
        return ROOST_ALLOW;
    }
    t->host->log(t->self, ROOST_LOG_INFO, "fixture: unknown user %s client %s: NEXT", name, id);
    return ROOST_NEXT;
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    table* t = (table*)calloc(1, sizeof *t);
    if (!t) return ROOST_ENOMEM;
    t->host = host;
    t->self = self;
    parse_users(t, fx_option(options, option_count, "users", ""));
    host->log(self, ROOST_LOG_INFO, "fixture: %u users", (unsigned)t->count);
    *plugin_data = t;
    return host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
