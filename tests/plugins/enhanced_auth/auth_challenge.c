/* auth_challenge: an MQTT 5 enhanced authentication method (spec 4.12) in two rounds.
 *
 * Options:
 *   method = "ROOST-CHALLENGE"   the Authentication Method it answers for
 *
 * CONNECT exchange:
 *   CONNECT  data "hello"     -> ALLOW more=1, reply "nonce-1" (the host sends AUTH 0x18)
 *   CONTINUE data "answer-1"  -> ALLOW, reply "welcome" (in the CONNACK)
 * Re-authentication (AUTH 0x19 is stage REAUTH, the client's AUTH 0x18 answers are CONTINUE):
 *   REAUTH   data "hello"     -> ALLOW more=1, reply "nonce-2" (AUTH 0x18)
 *   CONTINUE data "answer-2"  -> ALLOW, reply "welcome-back" (AUTH 0x00), only after "nonce-2"
 * Any other data is DENY 0x87 (Not authorized), logged with the reason. A CONNECT with another
 * method, or with none, is NEXT.
 *
 * A CONTINUE does not say which exchange it continues, so the plugin remembers per client id
 * which clients it sent "nonce-2" (cleared on disconnect through the lifecycle hook). Every
 * line says the stage number it saw ("stage=2" is CONTINUE, "stage=3" REAUTH). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

#define MAX_PENDING 64

typedef struct challenge {
    const roost_host* host;
    roost_plugin* self;
    char method[128];
    /* Clients sent "nonce-2" and not yet answered (any worker may ask: hence the mutex). */
    pthread_mutex_t mutex;
    char reauth_pending[MAX_PENDING][128];
} challenge;

static const char* stage_name(roost_auth_stage s) {
    switch (s) {
        case ROOST_AUTH_CONNECT:
            return "CONNECT";
        case ROOST_AUTH_CONTINUE:
            return "CONTINUE";
        case ROOST_AUTH_REAUTH:
            return "REAUTH";
    }
    return "?";
}

/* Marks (set = 1) or clears (set = 0) `id` as waiting for "answer-2"; returns whether it was. */
static int swap_pending(challenge* c, const char* id, int set) {
    int i, was = 0, free_slot = -1;
    pthread_mutex_lock(&c->mutex);
    for (i = 0; i < MAX_PENDING; i++) {
        if (c->reauth_pending[i][0] == '\0') {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (strcmp(c->reauth_pending[i], id) == 0) {
            was = 1;
            if (!set) c->reauth_pending[i][0] = '\0';
            break;
        }
    }
    if (set && !was && free_slot >= 0)
        snprintf(c->reauth_pending[free_slot], sizeof c->reauth_pending[free_slot], "%s", id);
    pthread_mutex_unlock(&c->mutex);
    return was;
}

static roost_verdict allow(challenge* c, roost_auth_event* ev, const char* id, const char* reply, int more) {
    ev->reply = fx_bytes(reply);
    ev->more = (uint8_t)more;
    c->host->log(c->self, ROOST_LOG_INFO, "fixture: client %s stage=%d %s: ALLOW%s reply %s", id,
                 (int)ev->stage, stage_name(ev->stage), more ? " more" : "", reply);
    return ROOST_ALLOW;
}

static roost_verdict deny(challenge* c, roost_auth_event* ev, const char* id, const char* why) {
    char data[128];
    ev->reason_code = ROOST_RC_NOT_AUTHORIZED;
    c->host->log(c->self, ROOST_LOG_INFO, "fixture: client %s stage=%d %s data '%s': %s: DENY 0x87", id,
                 (int)ev->stage, stage_name(ev->stage), fx_cstr(ev->data, data, sizeof data), why);
    return ROOST_DENY;
}

static roost_verdict authenticate(void* worker_data, roost_auth_event* ev) {
    challenge* c = (challenge*)worker_data;
    char id[128], method[128];
    fx_client_id(c->host, ev->client, id, sizeof id);
    if (ev->method.len == 0) {
        c->host->log(c->self, ROOST_LOG_INFO, "fixture: client %s has no authentication method: NEXT", id);
        return ROOST_NEXT;
    }
    if (!fx_equals(ev->method, c->method)) {
        c->host->log(c->self, ROOST_LOG_INFO, "fixture: client %s method '%s' is not mine: NEXT", id,
                     fx_cstr(ev->method, method, sizeof method));
        return ROOST_NEXT;
    }
    if (ev->stage != ROOST_AUTH_CONNECT) return deny(c, ev, id, "authenticate called for a later step");
    swap_pending(c, id, 0); /* a new connection under this id starts afresh */
    if (!fx_equals(ev->data, "hello")) return deny(c, ev, id, "the first step must say hello");
    return allow(c, ev, id, "nonce-1", 1);
}

static roost_verdict continue_auth(void* worker_data, roost_auth_event* ev) {
    challenge* c = (challenge*)worker_data;
    char id[128];
    fx_client_id(c->host, ev->client, id, sizeof id);
    if (!fx_equals(ev->method, c->method)) return deny(c, ev, id, "continue_auth with another method");
    switch (ev->stage) {
        case ROOST_AUTH_CONTINUE:
            if (swap_pending(c, id, 0)) {
                /* The second step of a re-authentication. */
                c->host->log(c->self, ROOST_LOG_INFO,
                             "fixture: client %s second re-authentication step arrived with stage=%d %s", id,
                             (int)ev->stage, stage_name(ev->stage));
                if (!fx_equals(ev->data, "answer-2")) return deny(c, ev, id, "wrong answer to nonce-2");
                return allow(c, ev, id, "welcome-back", 0);
            }
            if (!fx_equals(ev->data, "answer-1")) return deny(c, ev, id, "wrong answer to nonce-1");
            return allow(c, ev, id, "welcome", 0);
        case ROOST_AUTH_REAUTH:
            if (!fx_equals(ev->data, "hello"))
                return deny(c, ev, id, "re-authentication must start with hello");
            swap_pending(c, id, 1);
            return allow(c, ev, id, "nonce-2", 1);
        case ROOST_AUTH_CONNECT:
            break;
    }
    return deny(c, ev, id, "continue_auth called with stage CONNECT");
}

static void on_disconnect(void* worker_data, roost_client* client, uint8_t reason_code) {
    challenge* c = (challenge*)worker_data;
    char id[128];
    (void)reason_code;
    swap_pending(c, fx_client_id(c->host, client, id, sizeof id), 0);
}

static const roost_auth_hooks auth_hooks = {sizeof(roost_auth_hooks), authenticate, continue_auth};
static const roost_lifecycle_hooks lifecycle_hooks = {
    sizeof(roost_lifecycle_hooks), NULL, NULL, NULL, on_disconnect, NULL, NULL, NULL};

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    int rc;
    challenge* c = (challenge*)calloc(1, sizeof *c);
    if (!c) return ROOST_ENOMEM;
    c->host = host;
    c->self = self;
    pthread_mutex_init(&c->mutex, NULL);
    snprintf(c->method, sizeof c->method, "%s",
             fx_option(options, option_count, "method", "ROOST-CHALLENGE"));
    host->log(self, ROOST_LOG_INFO, "fixture: enhanced auth method %s", c->method);
    *plugin_data = c;
    rc = host->hook_register(self, ROOST_HOOK_AUTH, &auth_hooks);
    if (rc != ROOST_OK) return rc;
    return host->hook_register(self, ROOST_HOOK_LIFECYCLE, &lifecycle_hooks);
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    challenge* c = (challenge*)plugin_data;
    if (!c) return;
    pthread_mutex_destroy(&c->mutex);
    free(c);
}
