/*
 * bench_results — terminal call events applied with results_apply_batch(), against
 * a bare SQL update of the same lead rows.
 *
 *   outdial-bench-results [--leads N] [--batch N]
 *
 * Needs OUTDIAL_PG_DSN (deploy/local/stack). In a database of its own it
 * creates N leads in running campaigns of 1,000 leads, each `scheduled` with
 * a current attempt, then:
 *   1. baseline: one autocommitted UPDATE per lead moving it to completed
 *      (status, outcome, attempts, attempt id, time): the least any
 *      result path has to write;
 *   2. the leads are put back to scheduled and vacuumed;
 *   3. results_apply_batch() of one terminal event per lead (completed,
 *      human, with a cost and post-call variables): the call row, the retry
 *      policy, the charge, the outbox event; --batch events per call
 *      (default RESULTS_BATCH_MAX, what the scheduler's consumer takes from
 *      a busy topic), one transaction each.
 * The two run back to back on the same connection. Prints key=value lines:
 * sql_update_rows_per_s, apply_events_per_s, apply_vs_sql; and, when the
 * database runs on this machine (/proc shows its backend), the CPU time
 * the connection's backend spent per row and per event, and their ratio
 * (apply_vs_sql_backend_cpu): the work each side asks of PostgreSQL, which
 * the load of a shared machine moves far less than the rates.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "clock.h"
#include "codec.h"
#include "log.h"
#include "results.h"
#include "uuid.h"

typedef struct lead_row {
    char lead_id[UUID_STR_LEN];
    char attempt_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
} lead_row_t;

static void leads_schedule(pg_conn_t *db)
{
    bench_sql(db,
              "UPDATE lead SET status = 'scheduled', current_attempt_id = gen_random_uuid(),"
              " attempts = 0, outcome = NULL, goal_result = NULL, last_call_status = NULL,"
              " last_answered_by = NULL, last_call_at = NULL",
              0, NULL, NULL);
    bench_sql(db, "VACUUM ANALYZE lead", 0, NULL, NULL);
}

static lead_row_t *leads_load(pg_conn_t *db, long n)
{
    PGresult *res = NULL;
    bench_sql(db,
              "SELECT l.id, l.current_attempt_id, l.campaign_id, c.account_id FROM lead l"
              " JOIN campaign c ON c.id = l.campaign_id ORDER BY l.id",
              0, NULL, &res);
    if (PQntuples(res) != n)
        bench_die("bench_results", "leads", "unexpected count");
    lead_row_t *rows = calloc((size_t)n, sizeof(*rows));
    for (long i = 0; i < n; i++) {
        snprintf(rows[i].lead_id, UUID_STR_LEN, "%s", PQgetvalue(res, (int)i, 0));
        snprintf(rows[i].attempt_id, UUID_STR_LEN, "%s", PQgetvalue(res, (int)i, 1));
        snprintf(rows[i].campaign_id, UUID_STR_LEN, "%s", PQgetvalue(res, (int)i, 2));
        snprintf(rows[i].account_id, UUID_STR_LEN, "%s", PQgetvalue(res, (int)i, 3));
    }
    PQclear(res);
    return rows;
}

/* The CPU time (user and system, µs) that process pid has used, from
 * /proc/<pid>/stat; -1 when it cannot be read (another machine's). */
