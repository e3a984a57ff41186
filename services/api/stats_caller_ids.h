/*
 * stats_caller_ids.h — the answer rate of each number of a campaign's
 * caller-ID pool, for its stats (stats.c).
 */
#ifndef OUTDIAL_API_STATS_CALLER_IDS_H
#define OUTDIAL_API_STATS_CALLER_IDS_H

#include <jansson.h>

#include "err.h"
#include "pg.h"

/* *out: a new array [{"phone_number", "calls", "answered", "answer_rate"}],
 * one per number the campaign's calls came from, by number; empty for a
 * campaign of the strategy single. The caller decrefs it. Database errors
 * with errbuf. */
int stats_caller_ids_read(pg_conn_t *db, const char *campaign_id, json_t **out, char *errbuf,
                          size_t errlen) OD_WUR;

#endif
