/*
 * outdial-api — the REST control plane (docs/api.md, docs/openapi.yaml).
 *
 *   outdial-api                       serve the API (the default)
 *   outdial-api bootstrap --name NAME [--balance MINOR] [--region US] [--currency USD] [--json]
 *                                     create an account; prints its id, API key and
 *                                     webhook secret (once)
 *   outdial-api credit --account ID --amount MINOR
 *                                     add to an account's balance (negative: take)
 *   outdial-api routes                print the route table
 *   outdial-api migrate               apply the database migrations and exit
 *
 * main only wires configuration, signals, the server and the background
 * thread (Postgres health and the DNC mirror sync); the work is in the
 * resource files.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "api.h"
#include "config.h"
#include "deps.h"
#include "dashboard.h"
#include "file.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "phone.h"
#include "rkeys.h"
#include "router.h"
#include "signals.h"
#include "threads.h"

/* The background thread checks Postgres this often, which is how fast
 * /readyz notices a database that went away or came back. */
#define API_HEALTH_PERIOD_MS 5000
/* An upload's import row exists from its first byte; one still without
 * its size after 6 hours belongs to an API that died mid-upload (the idle
 * timeout ends a stalled upload long before; 200 MiB at 100 kB/s takes 35
 * minutes). Looked for every 10 minutes. */
#define API_ORPHAN_AGE_S     (6 * 3600)
#define API_ORPHAN_PERIOD_US (600LL * OD_USEC_PER_SEC)

static atomic_bool stopping;

typedef struct service {
    api_t api;
    int64_t dnc_sync_s;
    bool migrate;
    const char *port_file;
    deps_t *deps; /* PostgreSQL, Redis, Kafka: whether each answers (deps.h) */
    int dep_pg;
    atomic_bool migrated;       /* the schema is current (or migrating is off) */
    atomic_bool migrate_failed; /* with the database up: the API stops, status 1 */
} service_t;

/* ---- configuration ---------------------------------------------------------- */

/* The admin token creates accounts and credits balances, so a guessable
 * one is refused at start. At least 32 bytes: 256 bits when random hex,
 * beyond any online guessing. Tokens that deployment files and docs have
 * published (placeholders and the local stack's old default) are refused
 * whatever their length, as is anything that reads as a placeholder.
 * NULL (unset) is fine: the admin routes then answer 403. */
#define API_ADMIN_TOKEN_MIN 32

static const char *const api_admin_token_examples[] = {
    "local-admin-token-0123456789abcdef",       /* deploy/local/services.sh, before */
    "compose-admin-token-change-me-0123456789", /* docker-compose.yml, before */
    "CHANGE-ME-admin-token-at-least-16-chars",  /* deploy/k8s/secret.yaml, before */
    NULL,
};

static const char *const api_admin_token_placeholder_words[] = {"change-me", "changeme", "example",
                                                                NULL};

static int admin_token_check(const char *token, char *err, size_t errlen)
{
    if (!token)
        return OD_OK;
    size_t len = strlen(token);
    if (len < API_ADMIN_TOKEN_MIN)
        return od_fail(err, errlen, OD_ERR_INVALID,
                       "OUTDIAL_API_ADMIN_TOKEN is too short: %zu bytes, the rule is at least "
                       "%d random bytes (e.g. openssl rand -hex 32)",
                       len, API_ADMIN_TOKEN_MIN);
    bool example = false;
    for (size_t i = 0; api_admin_token_examples[i]; i++)
        example = example || strcmp(token, api_admin_token_examples[i]) == 0;
    for (size_t i = 0; api_admin_token_placeholder_words[i]; i++)
        example = example || strcasestr(token, api_admin_token_placeholder_words[i]) != NULL;
    if (example)
        return od_fail(err, errlen, OD_ERR_INVALID,
                       "OUTDIAL_API_ADMIN_TOKEN is an example token from the docs or deployment "
                       "files: the rule is a secret of your own (e.g. openssl rand -hex 32)");
    return OD_OK;
}

