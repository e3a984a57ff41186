/*
 * fuzz_phone — phone_parse (lib/rules/phone.cc over libphonenumber) with a
 * default region taken from the input. A number it accepts must come back
 * unchanged when its E.164 form is parsed again (what the dialer does with
 * a stored lead), and the answer must be phone_parse_full's (libphonenumber's
 * Parse() without phone_parse's shortcut for US notations).
 *
 * Input: byte 0 selects the region (none, "", US, GB, DE, IN, BR, the next
 * two input bytes); the rest is the number as a user typed it. The buffer
 * is copied so that ASan sees reads past raw_len.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const regions[] = {NULL, "", "US", "GB", "DE", "IN", "BR"};
    size_t pick = data[0] % 8;
    data++;
    size--;
    char region[3] = "";
    const char *default_region;
    if (pick < 7) {
        default_region = regions[pick];
    } else {
        if (size < 2)
            return 0;
        memcpy(region, data, 2);
        region[2] = '\0';
        data += 2;
        size -= 2;
        default_region = region;
        (void)phone_region_known(region);
    }
    char *raw = malloc(size ? size : 1);
    memcpy(raw, data, size);
    char e164[PHONE_E164_MAX + 1];
    phone_reason_t reason = phone_parse(raw, size, default_region, e164);
    char full[PHONE_E164_MAX + 1];
    if (phone_parse_full(raw, size, default_region, full) != reason || strcmp(e164, full) != 0)
        abort();
    if (reason == PHONE_OK) {
        /* An E.164 result must parse back to itself. */
        char again[PHONE_E164_MAX + 1];
        if (phone_parse(e164, strlen(e164), NULL, again) != PHONE_OK || strcmp(e164, again) != 0)
            abort();
    }
    (void)phone_reason_code(reason);
    (void)phone_reason_message(reason);
    free(raw);
    return 0;
}
