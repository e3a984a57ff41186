/*
 * fuzz_webhook — what the dialer reads from the provider: a webhook body
 * through provider_vapi.webhook_parse and on to the CallEvent the dialer
 * would publish (dial_event_from_msg, dial_event_encode); a call object
 * through call_lookup_parse; a create-call answer through
 * call_response_parse.
 *
 * Input: byte 0 selects (0-3 webhook, 4-5 lookup, 6-7 create-call answer;
 * for the last, byte 1 picks the HTTP status and byte 2 a Retry-After
 * value); the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dial_event.h"
#include "provider.h"

/* A fixed "now" (2026-03-08T06:00:00Z) so runs are reproducible. */
#define FUZZ_NOW_US 1772949600000000LL

static void event_check(const provider_msg_t *m)
{
    dial_event_t ev;
    memset(&ev, 0, sizeof(ev));
    if (dial_event_from_msg(&ev, m, FUZZ_NOW_US) == OD_OK) {
        uint8_t *buf = NULL;
        size_t len = 0;
        char err[256];
        if (dial_event_encode(&ev, &buf, &len, err, sizeof(err)) == OD_OK) {
            /* What the dialer publishes, the consumers must accept. */
            callevent_t *back = NULL;
            if (callevent_decode(buf, len, &back, err, sizeof(err)) != OD_OK)
                abort();
            callevent_free(back);
        }
        free(buf);
    }
    dial_event_clear(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const long statuses[] = {200, 201, 400, 401, 404, 408, 422, 429, 500, 503, 0, 302};
    static const char *const retry_after[] = {
        NULL, "", "2", "120", "-1", "abc", "99999999999999", "Wed, 21 Oct 2015 07:28:00 GMT"};
    int kind = data[0] & 7;
    data++;
    size--;
    /* A copy without a terminating NUL: the parsers get a length. */
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    char err[512];
    provider_msg_t m;
    if (kind < 4) {
        if (provider_vapi.webhook_parse(body, size, &m, err, sizeof(err)) == OD_OK) {
            event_check(&m);
            provider_msg_clear(&m);
        }
    } else if (kind < 6) {
        provider_lookup_t lookup;
        if (provider_vapi.call_lookup_parse(200, body, size, &lookup, &m, err, sizeof(err)) ==
            OD_OK) {
            if (lookup == PROVIDER_LOOKUP_ENDED)
                event_check(&m);
            provider_msg_clear(&m);
        }
    } else if (size >= 2) {
        provider_place_result_t r;
        long status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
        const char *after = retry_after[data[1] % (sizeof(retry_after) / sizeof(retry_after[0]))];
        provider_vapi.call_response_parse(status, body + 2, size - 2, after, &r);
    }
    free(body);
    return 0;
}
