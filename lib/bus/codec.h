/*
 * codec.h — encoding and decoding of the Kafka messages (proto/outdial/v1).
 *
 * Every message that crosses a topic goes through these functions, so that
 * a malformed payload — truncated, garbage, a required field missing or
 * out of range, text that is not UTF-8 — is an error value with a message,
 * never a crash or a half-valid struct in a consumer. Encoding applies the
 * same checks, so a producer cannot publish what a consumer would refuse.
 *
 * Per message M (dialjob, callevent, leadupsert, importrequest,
 * campaignevent):
 *
 *   M_init(msg)        sets a caller-owned struct (stack or static) to the
 *                      empty message; the caller then points its fields at
 *                      strings and arrays it owns.
 *   M_validate(msg)    OD_OK or OD_ERR_INVALID naming the first bad field
 *                      ("DialJob.attempt_id: required").
 *   M_encode(msg, &buf, &len)
 *                      validates, then packs into a new buffer; the caller
 *                      frees *buf with free(). msg is not modified or kept.
 *   M_decode(buf, len, &msg)
 *                      unpacks and validates; buf is not kept. On success
 *                      *msg is a new message the caller frees with M_free()
 *                      (never free() or the generated __free_unpacked with
 *                      another allocator); on error *msg is NULL.
 *   M_free(msg)        frees a message returned by M_decode or
 *                      leadupsert_decode_json; NULL is a no-op. Never call it
 *                      on a struct set up with M_init.
 *
 * What "required" means per field is written in the .proto files. The
 * highest-numbered field of every message is required, so a valid message
 * cut short at any byte is refused (see dial_job.proto).
 *
 * Limits of protobuf itself: a string with an embedded NUL byte decodes as
 * the text before the NUL; unknown fields (from a newer producer) are
 * ignored; unknown enum values are refused.
 */
#ifndef OUTDIAL_CODEC_H
#define OUTDIAL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "uuid.h"
#include "outdial/v1/call_event.pb-c.h"
#include "outdial/v1/campaign_event.pb-c.h"
#include "outdial/v1/dial_job.pb-c.h"
#include "outdial/v1/import_request.pb-c.h"
#include "outdial/v1/lead_upsert.pb-c.h"

/* Attempt numbers run from 1 to 1 + max_retries, and max_retries is at
 * most 5 (campaign CHECK constraint); a callback the callee asked for after
 * the last of them uses no attempt and is numbered one past it
 * (docs/rules.md "Callbacks"): 7. */
#define CODEC_ATTEMPT_NUMBER_MAX 7

/* Declares the five functions above for message M with struct T (codec.c
 * defines encode, decode and free with CODEC_DEFINE). */
#define CODEC_DECLARE(M, T)                                                                        \
    void M##_init(T *msg);                                                                         \
    int M##_validate(const T *msg, char *errbuf, size_t errlen) OD_WUR;                            \
    int M##_encode(const T *msg, uint8_t **out, size_t *out_len, char *errbuf, size_t errlen)      \
        OD_WUR;                                                                                    \
    int M##_decode(const void *buf, size_t len, T **out, char *errbuf, size_t errlen) OD_WUR;      \
    void M##_free(T *msg);

typedef Outdial__V1__DialJob dialjob_t;
/* DialJob.calls_per_24h when no frequency cap applies (dialjob_init sets it). */
#define DIALJOB_NO_FREQUENCY_CAP 4294967295u
typedef Outdial__V1__DialJob__VariablesEntry dialjob_variable_t;
typedef Outdial__V1__DialJob__Legal dialjob_legal_t;
typedef Outdial__V1__DialJob__Predial dialjob_predial_t;
typedef Outdial__V1__DialJob__CallerId dialjob_caller_id_t;
/* DialJob.caller_ids' bounds (lib/rules/caller_id.h holds the same:
 * CALLER_ID_POOL_MAX, CALLER_ID_DAILY_CAP_MAX). */
#define DIALJOB_CALLER_IDS_MAX 32
#define DIALJOB_DAILY_CAP_MAX  10000
/* DialJob.predial's bounds (lib/rules/predial.h holds the same: the
 * campaign's ranges). */
#define DIALJOB_PREDIAL_URL_MAX        2048
#define DIALJOB_PREDIAL_TIMEOUT_MS_MIN 100
#define DIALJOB_PREDIAL_TIMEOUT_MS_MAX 10000
typedef Outdial__V1__CallEvent callevent_t;
typedef Outdial__V1__CallEvent__Predial callevent_predial_t;
typedef Outdial__V1__LeadUpsert leadupsert_t;
typedef Outdial__V1__LeadUpsert__VariablesEntry leadupsert_variable_t;
typedef Outdial__V1__ImportRequest importrequest_t;
typedef Outdial__V1__ImportRequest__ColumnMappingEntry importrequest_mapping_t;
typedef Outdial__V1__CampaignEvent campaignevent_t;

/* DialJob (outdial.dial-jobs). */
CODEC_DECLARE(dialjob, dialjob_t)
/* Sets a caller-owned DialJob.Legal to the empty message (then set profile,
 * and zones unless the profile is "none"). */
void dialjob_legal_init(dialjob_legal_t *legal);
/* Sets a caller-owned DialJob.Predial to the empty message (no check).
 * dialjob_init points job->predial at a shared empty one; a producer with a
 * check points it at its own. */
void dialjob_predial_init(dialjob_predial_t *predial);
/* The value of variable key, or NULL. Borrowed from job. */
const char *dialjob_variable_get(const dialjob_t *job, const char *key);

/* CallEvent (outdial.call-events). */
CODEC_DECLARE(callevent, callevent_t)
/* Sets a caller-owned CallEvent.Predial to the empty message. */
void callevent_predial_init(callevent_predial_t *predial);

/* LeadUpsert (outdial.leads-in). */
CODEC_DECLARE(leadupsert, leadupsert_t)
/* The JSON form (record header content-type: application/json): one
 * object with the message's fields, named as in the .proto or in
 * lowerCamelCase (campaignId); null means absent. variables is an object
 * whose string values are taken as they are, and numbers, booleans, arrays
 * and objects as their JSON text (null values are left out);
 * secondary_phones an array of strings. An unknown field is an error (a
 * misspelt "phone_number" must not import leads without numbers). On
 * success *out is freed with leadupsert_free(). */
int leadupsert_decode_json(const void *buf, size_t len, leadupsert_t **out, char *errbuf,
                           size_t errlen) OD_WUR;

/* ImportRequest (outdial.import-requests). */
CODEC_DECLARE(importrequest, importrequest_t)

/* CampaignEvent (outdial.campaign-events). */
CODEC_DECLARE(campaignevent, campaignevent_t)
/* campaignevent_init, then the head every event carries: a fresh event_id
 * (written into event_id), campaign_id, account_id and kind. The event
 * borrows the three strings: they must outlive its encoding. */
void campaignevent_start(campaignevent_t *event, char event_id[UUID_STR_LEN],
                         const char *campaign_id, const char *account_id,
                         Outdial__V1__CampaignEventKind kind);

#endif
