/*
 * importer_leads_in.h — leads pushed by other systems on outdial.leads-in.
 *
 * A message is a LeadUpsert, protobuf by default, JSON when the record's
 * content-type header says application/json (lib/bus/codec.h). It is applied
 * in one transaction:
 *
 *   - the campaign must exist and belong to the message's account;
 *   - phone and secondary_phones are parsed against region (else the
 *     account's default region) and stored in E.164; timezone must be an
 *     IANA name (stored canonical);
 *   - a number on the account's dnc list is skipped (outcome dnc);
 *   - a lead already in the campaign with the same external_id, else with
 *     the same number, is updated: name and timezone when given, variables
 *     merged (given keys replace), external_id set if it had none, and the
 *     number when found by external_id. Its status is not touched (the
 *     scheduler owns it). Otherwise a new lead is inserted, due at once;
 *   - secondary contacts not yet in the campaign (and not DNC) are added
 *     to a primary after its existing ones, waiting for their turn.
 *
 * Applying a message twice leaves the same state as once (redelivery is
 * harmless). Bad input is not an error of the call: the result says
 * rejected, with a code and a message, for the rejected topic.
 *
 * Reject codes: invalid_message (does not decode or a required field is
 * missing; the message names it), missing_phone, the phone.h codes
 * (not_a_number, invalid_country, too_short, too_long, invalid_number),
 * invalid_secondary_phone, invalid_timezone, campaign_not_found,
 * account_mismatch, duplicate_number (an update by external_id to a number
 * another lead of the campaign has), call_in_flight (an update by
 * external_id that changes the number of a lead that is scheduled or
 * processing: the call under way holds the old number's line lock, as the
 * API's 409 lead_in_flight says; send it again after the call ends).
 */
#ifndef OUTDIAL_IMPORTER_LEADS_IN_H
#define OUTDIAL_IMPORTER_LEADS_IN_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "lead_map.h"
#include "pg.h"

/* Headers of a record on outdial.leads-in.rejected: the original key,
 * payload and content-type header, plus these. */
#define LEADS_IN_HEADER_CODE      "outdial-reject-code"
#define LEADS_IN_HEADER_REASON    "outdial-reject-reason"
#define LEADS_IN_HEADER_TOPIC     "outdial-source-topic"
#define LEADS_IN_HEADER_PARTITION "outdial-source-partition"
#define LEADS_IN_HEADER_OFFSET    "outdial-source-offset"

typedef enum leads_in_outcome {
    LEADS_IN_INSERTED = 0,
    LEADS_IN_UPDATED,
    LEADS_IN_DNC,
    LEADS_IN_REJECTED,
} leads_in_outcome_t;

typedef struct leads_in_result {
    leads_in_outcome_t outcome;
    char lead_id[37];      /* INSERTED, UPDATED */
    int secondaries_added; /* INSERTED, UPDATED */
    const char *code;      /* REJECTED: static string */
    char message[512];     /* REJECTED */
} leads_in_result_t;

/* Whether an update by external_id may set the number new_e164 on a lead in
 * status with the number old_e164: not while a call is queued or under way
 * (scheduled, processing) and the number changes. Pure. */
bool importer_leads_in_number_change_ok(const char *status, const char *old_e164,
                                        const char *new_e164);

/* A short name of an outcome ("inserted", ...), for logs and metrics. */
const char *importer_leads_in_outcome_name(leads_in_outcome_t outcome);

/* Whether a content-type header value (not NUL-terminated) means JSON:
 * application/json, any case, optionally with parameters ("; charset=utf-8"). */
bool importer_leads_in_is_json(const void *value, size_t len);

/* Decodes payload and applies it (see above) on db, using ctx for zone
 * checks. OD_OK with *result filled, rejected input included; a pg.h error
 * when the database failed (nothing was applied; the message can be
 * retried). db must not be in a transaction. */
int importer_leads_in_apply(pg_conn_t *db, lead_map_ctx_t *ctx, const void *payload, size_t len,
                            bool is_json, leads_in_result_t *result, char *errbuf,
                            size_t errlen) OD_WUR;

#endif
