/* recovery_decide: a stuck lead's job as finished, waiting, unsettled or
 * unread (lead scheduled at, partition, watermark samples, the group's
 * committed offsets) and what recovery does with the lead; the ring of
 * samples (the oldest kept stands in, a partition count change, a clock
 * stepped back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka.h"
#include "recovery_decide.h"
#include "test_main.h"

#define S ((int64_t)1000000)

/* Two partitions, sampled at 10 s, 20 s and 30 s of campaign time. */
static const int64_t sample_at[3] = {10 * S, 20 * S, 30 * S};
static const int64_t sample_high[3][2] = {{5, 7}, {9, 7}, {12, 8}};

static recovery_backlog_t *three_samples(void)
{
    recovery_backlog_t *b = recovery_backlog_new(RECOVERY_BACKLOG_SAMPLES);
    for (int i = 0; i < 3; i++)
        recovery_backlog_sample(b, sample_at[i], 2, sample_high[i]);
    return b;
}

static void test_job_state_and_verdict_table(void **state)
{
    (void)state;
    enum { NONE = KAFKA_OFFSET_NONE };
    static const struct {
        const char *what;
        bool read;            /* the committed offsets were read */
        int64_t committed[2]; /* of the group */
        int64_t low[2];       /* low watermarks */
        int partition;
        int64_t scheduled_at; /* the lead's status_changed_at */
        int64_t settle;
        int reissues;
        recovery_job_t job;
        recovery_verdict_t verdict;
    } cases[] = {
        {"offsets not read: never guessed",
         false,
         {100, 100},
         {0, 0},
         0,
         0,
         5 * S,
         0,
         RECOVERY_JOB_UNREAD,
         RECOVERY_WAIT},
        {"no sample after T + settle: may be on its way",
         true,
         {100, 100},
         {0, 0},
         0,
         26 * S,
         5 * S,
         0,
         RECOVERY_JOB_UNSETTLED,
         RECOVERY_WAIT},
        {"read past the watermark of 10 s: finished",
         true,
         {5, 0},
         {0, 0},
         0,
         0,
         5 * S,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"one short of it: waiting",
         true,
         {4, 0},
         {0, 0},
         0,
         0,
         5 * S,
         0,
         RECOVERY_JOB_WAITING,
         RECOVERY_WAIT},
        {"a sample exactly at T + settle counts",
         true,
         {5, 0},
         {0, 0},
         0,
         5 * S,
         5 * S,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"settled after 10 s: judged by 20 s",
         true,
         {5, 0},
         {0, 0},
         0,
         6 * S,
         5 * S,
         0,
         RECOVERY_JOB_WAITING,
         RECOVERY_WAIT},
        {"its own partition only",
         true,
         {0, 7},
         {0, 0},
         1,
         6 * S,
         5 * S,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"the other partition's lag is not its",
         true,
         {9, 6},
         {0, 0},
         1,
         6 * S,
         5 * S,
         0,
         RECOVERY_JOB_WAITING,
         RECOVERY_WAIT},
        {"finished, re-issues left",
         true,
         {12, 8},
         {0, 0},
         0,
         0,
         5 * S,
         2,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"finished, out of re-issues: fenced",
         true,
         {12, 8},
         {0, 0},
         0,
         0,
         5 * S,
         3,
         RECOVERY_JOB_FINISHED,
         RECOVERY_FENCE},
        {"waiting, out of re-issues: still waits",
         true,
         {4, 0},
         {0, 0},
         0,
         0,
         5 * S,
         3,
         RECOVERY_JOB_WAITING,
         RECOVERY_WAIT},
        {"no commit yet: the group starts at the low watermark",
         true,
         {NONE, NONE},
         {5, 0},
         0,
         0,
         5 * S,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"no commit, messages kept: waiting",
         true,
         {NONE, NONE},
         {0, 0},
         0,
         0,
         5 * S,
         0,
         RECOVERY_JOB_WAITING,
         RECOVERY_WAIT},
        {"committed below the low watermark: gone",
         true,
         {2, 0},
         {9, 0},
         0,
         6 * S,
         5 * S,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
        {"a partition out of range",
         true,
         {12, 8},
         {0, 0},
         2,
         0,
         5 * S,
         0,
         RECOVERY_JOB_UNREAD,
         RECOVERY_WAIT},
        {"a negative partition",
         true,
         {12, 8},
         {0, 0},
         -1,
         0,
         5 * S,
         0,
         RECOVERY_JOB_UNREAD,
         RECOVERY_WAIT},
        {"no settle time: the first sample at T",
         true,
         {9, 0},
         {0, 0},
         0,
         20 * S,
         0,
         0,
         RECOVERY_JOB_FINISHED,
         RECOVERY_REISSUE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        recovery_backlog_t *b = three_samples();
        if (cases[i].read)
            recovery_backlog_positions(b, 2, cases[i].committed, cases[i].low);
        recovery_job_t job =
            recovery_job_state(b, cases[i].partition, cases[i].scheduled_at, cases[i].settle);
        recovery_verdict_t verdict = recovery_verdict(job, cases[i].reissues);
        recovery_backlog_free(b);
        if (job != cases[i].job || verdict != cases[i].verdict)
            fail_msg("case %zu (%s): %s/%d, want %s/%d", i, cases[i].what, recovery_job_name(job),
                     (int)verdict, recovery_job_name(cases[i].job), (int)cases[i].verdict);
    }
    /* Every state but finished waits, whatever the re-issues. */
    for (int j = RECOVERY_JOB_UNREAD; j < RECOVERY_JOB_FINISHED; j++)
        for (int n = 0; n <= RECOVERY_REISSUES_MAX + 1; n++)
            assert_int_equal(recovery_verdict((recovery_job_t)j, n), RECOVERY_WAIT);
    assert_string_equal(recovery_job_name(RECOVERY_JOB_WAITING), "waiting");
}

static void test_no_backlog_and_unread_after_a_failed_read(void **state)
{
    (void)state;
    assert_int_equal(recovery_job_state(NULL, 0, 0, 0), RECOVERY_JOB_UNREAD);
    recovery_backlog_t *b = three_samples();
    static const int64_t committed[2] = {100, 100}, low[2] = {0, 0};
    recovery_backlog_positions(b, 2, committed, low);
    assert_int_equal(recovery_job_state(b, 0, 0, 5 * S), RECOVERY_JOB_FINISHED);
    /* The next read fails: nothing is known until one succeeds. */
    recovery_backlog_unread(b);
    assert_int_equal(recovery_job_state(b, 0, 0, 5 * S), RECOVERY_JOB_UNREAD);
    /* Positions of another partition count than the samples': unknown. */
    static const int64_t three[3] = {100, 100, 100};
    recovery_backlog_positions(b, 3, three, three);
    assert_int_equal(recovery_job_state(b, 0, 0, 5 * S), RECOVERY_JOB_UNREAD);
    recovery_backlog_positions(b, 2, committed, low);
    assert_int_equal(recovery_job_state(b, 0, 0, 5 * S), RECOVERY_JOB_FINISHED);
    recovery_backlog_free(b);
    recovery_backlog_free(NULL);
}

/* The ring keeps the newest cap samples; a lead whose first sample went
 * is judged by the oldest kept, whose watermark is higher: it may wait
 * longer, never be re-issued early. */
static void test_ring_oldest_kept_stands_in(void **state)
{
    (void)state;
    recovery_backlog_t *b = recovery_backlog_new(3);
    for (int i = 1; i <= 5; i++) {
        int64_t high[1] = {10 * i};
        recovery_backlog_sample(b, i * 10 * S, 1, high); /* 10 s: 10, ..., 50 s: 50 */
    }
    assert_int_equal(b->count, 3);
    /* Kept: 30 s (30), 40 s (40), 50 s (50). */
    int64_t committed[1] = {35}, low[1] = {0};
    recovery_backlog_positions(b, 1, committed, low);
    /* Settled at 15 s: its sample (20 s, 20) is gone; 30 s stands in. */
    assert_int_equal(recovery_job_state(b, 0, 10 * S, 5 * S), RECOVERY_JOB_FINISHED);
    committed[0] = 25; /* past 20 s's watermark, not 30 s's */
    recovery_backlog_positions(b, 1, committed, low);
    assert_int_equal(recovery_job_state(b, 0, 10 * S, 5 * S), RECOVERY_JOB_WAITING);
    /* In the middle, exactly, and after the newest. */
    committed[0] = 40;
    recovery_backlog_positions(b, 1, committed, low);
    assert_int_equal(recovery_job_state(b, 0, 31 * S, 5 * S), RECOVERY_JOB_FINISHED); /* 40 s */
    assert_int_equal(recovery_job_state(b, 0, 36 * S, 5 * S), RECOVERY_JOB_WAITING);  /* 50 s */
    assert_int_equal(recovery_job_state(b, 0, 45 * S, 5 * S), RECOVERY_JOB_WAITING);  /* 50 s */
    assert_int_equal(recovery_job_state(b, 0, 46 * S, 5 * S), RECOVERY_JOB_UNSETTLED);
    /* A clock stepped back: the sample is ignored, the ring unchanged. */
    int64_t back[1] = {1000};
    recovery_backlog_sample(b, 45 * S, 1, back);
    assert_int_equal(recovery_job_state(b, 0, 36 * S, 5 * S), RECOVERY_JOB_WAITING);
    assert_int_equal(recovery_job_state(b, 0, 41 * S, 5 * S), RECOVERY_JOB_WAITING);
    /* The topic grew: keys moved, the samples and positions go. */
    int64_t grown[2] = {60, 0};
    recovery_backlog_sample(b, 60 * S, 2, grown);
    assert_int_equal(b->count, 1);
    assert_int_equal(recovery_job_state(b, 0, 10 * S, 5 * S), RECOVERY_JOB_UNREAD);
    int64_t c2[2] = {60, 0}, l2[2] = {0, 0};
    recovery_backlog_positions(b, 2, c2, l2);
    assert_int_equal(recovery_job_state(b, 0, 10 * S, 5 * S), RECOVERY_JOB_FINISHED);
    assert_int_equal(recovery_job_state(b, 1, 10 * S, 5 * S), RECOVERY_JOB_FINISHED);
    /* No partitions: not a sample. */
    recovery_backlog_sample(b, 70 * S, 0, NULL);
    assert_int_equal(b->count, 1);
    recovery_backlog_free(b);
}

OD_TEST_MAIN(NULL, NULL, test_job_state_and_verdict_table,
             test_no_backlog_and_unread_after_a_failed_read, test_ring_oldest_kept_stands_in)
