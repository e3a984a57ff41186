/*
 * recovery.h — no lead is stuck (invariant 6), and the scheduler's other
 * periodic duties: completion, the outbox, the Redis mirror.
 *
 * Timeouts are given in real seconds and turned into campaign time with the
 * clock's scale: they cover real delays (Kafka lag, a dialer restarting),
 * which do not shrink when campaign time runs faster.
 *
 * scheduled  A lead scheduled for longer than scheduled_timeout without any
 *            event is looked at; its job is re-issued with the same attempt
 *            id only once it is proven not to be waiting in the dial-jobs
 *            topic (recovery_decide.h: the dialers' committed offset of its
 *            partition has passed the high watermark read after the job
 *            reached Kafka). A job still in the backlog will be delivered:
 *            its lead stays scheduled, re-issues untouched, counted in
 *            recovery_stats_t.waiting. The dialer dials an attempt at most
 *            once, so a re-issued job that was only slow is not dialed twice.
 *            After RECOVERY_REISSUES_MAX re-issues (or once the lead's window
 *            has closed) the scheduler fences the attempt in Redis (SET NX on
 *            the key the dialer takes before dialing): if it wins, no dialer
 *            can ever place that attempt and it is closed as a transient
 *            failure (retry rules apply); if a dialer holds the key, it placed
 *            or skipped the attempt and the lead waits for its events like any
 *            call in progress.
 * processing A lead processing for longer than the campaign's maximum call
 *            duration plus processing_margin is closed as a transient failure
 *            ("call-end-not-reported"); a late real result is recorded on the
 *            call row and does not move the lead.
 */
#ifndef OUTDIAL_RECOVERY_H
#define OUTDIAL_RECOVERY_H

#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "item_backoff.h"
#include "kafka.h"
#include "pg.h"
#include "recovery_decide.h"
#include "redis.h"

/* The value of an attempt key the scheduler fenced (a dialer writes its
 * own id there instead). */
#define RECOVERY_FENCE_VALUE "fenced"
/* Leads re-issued or fenced per recovery pass. */
#define RECOVERY_BATCH 200
/* Leads past the scheduled timeout looked at per pass: waiting ones are
 * only counted, and there are no more of them than the running campaigns'
 * concurrency caps allow scheduled; this bounds the scan beyond that. */
#define RECOVERY_SCAN_MAX 20000
/* What a job may take between its lead being marked scheduled and its
 * delivery report, beyond the producer's delivery timeout: the rest of the
 * dispatch pass that claimed it (a pass takes milliseconds; seconds on a
 * starved machine). Past it a job still undelivered was given up. */
#define RECOVERY_PASS_MARGIN_S 5

typedef struct recovery_cfg {
    int64_t scheduled_timeout_us; /* campaign time */
    int64_t processing_margin_us; /* campaign time */
    int64_t fence_ttl_ms;         /* life of the Redis fence key, real ms */
    /* Campaign time after which a dial job is in Kafka or lost for good:
     * the producer's delivery timeout + RECOVERY_PASS_MARGIN_S. */
    int64_t job_settle_us;
    /* The dial-jobs backlog as last read (recovery_offsets.h), borrowed;
     * NULL: unknown, so no job is proven finished and nothing re-issued. */
    const recovery_backlog_t *backlog;
    const char *redis_prefix;
    const char *dial_topic;
    const char *campaign_events_topic;
    item_backoff_t *skip; /* leads whose recovery failed, held back; NULL: none kept */
} recovery_cfg_t;

typedef struct recovery_stats {
    uint64_t reissued;
    uint64_t closed_scheduled;
    uint64_t closed_processing;
    uint64_t completed_campaigns;
    uint64_t outbox_published;
    uint64_t mirrored;
    uint64_t leads_failed; /* stuck leads whose recovery failed, skipped for a backoff */
    /* Leads past the scheduled timeout left scheduled, by their job's state
     * (recovery_job_t; never FINISHED): it may still be in the backlog. */
    uint64_t waiting[RECOVERY_JOB_FINISHED + 1];
} recovery_stats_t;

/* Re-issues or closes leads stuck scheduled or processing. A lead whose
 * recovery fails (its campaign cannot be read, a row the database refuses)
 * is logged, counted in st->leads_failed and held back in cfg->skip for
 * its backoff (item_backoff.h): the queries leave it out meanwhile, so it
 * cannot take the batch's first place again, and the other leads are
 * recovered. Errors: a query fails, or a dependency is away
 * (item_backoff_pass_fails), which ends the pass. */
int recovery_run(pg_conn_t *db, redis_t *r, kafka_producer_t *producer, const recovery_cfg_t *cfg,
                 int64_t now_us, recovery_stats_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Completes running campaigns that have no lead left to call. */
int recovery_complete_campaigns(pg_conn_t *db, redis_t *r, const char *redis_prefix, int64_t now_us,
                                recovery_stats_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Publishes and deletes up to limit outbox rows (acknowledged by Kafka
 * before the delete commits: at-least-once). */
int recovery_outbox_drain(pg_conn_t *db, kafka_producer_t *producer, int limit,
                          recovery_stats_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Writes every campaign's status to its Redis mirror key (repairs a mirror
 * write lost to a crash between a commit and the write). */
int recovery_mirror_sync(pg_conn_t *db, redis_t *r, const char *redis_prefix, recovery_stats_t *st,
                         char *errbuf, size_t errlen) OD_WUR;

#endif
