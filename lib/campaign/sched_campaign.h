/*
 * sched_campaign.h — what the scheduler knows of a campaign, loaded from Postgres,
 * and the per-lead calling window built from it. Shared by dispatch.c,
 * results.c and recovery.c.
 */
#ifndef OUTDIAL_SCHED_CAMPAIGN_H
#define OUTDIAL_SCHED_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "caller_id.h"
#include "err.h"
#include "lead_tz.h"
#include "legal.h"
#include "model.h"
#include "pg.h"
#include "predial.h"
#include "retry.h"
#include "uuid.h"
#include "window.h"

/* One number of an assistant's caller-ID pool (table assistant_caller_id). */
typedef struct sched_caller_number {
    char e164[20];
    char provider_phone_number_id[128]; /* "" for none */
    int daily_cap;                      /* 0: none */
    char timezone[WINDOW_ZONE_MAX];
} sched_caller_number_t;

/* An assistant's pool, in the order the numbers were added. */
typedef struct sched_caller_pool {
    sched_caller_number_t numbers[CALLER_ID_POOL_MAX];
    size_t n;
} sched_caller_pool_t;

/* The pool of the assistant aliased `a`, as one JSON array text column
 * (parsed by sched_caller_pool_parse). */
#define SCHED_CALLER_POOL_SQL                                                                      \
    "(SELECT coalesce(jsonb_agg(jsonb_build_array(p.e164,"                                         \
    "   coalesce(p.provider_phone_number_id, ''), coalesce(p.daily_cap, 0), p.timezone)"           \
    "   ORDER BY p.created_at, p.e164), '[]')::text"                                               \
    " FROM assistant_caller_id p WHERE p.assistant_id = a.id)"

/* Fills pool from SCHED_CALLER_POOL_SQL's text (numbers past
 * CALLER_ID_POOL_MAX are dropped; the API refuses them). OD_ERR_INTERNAL
 * for a text that is not its shape. */
int sched_caller_pool_parse(const char *json_text, sched_caller_pool_t *pool, char *errbuf,
                            size_t errlen) OD_WUR;

typedef struct sched_campaign {
    char id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
    model_campaign_status_t status;
    window_spec_t window;
    model_tz_mode_t tz_mode;
    char assistant_tz[WINDOW_ZONE_MAX];
    bool has_quiet_hours;
    window_spec_t quiet_hours; /* the span in which calls are permitted, every day */
    retry_policy_t retry;
    char goal_variable[128]; /* "" when none */
    int max_concurrent_calls;
    int calls_per_minute; /* 0: no limit */
    double cpm_tokens;
    int64_t cpm_refilled_us; /* INT64_MIN when never */
    int max_call_duration_s;
    char caller_id[32]; /* the assistant's outbound E.164 ("" when none) */
    char provider[32];
    char provider_assistant_id[128];
    char provider_phone_number_id[128];
    int calls_per_24h;             /* the account's frequency cap (freqcap.h); 0: none */
    char opt_out_variable[128];    /* the boolean post-call variable of an opt-out; "" when none */
    legal_profile_t legal_profile; /* the account's (its overrides: campaign_legal.h) */
    char predial_url[PREDIAL_URL_MAX + 1]; /* the pre-dial check (predial.h); "" when none */
    int predial_timeout_ms;
    model_predial_on_error_t predial_on_error;
    char callback_variable[128]; /* the string post-call variable of a callback; "" when none */
    caller_id_strategy_t caller_strategy; /* how the dialer picks a call's number */
    sched_caller_pool_t caller_pool;      /* the assistant's outbound numbers */
    int64_t in_flight; /* leads scheduled or processing (SCHED_LOCK_SKIP_LOCKED only; else -1) */
} sched_campaign_t;

/* How the campaign row is read. */
typedef enum sched_lock {
    SCHED_LOCK_NONE = 0,    /* plain read */
    SCHED_LOCK_SKIP_LOCKED, /* FOR UPDATE SKIP LOCKED: a dispatcher owns the campaign */
} sched_lock_t;

/* Loads a campaign (and its assistant's and account's settings). Inside a
 * transaction when lock is not NONE. OD_ERR_NOT_FOUND when there is no such
 * campaign or (SKIP_LOCKED) another transaction holds it. */
int sched_campaign_load(pg_conn_t *db, const char *campaign_id, sched_lock_t lock,
                        sched_campaign_t *out, char *errbuf, size_t errlen) OD_WUR;

/* The same columns keyed by one of the campaign's leads ($1, the lead id),
 * unlocked, for a pipeline (pg_pipeline_exec) that locks the lead before it
 * knows the campaign; parse its result with sched_campaign_from_result. */
extern const pg_stmt_t sched_campaign_of_lead_stmt;

/* Fills out from the first row of a result of sched_campaign_of_lead_stmt
 * (or of sched_campaign_load's statements). OD_ERR_NOT_FOUND when it has no
 * row. */
int sched_campaign_from_result(const PGresult *res, sched_campaign_t *out, char *errbuf,
                               size_t errlen) OD_WUR;

/* The calling window of one lead: the campaign window in the zones of the
 * campaign's timezone mode, plus the account's quiet hours in the person's
 * own zones. lead_tz may be NULL or ""; a lead whose own timezone is not a
 * valid zone falls back to its number's prefix (logged, never fatal: the
 * importer and API validate timezones, so this is defence, not a path). */
int sched_lead_window(const sched_campaign_t *c, const char *lead_tz, const char *e164,
                      int64_t now_us, lead_window_t *out, char *errbuf, size_t errlen) OD_WUR;

/* Whether the campaign window is the same for every lead (timezone mode
 * assistant, no quiet hours, legal profile none): then one check serves the
 * whole campaign. */
bool sched_window_is_shared(const sched_campaign_t *c);

#endif
