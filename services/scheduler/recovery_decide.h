/*
 * recovery_decide.h — whether the job of a lead stuck `scheduled` may still
 * be waiting in the dial-jobs topic, and so what recovery does with the
 * lead. Pure: recovery_offsets.h reads Kafka into the backlog, recovery.c
 * acts on the verdict.
 *
 * Why it is provable. The dialers store a dial job's offset only once it and
 * every earlier message of its partition are finished
 * (services/dialer/offsets.h), and the group hands a partition to its next
 * owner from the committed offset. So a job at or after its partition's
 * committed offset will still be delivered and finished: re-issuing it only
 * adds a duplicate behind the same backlog, which the dialers must read and
 * drop (the backlog then feeds itself). A job below the committed offset
 * was finished: if its lead is still `scheduled`, the job was lost on the
 * way (finished without its effect), or never reached Kafka at all.
 *
 * When did the job reach Kafka? Dispatch marks the lead `scheduled` at T
 * (the lead's status_changed_at, the pass's campaign time) and produces the
 * job once the claim commits; a re-issue does the same at its own T. The
 * scheduler's producer gives up a message it could not deliver within its
 * delivery timeout. So by T + settle (the delivery timeout and a margin for
 * the pass, recovery_cfg_t.job_settle_us) the job is in Kafka or lost for
 * good, and a partition's high watermark read at or after T + settle is
 * above the job's offset. Once the group's committed offset has passed that
 * watermark, the job is finished.
 *
 * The backlog holds the high watermarks sampled over time (one sample per
 * recovery pass, kept in a ring) and the group's reading position of each
 * partition at the last read: its committed offset, raised to the low
 * watermark (a message below it is gone: read, or expired by retention;
 * with no committed offset the group starts at the low watermark).
 *
 * A lead scheduled at T, whose job went to partition p (kafka_key_partition
 * of the lead id), is:
 *
 *   UNREAD     the positions are unknown: Kafka's offsets could not be read
 *              (Kafka down) or not yet; nothing is guessed.
 *   UNSETTLED  no sample was taken at or after T + settle yet: the job may
 *              still be on its way.
 *   WAITING    the first sample at or after T + settle has high[p] above
 *              the position of p: the job may be in the backlog.
 *   FINISHED   the position of p has reached that high[p]: the job was
 *              finished, or never reached Kafka.
 *
 * (When the ring no longer holds the first sample after T + settle, the
 * oldest it holds stands in: its watermark is at least as high, so the
 * answer errs toward waiting, never toward a duplicate.)
 *
 * The verdict, for a lead past the scheduled timeout:
 *
 *   job                 re-issues done              verdict
 *   FINISHED            < RECOVERY_REISSUES_MAX     REISSUE (recovery.c fences
 *                                                   instead when the lead's
 *                                                   window has closed: the
 *                                                   dialer would refuse it)
 *   FINISHED            >= RECOVERY_REISSUES_MAX    FENCE
 *   UNREAD, UNSETTLED,  any                         WAIT: the lead stays
 *   WAITING                                         `scheduled`, its re-issues
 *                                                   untouched
 *
 * A waiting job whose window closes meanwhile is refused by the dialer when
 * it reaches it (not_after), which ends the attempt like any skip.
 */
#ifndef OUTDIAL_RECOVERY_DECIDE_H
#define OUTDIAL_RECOVERY_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum recovery_job {
    RECOVERY_JOB_UNREAD = 0,
    RECOVERY_JOB_UNSETTLED,
    RECOVERY_JOB_WAITING,
    RECOVERY_JOB_FINISHED,
} recovery_job_t;

typedef enum recovery_verdict {
    RECOVERY_WAIT = 0,
    RECOVERY_REISSUE,
    RECOVERY_FENCE,
} recovery_verdict_t;

/* Three re-issues of a job proven finished: a job lost once is common (a
 * dialer killed between taking the job and storing its offset); lost three
 * times in a row, the attempt is fenced and given back rather than hold a
 * slot longer. */
#define RECOVERY_REISSUES_MAX 3

/* Samples kept: one per recovery pass (a second), so ten minutes; a job
 * waiting longer is judged by the oldest sample kept (see above). */
#define RECOVERY_BACKLOG_SAMPLES 600

typedef struct recovery_backlog {
    int partitions; /* of the samples and positions; 0: none yet */
    int cap;        /* ring size */
    int count;      /* samples held */
    int oldest;     /* ring index of the oldest sample */
    int64_t *at_us; /* [cap] campaign time each sample's read began */
    int64_t *high;  /* [cap * partitions] high watermarks */
    bool positions_known;
    int64_t *positions; /* [partitions] where the group reads next */
} recovery_backlog_t;

/* An empty backlog of cap samples (> 0); the caller frees it with
 * recovery_backlog_free. */
recovery_backlog_t *recovery_backlog_new(int cap);

/* NULL is a no-op. */
void recovery_backlog_free(recovery_backlog_t *b);

/* Adds the high watermarks of partitions 0..partitions-1 read after campaign
 * time at_us (every message in Kafka by at_us is below them; at_us is taken
 * before the read). A different partition count than the samples held drops
 * them and the positions (keys moved: nothing held is comparable). A sample
 * not later than the newest held is ignored (a clock stepped back). Copies
 * high. */
void recovery_backlog_sample(recovery_backlog_t *b, int64_t at_us, int partitions,
                             const int64_t *high);

/* The group's positions from its committed offsets (KAFKA_OFFSET_NONE, any
 * negative value: none) and the partitions' low watermarks, read after the
 * latest sample. Ignored, and the positions unknown, when partitions is not
 * the samples' count. Copies. */
void recovery_backlog_positions(recovery_backlog_t *b, int partitions, const int64_t *committed,
                                const int64_t *low);

/* The positions could not be read: every job is UNREAD until the next
 * recovery_backlog_positions. */
void recovery_backlog_unread(recovery_backlog_t *b);

/* The state of a job on partition (of b's count) whose lead was scheduled
 * at campaign time scheduled_at_us; settle_us as above. b NULL, or a
 * partition out of range: UNREAD. */
recovery_job_t recovery_job_state(const recovery_backlog_t *b, int partition,
                                  int64_t scheduled_at_us, int64_t settle_us);

/* What recovery does with a lead past the scheduled timeout whose job is in
 * state job and that was re-issued reissues times (the table above). */
recovery_verdict_t recovery_verdict(recovery_job_t job, int reissues);

/* "unread", "unsettled", "waiting", "finished" (log lines, metrics). */
const char *recovery_job_name(recovery_job_t job);

#endif
