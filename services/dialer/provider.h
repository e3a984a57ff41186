/*
 * provider.h — the voice provider behind a small interface.
 *
 * The dialer speaks to providers only through a provider_ops_t: it builds
 * HTTP requests (create a call, look a call up), classifies the answers and
 * turns webhook bodies and call objects into one normalized struct. Those are
 * pure functions over strings and plain structs — no sockets, no clocks —
 * so unit tests call them directly, and a second provider is one more file
 * (provider_<name>.c) plus one line in provider_find() (providers.c).
 *
 * The HTTP transport (libcurl multi), Redis, Kafka and the mapping of a
 * normalized result to a CallEvent are the dialer's, not the provider's.
 */
#ifndef OUTDIAL_DIALER_PROVIDER_H
#define OUTDIAL_DIALER_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"
#include "err.h"
#include "model.h"
#include "uuid.h"

#define PROVIDER_CALL_ID_MAX 128 /* provider call ids are UUIDs at Vapi; room for others */
#define PROVIDER_REASON_MAX  128 /* an endedReason, or our own reason text */
#define PROVIDER_DETAIL_MAX  256
#define PROVIDER_E164_MAX    20 /* '+' and at most 15 digits, and the NUL */
#define PROVIDER_HEADERS_MAX 4
#define PROVIDER_TYPE_MAX    48

/* What the dialer's deployment tells one provider (each provider has its
 * own). Borrowed strings. */
typedef struct provider_conf {
    const char
        *base_url; /* "https://api.vapi.ai", "http://127.0.0.1:8900"; no trailing '/' needed */
    const char *api_key;        /* the bearer key (Retell also signs its webhooks with it) */
    const char *webhook_url;    /* where the provider must send this deployment's webhooks */
    const char *webhook_secret; /* the shared secret the provider sends back with each (Vapi) */
} provider_conf_t;

/* One HTTP request to make. Everything owned; free with provider_request_clear(). */
typedef struct provider_request {
    const char *method; /* "POST", "GET" (static) */
    char *url;
    char *body; /* NULL for none */
    size_t body_len;
    char *headers[PROVIDER_HEADERS_MAX]; /* "Name: value" lines */
    size_t n_headers;
} provider_request_t;

void provider_request_clear(provider_request_t *req);

/* How a create-call answer is to be handled. */
typedef enum provider_place_outcome {
    PROVIDER_PLACE_OK = 0,       /* placed; provider_call_id is set */
    PROVIDER_PLACE_RATE_LIMITED, /* 429: not placed, may be retried after retry_after_ms */
    PROVIDER_PLACE_TRANSIENT,    /* not placed, and calling again later may work (5xx, 401) */
    PROVIDER_PLACE_PERMANENT,    /* not placed, and the same request will never work (400) */
} provider_place_outcome_t;

typedef struct provider_place_result {
    provider_place_outcome_t outcome;
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    int64_t retry_after_ms;                 /* for RATE_LIMITED / TRANSIENT; 0: not given */
    char ended_reason[PROVIDER_REASON_MAX]; /* for failures: "provider-http-503", ... */
    char detail[PROVIDER_DETAIL_MAX];       /* the provider's own message, for logs */
} provider_place_result_t;

/* The attempt a provider message is about, from the metadata the dialer
 * sent with the call (echoed back by the provider). */
typedef struct provider_attempt {
    char attempt_id[UUID_STR_LEN];
    char lead_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
    uint32_t attempt_number; /* 0 when the provider did not echo it */
} provider_attempt_t;

/* The end of a call, normalized. */
typedef struct provider_result {
    model_call_status_t status;      /* completed, busy, unanswered or failed */
    model_answered_by_t answered_by; /* meaningful when answered_known */
    bool answered_known;
    bool permanent;        /* for failed: calling again will not help */
    bool reason_known;     /* false: the ended reason is not in the provider's table */
    int64_t started_at_us; /* answered at; 0: never answered */
    int64_t ended_at_us;   /* 0: unknown */
    int64_t duration_ms;   /* talk time */
    int64_t cost_minor;    /* cents */
    char ended_reason[PROVIDER_REASON_MAX];
    char *post_call_variables_json; /* a JSON object text, owned; NULL: none */
} provider_result_t;

typedef enum provider_msg_kind {
    PROVIDER_MSG_IGNORED = 0, /* a message the dialer does not act on (transcripts, ...) */
    PROVIDER_MSG_RINGING,
    PROVIDER_MSG_IN_PROGRESS, /* answered, by a person or a machine */
    PROVIDER_MSG_ENDED,       /* the call ended; its report should follow */
    PROVIDER_MSG_REPORT,      /* the end-of-call report: result is set */
} provider_msg_kind_t;