static int config_load(service_t *svc, char *err, size_t errlen)
{
    api_t *api = &svc->api;
    int rc = config_get_required("OUTDIAL_PG_DSN", &api->dsn, err, errlen);
    if (rc == OD_OK)
        rc = od_clock_from_env(&api->clk, err, errlen);
    if (rc == OD_OK)
        rc = rkeys_prefix_from_env(&api->redis_prefix, err, errlen);
    if (rc == OD_OK)
        rc = topic_name_from_env(TOPIC_IMPORT_REQUESTS, api->topic_import_requests,
                                 sizeof(api->topic_import_requests), err, errlen);
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_API_IMPORT_MAX_BYTES", API_IMPORT_MAX_BYTES_DEFAULT, 1,
                            16LL * 1024 * 1024 * 1024, &api->import_max_bytes, err, errlen);
    /* Every minute: a Redis write lost to a crash or an outage is repaired
     * within a minute, at the cost of reading the DNC lists once a minute. */
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_API_DNC_SYNC_S", 60, 1, 86400, &svc->dnc_sync_s, err, errlen);
    if (rc == OD_OK)
        rc = config_get_bool("OUTDIAL_API_MIGRATE", true, &svc->migrate, err, errlen);
    int64_t live_max = 0;
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_API_LIVE_MAX", API_LIVE_MAX_DEFAULT, 0, 100000, &live_max, err,
                            errlen);
    if (rc)
        return rc;
    api->live_max = (int)live_max;
    api->admin_token = config_get_str("OUTDIAL_API_ADMIN_TOKEN", NULL);
    rc = admin_token_check(api->admin_token, err, errlen);
    if (rc)
        return rc;
    svc->port_file = config_get_str("OUTDIAL_API_PORT_FILE", NULL);
    return OD_OK;
}

