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

/* Decode, re-encode, decode again, for one message type M. */
#define FUZZ_ROUNDTRIP(M, decode_fn, buf, len)                                                     \
    do {                                                                                           \
        char err[256];                                                                             \
        M##_t *msg = NULL;                                                                         \
        if (decode_fn(buf, len, &msg, err, sizeof(err)) != OD_OK)                                  \
            break;                                                                                 \
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
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] % 6;
    data++;
    size--;
    /* An exact-size copy, so that a read past len is an ASan report. */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    switch (kind) {
    case 0:
        FUZZ_ROUNDTRIP(dialjob, dialjob_decode, buf, size);
        break;
    case 1:
        FUZZ_ROUNDTRIP(callevent, callevent_decode, buf, size);
        break;
    case 2:
        FUZZ_ROUNDTRIP(leadupsert, leadupsert_decode, buf, size);
        break;
    case 3:
        FUZZ_ROUNDTRIP(leadupsert, leadupsert_decode_json, buf, size);
        break;
    case 4:
        FUZZ_ROUNDTRIP(importrequest, importrequest_decode, buf, size);
        break;
    case 5:
        FUZZ_ROUNDTRIP(campaignevent, campaignevent_decode, buf, size);
        break;
    }
    free(buf);
    return 0;
}
