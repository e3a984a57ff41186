/*
 * dead_letter.h — a call event the scheduler cannot apply does not jam its
 * partition (docs/reliability.md, "Poison events"; docs/scheduler.md,
 * "Dead letters").
 *
 * The results consumer applies a batch of call events (results.h). What
 * becomes of an event that fails, by dead_letter_decide (pure):
 *
 *   the failure                                   then
 *   undecodable, or rejected (OD_ERR_INVALID:     dead letter at once: no
 *     lead of another campaign, no number, ...)     retry can fix it
 *   the database or Kafka is away, a timeout, a   retry for ever, not counted:
 *     deadlock (OD_ERR_UNAVAILABLE, _TIMEOUT,       a restart of PostgreSQL
 *     _IO, _CONFLICT), or any error while the       dead-letters nothing
 *     database does not answer a probe
 *   any other error, the database answering       retried alone, with a
 *     (its campaign is gone, a row the database     backoff (1 s, 2 s, 4 s ...
 *     refuses): try number tries                    at most 30 s); at tries =
 *                                                   max_tries, dead letter
 *
 * A dead letter is the event's message as it came (key and payload) on
 * OUTDIAL topic call-events.dead-letter, with headers naming the error and
 * where the message was (DEAD_LETTER_HEADER_*). It is acknowledged by Kafka
 * before the consumer stores the original's offset, and the partition
 * moves on. `outdial-scheduler --replay-dead-letters` produces them back to
 * call-events once the cause is fixed; applying an event is idempotent, so
 * a replay of an event that did apply changes nothing.
 */
#ifndef OUTDIAL_DEAD_LETTER_H
#define OUTDIAL_DEAD_LETTER_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "pg.h"
#include "redis.h"
#include "results_decide.h"

/* Tries of an event that fails alone before it is dead-lettered:
 * OUTDIAL_SCHEDULER_DEAD_LETTER_TRIES, 1..100, default 5. Five tries with
 * the backoff hold the partition about 15 s: long enough for a lock or a
 * hiccup that is not reported as transient to pass, short enough that the
 * calls behind the event are not late. */
#define DEAD_LETTER_TRIES_ENV     "OUTDIAL_SCHEDULER_DEAD_LETTER_TRIES"
#define DEAD_LETTER_TRIES_DEFAULT 5
#define DEAD_LETTER_TRIES_MIN     1
#define DEAD_LETTER_TRIES_MAX     100
/* The backoff between the tries of one event. */
#define DEAD_LETTER_BACKOFF_FIRST_US ((int64_t)1000000)
#define DEAD_LETTER_BACKOFF_MAX_US   ((int64_t)30000000)

/* The headers of a dead letter (values are text). */
#define DEAD_LETTER_HEADER_ERROR     "outdial-error"      /* the message */
#define DEAD_LETTER_HEADER_CODE      "outdial-error-code" /* od_err_name: "not_found" */
#define DEAD_LETTER_HEADER_TRIES     "outdial-tries"
#define DEAD_LETTER_HEADER_TOPIC     "outdial-original-topic"
#define DEAD_LETTER_HEADER_PARTITION "outdial-original-partition"
#define DEAD_LETTER_HEADER_OFFSET    "outdial-original-offset"
/* On a replayed event: "<dead-letter topic>/<partition>/<offset>". */
#define DEAD_LETTER_HEADER_REPLAYED_FROM "outdial-replayed-from"

typedef enum dead_letter_verdict {
    DEAD_LETTER_RETRY_TRANSIENT = 0, /* retry after a second; the try does not count */
    DEAD_LETTER_RETRY,               /* retry after the backoff of tries */
    DEAD_LETTER_GIVE_UP,             /* to the dead-letter topic; the partition moves on */
} dead_letter_verdict_t;

/* The table above. rc: the error of try number tries (1 = the first) of an
 * event applied alone; db_answers: the database answered a probe right
 * after. Pure. */
dead_letter_verdict_t dead_letter_decide(int rc, bool db_answers, int tries, int max_tries);

/* OUTDIAL_SCHEDULER_DEAD_LETTER_TRIES into *out; OD_ERR_INVALID naming
 * the variable and its range for a value outside it. */
int dead_letter_tries_from_env(int *out, char *errbuf, size_t errlen) OD_WUR;

typedef struct dead_letter dead_letter_t;

/* The dead-letter step of the results consumer: its own producer (used
 * from the results thread alone) and the topic name from the environment.
 * The caller frees *out with dead_letter_free. */
int dead_letter_new(int max_tries, dead_letter_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Flushes and frees; NULL is a no-op. */
void dead_letter_free(dead_letter_t *dl);

/* What one consumed batch did. */
typedef struct dead_letter_stats {
    uint64_t effects[RESULTS_UNKNOWN_LEAD + 1]; /* events applied, by effect */
    uint64_t dead_lettered;
} dead_letter_stats_t;

/* Applies msgs[0..n) (CallEvents as consumed) at clk's now, in order: the
 * batch in one go, and when it fails for a reason that is not transient,
 * each event alone, as the table above says. OD_OK when every message was
 * applied or dead-lettered: the caller stores their offsets. OD_ERR_CONFLICT
 * when *stopping was set meanwhile: the caller stores nothing (the batch
 * comes again to the partition's next owner). msgs stay the caller's. */
int dead_letter_consume(dead_letter_t *dl, pg_conn_t *db, redis_t *r, const char *redis_prefix,
                        const od_clock_t *clk, rd_kafka_message_t *const *msgs, size_t n,
                        const atomic_bool *stopping, dead_letter_stats_t *st) OD_WUR;

/* `outdial-scheduler --replay-dead-letters`: reads the dead-letter topic
 * as consumer group <group prefix>scheduler-replay from where the last
 * replay stopped, produces each message (key and payload as they are, with
 * DEAD_LETTER_HEADER_REPLAYED_FROM) to call-events, and returns once it
 * has read up to the topic's end. *replayed: how many. */
int dead_letter_replay(uint64_t *replayed, char *errbuf, size_t errlen) OD_WUR;

/* main() of `outdial-scheduler ARGS...` when there are arguments: the one
 * known is --replay-dead-letters (dead_letter_replay, a line on stdout
 * with the count); exit status 0, 1 when the replay failed, 2 for a usage
 * error. */
int dead_letter_replay_main(int argc, char **argv);

#endif
