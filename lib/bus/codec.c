#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "uuid.h"
#include "xmalloc.h"

/* protobuf-c allocates through xmalloc, so that out of memory aborts like
 * everywhere else and a NULL from unpack always means a malformed payload. */
static void *codec_alloc(void *allocator_data, size_t size)
{
    (void)allocator_data;
    return xmalloc(size);
}

static void codec_dealloc(void *allocator_data, void *ptr)
{
    (void)allocator_data;
    free(ptr);
}

static ProtobufCAllocator codec_allocator = {
    .alloc = codec_alloc,
    .free = codec_dealloc,
    .allocator_data = NULL,
};

/* ---------------------------------------------------------------------------
 * Field checks */

static bool is_empty(const char *s)
{
    return !s || !*s;
}

static bool e164_valid(const char *s)
{
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    size_t digits = strspn(s + 1, "0123456789");
    return s[1 + digits] == '\0' && digits >= 2 && digits <= 15;
}

/* "" (use the account's) or an ISO 3166 alpha-2 code in upper case. */
static bool region_valid(const char *s)
{
    return is_empty(s) ||
           (strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF (what Postgres accepts in a UTF8 database). */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (p[0] < 0x80) {
            p++;
        } else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
            if ((p[1] & 0xC0) != 0x80)
                return false;
            p += 2;
        } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
            if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
                return false;
            if (p[0] == 0xE0 && p[1] < 0xA0)
                return false; /* overlong */
            if (p[0] == 0xED && p[1] > 0x9F)
                return false; /* surrogate */
            p += 3;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
            if ((p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
                return false;
            if (p[0] == 0xF0 && p[1] < 0x90)
                return false; /* overlong */
            if (p[0] == 0xF4 && p[1] > 0x8F)
                return false; /* above U+10FFFF */
            p += 4;
        } else {
            return false;
        }
    }
    return true;
}

static int check_uuid(const char *msg, const char *field, const char *value, bool required,
                      char *errbuf, size_t errlen)
{
    if (is_empty(value))
        return required ? od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: required", msg, field)
                        : OD_OK;
    if (!uuid_str_valid(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: not a UUID (8-4-4-4-12 hex digits)",
                       msg, field);
    return OD_OK;
}

static int check_e164(const char *msg, const char *field, const char *value, char *errbuf,
                      size_t errlen)
{
    if (is_empty(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: required", msg, field);
    if (!e164_valid(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.%s: not an E.164 number ('+' and 3 to 15 digits)", msg, field);
    return OD_OK;
}

static int check_required(const char *msg, const char *field, const char *value, char *errbuf,
                          size_t errlen)
{
    if (is_empty(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: required", msg, field);
    return OD_OK;
}

static int check_time(const char *msg, const char *field, int64_t us, bool required, char *errbuf,
                      size_t errlen)
{
    if (us < 0 || (required && us == 0))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.%s: %s (microseconds since the Unix epoch)", msg, field,
                       us == 0 ? "required" : "negative");
    return OD_OK;
}

static int check_enum(const char *msg, const char *field, int value, int max, bool required,
                      char *errbuf, size_t errlen)
{
    if (value < 0 || value > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: unknown value %d", msg, field,
                       value);
    if (required && value == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: required", msg, field);
    return OD_OK;
}

/* Walks every string field of msg and of its nested messages (map entries):
 * each must be valid UTF-8, and repeated fields must not hold NULLs (pack
 * would crash on them). Also checks msg was set up for the expected type. */
static int check_strings(const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *expect,
                         const char *prefix, char *errbuf, size_t errlen)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (desc != expect)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s: not a %s (set up with the message's _init function)", prefix,
                       expect->short_name);
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *member = (const char *)msg + field->offset;
        size_t n = 1;
        void *const *items = (void *const *)member;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)msg + field->quantifier_offset);
            items = *(void *const *const *)member;
            if (n > 0 && !items)
                return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: %zu items but no array",
                               prefix, field->name, n);
        }
        for (size_t i = 0; i < n; i++) {
            const void *item = items[i];
            if (!item) {
                if (field->label == PROTOBUF_C_LABEL_REPEATED)
                    return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: item %zu is NULL",
                                   prefix, field->name, i);
                continue;
            }
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                if (!utf8_valid(item))
                    return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: not valid UTF-8", prefix,
                                   field->name);
            } else {
                char nested[128];
                snprintf(nested, sizeof(nested), "%s.%s", prefix, field->name);
                int rc = check_strings(item, field->descriptor, nested, errbuf, errlen);
                if (rc)
                    return rc;
            }
        }
    }
    return OD_OK;
}