/* POST /v1/campaigns/{campaign_id}/imports, the CSV upload. */
static bool path_is_upload(const char *method, const char *path)
{
    static const char prefix[] = "/v1/campaigns/";
    if (strcmp(method, "POST") != 0 || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *slash = strchr(path + sizeof(prefix) - 1, '/');
    return slash && slash > path + sizeof(prefix) - 1 && strcmp(slash, "/imports") == 0;
}

/* The API's limits on a declared body, checked by lib/web as soon as the
 * headers are in, so that an oversized body is answered 413 without
 * sending 100 Continue or reading any of it: the CSV upload may be
 * import_max_bytes, any other body body_max. The router and the upload
 * check again as the body arrives (a chunked body declares no length),
 * with the same answers. */
static int head_check(http_request_t *req, http_response_t *resp, void *arg)
{
    const api_t *api = arg;
    const char *declared = http_request_header(req, "Content-Length");
    if (!declared)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(declared, &end, 10);
    if (errno != 0 || end == declared)
        return 0;
    char msg[256];
    if (path_is_upload(http_request_method(req), http_request_path(req))) {
        if (n <= (unsigned long long)api->import_max_bytes)
            return 0;
        snprintf(msg, sizeof(msg),
                 "the file is larger than %" PRId64 " bytes: split it, or load it with "
                 "outdial-importer --campaign ID FILE",
                 api->import_max_bytes);
    } else {
        if (n <= api->body_max)
            return 0;
        snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", api->body_max);
    }
    http_response_error(resp, 413, "payload_too_large", msg, NULL);
    return 1;
}

static int metrics_setup(api_t *api, char *err, size_t errlen)
{
    static const char *const labels[] = {"result", NULL};
    int rc = metrics_family_register(api->metrics, METRICS_COUNTER, "outdial_api_leads_added_total",
                                     "Leads sent through the API, by result (created, invalid, "
                                     "duplicate, dnc).",
                                     labels, NULL, 0, &api->leads_added, err, errlen);
    if (rc == OD_OK)
        rc = metrics_counter_register(api->metrics, "outdial_api_import_uploads_total",
                                      "CSV uploads started.", &api->import_uploads, err, errlen);
    if (rc == OD_OK)
        rc = metrics_counter_register(api->metrics, "outdial_api_import_bytes_total",
                                      "CSV bytes received and staged.", &api->import_bytes, err,
                                      errlen);
    if (rc == OD_OK)
        rc = metrics_counter_register(api->metrics, "outdial_api_dnc_syncs_total",
                                      "Completed re-syncs of the Redis DNC sets from Postgres.",
                                      &api->dnc_syncs, err, errlen);
    return rc;
}

static void ready_check(http_readiness_t *rd, void *arg)
{
    service_t *svc = arg;
    if (!atomic_load(&svc->migrated))
        http_readiness_fail(rd, "migrations", "not applied yet (waiting for PostgreSQL)");
    else if (!atomic_load(&svc->api.pg_ok))
        http_readiness_fail(rd, "database", "the last query found the database away");
}

static int migrate_now(const char *dsn, char *err, size_t errlen)
{
    pg_conn_t *db = NULL;
    int rc = pg_conn_new(dsn, "outdial-api-migrate", NULL, &db, err, errlen);
    if (rc)
        return rc;
    migrate_result_t res;
    rc = migrate_run(db, migrate_dir_default(), NULL, NULL, &res, err, errlen);
    if (rc == OD_OK && res.applied > 0)
        log_info("migrate", "%d migrations applied, schema version %d", res.applied, res.latest);
    pg_conn_free(db);
    return rc;
}

/* Applies the migrations once PostgreSQL answers (migrate_when_up), then
 * marks the schema current. OD_OK, also when stopped while waiting (with
 * svc->migrated still false); or the error of a migration that failed with
 * the database up (which stops the API, as at any start). */
static int migrate_at_start(service_t *svc, char *err, size_t errlen)
{
    int rc = migrate_when_up(svc->deps, svc->dep_pg, &stopping, svc->api.dsn, "outdial-api-migrate",
                             err, errlen);
    if (rc == OD_OK)
        atomic_store(&svc->migrated, true);
    if (rc == OD_ERR_UNAVAILABLE && atomic_load(&stopping))
        return OD_OK;
    return rc;
}

/* ---- background: Postgres health, Redis connection, DNC sync ------------------ */

static const pg_stmt_t ping_stmt = {"api_ping", "SELECT 1", 0};

static void *background_main(void *arg)
{
    service_t *svc = arg;
    api_t *api = &svc->api;
    char err[512];
    pg_conn_t *db = NULL;
    int64_t last_sync = 0, last_orphans = 0;
    bool synced_once = false;
    if (svc->migrate && migrate_at_start(svc, err, sizeof(err)) != OD_OK) {
        log_error("migrate", "%s", err);
        atomic_store(&svc->migrate_failed, true);
        atomic_store(&stopping, true);
    }
    while (!atomic_load(&stopping)) {
        int64_t now = od_clock_real_us();
        /* One try per period: the loop itself is the retry, and a long
         * connect backoff here would hold up shutdown. */
        static const pg_retry_t once = {.attempts = 1};
        if (!db && pg_conn_new(api->dsn, "outdial-api-sync", &once, &db, err, sizeof(err))) {
            log_warn("postgres", "%s", err);
            db = NULL;
        }
        bool pg_ok = db && pg_stmt_exec(db, &ping_stmt, NULL, NULL, err, sizeof(err)) == OD_OK;
        atomic_store(&api->pg_ok, pg_ok);
        /* Connects once Redis answers (redis.h); until then the DNC sync
         * below fails and is tried again. */
        redis_t *r = atomic_load(&api->redis);
        if (pg_ok && now - last_orphans >= API_ORPHAN_PERIOD_US) {
            int n = 0;
            if (imports_orphans_discard(db, API_ORPHAN_AGE_S, &n, err, sizeof(err)) != OD_OK)
                log_warn("import_orphans", "%s", err);
            else if (n > 0)
                log_info("import_orphans", "%d uploads that never completed removed", n);
            last_orphans = now;
        }
        if (pg_ok && r && (!synced_once || now - last_sync >= svc->dnc_sync_s * OD_USEC_PER_SEC)) {
            size_t n = 0;
            if (dnc_sync_all(db, r, api->redis_prefix, &n, err, sizeof(err)) == OD_OK) {
                atomic_store(&api->redis_ok, true);
                metrics_counter_add(api->dnc_syncs, 1);
                log_debug("dnc_sync", "%zu accounts' DNC sets in sync", n);
                synced_once = true;
                last_sync = now;
            } else {
                atomic_store(&api->redis_ok, false);
                log_warn("dnc_sync", "%s", err);
            }
        }
        int64_t period_ms = svc->dnc_sync_s * 1000 < API_HEALTH_PERIOD_MS ? svc->dnc_sync_s * 1000
                                                                          : API_HEALTH_PERIOD_MS;
        od_signals_sleep(&stopping, (int)period_ms);
    }
    pg_conn_free(db);
    return NULL;
}

static int serve(void)
{
    char err[1024];
    service_t svc;
    memset(&svc, 0, sizeof(svc));
    api_t *api = &svc.api;
    http_server_t *http = NULL;
    od_thread_t background = {.name = "background", .main = background_main};
    int status = 1;

    if (config_load(&svc, err, sizeof(err))) {
        fprintf(stderr, "outdial-api: %s\n", err);
        return 2;
    }
    od_signals_stop_flag(&stopping, true);
    phone_init();
    pthread_mutex_init(&api->producer_mu, NULL);

    api->metrics = metrics_registry_new();
    if (metrics_setup(api, err, sizeof(err)))
        goto out;
    http_config_t hcfg;
    http_config_init(&hcfg);
    hcfg.port = API_HTTP_PORT_DEFAULT;
    hcfg.metrics = api->metrics;
    hcfg.ready = ready_check;
    hcfg.ready_arg = &svc;
    hcfg.head_check = head_check;
    hcfg.head_check_arg = api;
    if (http_config_from_env(&hcfg, "OUTDIAL_API", err, sizeof(err)))
        goto out;
    api->body_max = hcfg.body_max;
    /* A connection per request thread, plus as many again for uploads,
     * which hold theirs while the file arrives. */
    int64_t pool_max = 0;
    if (config_get_int("OUTDIAL_API_PG_POOL", (int64_t)hcfg.threads * 2 + 2, 1, 1000, &pool_max,
                       err, sizeof(err)))
        goto out;

    /* Nothing here waits for PostgreSQL, Redis or Kafka: the server
     * starts, /readyz names what does not answer, and the background
     * thread migrates once PostgreSQL does. */
    svc.deps = deps_new();
    svc.dep_pg = pg_deps_add(svc.deps, api->dsn);
    hcfg.deps = svc.deps;
    if (redis_deps_add(svc.deps, err, sizeof(err)) < 0 ||
        kafka_deps_add(svc.deps, "outdial-api-check", err, sizeof(err)) < 0 ||
        deps_start(svc.deps, err, sizeof(err)))
        goto out;
    atomic_store(&svc.migrated, !svc.migrate);
    redis_t *r = NULL;
    if (redis_new_from_env(&r, err, sizeof(err)) != OD_OK)
        goto out;
    atomic_store(&api->redis, r);
    kafka_producer_opts_t popts = {.client_id = "outdial-api"};
    if (kafka_producer_new(&popts, &api->producer, err, sizeof(err)))
        goto out;
    api->pool = api_pool_new(api->dsn, (int)pool_max);
    const char *dash_dir = dashboard_dir();
    if (dashboard_load(dash_dir, &api->dashboard, err, sizeof(err)) != OD_OK)
        log_warn("dashboard", "%s (the API serves without its dashboard)", err);
    else
        log_info("dashboard", "serving %zu files from %s at /", dashboard_files(api->dashboard),
                 dash_dir);

    if (http_server_new(&hcfg, &http, err, sizeof(err)) ||
        router_register(http, api, err, sizeof(err)) || http_server_start(http, err, sizeof(err)))
        goto out;
    if (svc.port_file &&
        od_file_write_atomic(svc.port_file, err, sizeof(err), "%d\n", http_server_port(http)))
        log_warn("port_file", "cannot write %s: %s", svc.port_file, err);
    if (od_threads_start(&background, 1, &svc, err, sizeof(err)))
        goto out;
    log_info("ready", "outdial-api listening on port %d", http_server_port(http));
    od_signals_wait(&stopping);
    status = 0;
    if (atomic_load(&svc.migrate_failed)) {
        snprintf(err, sizeof(err), "a migration failed (see the migrate line above)");
        status = 1;
    }
out:
    if (status != 0)
        log_error("startup", "%s", err);
    atomic_store(&stopping, true);
    http_server_free(http); /* stops and waits for running handlers */
    od_threads_join(&background, 1);
    api_pool_free(api->pool);
    dashboard_free(api->dashboard);
    kafka_producer_free(api->producer);
    redis_free(atomic_load(&api->redis));
    deps_free(svc.deps);
    metrics_registry_free(api->metrics);
    pthread_mutex_destroy(&api->producer_mu);
    log_info("stopped", "outdial-api stopped");
    return status;
}

/* ---- commands ------------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: outdial-api                      serve the REST API\n"
            "       outdial-api bootstrap --name NAME [--balance MINOR] [--region US]\n"
            "                             [--currency USD] [--json]\n"
            "       outdial-api credit --account ID --amount MINOR\n"
            "       outdial-api routes               print the route table\n"
            "       outdial-api migrate              apply the database migrations\n"
            "\n"
            "Environment: OUTDIAL_PG_DSN (required), OUTDIAL_REDIS_URL, OUTDIAL_KAFKA_BROKERS,\n"
            "OUTDIAL_API_HTTP_PORT (8080), OUTDIAL_API_ADMIN_TOKEN; see docs/api.md.\n");
}

static bool parse_i64(const char *name, const char *text, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end) {
        fprintf(stderr, "outdial-api: %s must be an integer, not '%s'\n", name, text);
        return false;
    }
    *out = v;
    return true;
}

/* text in capitals into buf (cut to len - 1 bytes); returns buf. */
static const char *upper_copy(const char *text, char *buf, size_t len)
{
    snprintf(buf, len, "%s", text);
    for (char *c = buf; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return buf;
}

/* A connection for the commands, after migrating (unless told not to). */
static pg_conn_t *command_db(void)
{
    char err[1024];
    const char *dsn = NULL;
    bool migrate = true;
    if (config_get_required("OUTDIAL_PG_DSN", &dsn, err, sizeof(err)) ||
        config_get_bool("OUTDIAL_API_MIGRATE", true, &migrate, err, sizeof(err)) ||
        (migrate && migrate_now(dsn, err, sizeof(err)))) {
        fprintf(stderr, "outdial-api: %s\n", err);
        return NULL;
    }
    pg_conn_t *db = NULL;
    if (pg_conn_new(dsn, "outdial-api-cli", NULL, &db, err, sizeof(err))) {
        fprintf(stderr, "outdial-api: %s\n", err);
        return NULL;
    }
    return db;
}

/* A command's option and where its value goes: text to *text, a whole
 * number to *number; *given is set when the option is given (alone, it
 * makes the option a flag). */
typedef struct cmd_opt {
    const char *name;
    const char **text;
    int64_t *number;
    bool *given;
} cmd_opt_t;

#define CMD_OPTS_MAX 8
/* getopt's value for opts[i] is CMD_OPT_FIRST + i, clear of any letter. */
#define CMD_OPT_FIRST 1000

/* Parses a command's options (argv[0] is the command) into opts' places.
 * Returns -1 to go on with argv[optind..], or the exit status: 0 after
 * --help, 2 after a bad option (usage on stderr). */
static int cmd_opts_parse(int argc, char **argv, const cmd_opt_t *opts, size_t n)
{
    if (n > CMD_OPTS_MAX) /* a command of ours outgrew the array: raise CMD_OPTS_MAX */
        abort();
    struct option longopts[CMD_OPTS_MAX + 2];
    for (size_t i = 0; i < n; i++) {
        int has_arg = opts[i].text || opts[i].number ? required_argument : no_argument;
        longopts[i] = (struct option){opts[i].name, has_arg, NULL, CMD_OPT_FIRST + (int)i};
    }
    longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        size_t i = (size_t)(opt - CMD_OPT_FIRST);
        if (opt < CMD_OPT_FIRST || i >= n) {
            usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s", opts[i].name);
        if (opts[i].number && !parse_i64(flag, optarg, opts[i].number))
            return 2;
        if (opts[i].text)
            *opts[i].text = optarg;
        if (opts[i].given)
            *opts[i].given = true;
    }
    return -1;
}

static int cmd_bootstrap(int argc, char **argv)
{
    const char *name = NULL, *region = "US", *currency = "USD";
    int64_t balance = 0;
    bool json = false;
    const cmd_opt_t opts[] = {
        {"name", .text = &name},     {"balance", .number = &balance},
        {"region", .text = &region}, {"currency", .text = &currency},
        {"json", .given = &json},
    };
    int status = cmd_opts_parse(argc, argv, opts, OD_COUNT(opts));
    if (status >= 0)
        return status;
    if (!name || optind < argc) {
        fprintf(stderr, "outdial-api bootstrap: --name NAME is required\n");
        return 2;
    }
    if (balance < -ACCOUNTS_CREDIT_MAX || balance > ACCOUNTS_CREDIT_MAX) {
        fprintf(stderr, "outdial-api bootstrap: --balance must be between %lld and %lld\n",
                -ACCOUNTS_CREDIT_MAX, ACCOUNTS_CREDIT_MAX);
        return 2;
    }
    /* Codes are capitals; accept them typed in any case. */
    char region_uc[8], currency_uc[8];
    region = upper_copy(region, region_uc, sizeof(region_uc));
    currency = upper_copy(currency, currency_uc, sizeof(currency_uc));
    pg_conn_t *db = command_db();
    if (!db)
        return 1;
    char err[1024], account_id[UUID_STR_LEN], key[AUTH_KEY_LEN + 1],
        secret[ACCOUNTS_SECRET_LEN + 1];
    int rc = accounts_create(db, name, balance, region, currency, account_id, key, secret, err,
                             sizeof(err));
    pg_conn_free(db);
    if (rc) {
        fprintf(stderr, "outdial-api bootstrap: %s\n", err);
        return rc == OD_ERR_INVALID ? 2 : 1;
    }
    if (json)
        printf("{\"account_id\":\"%s\",\"api_key\":\"%s\",\"webhook_secret\":\"%s\"}\n", account_id,
               key, secret);
    else
        printf("account_id %s\napi_key %s\nwebhook_secret %s\n", account_id, key, secret);
    fprintf(stderr, "outdial-api: keep the API key now: it is stored only hashed and cannot be "
                    "shown again (the webhook secret is shown again only by a rotation)\n");
    return 0;
}

static int cmd_credit(int argc, char **argv)
{
    const char *account = NULL;
    int64_t amount = 0;
    bool have_amount = false;
    const cmd_opt_t opts[] = {
        {"account", .text = &account},
        {"amount", .number = &amount, .given = &have_amount},
    };
    int status = cmd_opts_parse(argc, argv, opts, OD_COUNT(opts));
    if (status >= 0)
        return status;
    if (!account || !have_amount || optind < argc) {
        fprintf(stderr, "outdial-api credit: --account ID and --amount MINOR are required\n");
        return 2;
    }
    pg_conn_t *db = command_db();
    if (!db)
        return 1;
    char err[1024];
    int64_t balance = 0;
    int rc = accounts_credit(db, account, amount, &balance, err, sizeof(err));
    pg_conn_free(db);
    if (rc) {
        fprintf(stderr, "outdial-api credit: %s\n", err);
        return rc == OD_ERR_INVALID || rc == OD_ERR_NOT_FOUND ? 2 : 1;
    }
    printf("account_id %s\nbalance_minor %" PRId64 "\n", account, balance);
    return 0;
}

int main(int argc, char **argv)
{
    char err[512];
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "routes") == 0) {
        router_print(stdout);
        return 0;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    /* The commands are for people: JSON log lines only for warnings. */
    if (strcmp(cmd, "serve") != 0 && !getenv("OUTDIAL_LOG_LEVEL"))
        setenv("OUTDIAL_LOG_LEVEL", "warn", 1);
    if (log_init("api", err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-api: %s\n", err);
        return 2;
    }
    if (strcmp(cmd, "serve") == 0)
        return serve();
    if (strcmp(cmd, "bootstrap") == 0)
        return cmd_bootstrap(argc - 1, argv + 1);
    if (strcmp(cmd, "credit") == 0)
        return cmd_credit(argc - 1, argv + 1);
    if (strcmp(cmd, "migrate") == 0) {
        const char *dsn = NULL;
        char merr[1024];
        if (config_get_required("OUTDIAL_PG_DSN", &dsn, merr, sizeof(merr)) ||
            migrate_now(dsn, merr, sizeof(merr))) {
            fprintf(stderr, "outdial-api: %s\n", merr);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "outdial-api: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
