/*
 * stats.h — a campaign's statistics, read once for the stats route
 * (GET /v1/campaigns/{id}/stats) and for every tick of its live stream
 * (live.c), and its calls per hour (GET /v1/campaigns/{id}/hourly).
 */
#ifndef OUTDIAL_API_STATS_H
#define OUTDIAL_API_STATS_H

#include <jansson.h>

#include "api.h"

/* Hours answered by the hourly route: the newest 168 with calls, a week
 * of calling around the clock, more than a chart on one page shows. */
#define STATS_HOURS_MAX 168

/*
 * Reads the statistics of campaign_id in account_id: *out gets the stats
 * object the stats route answers, and *state_out (may be NULL) an object
 * {"status", "pause_reason"} of the campaign. Both are new references the
 * caller decrefs. OD_ERR_NOT_FOUND when the account has no such campaign;
 * other errors from the database, message in errbuf. Reads the campaign
 * row, its arms' assistants and its counters (campaign_counter, the A/B
 * arms' included), never its leads or calls.
 */
int stats_campaign_read(pg_conn_t *db, const char *account_id, const char *campaign_id,
                        json_t **out, json_t **state_out, char *errbuf, size_t errlen) OD_WUR;

#endif