/* A webhook, or a looked-up call object, normalized. */
typedef struct provider_msg {
    provider_msg_kind_t kind;
    char type[PROVIDER_TYPE_MAX]; /* the provider's own message type, for logs */
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    char e164[PROVIDER_E164_MAX]; /* the number called ("" if not given) */
    provider_attempt_t attempt;
    int64_t occurred_at_us;   /* when it happened, provider's clock; 0: not given */
    int64_t started_at_us;    /* IN_PROGRESS: when answered, if given */
    provider_result_t result; /* REPORT only */
} provider_msg_t;

/* Frees what msg owns (the result's variables) and zeroes it. */
void provider_msg_clear(provider_msg_t *msg);

/* Answers of a call lookup. */
typedef enum provider_lookup {
    PROVIDER_LOOKUP_ENDED = 0, /* msg is a REPORT built from the call object */
    PROVIDER_LOOKUP_RUNNING,   /* the call has not ended yet */
    PROVIDER_LOOKUP_NOT_FOUND, /* the provider does not know the call */
    PROVIDER_LOOKUP_RETRY,     /* the provider failed (5xx, 429): ask again later */
} provider_lookup_t;

/* The environment variables that configure a provider (names, not values:
 * the dialer reads them, docs/dialer.md lists them). */
typedef struct provider_env {
    const char *base_url;         /* variable naming the API base URL */
    const char *base_url_default; /* the provider's public API */
    const char *api_key;          /* variable holding the bearer key */
    const char *webhook_url;      /* variable; NULL: the provider takes no per-call URL */
    const char *webhook_secret;   /* variable; NULL: webhooks are signed with the key */
    bool required;                /* the dialer refuses to start without the key */
} provider_env_t;

typedef struct provider_ops {
    const char *name;        /* the DialJob.provider value it serves ("vapi"), and the
                                webhook path /webhooks/<name> */
    const char *auth_header; /* the webhook header that proves its origin */
    provider_env_t env;

    /* Whether a webhook is the provider's: auth is the auth_header's value
     * (NULL when absent), body the raw bytes, now_ms the real time (for a
     * signature's age). OD_OK, or OD_ERR_INVALID with the reason (never the
     * secret) in errbuf. Checked before anything in the body is read. */
    int (*webhook_verify)(const provider_conf_t *conf, const char *auth, const char *body,
                          size_t len, int64_t now_ms, char *errbuf, size_t errlen);

    /* The create-call request for job. OD_ERR_INVALID when the job cannot be
     * expressed (the caller publishes a permanent failure). */
    int (*call_request_build)(const provider_conf_t *conf, const dialjob_t *job,
                              provider_request_t *out, char *errbuf, size_t errlen);

    /* Classifies a create-call answer. retry_after is the Retry-After
     * header's value or NULL. */
    void (*call_response_parse)(long http_status, const char *body, size_t len,
                                const char *retry_after, provider_place_result_t *out);

    /* Parses a webhook body. OD_ERR_INVALID (with a message naming what is
     * wrong) for a body that is not one of the provider's messages or lacks
     * the call or the metadata; out is then cleared. On OD_OK the caller
     * clears out with provider_msg_clear(). */
    int (*webhook_parse)(const char *body, size_t len, provider_msg_t *out, char *errbuf,
                         size_t errlen);

    /* The request that looks a call up by its provider id. */
    int (*call_lookup_build)(const provider_conf_t *conf, const char *provider_call_id,
                             provider_request_t *out, char *errbuf, size_t errlen);

    /* Classifies a lookup answer; for PROVIDER_LOOKUP_ENDED fills out (a
     * REPORT, cleared by the caller). OD_ERR_INVALID for an unparseable 200. */
    int (*call_lookup_parse)(long http_status, const char *body, size_t len,
                             provider_lookup_t *kind, provider_msg_t *out, char *errbuf,
                             size_t errlen);
} provider_ops_t;

/* The provider serving jobs whose DialJob.provider is name, or NULL. */
const provider_ops_t *provider_find(const char *name);

extern const provider_ops_t provider_vapi;
extern const provider_ops_t provider_retell;

/* The providers, NULL-terminated, in a stable order. */
extern const provider_ops_t *const provider_all[];

/* Vapi's endedReason → call result (docs/provider-protocol.md, section 4).
 * answered: the call had a startedAt. Fills status, answered_by,
 * answered_known, permanent and reason_known of out; copies reason. */
void provider_vapi_ended_reason_map(const char *reason, bool answered, provider_result_t *out);

/* Retell's disconnection_reason → call result (docs/provider-protocol.md,
 * section 9). answered: the call connected (a start_timestamp, and a
 * call_status other than not_connected); in_voicemail:
 * call_analysis.in_voicemail was true. Fills the same fields as
 * provider_vapi_ended_reason_map(). */
void provider_retell_reason_map(const char *reason, bool answered, bool in_voicemail,
                                provider_result_t *out);

