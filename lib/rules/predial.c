#include "predial.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

/* Copies src into out (PREDIAL_REASON_MAX), cut on a UTF-8 boundary. */
static void reason_copy(char *out, const char *src)
{
    size_t n = strlen(src);
    if (n >= PREDIAL_REASON_MAX) {
        n = PREDIAL_REASON_MAX - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* src[n] continues a character: cut before its first byte */
    }
    memcpy(out, src, n);
    out[n] = '\0';
}

static void decide_error(predial_decision_t *out, model_predial_on_error_t on_error)
{
    out->result = MODEL_PREDIAL_ERROR;
    out->place_call = on_error == MODEL_PREDIAL_ON_ERROR_CALL;
}

void predial_decide(const predial_response_t *resp, model_predial_on_error_t on_error,
                    predial_decision_t *out)
{
    memset(out, 0, sizeof(*out));
    if (resp->timed_out) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "no answer within %lld ms", resp->timeout_ms);
        return;
    }
    if (resp->transport) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "no answer: %.200s", resp->transport);
        return;
    }
    if (resp->http_status < 200 || resp->http_status > 299) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "HTTP status %ld", resp->http_status);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
    json_t *eligible = json_is_object(root) ? json_object_get(root, "eligible") : NULL;
    json_t *reason = json_is_object(root) ? json_object_get(root, "reason") : NULL;
    if (!root) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "the answer is not JSON: %.160s", jerr.text);
    } else if (!json_is_object(root)) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "the answer is not a JSON object");
    } else if (!json_is_boolean(eligible)) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "the answer's \"eligible\" is %s",
                 eligible ? "not true or false" : "missing");
    } else if (reason && !json_is_null(reason) && !json_is_string(reason)) {
        decide_error(out, on_error);
        snprintf(out->reason, sizeof(out->reason), "the answer's \"reason\" is not a string");
    } else if (json_is_true(eligible)) {
        out->result = MODEL_PREDIAL_ELIGIBLE;
        out->place_call = true;
        reason_copy(out->reason, json_is_string(reason) ? json_string_value(reason) : "");
    } else {
        out->result = MODEL_PREDIAL_REFUSED;
        out->place_call = false;
        reason_copy(out->reason, json_is_string(reason) ? json_string_value(reason) : "");
    }
    json_decref(root);
}

/* Whether host (no port, IPv6 without brackets) is a loopback name or
 * address: localhost, 127.0.0.0/8, ::1. */
static bool host_is_loopback(const char *host, size_t len)
{
    if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
        return true;
    if (len == 3 && memcmp(host, "::1", 3) == 0)
        return true;
    if (len < 4 || len > 15 || strncmp(host, "127.", 4) != 0)
        return false;
    int parts = 0, digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (host[i] == '.') {
            if (!digits)
                return false;
            parts++;
            digits = 0;
        } else if (isdigit((unsigned char)host[i]) && digits < 3) {
            digits++;
        } else {
            return false;
        }
    }
    return digits && parts == 3;
}

int predial_url_check(const char *url, char *errbuf, size_t errlen)
{
    if (!url || !*url)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the URL is empty (null turns the check off)");
    size_t len = strlen(url);
    if (len > PREDIAL_URL_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the URL is longer than %d characters",
                       PREDIAL_URL_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] == 0x7F)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "the URL holds a space or a control character at %zu", i);
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = strncasecmp(url, "http://", 7) == 0;
    if (!https && !http)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the URL must start with https://");
    const char *auth = url + (https ? 8 : 7);
    size_t auth_len = strcspn(auth, "/?#");
    if (memchr(auth, '@', auth_len))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the URL must not hold a user name or password (the body is the only "
                       "thing sent; authenticate with a secret path or query instead)");
    /* The host: [v6] or up to the port's colon. */
    const char *host = auth;
    size_t host_len;
    if (auth_len && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        if (!close)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "the URL's [IPv6 address] is not closed");
        host = auth + 1;
        host_len = (size_t)(close - host);
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        host_len = colon ? (size_t)(colon - auth) : auth_len;
    }
    if (host_len == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the URL has no host");
    if (http && !host_is_loopback(host, host_len))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the URL must start with https:// (http:// is allowed only to localhost, "
                       "127.0.0.1 or [::1]: the lead's number and variables must not cross a "
                       "network in clear text)");
    return OD_OK;
}
