#include "dial_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "xmalloc.h"

/* Separates outdial's name-based ids from any other SHA-256 of the same
 * text; changing it changes every event id, so it never changes. */
#define DIAL_EVENT_ID_NAMESPACE "outdial.dialer.call-event.v1"

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        abort(); /* OpenSSL without SHA-256 cannot happen on a supported system */
}

void dial_event_id(const char *attempt_id, const char *kind, char out[UUID_STR_LEN])
{
    /* NUL separators: no (attempt, kind) pair can spell another's text. */
    size_t a = strlen(attempt_id), k = strlen(kind), ns = sizeof(DIAL_EVENT_ID_NAMESPACE);
    char *name = xmalloc(ns + a + 1 + k);
    memcpy(name, DIAL_EVENT_ID_NAMESPACE, ns);
    memcpy(name + ns, attempt_id, a + 1);
    memcpy(name + ns + a + 1, kind, k);
    unsigned char d[32];
    sha256(name, ns + a + 1 + k, d);
    free(name);
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x80); /* version 8: custom (here SHA-256 based) */
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80); /* variant RFC 9562 */
    snprintf(out, UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1],
             d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14],
             d[15]);
}

Outdial__V1__CallStatus dial_status_to_proto(model_call_status_t status)
{
    return (Outdial__V1__CallStatus)((int)status + 1);
}

Outdial__V1__AnsweredBy dial_answered_by_to_proto(model_answered_by_t answered_by)
{
    return (Outdial__V1__AnsweredBy)((int)answered_by + 1);
}

Outdial__V1__SkipReason dial_skip_reason_to_proto(model_skip_reason_t reason)
{
    return (Outdial__V1__SkipReason)((int)reason + 1);
}

void dial_attempt_from_job(const dialjob_t *job, provider_attempt_t *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->attempt_id, sizeof(out->attempt_id), "%s", job->attempt_id);
    snprintf(out->lead_id, sizeof(out->lead_id), "%s", job->lead_id);
    snprintf(out->campaign_id, sizeof(out->campaign_id), "%s", job->campaign_id);
    snprintf(out->account_id, sizeof(out->account_id), "%s", job->account_id);
    out->attempt_number = job->attempt_number;
}

void dial_event_clear(dial_event_t *e)
{
    if (!e)
        return;
    free(e->post_call_variables_json);
    memset(e, 0, sizeof(*e));
}

/* The fields every event has; the strings point into e. */
static void base(dial_event_t *e, const provider_attempt_t *a, const char *kind,
                 model_call_status_t status, int64_t occurred_at_us)
{
    memset(e, 0, sizeof(*e));
    callevent_init(&e->ev);
    e->attempt = *a;
    e->kind = kind;
    dial_event_id(a->attempt_id, kind, e->event_id);
    e->ev.event_id = e->event_id;
    e->ev.attempt_id = e->attempt.attempt_id;
    e->ev.lead_id = e->attempt.lead_id;
    e->ev.campaign_id = e->attempt.campaign_id;
    e->ev.account_id = e->attempt.account_id;
    e->ev.attempt_number = a->attempt_number;
    e->ev.status = dial_status_to_proto(status);
    e->ev.provider_call_id = e->provider_call_id;
    e->ev.ended_reason = e->ended_reason;
    e->ev.skip_detail = e->skip_detail;
    e->ev.occurred_at_us = occurred_at_us;
}

void dial_event_skipped(dial_event_t *e, const provider_attempt_t *a, model_skip_reason_t reason,
                        const char *detail, int64_t now_us)
{
    base(e, a, DIAL_KIND_SKIPPED, MODEL_CALL_SKIPPED, now_us);
    e->ev.skip_reason = dial_skip_reason_to_proto(reason);
    snprintf(e->skip_detail, sizeof(e->skip_detail), "%s", detail ? detail : "");
    /* The call row keeps the ended reason, not the detail: the reason and
     * as much of the detail as fits, so a skipped attempt says why. */
    snprintf(e->ended_reason, sizeof(e->ended_reason), "%s: %s", model_skip_reason_name(reason),
             detail ? detail : "");
}

