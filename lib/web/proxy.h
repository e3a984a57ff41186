/*
 * proxy.h — trusted proxies and the client address behind them. Pure.
 *
 * A request that arrives from a trusted proxy (a load balancer, an
 * ingress) carries its client's address in X-Forwarded-For, which each
 * proxy on the way appends to: "client, proxy1, proxy2". Anyone can send
 * that header, so it is read only when the peer itself is trusted, and
 * then from the right: the client is the rightmost address that is not a
 * trusted proxy. An entry that is not an IP address ends the walk (the
 * address to its right, a trusted proxy or the peer, stands for the
 * client): a forged or broken header never yields an address of the
 * sender's choosing beyond the proxies we trust.
 *
 * The list's text form, as in <PREFIX>_HTTP_TRUSTED_PROXIES: addresses or
 * CIDR ranges, IPv4 or IPv6, separated by commas (spaces allowed), e.g.
 * "10.0.0.0/8, 192.168.1.7, fd00::/8". Empty: no proxy is trusted.
 */
#ifndef OUTDIAL_PROXY_H
#define OUTDIAL_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* At most this many entries in a list: a deployment has a handful of
 * proxies or ranges. */
#define HTTP_PROXIES_MAX 64

typedef struct http_proxy_range {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network byte order; 4 bytes used for IPv4 */
    unsigned prefix_len;    /* 0..32 or 0..128 */
} http_proxy_range_t;

typedef struct http_proxies {
    http_proxy_range_t ranges[HTTP_PROXIES_MAX];
    size_t n;
} http_proxies_t;

/* Parses text (NULL or "": none) into out. OD_ERR_INVALID with a message
 * naming the entry at fault and the allowed form. */
int http_proxies_parse(const char *text, http_proxies_t *out, char *errbuf, size_t errlen) OD_WUR;

/* Whether addr (text: "10.1.2.3", "::1"; an IPv4-mapped IPv6 address
 * counts as its IPv4 one) is in one of the ranges. False for text that is
 * not an address. */
bool http_proxies_contains(const http_proxies_t *proxies, const char *addr);

/* The client's address for a request from peer carrying X-Forwarded-For
 * xff (NULL: none), written to out: peer itself when peer is not trusted
 * or the header is absent, else the walk described above. */
void http_forwarded_client(const http_proxies_t *proxies, const char *peer, const char *xff,
                           char *out, size_t outlen);

#endif