static int64_t process_cpu_us(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After the command's ")": state is field 3, utime and stime 14 and 15. */
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return -1;
    return (int64_t)((utime + stime) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* The pid of db's backend. */
static long backend_pid(pg_conn_t *db)
{
    PGresult *res = NULL;
    bench_sql(db, "SELECT pg_backend_pid()", 0, NULL, &res);
    long pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pid;
}

int main(int argc, char **argv)
{
    long leads = 20000, batch = RESULTS_BATCH_MAX;
    if (!bench_args_leads_batch(argc, argv, &leads, &batch))
        return 2;
    if (leads < 1000 || batch < 1 || batch > 100000) {
        fprintf(stderr, "usage: outdial-bench-results [--leads N>=1000] [--batch 1..100000]\n");
        return 2;
    }
    char err[512];
    if (log_init("bench", err, sizeof(err)))
        bench_die("bench_results", "log", err);
    log_set_level(LOG_LEVEL_WARN);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "benchres%d.", (int)getpid());
    setenv("OUTDIAL_KAFKA_TOPIC_PREFIX", prefix, 1); /* outbox topic names only */

    bench_db_t b;
    bench_db_create(&b, "bench_results");
    bench_campaigns_create(b.db, (leads + 999) / 1000, 1000);
    bench_leads_create(b.db, leads);
    leads_schedule(b.db);
    lead_row_t *rows = leads_load(b.db, leads);

    od_clock_t clk;
    od_clock_init_real(&clk);

    /* 1. The bare update, one statement (and transaction) per lead. */
    long backend = backend_pid(b.db);
    int64_t cpu0 = process_cpu_us(backend);
    double t0 = bench_mono_s();
    for (long i = 0; i < leads; i++) {
        char now[24];
        snprintf(now, sizeof(now), "%" PRId64, od_clock_now_us(&clk));
        const char *p[] = {rows[i].lead_id, now};
        bench_sql(b.db,
                  "UPDATE lead SET status = 'completed', outcome = 'answered',"
                  " attempts = attempts + 1, current_attempt_id = NULL,"
                  " last_call_status = 'completed', status_changed_at = od_ts($2::bigint),"
                  " updated_at = now() WHERE id = $1::uuid",
                  2, p, NULL);
    }
    double sql_s = bench_mono_s() - t0;
    int64_t sql_cpu_us = process_cpu_us(backend) - cpu0;

    /* 2. Back to scheduled, with new attempts. */
    free(rows);
    leads_schedule(b.db);
    rows = leads_load(b.db, leads);

    /* 3. results_apply_batch, one terminal event per lead. */
    long applied = 0;
    callevent_t *evs = calloc((size_t)batch, sizeof(*evs));
    const callevent_t **ev_ptrs = calloc((size_t)batch, sizeof(*ev_ptrs));
    char(*event_ids)[UUID_STR_LEN] = calloc((size_t)batch, UUID_STR_LEN);
    results_outcome_t *outs = calloc((size_t)batch, sizeof(*outs));
    cpu0 = process_cpu_us(backend);
    t0 = bench_mono_s();
    for (long first = 0; first < leads; first += batch) {
        long n = leads - first < batch ? leads - first : batch;
        int64_t now_us = od_clock_now_us(&clk);
        for (long k = 0; k < n; k++) {
            const lead_row_t *row = &rows[first + k];
            callevent_t *ev = &evs[k];
            uuid_str_new(event_ids[k]);
            callevent_init(ev);
            ev->event_id = event_ids[k];
            ev->attempt_id = (char *)row->attempt_id;
            ev->lead_id = (char *)row->lead_id;
            ev->campaign_id = (char *)row->campaign_id;
            ev->account_id = (char *)row->account_id;
            ev->attempt_number = 1;
            ev->status = OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
            ev->answered_by = OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN;
            ev->provider_call_id = event_ids[k];
            ev->started_at_us = now_us - 60000000;
            ev->ended_at_us = now_us;
            ev->duration_ms = 60000;
            ev->cost_minor = 10;
            ev->ended_reason = "customer-ended-call";
            ev->post_call_variables_json = "{\"interest_level\":\"medium\"}";
            ev->occurred_at_us = now_us;
            ev_ptrs[k] = ev;
        }
        if (results_apply_batch(b.db, NULL, "bench:", ev_ptrs, (size_t)n, now_us, outs, err,
                                sizeof(err)))
            bench_die("bench_results", "results_apply_batch", err);
        for (long k = 0; k < n; k++)
            applied += !outs[k].rejected && outs[k].effect == RESULTS_APPLIED;
    }
    double apply_s = bench_mono_s() - t0;
    int64_t apply_cpu_us = process_cpu_us(backend) - cpu0;
    free(outs);
    free(event_ids);
    free(ev_ptrs);
    free(evs);

    PGresult *res = NULL;
    bench_sql(b.db, "SELECT count(*) FROM lead WHERE status = 'completed'", 0, NULL, &res);
    long completed = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    double sql_rate = (double)leads / sql_s;
    double apply_rate = (double)leads / apply_s;
    printf("results_events=%ld\n", leads);
    printf("results_batch=%ld\n", batch);
    printf("sql_update_rows_per_s=%.0f\n", sql_rate);
    printf("apply_events_per_s=%.0f\n", apply_rate);
    printf("apply_vs_sql=%.2f\n", apply_rate / sql_rate);
    if (cpu0 >= 0 && sql_cpu_us > 0 && apply_cpu_us > 0) {
        double sql_us = (double)sql_cpu_us / (double)leads;
        double apply_us = (double)apply_cpu_us / (double)leads;
        printf("sql_update_backend_cpu_us_per_row=%.0f\n", sql_us);
        printf("apply_backend_cpu_us_per_event=%.0f\n", apply_us);
        printf("apply_vs_sql_backend_cpu=%.2f\n", sql_us / apply_us);
    }
    free(rows);
    bench_db_drop(&b);
    return applied == leads && completed == leads ? 0 : 1;
}
