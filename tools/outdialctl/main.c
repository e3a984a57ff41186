/*
 * outdialctl — the command line of outdial's REST API.
 *
 * main only wires things: parse the command line (ctl_spec), pick the API
 * URL and credentials (flags over environment), make the HTTP client and
 * run the command (ctl_run). Exit codes: 0 success, 1 an API or network
 * error, 2 a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl_http.h"
#include "ctl_run.h"
#include "ctl_spec.h"

#define CTL_URL_DEFAULT "http://127.0.0.1:8080"

int main(int argc, char **argv)
{
    ctl_args_t args;
    char err[1024];
    int code = CTL_EXIT_USAGE;
    ctl_http_t *http = NULL;
    if (ctl_args_parse(argc, argv, &args, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdialctl: %s\n\n", err);
        ctl_usage_write(stderr, args.cmd, args.group);
        goto out;
    }
    if (args.help || !args.cmd) {
        ctl_usage_write(stdout, args.cmd, args.group);
        code = CTL_EXIT_OK;
        goto out;
    }
    const char *url = args.url ? args.url : config_get_str("OUTDIAL_URL", CTL_URL_DEFAULT);
    const char *token;
    if (args.cmd->auth == CTL_AUTH_ADMIN) {
        token = args.admin_token ? args.admin_token
                                 : config_get_str("OUTDIAL_ADMIN_TOKEN",
                                                  config_get_str("OUTDIAL_API_ADMIN_TOKEN", NULL));
        if (!token) {
            fprintf(stderr, "outdialctl: no admin token: set OUTDIAL_ADMIN_TOKEN or pass "
                            "--admin-token (the API's OUTDIAL_API_ADMIN_TOKEN)\n");
            goto out;
        }
    } else {
        token = args.key ? args.key : config_get_str("OUTDIAL_API_KEY", NULL);
        if (!token) {
            fprintf(stderr, "outdialctl: no API key: set OUTDIAL_API_KEY or pass --key "
                            "(outdial-api bootstrap --name NAME prints one)\n");
            goto out;
        }
    }
    if (ctl_http_new(url, token, &ctl_interrupted, &http, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdialctl: %s\n", err);
        goto out;
    }
    ctl_ctx_t ctx = {
        .args = &args,
        .http = http,
        .out = stdout,
        .err = stderr,
        .out_tty = isatty(STDOUT_FILENO) == 1,
        .err_tty = isatty(STDERR_FILENO) == 1,
    };
    code = ctl_run(&ctx);
    if (fflush(stdout) != 0 && code == CTL_EXIT_OK)
        code = CTL_EXIT_FAIL; /* a full disk or a closed pipe lost the output */
out:
    ctl_http_free(http);
    ctl_args_free(&args);
    return code;
}
