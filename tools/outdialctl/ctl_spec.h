/*
 * ctl_spec.h — outdialctl's commands as data, and the command line turned
 * into a request (method, path, query string, JSON body) without any I/O.
 *
 * Every command is one row of ctl_commands (ctl_spec.c): its words
 * ("campaign create"), positional arguments, options, the API route it
 * calls and how the answer is shown. Each option says where its value goes:
 * a field of the JSON body (with the field's type: text, integer, on/off,
 * days, window, duration, NAME=VALUE pairs), a query parameter, or a local
 * setting of the command (--once). So the help text, the parser and the
 * request come from the same row, and a table of argv -> JSON cases tests
 * them.
 *
 * Global options, accepted anywhere before "--": --url URL, --key KEY,
 * --admin-token TOKEN, --json, --quiet/-q, --help/-h.
 */
#ifndef OUTDIAL_CTL_SPEC_H
#define OUTDIAL_CTL_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* What an option's value is, and how it becomes JSON. */
typedef enum ctl_opt_kind {
    CTL_OPT_FLAG = 0, /* no value; true when given */
    CTL_OPT_TEXT,     /* a string */
    CTL_OPT_INT,      /* a whole number (range left to the API) */
    CTL_OPT_BOOL,     /* on/off -> true/false */
    CTL_OPT_DAYS,     /* "mon-fri" -> ["mon","tue","wed","thu","fri"] */
    CTL_OPT_WINDOW,   /* "09:00-18:00" -> field "09:00", field2 "18:00" */
    CTL_OPT_MINUTES,  /* a duration in whole minutes ("60", "1h30m") -> integer */
    CTL_OPT_SECONDS,  /* a duration in seconds ("600", "10m") -> integer */
    CTL_OPT_VAR,      /* repeated NAME=VALUE -> {"NAME": "VALUE", ...} */
    CTL_OPT_SCHEMA,   /* repeated NAME=boolean|string|number -> {"NAME": "boolean"} */
    CTL_OPT_LIST,     /* repeated -> ["a", "b"] */
    CTL_OPT_MAP,      /* repeated FIELD=Column -> query "FIELD:Column,FIELD:Column" */
} ctl_opt_kind_t;

/* Where the value goes. */
typedef enum ctl_opt_to {
    CTL_TO_BODY = 0, /* JSON body field */
    CTL_TO_QUERY,    /* query parameter */
    CTL_TO_LOCAL,    /* read by the command itself */
} ctl_opt_to_t;

typedef struct ctl_opt {
    const char *name; /* without "--": "max-retries" */
    ctl_opt_kind_t kind;
    ctl_opt_to_t to;
    const char *field;  /* body field or query parameter */
    const char *field2; /* CTL_OPT_WINDOW: the end field */
    const char *meta;   /* the value in the usage ("N", "HH:MM-HH:MM") */
    const char *help;
    bool required;
    bool nullable; /* "none" sends null (clears the setting) */
} ctl_opt_t;

/* How a command runs. */
typedef enum ctl_run {
    CTL_RUN_REQUEST = 0, /* one request; the answer shown by view */
    CTL_RUN_LIST,        /* a paged list: --limit, --cursor, --all (--csv: download) */
    CTL_RUN_IMPORT,      /* upload a CSV file, then follow the import */
    CTL_RUN_WATCH,       /* redraw a campaign's status every interval */
    CTL_RUN_EXPORT,      /* a campaign's leads or calls as CSV, streamed to stdout */
    CTL_RUN_DNC_IMPORT,  /* send a DNC list file in parts */
} ctl_run_t;

/* How an answer is shown (ctl_render.h). */
typedef enum ctl_view {
    CTL_VIEW_OBJECT = 0, /* "key  value" lines */
    CTL_VIEW_ASSISTANTS,
    CTL_VIEW_CAMPAIGNS,
    CTL_VIEW_LEADS,
    CTL_VIEW_CALLS,
    CTL_VIEW_IMPORTS,
    CTL_VIEW_DNC,
    CTL_VIEW_REJECTS,
    CTL_VIEW_CALLER_IDS, /* an assistant's caller-ID pool */
    CTL_VIEW_STATS,
    CTL_VIEW_CAMPAIGN, /* one campaign, its schedule on one line */
    CTL_VIEW_IMPORT,   /* one import's summary */
    CTL_VIEW_WHY,      /* a lead's eligibility: callable or the rules holding it */
    CTL_VIEW_RECOUNT,  /* counters that differ from their recount */
} ctl_view_t;

