/*
 * proto_seeds — writes the seed corpus of fuzz_proto: one valid message of
 * each type (every field set: test_proto_messages.h, the codec tests' own,
 * so that every field's decoder runs), prefixed by the selector byte
 * fuzz_proto reads. Run after a .proto change:
 * fuzz_proto_seeds tests/fuzz/corpus/fuzz_proto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "test_proto_messages.h"

/* Writes selector + payload to dir/name; exits on failure. */
static void seed_write(const char *dir, const char *name, uint8_t selector, const void *buf,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(selector, f) == EOF || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "proto_seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* Encodes the full message M (of type T) and writes it to dir/name behind
 * selector; exits when the codec refuses it. */
#define SEED_FULL(dir, M, T, name, selector)                                                       \
    do {                                                                                           \
        T msg;                                                                                     \
        M##_full(&msg);                                                                            \
        char err[256];                                                                             \
        uint8_t *buf = NULL;                                                                       \
        size_t len = 0;                                                                            \
        if (M##_encode(&msg, &buf, &len, err, sizeof(err)) != OD_OK) {                             \
            fprintf(stderr, "proto_seeds: %s: %s\n", name, err);                                   \
            exit(1);                                                                               \
        }                                                                                          \
        seed_write(dir, name, selector, buf, len);                                                 \
        free(buf);                                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    SEED_FULL(dir, dialjob, dialjob_t, "dial_job", 0);
    SEED_FULL(dir, callevent, callevent_t, "call_event", 1);
    SEED_FULL(dir, leadupsert, leadupsert_t, "lead_upsert", 2);
    static const char lead_json[] =
        "{\"campaignId\":\"" CAMPAIGN_ID "\",\"account_id\":\"" ACCOUNT_ID "\","
        "\"phone\":\"+14155550123\",\"name\":\"Ana\",\"timezone\":\"America/Chicago\","
        "\"variables\":{\"plan\":\"gold\",\"score\":7,\"vip\":true,\"tags\":[1,2],\"x\":null},"
        "\"secondary_phones\":[\"+14155550199\"],\"region\":\"US\",\"external_id\":null}";
    seed_write(dir, "lead_upsert_json", 3, lead_json, strlen(lead_json));
    SEED_FULL(dir, importrequest, importrequest_t, "import_request", 4);
    SEED_FULL(dir, campaignevent, campaignevent_t, "campaign_event", 5);
    return 0;
}
