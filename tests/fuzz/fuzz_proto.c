/*
 * fuzz_proto — every decoder of lib/bus/codec.h on arbitrary bytes: what a
 * consumer does with a Kafka message from anyone who can write to the
 * topic. A message that decodes must encode again (decode and encode apply
 * the same checks) and decode once more.
 *
 * Input: byte 0 selects the decoder (mod 6: DialJob, CallEvent,
 * LeadUpsert, LeadUpsert JSON, ImportRequest, CampaignEvent); the rest is
 * the payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* A broken promise of the codec: says which, then crashes for libFuzzer. */
static void fuzz_broken(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_proto: %s: %s\n", what, err);
    abort();
}

/* Defines name(buf, len): decode with decode_fn, re-encode, decode again,
 * for one message type M. */
#define FUZZ_ROUNDTRIP(name, M, decode_fn)                                                         \
    static void name(const uint8_t *buf, size_t len)                                               \
    {                                                                                              \
        char err[256];                                                                             \
        M##_t *msg = NULL;                                                                         \
        if (decode_fn(buf, len, &msg, err, sizeof(err)) != OD_OK)                                  \
            return;                                                                                \
        uint8_t *out = NULL;                                                                       \
        size_t out_len = 0;                                                                        \
        if (M##_encode(msg, &out, &out_len, err, sizeof(err)) != OD_OK)                            \
            fuzz_broken(#M " decoded but does not encode", err);                                   \
        M##_t *again = NULL;                                                                       \
        if (M##_decode(out, out_len, &again, err, sizeof(err)) != OD_OK)                           \
            fuzz_broken(#M " encoded but does not decode", err);                                   \
        M##_free(again);                                                                           \
        free(out);                                                                                 \
        M##_free(msg);                                                                             \
    }

FUZZ_ROUNDTRIP(dialjob_roundtrip, dialjob, dialjob_decode)
FUZZ_ROUNDTRIP(callevent_roundtrip, callevent, callevent_decode)
FUZZ_ROUNDTRIP(leadupsert_roundtrip, leadupsert, leadupsert_decode)
FUZZ_ROUNDTRIP(leadupsert_json_roundtrip, leadupsert, leadupsert_decode_json)
FUZZ_ROUNDTRIP(importrequest_roundtrip, importrequest, importrequest_decode)
FUZZ_ROUNDTRIP(campaignevent_roundtrip, campaignevent, campaignevent_decode)

/* Indexed by byte 0 of the input: the order of the header comment. */
static void (*const roundtrips[])(const uint8_t *buf, size_t len) = {
    dialjob_roundtrip,         callevent_roundtrip,     leadupsert_roundtrip,
    leadupsert_json_roundtrip, importrequest_roundtrip, campaignevent_roundtrip};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t kind = data[0] % (sizeof(roundtrips) / sizeof(roundtrips[0]));
    data++;
    size--;
    /* An exact-size copy, so that a read past len is an ASan report. */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    roundtrips[kind](buf, size);
    free(buf);
    return 0;
}
