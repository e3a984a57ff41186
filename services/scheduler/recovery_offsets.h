/*
 * recovery_offsets.h — reads from Kafka what recovery_decide.h judges a
 * stuck lead's job by: the dial-jobs partitions' high and low watermarks and
 * the dialers' group's committed offsets. The thin I/O step beside the
 * decision; the dispatch thread calls it once per recovery pass, before
 * recovery_run.
 */
#ifndef OUTDIAL_RECOVERY_OFFSETS_H
#define OUTDIAL_RECOVERY_OFFSETS_H

#include <stdint.h>

#include "err.h"
#include "kafka.h"
#include "recovery_decide.h"

/* How long one request may wait: a broker answers in milliseconds, in
 * hundreds of them on a starved machine; a second without an answer means
 * Kafka is away. The read holds the dispatch thread, so it stops at the
 * first request that fails. */
#define RECOVERY_OFFSETS_TIMEOUT_MS 1000

/* One read at campaign time now_us (taken before it): the partition count
 * and high watermarks of topic become a sample of b, then the committed
 * offsets of group (with the low watermarks) its positions. On any failure
 * b's positions become unknown (recovery_backlog_unread: nothing is
 * re-issued until a read succeeds) and the error says what failed,
 * OD_ERR_UNAVAILABLE. k and b are borrowed. */
int recovery_offsets_read(kafka_offsets_t *k, const char *topic, const char *group, int64_t now_us,
                          recovery_backlog_t *b, char *errbuf, size_t errlen) OD_WUR;

#endif