/* The x-retell-signature value for body at time ts_ms, signed with key:
 * "v=<ts_ms>,d=<hex HMAC-SHA256(key, body || decimal ts_ms)>". out holds
 * PROVIDER_SIGNATURE_MAX bytes. */
#define PROVIDER_SIGNATURE_MAX 96
void provider_retell_signature(const char *key, const char *body, size_t len, int64_t ts_ms,
                               char out[PROVIDER_SIGNATURE_MAX]);

/* Dollars as the provider reports them (0.18) → minor units (18), rounded
 * to the nearest cent; negative or non-finite → 0. */
int64_t provider_cost_minor(double dollars);

/* ---- shared by the provider files (provider.c); pure ---- */

/* base + path with base's trailing '/' removed. Caller frees. */
char *provider_url_join(const char *base, const char *path);

/* Adds "Authorization: Bearer <api key>". */
void provider_header_bearer(const provider_conf_t *conf, provider_request_t *out);

/* Makes out a POST of body (a JSON value, stolen) to base + path, with the
 * bearer key. OD_ERR_INVALID when body cannot be encoded (a string that is
 * not UTF-8). */
int provider_request_post_json(const provider_conf_t *conf, const char *path, json_t *body,
                               provider_request_t *out, char *errbuf, size_t errlen) OD_WUR;

/* Makes out a GET of base + prefix + provider_call_id; OD_ERR_INVALID for
 * an empty id or one with characters a URL path cannot hold. */
int provider_request_get_call(const provider_conf_t *conf, const char *prefix,
                              const char *provider_call_id, provider_request_t *out, char *errbuf,
                              size_t errlen) OD_WUR;

/* Classifies a create-call answer: 200/201 placed, with the call id read
 * from the body's id_key ("id", "call_id"; said in detail when absent);
 * 429 rate-limited, 401/403 a key problem (transient), 408/5xx transient,
 * other 4xx permanent, with the provider's error message ("message", or the
 * body's start) in detail. */
void provider_place_parse(long status, const char *body, size_t len, const char *retry_after,
                          const char *id_key, provider_place_result_t *out);

/* Parses body as JSON into *out (a value the caller json_decref()s).
 * OD_ERR_INVALID, naming where it is broken, for a body that is not JSON. */
int provider_json_load(const char *body, size_t len, json_t **out, char *errbuf,
                       size_t errlen) OD_WUR;

/* Reads a call object into a REPORT (the attempt, number and result). */
typedef int (*provider_report_fn)(const json_t *call, provider_msg_t *out, char *errbuf,
                                  size_t errlen);

/* Classifies a lookup answer (call_lookup_parse's contract): 404 not found;
 * other than 200: retry; a 200 whose status_key property final() accepts is
 * ENDED with out a "call-lookup" REPORT filled by report; otherwise
 * RUNNING. */
int provider_lookup_parse(long status, const char *body, size_t len, const char *status_key,
                          bool (*final)(const char *status), provider_report_fn report,
                          provider_lookup_t *kind, provider_msg_t *out, char *errbuf,
                          size_t errlen) OD_WUR;

/* Reads a webhook body, already parsed as JSON, into out (zeroed);
 * webhook_parse's contract otherwise. */
typedef int (*provider_webhook_read_fn)(const json_t *root, provider_msg_t *out, char *errbuf,
                                        size_t errlen);

/* The frame of every webhook_parse: zeroes out, parses body as JSON, reads
 * it with reader, and clears out again when reader fails. */
int provider_webhook_parse(const char *body, size_t len, provider_webhook_read_fn reader,
                           provider_msg_t *out, char *errbuf, size_t errlen) OD_WUR;

/* The attempt from the metadata object the dialer sent (UUIDs under
 * snake_case or camelCase names, attempt_number as an integer or a string).
 * where names the object in messages ("message.call.metadata"). */
int provider_attempt_from_metadata(const json_t *meta, const char *where, provider_attempt_t *out,
                                   char *errbuf, size_t errlen) OD_WUR;

/* The metadata object the dialer sends with every call (attempt, lead,
 * campaign, account ids and the attempt number). Caller json_decref()s. */
json_t *provider_metadata_of_job(const dialjob_t *job);

/* The job's variables as a JSON object of strings (the assistant's
 * dynamic variables). Caller json_decref()s. */
json_t *provider_variables_of_job(const dialjob_t *job);

/* Starts out's reading of an ended reason: copies reason (NULL: ""),
 * marks it known and not permanent, and who answered unknown; the
 * provider's table fills in the rest. */
void provider_result_begin(provider_result_t *out, const char *reason);

/* The compact text (keys sorted) of obj when it is a JSON object, else
 * NULL. Caller frees. */
char *provider_json_object_text(const json_t *obj);

/* dst = src (or "" for NULL), truncated to len. */
void provider_copy(char *dst, size_t len, const char *src);

#endif