typedef enum ctl_auth {
    CTL_AUTH_KEY = 0, /* the account's API key */
    CTL_AUTH_ADMIN,   /* the operator's admin token */
} ctl_auth_t;

#define CTL_OPTS_MAX 24
#define CTL_POS_MAX  8

typedef struct ctl_cmd {
    const char *group; /* first word: "campaign" */
    const char *name;  /* second word: "create"; NULL: the group's own form */
    const char *args;  /* positionals in the usage: "CAMPAIGN FILE" */
    size_t min_args, max_args;
    const char *summary; /* one line */
    const char *method;
    const char *path;      /* "/v1/campaigns/{0}/leads": {N} is positional N */
    const char *alt_opt;   /* when this local option is given ... */
    const char *alt_path;  /* ... call this path, {0} being its value */
    const char *pos_field; /* the body is an array: one object per positional, this field
                              holding it, with the options' fields */
    ctl_auth_t auth;
    ctl_run_t run;
    ctl_view_t view;
    bool body; /* sends a JSON object built from the options (or --data) */
    const ctl_opt_t *opts;
    size_t n_opts;
    const char *example;
} ctl_cmd_t;

extern const ctl_cmd_t ctl_commands[];
extern const size_t ctl_n_commands;

/* A parsed command line. Strings borrow from argv. */
typedef struct ctl_args {
    const ctl_cmd_t *cmd; /* NULL: no command (top-level help) */
    const char *group;    /* the group named, when cmd is NULL (group help) */
    const char *pos[CTL_POS_MAX];
    size_t n_pos;
    const char **vals[CTL_OPTS_MAX]; /* values of cmd->opts[i], in order given */
    size_t n_vals[CTL_OPTS_MAX];
    const char *data; /* --data: a JSON body ("@file", "-" read by the caller) */
    /* global options */
    const char *url, *key, *admin_token;
    bool json;
    bool quiet; /* --quiet/-q: ids only */
    bool help;
} ctl_args_t;

/* Parses argv (argv[0] is the program) into args. OD_ERR_INVALID with the
 * message for a usage error (unknown command or option, missing value or
 * required option, a value that does not parse, too many positionals).
 * --help sets args->help and skips the checks of required things. Free
 * with ctl_args_free, also after an error. */
int ctl_args_parse(int argc, char **argv, ctl_args_t *args, char *errbuf, size_t errlen) OD_WUR;
void ctl_args_free(ctl_args_t *args);

/* The values of option `name` (NULL and *n = 0 when not given). */
const char *const *ctl_args_values(const ctl_args_t *args, const char *name, size_t *n);
/* The last value of option `name`, or NULL. */
const char *ctl_args_value(const ctl_args_t *args, const char *name);
/* --timeout (seconds or a duration such as "2m") in milliseconds, 0 when
 * not given. OD_ERR_INVALID with "--timeout: why" for a bad value. */
int ctl_args_timeout_ms(const ctl_args_t *args, int64_t *timeout_ms, char *errbuf,
                        size_t errlen) OD_WUR;
/* Whether option `name` was given. */
bool ctl_args_has(const ctl_args_t *args, const char *name);
/* Forgets the values of option `name` (a list's --cursor, replaced when
 * following next_cursor). */
void ctl_args_drop(ctl_args_t *args, const char *name);

/* The request body: NULL for a command without one; data_text (the JSON of
 * --data, already read) replaces the options when not NULL. The caller
 * frees with json_decref. OD_ERR_INVALID for a value that does not parse
 * or bad --data JSON. */
int ctl_body_build(const ctl_args_t *args, const char *data_text, json_t **body, char *errbuf,
                   size_t errlen) OD_WUR;

/* The path with its positionals (percent-encoded) and the query string of
 * the CTL_TO_QUERY options and extra_query (already encoded "k=v&k=v", may
 * be NULL), e.g. "/v1/campaigns/ID/leads?status=created". Caller frees. */
char *ctl_path_build(const ctl_args_t *args, const char *extra_query);

/* s percent-encoded for a path segment or query value (RFC 3986
 * unreserved characters kept). Caller frees. */
char *ctl_url_encode(const char *s);

/* Usage of one command (its line, summary, options, example), of a group
 * (its commands), or of everything (cmd and group NULL). */
void ctl_usage_write(FILE *out, const ctl_cmd_t *cmd, const char *group);

/* The command's words as text: "campaign create". Caller frees. */
char *ctl_cmd_words(const ctl_cmd_t *cmd);

#endif