/* Map keys must be non-empty (they name variables or lead fields). */
#define CHECK_MAP_KEYS(msg, field, entries, n)                                                     \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            if (is_empty((entries)[i_]->key))                                                      \
                return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: empty key", msg, field);    \
    } while (0)

#define RETURN_IF(expr)                                                                            \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* ---------------------------------------------------------------------------
 * Generic pack / unpack */

static int encode_any(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len);
    size_t packed = protobuf_c_message_pack(msg, buf);
    if (packed != len) {
        free(buf);
        return OD_ERR_INTERNAL;
    }
    *out = buf;
    *out_len = len;
    return OD_OK;
}

/* Whether msg, or a message inside it (map entries), kept an unknown field
 * numbered 0. Field 0 is not valid protobuf, and protobuf-c refuses its
 * one-byte tag (0x02) but takes a tag spelt in more bytes than needed
 * (0x82 0x00) and keeps the field; encoding writes it back in one byte, so
 * such a message would decode but not decode again after a re-encode
 * (found by tests/fuzz/fuzz_proto). */
static bool has_field_zero(const ProtobufCMessage *msg)
{
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + field->quantifier_offset);
            ProtobufCMessage *const *items =
                *(ProtobufCMessage *const *const *)(base + field->offset);
            for (size_t k = 0; k < n; k++)
                if (items[k] && has_field_zero(items[k]))
                    return true;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + field->offset);
            if (sub && has_field_zero(sub))
                return true;
        }
    }
    return false;
}

static int decode_any(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len,
                      ProtobufCMessage **out, char *errbuf, size_t errlen)
{
    /* The error returns are spelt out (not `return od_fail(...)`) so that
     * static analysers, which cannot see into od_fail, know msg is set on
     * success. */
    *out = NULL;
    if (!buf && len > 0) {
        od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: no payload", desc->short_name);
        return OD_ERR_INVALID;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &codec_allocator, len, buf);
    if (!msg) {
        od_fail(errbuf, errlen, OD_ERR_INVALID,
                "%s: malformed protobuf (%zu bytes): truncated, corrupt or not a %s",
                desc->short_name, len, desc->short_name);
        return OD_ERR_INVALID;
    }
    if (has_field_zero(msg)) {
        protobuf_c_message_free_unpacked(msg, &codec_allocator);
        od_fail(errbuf, errlen, OD_ERR_INVALID,
                "%s: malformed protobuf (%zu bytes): a field numbered 0", desc->short_name, len);
        return OD_ERR_INVALID;
    }
    *out = msg;
    return OD_OK;
}

static void free_any(ProtobufCMessage *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, &codec_allocator);
}

/* Defines M_encode, M_decode and M_free for message type T with
 * descriptor D, in terms of M_validate. */
#define CODEC_DEFINE(M, T, D)                                                                      \
    int M##_encode(const T *msg, uint8_t **out, size_t *out_len, char *errbuf, size_t errlen)      \
    {                                                                                              \
        *out = NULL;                                                                               \
        *out_len = 0;                                                                              \
        RETURN_IF(M##_validate(msg, errbuf, errlen));                                              \
        if (encode_any(&msg->base, out, out_len))                                                  \
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "%s: packing failed", (D).short_name); \
        return OD_OK;                                                                              \
    }                                                                                              \
    int M##_decode(const void *buf, size_t len, T **out, char *errbuf, size_t errlen)              \
    {                                                                                              \
        ProtobufCMessage *msg = NULL;                                                              \
        *out = NULL;                                                                               \
        RETURN_IF(decode_any(&(D), buf, len, &msg, errbuf, errlen));                               \
        int rc = M##_validate((const T *)msg, errbuf, errlen);                                     \
        if (rc) {                                                                                  \
            free_any(msg);                                                                         \
            return rc;                                                                             \
        }                                                                                          \
        *out = (T *)msg;                                                                           \
        return OD_OK;                                                                              \
    }                                                                                              \
    void M##_free(T *msg)                                                                          \
    {                                                                                              \
        free_any(msg ? &msg->base : NULL);                                                         \
    }

/* ---------------------------------------------------------------------------
 * DialJob */

