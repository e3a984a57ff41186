/*
 * publisher.h — one thread that owns the Kafka producer of call events.
 *
 * lib/bus/kafka's producer is used from one thread, but events come from the
 * dial loop and from every webhook thread. They hand encoded events to the
 * publisher, which produces them (key = lead id) and serves delivery reports
 * on its own thread; each submitter learns the outcome through its callback
 * (asynchronous) or by waiting (publisher_send_sync, for webhooks, which
 * answer the provider only once their event is acknowledged).
 */
#ifndef OUTDIAL_DIALER_PUBLISHER_H
#define OUTDIAL_DIALER_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

#include "dial_event.h"
#include "err.h"
#include "kafka.h"

typedef struct publisher publisher_t;

/* Called once per submitted event, on the publisher's thread: rc is OD_OK
 * when Kafka acknowledged it, else an error with err saying why. Must not
 * block. */
typedef void publisher_done_fn(void *arg, int rc, const char *err);

/* Creates the producer (opts as for kafka_producer_new; its on_delivery
 * and opaque are the publisher's) and starts the thread; topic is copied.
 * Free with publisher_free(). */
int publisher_new(const kafka_producer_opts_t *opts, const char *topic, publisher_t **out,
                  char *errbuf, size_t errlen) OD_WUR;

/* Encodes e and queues it; done(arg, ...) follows exactly once, unless this
 * returns an error (the event could not be encoded), in which case done is
 * never called. */
int publisher_send(publisher_t *p, const dial_event_t *e, publisher_done_fn *done, void *arg,
                   char *errbuf, size_t errlen) OD_WUR;

/* Sends e and waits up to timeout_ms for the acknowledgement. OD_OK once
 * acknowledged; OD_ERR_TIMEOUT (the event may still be delivered later),
 * or the delivery error. */
int publisher_send_sync(publisher_t *p, const dial_event_t *e, int timeout_ms, char *errbuf,
                        size_t errlen) OD_WUR;

/* Events queued or produced and not yet acknowledged. */
size_t publisher_pending(publisher_t *p);

/* Waits up to timeout_ms until nothing is pending, then stops the thread and
 * frees the producer (which flushes for up to 10 s more). NULL is a no-op. */
void publisher_free(publisher_t *p, int timeout_ms);

#endif
