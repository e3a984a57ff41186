/*
 * http_raw.h — an HTTP exchange over a plain socket, for tests that send
 * what a client library would not (only the headers of a large body,
 * oversized heads) and need to see every byte of the answer, and whether
 * the server closed (header-only; the caller includes cmocka).
 */
#ifndef OUTDIAL_TESTS_HTTP_RAW_H
#define OUTDIAL_TESTS_HTTP_RAW_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection to 127.0.0.1:port from the loopback address src (NULL:
 * any), so that a test can be several clients by address. */
static inline int raw_connect_from(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (src) {
        struct sockaddr_in from = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &from.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Sends req as is on a new connection from src (NULL: any) and reads what
 * comes back until the server closes (*closed set) or 5 s pass; out is
 * NUL-terminated. */
static inline size_t raw_exchange_from(int port, const char *src, const char *req, size_t req_len,
                                       char *out, size_t cap, bool *closed)
{
    int fd = raw_connect_from(port, src);
    size_t sent = 0;
    while (sent < req_len) {
        ssize_t n = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    size_t len = 0;
    *closed = false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited_ms >= 5000)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(5000 - waited_ms)) <= 0)
            break;
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    out[len] = '\0';
    close(fd);
    return len;
}

static inline size_t raw_exchange(int port, const char *req, size_t req_len, char *out, size_t cap,
                                  bool *closed)
{
    return raw_exchange_from(port, NULL, req, req_len, out, cap, closed);
}

/* The body of a raw response (after the blank line), or "". */
static inline const char *raw_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : "";
}

#endif