/* DialJob.predial of a campaign without a check: shared by every job that
 * dialjob_init sets up, never written (encoding only reads it). */
static dialjob_predial_t predial_none = OUTDIAL__V1__DIAL_JOB__PREDIAL__INIT;

void dialjob_init(dialjob_t *job)
{
    outdial__v1__dial_job__init(job);
    job->calls_per_24h = DIALJOB_NO_FREQUENCY_CAP;
    job->predial = &predial_none;
    job->caller_id_strategy = (char *)"single"; /* read-only: encoding never writes it */
}

void dialjob_predial_init(dialjob_predial_t *predial)
{
    outdial__v1__dial_job__predial__init(predial);
}

void dialjob_legal_init(dialjob_legal_t *legal)
{
    outdial__v1__dial_job__legal__init(legal);
}

/* DialJob's caller-ID pool (19 to 21): the strategy is required, and a
 * message without it (an older scheduler, or cut short) says so. */
static int check_caller_ids(const char *M, const dialjob_t *job, char *errbuf, size_t errlen)
{
    const char *strategy = job->caller_id_strategy ? job->caller_id_strategy : "";
    if (!*strategy)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.caller_id_strategy: missing (a scheduler older than the field, or a "
                       "message cut short)",
                       M);
    if (strcmp(strategy, "single") != 0 && strcmp(strategy, "local_presence") != 0 &&
        strcmp(strategy, "sticky") != 0 && strcmp(strategy, "round_robin") != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.caller_id_strategy: '%.40s' is not single, local_presence, sticky or "
                       "round_robin",
                       M, strategy);
    if (job->n_caller_ids > DIALJOB_CALLER_IDS_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.caller_ids: %zu numbers, most %d", M,
                       job->n_caller_ids, DIALJOB_CALLER_IDS_MAX);
    for (size_t i = 0; i < job->n_caller_ids; i++) {
        const dialjob_caller_id_t *c = job->caller_ids[i];
        RETURN_IF(check_e164(M, "caller_ids.e164", c->e164, errbuf, errlen));
        RETURN_IF(check_required(M, "caller_ids.timezone", c->timezone, errbuf, errlen));
        if (c->daily_cap > DIALJOB_DAILY_CAP_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s.caller_ids.daily_cap: %u is not in 0..%d", M, c->daily_cap,
                           DIALJOB_DAILY_CAP_MAX);
    }
    if (!is_empty(job->sticky_caller_id))
        RETURN_IF(check_e164(M, "sticky_caller_id", job->sticky_caller_id, errbuf, errlen));
    return OD_OK;
}