void dial_event_predial_set(dial_event_t *e, model_predial_result_t result, const char *reason,
                            int64_t latency_ms)
{
    if (result == MODEL_PREDIAL_NONE)
        return;
    callevent_predial_init(&e->predial);
    /* numbered alike (results.c asserts it) */
    e->predial.result = (Outdial__V1__PredialResult)result;
    snprintf(e->predial_reason, sizeof(e->predial_reason), "%s", reason ? reason : "");
    e->predial.reason = e->predial_reason;
    e->predial.latency_ms = latency_ms < 0 ? 0 : (uint32_t)latency_ms;
    e->ev.predial = &e->predial;
}

void dial_event_caller_id_set(dial_event_t *e, const char *e164)
{
    if (!e164 || !*e164)
        return;
    snprintf(e->caller_id, sizeof(e->caller_id), "%s", e164);
    e->ev.caller_id = e->caller_id;
}

void dial_event_initiated(dial_event_t *e, const provider_attempt_t *a,
                          const char *provider_call_id, int64_t now_us)
{
    base(e, a, DIAL_KIND_INITIATED, MODEL_CALL_INITIATED, now_us);
    snprintf(e->provider_call_id, sizeof(e->provider_call_id), "%s",
             provider_call_id ? provider_call_id : "");
}

void dial_event_failed(dial_event_t *e, const provider_attempt_t *a, const char *kind,
                       bool permanent, const char *ended_reason, const char *provider_call_id,
                       int64_t now_us)
{
    base(e, a, kind, MODEL_CALL_FAILED, now_us);
    e->ev.failure_class = permanent ? OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT
                                    : OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT;
    e->ev.ended_at_us = now_us;
    snprintf(e->ended_reason, sizeof(e->ended_reason), "%s", ended_reason ? ended_reason : "");
    snprintf(e->provider_call_id, sizeof(e->provider_call_id), "%s",
             provider_call_id ? provider_call_id : "");
}

int dial_event_from_msg(dial_event_t *e, const provider_msg_t *m, int64_t now_us)
{
    int64_t at = m->occurred_at_us > 0 ? m->occurred_at_us : now_us;
    switch (m->kind) {
    case PROVIDER_MSG_RINGING:
        base(e, &m->attempt, DIAL_KIND_RINGING, MODEL_CALL_RINGING, at);
        break;
    case PROVIDER_MSG_IN_PROGRESS:
        base(e, &m->attempt, DIAL_KIND_IN_PROGRESS, MODEL_CALL_IN_PROGRESS, at);
        e->ev.started_at_us = m->started_at_us > 0 ? m->started_at_us : at;
        break;
    case PROVIDER_MSG_REPORT: {
        const provider_result_t *r = &m->result;
        base(e, &m->attempt, DIAL_KIND_END, r->status, at);
        if (r->answered_known)
            e->ev.answered_by = dial_answered_by_to_proto(r->answered_by);
        if (r->status == MODEL_CALL_FAILED)
            e->ev.failure_class = r->permanent
                                      ? OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT
                                      : OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT;
        e->ev.started_at_us = r->started_at_us;
        e->ev.ended_at_us = r->ended_at_us > 0 ? r->ended_at_us : at;
        e->ev.duration_ms = r->duration_ms;
        e->ev.cost_minor = r->cost_minor;
        snprintf(e->ended_reason, sizeof(e->ended_reason), "%s", r->ended_reason);
        if (r->post_call_variables_json) {
            e->post_call_variables_json = xstrdup(r->post_call_variables_json);
            e->ev.post_call_variables_json = e->post_call_variables_json;
        }
        break;
    }
    default:
        return OD_ERR_NOT_FOUND;
    }
    snprintf(e->provider_call_id, sizeof(e->provider_call_id), "%s", m->provider_call_id);
    return OD_OK;
}

int dial_event_encode(const dial_event_t *e, uint8_t **out, size_t *out_len, char *errbuf,
                      size_t errlen)
{
    return callevent_encode(&e->ev, out, out_len, errbuf, errlen);
}
