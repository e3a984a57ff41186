#include "publisher.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "topics.h"
#include "xmalloc.h"

/* How long the thread waits for delivery reports per round while messages
 * are outstanding. A new submission waits at most this long to be
 * produced; 2 ms keeps a webhook's answer fast without spinning. */
#define PUBLISHER_POLL_MS 2

typedef struct pub_item {
    struct pub_item *next;
    uint8_t *payload;
    size_t len;
    char key[UUID_STR_LEN];
    publisher_done_fn *done;
    void *arg;
} pub_item_t;

struct publisher {
    kafka_producer_t *producer;
    char topic[TOPIC_NAME_MAX + 1];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* queue non-empty or stopping; and pending drained */
    pub_item_t *head, *tail;
    size_t pending; /* queued + produced, not yet reported */
    bool stopping;
};

static void item_done(publisher_t *p, pub_item_t *it, int rc, const char *err)
{
    it->done(it->arg, rc, err);
    free(it->payload);
    free(it);
    pthread_mutex_lock(&p->mu);
    p->pending--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

/* Delivery reports, on the publisher thread (it is the one polling). */
static void on_delivery(const rd_kafka_message_t *msg, void *opaque)
{
    publisher_t *p = opaque;
    pub_item_t *it = msg->_private;
    if (!it)
        return;
    if (msg->err) {
        char err[512];
        snprintf(err, sizeof(err), "kafka delivery to %s: %s", p->topic,
                 rd_kafka_err2str(msg->err));
        item_done(p, it, OD_ERR_UNAVAILABLE, err);
    } else {
        item_done(p, it, OD_OK, NULL);
    }
}

static void *publisher_main(void *arg)
{
    publisher_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        pub_item_t *batch = p->head;
        p->head = p->tail = NULL;
        if (!batch && p->stopping) {
            /* Reports still outstanding are served by kafka_producer_free's
             * flush, on the thread that frees the publisher. */
            pthread_mutex_unlock(&p->mu);
            break;
        }
        if (!batch && p->pending == 0) {
            struct timespec until = od_timespec_after_ms(CLOCK_REALTIME, 100);
            pthread_cond_timedwait(&p->cond, &p->mu, &until);
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        while (batch) {
            pub_item_t *it = batch;
            batch = it->next;
            it->next = NULL;
            char err[512];
            if (kafka_producer_send(p->producer, p->topic, it->key, strlen(it->key), it->payload,
                                    it->len, NULL, 0, it, err, sizeof(err)) != OD_OK)
                item_done(p, it, OD_ERR_UNAVAILABLE, err);
        }
        kafka_producer_poll(p->producer, PUBLISHER_POLL_MS);
    }
    return NULL;
}

int publisher_new(const kafka_producer_opts_t *opts, const char *topic, publisher_t **out,
                  char *errbuf, size_t errlen)
{
    *out = NULL;
    publisher_t *p = xcalloc(1, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    kafka_producer_opts_t o = *opts;
    o.on_delivery = on_delivery;
    o.opaque = p;
    int rc = kafka_producer_new(&o, &p->producer, errbuf, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, publisher_main, p) != 0) {
        kafka_producer_free(p->producer);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "cannot start the publisher thread");
    }
    *out = p;
    return OD_OK;
}

int publisher_send(publisher_t *p, const dial_event_t *e, publisher_done_fn *done, void *arg,
                   char *errbuf, size_t errlen)
{
    pub_item_t *it = xcalloc(1, sizeof(*it));
    int rc = dial_event_encode(e, &it->payload, &it->len, errbuf, errlen);
    if (rc) {
        free(it);
        return rc;
    }
    snprintf(it->key, sizeof(it->key), "%s", e->attempt.lead_id);
    it->done = done;
    it->arg = arg;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->pending++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return OD_OK;
}

/* A waiter of publisher_send_sync, shared with the callback: whoever
 * finishes last frees it (the callback may come after the waiter gave up). */
typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool finished;
    bool abandoned;
    int rc;
    char err[256];
} sync_wait_t;

static void sync_wait_free(sync_wait_t *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void sync_done(void *arg, int rc, const char *err)
{
    sync_wait_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    w->rc = rc;
    snprintf(w->err, sizeof(w->err), "%s", err ? err : "");
    bool abandoned = w->abandoned;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    if (abandoned)
        sync_wait_free(w);
}

int publisher_send_sync(publisher_t *p, const dial_event_t *e, int timeout_ms, char *errbuf,
                        size_t errlen)
{
    sync_wait_t *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    int rc = publisher_send(p, e, sync_done, w, errbuf, errlen);
    if (rc) {
        sync_wait_free(w);
        return rc;
    }
    struct timespec until = od_timespec_after_ms(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&w->mu);
    while (!w->finished) {
        if (pthread_cond_timedwait(&w->cond, &w->mu, &until) == ETIMEDOUT && !w->finished) {
            w->abandoned = true; /* the callback frees it */
            pthread_mutex_unlock(&w->mu);
            return od_fail(errbuf, errlen, OD_ERR_TIMEOUT,
                           "kafka did not acknowledge event %s within %d ms", e->event_id,
                           timeout_ms);
        }
    }
    rc = w->rc;
    if (rc)
        od_fail(errbuf, errlen, rc, "%s", w->err);
    pthread_mutex_unlock(&w->mu);
    sync_wait_free(w);
    return rc;
}

size_t publisher_pending(publisher_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->pending;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void publisher_free(publisher_t *p, int timeout_ms)
{
    if (!p)
        return;
    struct timespec until = od_timespec_after_ms(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        if (pthread_cond_timedwait(&p->cond, &p->mu, &until) == ETIMEDOUT)
            break;
    if (p->pending > 0)
        log_warn("shutdown", "%zu call event(s) not acknowledged by Kafka at exit", p->pending);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    kafka_producer_free(p->producer);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
