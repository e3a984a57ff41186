/*
 * stats_caller_ids.h — the answer rate of each number of a campaign's
 * caller-ID pool, for its stats (stats.c), from the campaign's counters
 * caller_ids.<e164>.* (db/migrations/021_caller_id_counters.sql).
 */
#ifndef OUTDIAL_API_STATS_CALLER_IDS_H
#define OUTDIAL_API_STATS_CALLER_IDS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* A new array [{"phone_number", "calls", "answered", "answer_rate"}], one
 * per number the campaign's calls came from, by number, from `counters`
 * (rows (name, value), a counter each: stats.c's read of the campaign's
 * counters, which it keeps); empty when !pool (a campaign of the strategy
 * single). A number all of whose counters are 0 (its calls deleted) is
 * left out. The caller decrefs the array; counters stays the caller's. */
json_t *stats_caller_ids_json(const PGresult *counters, bool pool);

#endif
