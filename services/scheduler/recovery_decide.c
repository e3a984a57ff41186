#include "recovery_decide.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

recovery_backlog_t *recovery_backlog_new(int cap)
{
    recovery_backlog_t *b = xcalloc(1, sizeof(*b));
    b->cap = cap > 0 ? cap : 1;
    b->at_us = xcalloc((size_t)b->cap, sizeof(*b->at_us));
    return b;
}

void recovery_backlog_free(recovery_backlog_t *b)
{
    if (!b)
        return;
    free(b->at_us);
    free(b->high);
    free(b->positions);
    free(b);
}

/* Drops every sample and position, for partitions partitions. */
static void backlog_reset(recovery_backlog_t *b, int partitions)
{
    free(b->high);
    free(b->positions);
    b->partitions = partitions;
    b->count = 0;
    b->oldest = 0;
    b->positions_known = false;
    b->high = xcalloc((size_t)b->cap * (size_t)partitions, sizeof(*b->high));
    b->positions = xcalloc((size_t)partitions, sizeof(*b->positions));
}

/* The ring index of the i-th oldest sample held. */
static int sample_index(const recovery_backlog_t *b, int i)
{
    return (b->oldest + i) % b->cap;
}

void recovery_backlog_sample(recovery_backlog_t *b, int64_t at_us, int partitions,
                             const int64_t *high)
{
    if (partitions <= 0)
        return;
    if (partitions != b->partitions)
        backlog_reset(b, partitions);
    if (b->count > 0 && at_us <= b->at_us[sample_index(b, b->count - 1)])
        return;
    int slot;
    if (b->count < b->cap) {
        slot = sample_index(b, b->count);
        b->count++;
    } else {
        slot = b->oldest; /* the oldest goes */
        b->oldest = (b->oldest + 1) % b->cap;
    }
    b->at_us[slot] = at_us;
    memcpy(b->high + (size_t)slot * (size_t)partitions, high, (size_t)partitions * sizeof(*high));
}

void recovery_backlog_positions(recovery_backlog_t *b, int partitions, const int64_t *committed,
                                const int64_t *low)
{
    if (partitions <= 0 || partitions != b->partitions) {
        b->positions_known = false;
        return;
    }
    for (int p = 0; p < partitions; p++)
        b->positions[p] = committed[p] > low[p] ? committed[p] : low[p];
    b->positions_known = true;
}

void recovery_backlog_unread(recovery_backlog_t *b)
{
    b->positions_known = false;
}

recovery_job_t recovery_job_state(const recovery_backlog_t *b, int partition,
                                  int64_t scheduled_at_us, int64_t settle_us)
{
    if (!b || !b->positions_known || partition < 0 || partition >= b->partitions)
        return RECOVERY_JOB_UNREAD;
    int64_t settled_us = scheduled_at_us + settle_us;
    /* The first sample at or after settled_us: the samples are in time
     * order, so a binary search over their age. */
    int lo = 0, hi = b->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (b->at_us[sample_index(b, mid)] < settled_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == b->count)
        return RECOVERY_JOB_UNSETTLED;
    int64_t high = b->high[(size_t)sample_index(b, lo) * (size_t)b->partitions + (size_t)partition];
    return b->positions[partition] >= high ? RECOVERY_JOB_FINISHED : RECOVERY_JOB_WAITING;
}

recovery_verdict_t recovery_verdict(recovery_job_t job, int reissues)
{
    if (job != RECOVERY_JOB_FINISHED)
        return RECOVERY_WAIT;
    return reissues < RECOVERY_REISSUES_MAX ? RECOVERY_REISSUE : RECOVERY_FENCE;
}

const char *recovery_job_name(recovery_job_t job)
{
    switch (job) {
    case RECOVERY_JOB_UNREAD:
        return "unread";
    case RECOVERY_JOB_UNSETTLED:
        return "unsettled";
    case RECOVERY_JOB_WAITING:
        return "waiting";
    case RECOVERY_JOB_FINISHED:
        return "finished";
    }
    return "unknown";
}