int dialjob_validate(const dialjob_t *job, char *errbuf, size_t errlen)
{
    static const char M[] = "DialJob";
    RETURN_IF(check_strings(&job->base, &outdial__v1__dial_job__descriptor, M, errbuf, errlen));
    RETURN_IF(check_uuid(M, "attempt_id", job->attempt_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "lead_id", job->lead_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "campaign_id", job->campaign_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "account_id", job->account_id, true, errbuf, errlen));
    if (job->attempt_number < 1 || job->attempt_number > CODEC_ATTEMPT_NUMBER_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.attempt_number: %u is not in 1..%d", M,
                       job->attempt_number, CODEC_ATTEMPT_NUMBER_MAX);
    RETURN_IF(check_e164(M, "e164", job->e164, errbuf, errlen));
    RETURN_IF(check_e164(M, "caller_id", job->caller_id, errbuf, errlen));
    RETURN_IF(check_required(M, "provider", job->provider, errbuf, errlen));
    RETURN_IF(
        check_required(M, "provider_assistant_id", job->provider_assistant_id, errbuf, errlen));
    CHECK_MAP_KEYS(M, "variables", job->variables, job->n_variables);
    RETURN_IF(check_time(M, "not_after_us", job->not_after_us, true, errbuf, errlen));
    RETURN_IF(check_time(M, "issued_at_us", job->issued_at_us, true, errbuf, errlen));
    if (!job->legal)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.legal: required", M);
    const char *profile = job->legal->profile ? job->legal->profile : "";
    if (strcmp(profile, "none") != 0 && strcmp(profile, "us_federal") != 0 &&
        strcmp(profile, "us_states") != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.legal.profile: '%.32s' is not none, us_federal or us_states", M,
                       profile);
    if (strcmp(profile, "none") != 0 && job->legal->n_zones == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.legal.zones: required when the profile is %s", M, profile);
    if (job->calls_per_24h == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.calls_per_24h: missing (a scheduler older than the field, or a "
                       "message cut short); %u means no cap",
                       M, DIALJOB_NO_FREQUENCY_CAP);
    if (!job->predial)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.predial: missing (a scheduler older than the field, or a message cut "
                       "short); an empty message means no check",
                       M);
    const char *url = job->predial->url ? job->predial->url : "";
    if (strlen(url) > DIALJOB_PREDIAL_URL_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.predial.url: longer than %d bytes", M,
                       DIALJOB_PREDIAL_URL_MAX);
    if (url[0] && (job->predial->timeout_ms < DIALJOB_PREDIAL_TIMEOUT_MS_MIN ||
                   job->predial->timeout_ms > DIALJOB_PREDIAL_TIMEOUT_MS_MAX))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.predial.timeout_ms: %u is not in %d..%d",
                       M, job->predial->timeout_ms, DIALJOB_PREDIAL_TIMEOUT_MS_MIN,
                       DIALJOB_PREDIAL_TIMEOUT_MS_MAX);
    return check_caller_ids(M, job, errbuf, errlen);
}

const char *dialjob_variable_get(const dialjob_t *job, const char *key)
{
    /* The last entry wins, as protobuf defines for repeated map keys. */
    const char *value = NULL;
    for (size_t i = 0; i < job->n_variables; i++)
        if (job->variables[i]->key && strcmp(job->variables[i]->key, key) == 0)
            value = job->variables[i]->value ? job->variables[i]->value : "";
    return value;
}

CODEC_DEFINE(dialjob, dialjob_t, outdial__v1__dial_job__descriptor)

/* ---------------------------------------------------------------------------
 * CallEvent */

void callevent_init(callevent_t *event)
{
    outdial__v1__call_event__init(event);
}

/* The post-call variables: empty, or the text of a JSON object. */
static int check_json_object(const char *msg, const char *field, const char *text, char *errbuf,
                             size_t errlen)
{
    if (is_empty(text))
        return OD_OK;
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    bool object = root && json_is_object(root);
    json_decref(root);
    if (!root)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: not JSON: %s (column %d)", msg,
                       field, jerr.text, jerr.column);
    if (!object)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: not a JSON object", msg, field);
    return OD_OK;
}

