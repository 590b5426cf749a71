/* auth_tls_subject: allows a client by its TLS client certificate's subject, read through
 * host->client_attribute("tls.peer.subject") as an auth plugin written from the SDK would.
 *
 * Options:
 *   allow = "CN=dev1,O=Acme"   the RFC 4514 subject that is ALLOWed; any other subject, and a
 *                              connection with no client certificate, is DENY 0x87 (Not authorized).
 * Logs one line per decision with the subject and the "tls.version" attribute. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char allow[256];
} state;

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    state* s = (state*)worker_data;
    char id[128], subject[256], version[32];
    roost_bytes value = {NULL, 0};
    fx_client_id(s->host, ev->client, id, sizeof id);
    if (s->host->client_attribute(ev->client, "tls.version", &value) == ROOST_OK)
        fx_cstr(value, version, sizeof version);
    else
        snprintf(version, sizeof version, "none");
    if (s->host->client_attribute(ev->client, "tls.peer.subject", &value) != ROOST_OK) {
        s->host->log(s->self, ROOST_LOG_INFO,
                     "fixture: client %s tls=%s has no certificate subject: DENY 0x87", id, version);
        ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
        return ROOST_DENY;
    }
    fx_cstr(value, subject, sizeof subject);
    if (!fx_equals(value, s->allow)) {
        s->host->log(s->self, ROOST_LOG_INFO, "fixture: client %s tls=%s subject '%s': DENY 0x87", id,
                     version, subject);
        ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
        return ROOST_DENY;
    }
    s->host->log(s->self, ROOST_LOG_INFO, "fixture: client %s tls=%s subject '%s': ALLOW", id, version,
                 subject);
    return ROOST_ALLOW;
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->allow, sizeof s->allow, "%s", fx_option(options, option_count, "allow", ""));
    *plugin_data = s;
    return host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    free(plugin_data);
}
