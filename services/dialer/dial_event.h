/*
 * dial_event.h — the CallEvents the dialer publishes, built from a dial job
 * or a normalized provider message; deterministic event ids; the constant-
 * time secret comparison of webhooks.
 *
 * Event ids are a name-based UUID (version 8, RFC 9562) of the SHA-256 of
 * (attempt id, event kind): a webhook delivered twice, a report and the
 * reconciliation lookup that raced it, or a job's event re-published after
 * a Kafka error all carry the same id, and the scheduler keeps one of them.
 *
 * Kinds: "initiated", "ringing", "in_progress", "skipped", "end" (the
 * attempt's one terminal result from the provider, whether it came from
 * the end-of-call report, a lookup, or a refused create-call request) and
 * "unconfirmed" (a create-call request whose answer never came and that no
 * webhook confirmed: a failure that a later real result must not be taken
 * for a copy of).
 *
 * Pure: no I/O; thread-safe.
 */
#ifndef OUTDIAL_DIALER_DIAL_EVENT_H
#define OUTDIAL_DIALER_DIAL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "model.h"
#include "predial.h"
#include "provider.h"
#include "uuid.h"

#define DIAL_KIND_INITIATED   "initiated"
#define DIAL_KIND_RINGING     "ringing"
#define DIAL_KIND_IN_PROGRESS "in_progress"
#define DIAL_KIND_SKIPPED     "skipped"
#define DIAL_KIND_END         "end"
#define DIAL_KIND_UNCONFIRMED "unconfirmed"

/* A CallEvent and the storage its strings point into. Set up by one of the
 * dial_event_* builders; dial_event_clear() frees what it owns. */
typedef struct dial_event {
    callevent_t ev;
    char event_id[UUID_STR_LEN];
    provider_attempt_t attempt;
    char provider_call_id[PROVIDER_CALL_ID_MAX];
    char ended_reason[PROVIDER_REASON_MAX];
    char skip_detail[PROVIDER_DETAIL_MAX];
    char *post_call_variables_json; /* owned */
    const char *kind;               /* static: one of DIAL_KIND_* */
    callevent_predial_t predial;    /* ev.predial points here once set */
    char predial_reason[PREDIAL_REASON_MAX];
    char caller_id[PROVIDER_E164_MAX]; /* ev.caller_id points here once set */
} dial_event_t;

/* The number the call came from (CallEvent.caller_id), on an event built
 * already; NULL or "" leaves e without one. */
void dial_event_caller_id_set(dial_event_t *e, const char *e164);

/* Adds the pre-dial check's answer to e (after e is built: the builders
 * below start from an empty event). result NONE leaves e without one. */
void dial_event_predial_set(dial_event_t *e, model_predial_result_t result, const char *reason,
                            int64_t latency_ms);

void dial_event_clear(dial_event_t *e);

/* The event id of (attempt_id, kind), lower-case 8-4-4-4-12. */
void dial_event_id(const char *attempt_id, const char *kind, char out[UUID_STR_LEN]);

/* The attempt of a job. */
void dial_attempt_from_job(const dialjob_t *job, provider_attempt_t *out);

/* skipped with reason (model) and free-text detail, at now_us. */
void dial_event_skipped(dial_event_t *e, const provider_attempt_t *a, model_skip_reason_t reason,
                        const char *detail, int64_t now_us);

/* initiated: the provider accepted the call. */
void dial_event_initiated(dial_event_t *e, const provider_attempt_t *a,
                          const char *provider_call_id, int64_t now_us);

/* failed, before or without a provider result: the create-call request was
 * refused (kind DIAL_KIND_END) or never answered (DIAL_KIND_UNCONFIRMED). */
void dial_event_failed(dial_event_t *e, const provider_attempt_t *a, const char *kind,
                       bool permanent, const char *ended_reason, const char *provider_call_id,
                       int64_t now_us);

/* The event of a provider message (ringing, in_progress, or the terminal
 * result of a REPORT; the report's variables are copied). now_us stands in
 * for a message without a timestamp. OD_ERR_NOT_FOUND for messages that
 * make no event (IGNORED, ENDED). */
int dial_event_from_msg(dial_event_t *e, const provider_msg_t *m, int64_t now_us) OD_WUR;

/* Encodes (and validates) the event. The caller frees *out. */
int dial_event_encode(const dial_event_t *e, uint8_t **out, size_t *out_len, char *errbuf,
                      size_t errlen) OD_WUR;

/* Proto enum values of the model's. */
Outdial__V1__CallStatus dial_status_to_proto(model_call_status_t status);
Outdial__V1__AnsweredBy dial_answered_by_to_proto(model_answered_by_t answered_by);
Outdial__V1__SkipReason dial_skip_reason_to_proto(model_skip_reason_t reason);

#endif
