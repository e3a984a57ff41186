#include "recovery_offsets.h"

#include <stdlib.h>

#include "xmalloc.h"

int recovery_offsets_read(kafka_offsets_t *k, const char *topic, const char *group, int64_t now_us,
                          recovery_backlog_t *b, char *errbuf, size_t errlen)
{
    int n = 0;
    int64_t *low = NULL, *high = NULL, *committed = NULL;
    int rc = kafka_offsets_partitions(k, topic, RECOVERY_OFFSETS_TIMEOUT_MS, &n, errbuf, errlen);
    if (rc)
        goto out;
    low = xcalloc((size_t)n, sizeof(*low));
    high = xcalloc((size_t)n, sizeof(*high));
    committed = xcalloc((size_t)n, sizeof(*committed));
    rc = kafka_offsets_watermarks(k, topic, n, RECOVERY_OFFSETS_TIMEOUT_MS, low, high, errbuf,
                                  errlen);
    if (rc)
        goto out;
    recovery_backlog_sample(b, now_us, n, high);
    /* After the watermarks: the positions are compared with samples taken
     * before them, never after. */
    rc = kafka_offsets_committed(k, group, topic, n, RECOVERY_OFFSETS_TIMEOUT_MS, committed, errbuf,
                                 errlen);
    if (rc == OD_OK)
        recovery_backlog_positions(b, n, committed, low);
out:
    if (rc)
        recovery_backlog_unread(b);
    free(low);
    free(high);
    free(committed);
    return rc;
}