int callevent_validate(const callevent_t *event, char *errbuf, size_t errlen)
{
    static const char M[] = "CallEvent";
    RETURN_IF(check_strings(&event->base, &outdial__v1__call_event__descriptor, M, errbuf, errlen));
    RETURN_IF(check_uuid(M, "event_id", event->event_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "attempt_id", event->attempt_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "lead_id", event->lead_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "campaign_id", event->campaign_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "account_id", event->account_id, true, errbuf, errlen));
    if (event->attempt_number > CODEC_ATTEMPT_NUMBER_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.attempt_number: %u is not in 0..%d", M,
                       event->attempt_number, CODEC_ATTEMPT_NUMBER_MAX);
    RETURN_IF(check_enum(M, "status", (int)event->status,
                         OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED, true, errbuf, errlen));
    RETURN_IF(check_enum(M, "answered_by", (int)event->answered_by,
                         OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_UNKNOWN, false, errbuf, errlen));
    RETURN_IF(check_enum(M, "failure_class", (int)event->failure_class,
                         OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_PERMANENT, false, errbuf,
                         errlen));
    bool skipped = event->status == OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED;
    RETURN_IF(check_enum(M, "skip_reason", (int)event->skip_reason,
                         OUTDIAL__V1__SKIP_REASON__SKIP_REASON_CALLER_ID_EXHAUSTED, skipped, errbuf,
                         errlen));
    if (!skipped && event->skip_reason != OUTDIAL__V1__SKIP_REASON__SKIP_REASON_UNSPECIFIED)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.skip_reason: set but the status is not SKIPPED", M);
    RETURN_IF(check_time(M, "started_at_us", event->started_at_us, false, errbuf, errlen));
    RETURN_IF(check_time(M, "ended_at_us", event->ended_at_us, false, errbuf, errlen));
    if (event->duration_ms < 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.duration_ms: negative", M);
    if (event->cost_minor < 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.cost_minor: negative", M);
    RETURN_IF(check_json_object(M, "post_call_variables_json", event->post_call_variables_json,
                                errbuf, errlen));
    RETURN_IF(check_time(M, "occurred_at_us", event->occurred_at_us, true, errbuf, errlen));
    if (!is_empty(event->caller_id))
        RETURN_IF(check_e164(M, "caller_id", event->caller_id, errbuf, errlen));
    RETURN_IF(check_time(M, "not_before_us", event->not_before_us, false, errbuf, errlen));
    if (event->predial)
        RETURN_IF(check_enum(M, "predial.result", (int)event->predial->result,
                             OUTDIAL__V1__PREDIAL_RESULT__PREDIAL_RESULT_ERROR, true, errbuf,
                             errlen));
    return OD_OK;
}

void callevent_predial_init(callevent_predial_t *predial)
{
    outdial__v1__call_event__predial__init(predial);
}

CODEC_DEFINE(callevent, callevent_t, outdial__v1__call_event__descriptor)

/* ---------------------------------------------------------------------------
 * LeadUpsert */

void leadupsert_init(leadupsert_t *lead)
{
    outdial__v1__lead_upsert__init(lead);
}

int leadupsert_validate(const leadupsert_t *lead, char *errbuf, size_t errlen)
{
    static const char M[] = "LeadUpsert";
    RETURN_IF(check_strings(&lead->base, &outdial__v1__lead_upsert__descriptor, M, errbuf, errlen));
    RETURN_IF(check_uuid(M, "campaign_id", lead->campaign_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "account_id", lead->account_id, true, errbuf, errlen));
    CHECK_MAP_KEYS(M, "variables", lead->variables, lead->n_variables);
    for (size_t i = 0; i < lead->n_secondary_phones; i++)
        if (is_empty(lead->secondary_phones[i]))
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.secondary_phones: item %zu is empty",
                           M, i);
    if (!region_valid(lead->region))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.region: not an ISO 3166 alpha-2 code in upper case (\"US\")", M);
    RETURN_IF(check_required(M, "phone", lead->phone, errbuf, errlen));
    return OD_OK;
}

CODEC_DEFINE(leadupsert, leadupsert_t, outdial__v1__lead_upsert__descriptor)

enum json_field {
    JF_CAMPAIGN_ID,
    JF_ACCOUNT_ID,
    JF_EXTERNAL_ID,
    JF_NAME,
    JF_TIMEZONE,
    JF_VARIABLES,
    JF_SECONDARY_PHONES,
    JF_REGION,
    JF_PHONE,
    JF_STATE,
    JF_COUNT,
};

/* A string field of the lead: where its value goes. */
#define JF_STRING(member) true, offsetof(leadupsert_t, member)

/* Proto field names, their proto3-JSON lowerCamelCase forms, and for a
 * string field the member of the lead it fills (variables and
 * secondary_phones have readers of their own). */
static const struct {
    const char *snake;
    const char *camel;
    bool is_string;
    size_t member;
} json_fields[JF_COUNT] = {
    [JF_CAMPAIGN_ID] = {"campaign_id", "campaignId", JF_STRING(campaign_id)},
    [JF_ACCOUNT_ID] = {"account_id", "accountId", JF_STRING(account_id)},
    [JF_EXTERNAL_ID] = {"external_id", "externalId", JF_STRING(external_id)},
    [JF_NAME] = {"name", "name", JF_STRING(name)},
    [JF_TIMEZONE] = {"timezone", "timezone", JF_STRING(timezone)},
    [JF_VARIABLES] = {"variables", "variables", false, 0},
    [JF_SECONDARY_PHONES] = {"secondary_phones", "secondaryPhones", false, 0},
    [JF_REGION] = {"region", "region", JF_STRING(region)},
    [JF_PHONE] = {"phone", "phone", JF_STRING(phone)},
    [JF_STATE] = {"state", "state", JF_STRING(state)},
};

static int json_field_find(const char *key)
{
    for (int f = 0; f < JF_COUNT; f++)
        if (strcmp(key, json_fields[f].snake) == 0 || strcmp(key, json_fields[f].camel) == 0)
            return f;
    return -1;
}

/* State of one leadupsert_decode_json: the message points into root and
 * into the arrays below, all released together. */
typedef struct json_lead {
    json_t *root;
    leadupsert_t lead;
    leadupsert_variable_t *entries;
    leadupsert_variable_t **entry_ptrs;
    char **texts; /* json_dumps of non-string variable values */
    size_t ntexts;
    char **phones;
} json_lead_t;

static void json_lead_clear(json_lead_t *jl)
{
    for (size_t i = 0; i < jl->ntexts; i++)
        free(jl->texts[i]);
    free(jl->texts);
    free(jl->entries);
    free(jl->entry_ptrs);
    free(jl->phones);
    json_decref(jl->root);
}

static int json_string_field(const char *key, json_t *value, char **out, char *errbuf,
                             size_t errlen)
{
    if (!json_is_string(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "LeadUpsert JSON: %s must be a string", key);
    *out = (char *)json_string_value(value); /* borrowed from the tree; pack only reads */
    return OD_OK;
}

static int json_variables(json_lead_t *jl, json_t *value, char *errbuf, size_t errlen)
{
    if (!json_is_object(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "LeadUpsert JSON: variables must be an object");
    size_t n = json_object_size(value);
    jl->entries = xcalloc(n, sizeof(*jl->entries));
    jl->entry_ptrs = xcalloc(n, sizeof(*jl->entry_ptrs));
    jl->texts = xcalloc(n, sizeof(*jl->texts));
    size_t used = 0;
    const char *key;
    json_t *item;
    json_object_foreach(value, key, item)
    {
        if (json_is_null(item))
            continue;
        leadupsert_variable_t *entry = &jl->entries[used];
        outdial__v1__lead_upsert__variables_entry__init(entry);
        entry->key = (char *)key;
        if (json_is_string(item)) {
            entry->value = (char *)json_string_value(item);
        } else {
            char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!text)
                return od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                               "LeadUpsert JSON: variables.%s cannot be written as text", key);
            jl->texts[jl->ntexts++] = text;
            entry->value = text;
        }
        jl->entry_ptrs[used++] = entry;
    }
    jl->lead.variables = jl->entry_ptrs;
    jl->lead.n_variables = used;
    return OD_OK;
}

static int json_phones(json_lead_t *jl, json_t *value, char *errbuf, size_t errlen)
{
    if (!json_is_array(value))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "LeadUpsert JSON: secondary_phones must be an array of strings");
    size_t n = json_array_size(value);
    jl->phones = xcalloc(n, sizeof(*jl->phones));
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(value, i);
        if (!json_is_string(item))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "LeadUpsert JSON: secondary_phones[%zu] must be a string", i);
        jl->phones[i] = (char *)json_string_value(item);
    }
    jl->lead.secondary_phones = jl->phones;
    jl->lead.n_secondary_phones = n;
    return OD_OK;
}

