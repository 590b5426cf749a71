/* thread_from_init: a thread started in roost_plugin_init that calls host->publish and host->post
 * ("any thread" functions) for the plugin's whole life: while the workers are being made, while
 * they run, and while they are torn down, until roost_plugin_cleanup joins it.
 *
 * Options: topic = "tfi". Init waits until the thread made its first round (publish + post to
 * worker 0), so one round always happens before any worker exists. Every millisecond the thread
 * publishes "<topic>/n" (QoS 0) and posts a counting fn to worker n % worker_count. Cleanup
 * logs how each call answered:
 *   fixture: publish ok=A gone=B einval=C other=D; post ok=E gone=F einval=G other=H; ran=I
 * The contract: before the workers run and once they stop, publish and post answer ROOST_EGONE
 * (never EINVAL: the plugin did nothing wrong), and never touch a worker being made or freed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "fixture.h"

typedef struct counts {
    unsigned long ok, gone, einval, other;
} counts;

typedef struct state {
    const roost_host* host;
    roost_plugin* self;
    char topic[64];
    pthread_t thread;
    pthread_mutex_t mutex; /* guards everything below */
    pthread_cond_t first_round;
    int rounds, stop;
    counts publish, post;
    unsigned long ran; /* posted fns that ran on a worker */
} state;

static void count(counts* c, int rc) {
    if (rc == ROOST_OK)
        ++c->ok;
    else if (rc == ROOST_EGONE)
        ++c->gone;
    else if (rc == ROOST_EINVAL)
        ++c->einval;
    else
        ++c->other;
}

static void posted(void* arg) {
    state* s = (state*)arg;
    pthread_mutex_lock(&s->mutex);
    ++s->ran;
    pthread_mutex_unlock(&s->mutex);
}

static void* run(void* arg) {
    state* s = (state*)arg;
    unsigned long n = 0;
    for (;;) {
        char topic[96];
        int stop, published, post_rc;
        uint32_t workers = s->host->worker_count();
        snprintf(topic, sizeof topic, "%s/%lu", s->topic, n);
        published = s->host->publish(s->self, fx_bytes(topic), fx_bytes("x"), 0, 0);
        post_rc = s->host->post(s->self, (uint32_t)(n % (workers ? workers : 1)), posted, s);
        ++n;
        pthread_mutex_lock(&s->mutex);
        count(&s->publish, published);
        count(&s->post, post_rc);
        if (++s->rounds == 1) pthread_cond_signal(&s->first_round);
        stop = s->stop;
        pthread_mutex_unlock(&s->mutex);
        if (stop) break;
        fx_sleep_ms(1);
    }
    return NULL;
}

ROOST_EXPORT uint32_t roost_plugin_version(const uint32_t* offered, size_t count) {
    return fx_pick_v1(offered, count);
}

ROOST_EXPORT int roost_plugin_init(const roost_host* host, roost_plugin* self, const roost_option* options,
                                   size_t option_count, void** plugin_data) {
    state* s = (state*)calloc(1, sizeof *s);
    if (!s) return ROOST_ENOMEM;
    s->host = host;
    s->self = self;
    snprintf(s->topic, sizeof s->topic, "%s", fx_option(options, option_count, "topic", "tfi"));
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->first_round, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        host->log(self, ROOST_LOG_ERROR, "fixture: cannot start the thread");
        pthread_cond_destroy(&s->first_round);
        pthread_mutex_destroy(&s->mutex);
        free(s); /* a failed init gets no cleanup */
        return ROOST_ENOMEM;
    }
    pthread_mutex_lock(&s->mutex);
    while (s->rounds == 0)
        pthread_cond_wait(&s->first_round, &s->mutex);
    pthread_mutex_unlock(&s->mutex);
    *plugin_data = s;
    return ROOST_OK;
}

ROOST_EXPORT void roost_plugin_cleanup(void* plugin_data) {
    state* s = (state*)plugin_data;
    pthread_mutex_lock(&s->mutex);
    s->stop = 1;
    pthread_mutex_unlock(&s->mutex);
    pthread_join(s->thread, NULL);
    s->host->log(s->self, ROOST_LOG_INFO,
                 "fixture: publish ok=%lu gone=%lu einval=%lu other=%lu; post ok=%lu gone=%lu einval=%lu "
                 "other=%lu; ran=%lu",
                 s->publish.ok, s->publish.gone, s->publish.einval, s->publish.other, s->post.ok,
                 s->post.gone, s->post.einval, s->post.other, s->ran);
    pthread_cond_destroy(&s->first_round);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}
