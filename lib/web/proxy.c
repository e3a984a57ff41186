#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* addr as bytes; an IPv4-mapped IPv6 address becomes its IPv4 one. */
static bool addr_parse(const char *text, int *family, unsigned char bytes[16])
{
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, bytes) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(bytes, mapped, sizeof(mapped)) == 0) {
        memmove(bytes, bytes + 12, 4);
        *family = AF_INET;
    } else {
        *family = AF_INET6;
    }
    return true;
}

static bool range_contains(const http_proxy_range_t *r, int family, const unsigned char *bytes)
{
    if (r->family != family)
        return false;
    unsigned full = r->prefix_len / 8, rest = r->prefix_len % 8;
    if (memcmp(r->addr, bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (r->addr[full] & mask) == (bytes[full] & mask);
}

static int entry_parse(const char *entry, http_proxy_range_t *r, char *errbuf, size_t errlen)
{
    char text[INET6_ADDRSTRLEN + 8];
    if (strlen(entry) >= sizeof(text))
        goto bad;
    snprintf(text, sizeof(text), "%s", entry);
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    if (!addr_parse(text, &r->family, r->addr))
        goto bad;
    unsigned max = r->family == AF_INET ? 32 : 128;
    r->prefix_len = max;
    if (slash) {
        char *end = NULL;
        long n = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || n < 0 || (unsigned long)n > max)
            goto bad;
        r->prefix_len = (unsigned)n;
    }
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "'%.100s' is not an IP address or CIDR range (allowed: addresses or ranges "
                   "separated by commas, e.g. 10.0.0.0/8,192.168.1.7,fd00::/8)",
                   entry);
}

int http_proxies_parse(const char *text, http_proxies_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        return OD_OK;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", ");
        char entry[128];
        snprintf(entry, sizeof(entry), "%.*s", (int)(len < sizeof(entry) ? len : sizeof(entry) - 1),
                 p);
        if (out->n == HTTP_PROXIES_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "more than %d trusted proxies or ranges",
                           HTTP_PROXIES_MAX);
        int rc = entry_parse(entry, &out->ranges[out->n], errbuf, errlen);
        if (rc)
            return rc;
        out->n++;
        p += len;
    }
    return OD_OK;
}

bool http_proxies_contains(const http_proxies_t *proxies, const char *addr)
{
    int family;
    unsigned char bytes[16];
    if (!addr_parse(addr, &family, bytes))
        return false;
    for (size_t i = 0; i < proxies->n; i++)
        if (range_contains(&proxies->ranges[i], family, bytes))
            return true;
    return false;
}

void http_forwarded_client(const http_proxies_t *proxies, const char *peer, const char *xff,
                           char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", peer);
    if (!xff || !http_proxies_contains(proxies, peer))
        return;
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        char entry[INET6_ADDRSTRLEN];
        int family;
        unsigned char bytes[16];
        if (b - a == 0 || b - a >= sizeof(entry))
            return;
        memcpy(entry, xff + a, b - a);
        entry[b - a] = '\0';
        if (!addr_parse(entry, &family, bytes))
            return;
        snprintf(out, outlen, "%s", entry);
        if (!http_proxies_contains(proxies, entry))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}