static int json_lead_fill(json_lead_t *jl, char *errbuf, size_t errlen)
{
    if (!json_is_object(jl->root))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "LeadUpsert JSON: not an object");
    const char *key;
    json_t *value;
    unsigned seen = 0;
    json_object_foreach(jl->root, key, value)
    {
        int field = json_field_find(key);
        if (field < 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "LeadUpsert JSON: unknown field '%.64s'",
                           key);
        /* cppcheck does not see json_object_foreach as a loop. */
        // cppcheck-suppress knownConditionTrueFalse
        if (seen & (1u << field))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "LeadUpsert JSON: %s given twice (as %s and %s)", key,
                           json_fields[field].snake, json_fields[field].camel);
        seen |= 1u << field;
        if (json_is_null(value))
            continue;
        if (json_fields[field].is_string) {
            char **member = (char **)((char *)&jl->lead + json_fields[field].member);
            RETURN_IF(json_string_field(key, value, member, errbuf, errlen));
        } else if (field == JF_VARIABLES) {
            RETURN_IF(json_variables(jl, value, errbuf, errlen));
        } else {
            RETURN_IF(json_phones(jl, value, errbuf, errlen));
        }
    }
    return OD_OK;
}

int leadupsert_decode_json(const void *buf, size_t len, leadupsert_t **out, char *errbuf,
                           size_t errlen)
{
    json_lead_t jl;
    memset(&jl, 0, sizeof(jl));
    leadupsert_init(&jl.lead);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    int rc = OD_OK;
    *out = NULL;
    if (!buf && len > 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "LeadUpsert JSON: no payload");
        goto out;
    }
    json_error_t jerr;
    jl.root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!jl.root) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "LeadUpsert JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
        goto out;
    }
    rc = json_lead_fill(&jl, errbuf, errlen);
    if (rc)
        goto out;
    /* Through the protobuf form: the same validation, and a message owned
     * the same way as leadupsert_decode's. */
    rc = leadupsert_encode(&jl.lead, &packed, &packed_len, errbuf, errlen);
    if (rc)
        goto out;
    rc = leadupsert_decode(packed, packed_len, out, errbuf, errlen);
