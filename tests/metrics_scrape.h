/*
 * metrics_scrape.h — a series' value from a service's /metrics, in the
 * integration and end-to-end tests (header-only).
 *
 * A series is the text of a sample line before its value: the metric's
 * name with its labels as the service renders them
 * ("outdial_dialer_webhooks_total{type=\"malformed\"}"). The services
 * create every series a test reads at start (a counter at 0), so a series
 * that is absent is a test's or a service's error, never a zero: metric_value
 * fails the test then, where a stand-in value would make a check such as
 * "after >= before + 1" hold by accident.
 */
#ifndef OUTDIAL_TESTS_METRICS_SCRAPE_H
#define OUTDIAL_TESTS_METRICS_SCRAPE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

/* The value of series in body (a /metrics page), into *value. Pure: false
 * when no line of body is series followed by a space. */
static inline bool metric_find(const char *body, const char *series, double *value)
{
    size_t n = strlen(series);
    bool found = false;
    for (const char *line = body; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            *value = strtod(line + n + 1, NULL);
            found = true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return found;
}

/* GETs /metrics from the service on the loopback port; true with the
 * series' value in *value, false when the service did not answer 200 or
 * has no such series. For a wait on a service still starting; elsewhere
 * metric_value. */
static inline bool metric_read(int port, const char *series, double *value)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    httpc_reply_t r;
    httpc_run(httpc_new(url, "GET", &r, 15000L), NULL, &r);
    bool found = r.curl_rc == CURLE_OK && r.status == 200 && metric_find(r.body, series, value);
    httpc_reply_free(&r);
    return found;
}

/* The series' value from the service on port; fails the test when the
 * service does not answer or has no such series. */
static inline double metric_value(int port, const char *series)
{
    double value = 0;
    if (!metric_read(port, series, &value))
        fail_msg("no %s in /metrics of the service on port %d", series, port);
    return value;
}

#endif
