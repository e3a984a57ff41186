/*
 * outdial-importer — turns CSV files and integration messages into leads.
 *
 *   outdial-importer --campaign ID [--map phone=Col,...] [--region US] FILE
 *   outdial-importer --resume IMPORT_ID
 *   outdial-importer --rejects IMPORT_ID > rejects.csv
 *   outdial-importer                       (the service)
 *
 * See docs/import.md for the file format, the mapping, the outcomes and the
 * environment. main only reads configuration, installs the signal handlers
 * and picks the mode; the work is in importer*.c beside it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "importer_main.h"
#include "log.h"
#include "signals.h"

atomic_bool importer_stop;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: outdial-importer --campaign ID [--map FIELD=COLUMN,...] [--region XX] FILE\n"
            "       outdial-importer --resume IMPORT_ID\n"
            "       outdial-importer --rejects IMPORT_ID\n"
            "       outdial-importer            (service: import-requests and leads-in)\n"
            "\n"
            "  --campaign ID     campaign to import FILE into\n"
            "  --map M           explicit column mapping, e.g. phone=Mobile,name=Client\n"
            "                    (fields: phone name first_name last_name email timezone\n"
            "                    external_id state secondary_phone secondary_phone_N)\n"
            "  --region XX       region of numbers written without +country code\n"
            "                    (default: the account's)\n"
            "  --resume ID       continue an import that was interrupted\n"
            "  --rejects ID      write the import's rejected rows as CSV to stdout\n"
            "  --workers N       threads validating rows (default: one per CPU)\n"
            "  --batch-rows N    rows per transaction (default %d)\n"
            "\n"
            "Environment: OUTDIAL_PG_DSN (required); see docs/import.md for the rest.\n"
            "Exit status: 0 imported, 1 failed, 2 usage, 3 interrupted (resume with --resume).\n",
            IMPORTER_BATCH_ROWS_DEFAULT);
}

static int settings_from_env(importer_settings_t *s, char *err, size_t errlen)
{
    int64_t v;
    s->dsn = config_get_str("OUTDIAL_PG_DSN", NULL);
    if (config_get_int("OUTDIAL_IMPORTER_WORKERS", 0, 0, 64, &v, err, errlen) != OD_OK)
        return OD_ERR_INVALID;
    s->workers = (int)v;
    if (config_get_int("OUTDIAL_IMPORTER_BATCH_ROWS", IMPORTER_BATCH_ROWS_DEFAULT, 100,
                       IMPORTER_BATCH_ROWS_MAX, &v, err, errlen) != OD_OK)
        return OD_ERR_INVALID;
    s->batch_rows = (int)v;
    return OD_OK;
}

static bool parse_int_arg(const char *name, const char *text, int min, int max, int *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < min || v > max) {
        fprintf(stderr, "outdial-importer: %s must be a number from %d to %d, not '%s'\n", name,
                min, max, text);
        return false;
    }
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    char err[1024];
    const char *campaign = NULL, *map = NULL, *region = NULL, *resume = NULL, *rejects = NULL;
    importer_settings_t s;
    memset(&s, 0, sizeof(s));
    static const struct option options[] = {
        {"campaign", required_argument, NULL, 'c'},
        {"map", required_argument, NULL, 'm'},
        {"region", required_argument, NULL, 'r'},
        {"resume", required_argument, NULL, 'R'},
        {"rejects", required_argument, NULL, 'j'},
        {"workers", required_argument, NULL, 'w'},
        {"batch-rows", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (settings_from_env(&s, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-importer: %s\n", err);
        return EXIT_USAGE;
    }
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            campaign = optarg;
            break;
        case 'm':
            map = optarg;
            break;
        case 'r':
            region = optarg;
            break;
        case 'R':
            resume = optarg;
            break;
        case 'j':
            rejects = optarg;
            break;
        case 'w':
            if (!parse_int_arg("--workers", optarg, 1, 64, &s.workers))
                return EXIT_USAGE;
            break;
        case 'b':
            if (!parse_int_arg("--batch-rows", optarg, 100, IMPORTER_BATCH_ROWS_MAX, &s.batch_rows))
                return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_DONE;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    const char *file = optind < argc ? argv[optind] : NULL;
    if (optind + 1 < argc) {
        fprintf(stderr, "outdial-importer: one FILE at a time ('%s' is one too many)\n",
                argv[optind + 1]);
        return EXIT_USAGE;
    }
    int modes = (file || campaign) + (resume != NULL) + (rejects != NULL);
    if (modes > 1 || (file && !campaign) || (campaign && !file) || ((map || region) && !file)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    /* The command line modes are for people: JSON log lines only for
     * warnings and errors unless OUTDIAL_LOG_LEVEL says otherwise. */
    bool service = modes == 0;
    if (!service && !getenv("OUTDIAL_LOG_LEVEL"))
        setenv("OUTDIAL_LOG_LEVEL", "warn", 1);
    if (log_init("importer", err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-importer: %s\n", err);
        return EXIT_USAGE;
    }
    if (!s.dsn) {
        fprintf(stderr, "outdial-importer: OUTDIAL_PG_DSN is not set (a PostgreSQL connection "
                        "string, e.g. postgresql://outdial@127.0.0.1:5432/outdial)\n");
        return EXIT_USAGE;
    }

    od_signals_stop_flag(&importer_stop, true);

    if (file)
        return cli_import_file(&s, campaign, map, region, file);
    if (resume)
        return cli_import_resume(&s, resume);
    if (rejects)
        return cli_rejects(&s, rejects);
    return service_run(&s);
}