out:
    free(packed);
    json_lead_clear(&jl);
    return rc;
}

/* ---------------------------------------------------------------------------
 * ImportRequest */

void importrequest_init(importrequest_t *req)
{
    outdial__v1__import_request__init(req);
}

int importrequest_validate(const importrequest_t *req, char *errbuf, size_t errlen)
{
    static const char M[] = "ImportRequest";
    RETURN_IF(
        check_strings(&req->base, &outdial__v1__import_request__descriptor, M, errbuf, errlen));
    RETURN_IF(check_uuid(M, "import_id", req->import_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "campaign_id", req->campaign_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "account_id", req->account_id, true, errbuf, errlen));
    if (!region_valid(req->region))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.region: not an ISO 3166 alpha-2 code in upper case (\"US\")", M);
    CHECK_MAP_KEYS(M, "column_mapping", req->column_mapping, req->n_column_mapping);
    for (size_t i = 0; i < req->n_column_mapping; i++)
        if (is_empty(req->column_mapping[i]->value))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s.column_mapping: field '%.64s' maps to an empty header", M,
                           req->column_mapping[i]->key);
    RETURN_IF(check_time(M, "requested_at_us", req->requested_at_us, true, errbuf, errlen));
    return OD_OK;
}

CODEC_DEFINE(importrequest, importrequest_t, outdial__v1__import_request__descriptor)

/* ---------------------------------------------------------------------------
 * CampaignEvent */

void campaignevent_init(campaignevent_t *event)
{
    outdial__v1__campaign_event__init(event);
}

void campaignevent_start(campaignevent_t *event, char event_id[UUID_STR_LEN],
                         const char *campaign_id, const char *account_id,
                         Outdial__V1__CampaignEventKind kind)
{
    campaignevent_init(event);
    uuid_str_new(event_id);
    event->event_id = event_id;
    event->campaign_id = (char *)campaign_id;
    event->account_id = (char *)account_id;
    event->kind = kind;
}

int campaignevent_validate(const campaignevent_t *event, char *errbuf, size_t errlen)
{
    static const char M[] = "CampaignEvent";
    RETURN_IF(
        check_strings(&event->base, &outdial__v1__campaign_event__descriptor, M, errbuf, errlen));
    RETURN_IF(check_uuid(M, "event_id", event->event_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "campaign_id", event->campaign_id, true, errbuf, errlen));
    RETURN_IF(check_uuid(M, "account_id", event->account_id, true, errbuf, errlen));
    RETURN_IF(check_enum(M, "kind", (int)event->kind,
                         OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_IMPORT_FINISHED,
                         true, errbuf, errlen));
    bool status_changed =
        event->kind == OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_STATUS_CHANGED;
    bool lead_finished =
        event->kind == OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED;
    bool import_finished =
        event->kind == OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_IMPORT_FINISHED;
    RETURN_IF(check_uuid(M, "import_id", event->import_id, import_finished, errbuf, errlen));
    RETURN_IF(check_enum(M, "old_status", (int)event->old_status,
                         OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED, false, errbuf,
                         errlen));
    RETURN_IF(check_enum(M, "new_status", (int)event->new_status,
                         OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED, status_changed,
                         errbuf, errlen));
    RETURN_IF(check_uuid(M, "lead_id", event->lead_id, lead_finished, errbuf, errlen));
    RETURN_IF(check_enum(M, "lead_status", (int)event->lead_status,
                         OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_MAX_RETRIES,
                         lead_finished, errbuf, errlen));
    RETURN_IF(check_enum(M, "outcome", (int)event->outcome,
                         OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_PREDIAL_REFUSED, lead_finished,
                         errbuf, errlen));
    RETURN_IF(check_enum(M, "goal_result", (int)event->goal_result,
                         OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_TRUE, false, errbuf, errlen));
    RETURN_IF(check_time(M, "occurred_at_us", event->occurred_at_us, true, errbuf, errlen));
    return OD_OK;
}

CODEC_DEFINE(campaignevent, campaignevent_t, outdial__v1__campaign_event__descriptor)
