/* recovery_decide: a stuck lead's job as finished, waiting, unsettled or
 * unread (lead scheduled at, partition, watermark samples, the group's
 * committed offsets) and what recovery does with the lead; the ring of
 * samples (the oldest kept stands in, a partition count change, a clock
 * stepped back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
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

typedef struct verdict_case {
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
} verdict_case_t;

/* The cell of row and column, "A,B": the offsets of the two partitions
 * ("none": KAFKA_OFFSET_NONE); anything else fails the test. */
static void offsets_read(const case_file_t *cf, size_t row, size_t column, int64_t offsets[2])
{
    const char *cell = case_file_cell(cf, row, column);
    char text[64];
    snprintf(text, sizeof(text), "%s", cell ? cell : "");
    char *second = strchr(text, ',');
    if (second)
        *second++ = '\0';
    const char *parts[2] = {text, second};
    for (int p = 0; p < 2; p++) {
        long long offset = KAFKA_OFFSET_NONE;
        if ((!parts[p] || strcmp(parts[p], "none") != 0) && !case_file_whole(parts[p], &offset))
            fail_msg("%s: %s '%s' is not two offsets A,B", case_file_cell(cf, row, 0),
                     cf->cells[column], cell ? cell : "-");
        offsets[p] = offset;
    }
}

/* Row row of cases/recovery_verdict.tsv; what points into cf. */
static verdict_case_t verdict_case_read(const case_file_t *cf, size_t row)
{
    static const char *const verdicts[] = {"wait", "reissue", "fence"};
    verdict_case_t c = {.what = case_file_cell(cf, row, 0),
                        .read = case_file_yes(cf, row, 1),
                        .partition = (int)case_file_int(cf, row, 4),
                        .scheduled_at = case_file_int(cf, row, 5) * S,
                        .settle = case_file_int(cf, row, 6) * S,
                        .reissues = (int)case_file_int(cf, row, 7),
                        .job = RECOVERY_JOB_FINISHED + 1,
                        .verdict = RECOVERY_FENCE + 1};
    offsets_read(cf, row, 2, c.committed);
    offsets_read(cf, row, 3, c.low);
    for (int j = RECOVERY_JOB_UNREAD; j <= RECOVERY_JOB_FINISHED; j++)
        if (strcmp(case_file_cell(cf, row, 8), recovery_job_name((recovery_job_t)j)) == 0)
            c.job = (recovery_job_t)j;
    for (int v = RECOVERY_WAIT; v <= RECOVERY_FENCE; v++)
        if (strcmp(case_file_cell(cf, row, 9), verdicts[v]) == 0)
            c.verdict = (recovery_verdict_t)v;
    if (c.job > RECOVERY_JOB_FINISHED || c.verdict > RECOVERY_FENCE)
        fail_msg("%s: job '%s' or verdict '%s' unknown", c.what, case_file_cell(cf, row, 8),
                 case_file_cell(cf, row, 9));
    return c;
}

static void test_job_state_and_verdict_table(void **state)
{
    (void)state;
    static const char *const columns[] = {"what",      "read",           "committed", "low",
                                          "partition", "scheduled_at_s", "settle_s",  "reissues",
                                          "job",       "verdict"};
    case_file_t *cf =
        case_file_load("recovery_verdict", columns, sizeof(columns) / sizeof(columns[0]), 17);
    for (size_t i = 0; i < cf->n_rows; i++) {
        const verdict_case_t c = verdict_case_read(cf, i);
        recovery_backlog_t *b = three_samples();
        if (c.read)
            recovery_backlog_positions(b, 2, c.committed, c.low);
        recovery_job_t job = recovery_job_state(b, c.partition, c.scheduled_at, c.settle);
        recovery_verdict_t verdict = recovery_verdict(job, c.reissues);
        recovery_backlog_free(b);
        if (job != c.job || verdict != c.verdict)
            fail_msg("case %zu (%s): %s/%d, want %s/%d", i, c.what, recovery_job_name(job),
                     (int)verdict, recovery_job_name(c.job), (int)c.verdict);
    }
    case_file_free(cf);
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
