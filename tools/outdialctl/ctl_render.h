/*
 * ctl_render.h — the API's answers as text for people: objects as aligned
 * "key  value" lines, lists as tables, a campaign with its schedule, the
 * statistics screen that `watch` redraws, an import's summary, errors,
 * progress bars. Pure: JSON in, text out to the FILE * given (tests use
 * open_memstream), no clock, no terminal queries.
 */
#ifndef OUTDIAL_CTL_RENDER_H
#define OUTDIAL_CTL_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_spec.h"

/* A view of a whole answer: objects, lists ({"data": [...]}) and the
 * special views of ctl_view_t. */
void ctl_render_view(FILE *out, ctl_view_t view, const json_t *answer);

/* --quiet: the id of an answer (its lead_id, id, account_id, phone or
 * phone_number), one per line for a list ({"data": [...]}) or an array;
 * for added leads the ids of the leads made; nothing when there is none. */
void ctl_render_ids(FILE *out, const json_t *answer);

/* Every scalar member of obj, nested objects flattened with '.' and arrays
 * of objects with [i], as "key  value" lines with the values aligned. */
void ctl_render_object(FILE *out, const json_t *obj);

/* The rows of a list view as a table (nothing but the header when
 * empty). */
void ctl_render_list(FILE *out, ctl_view_t view, const json_t *items);

/* One campaign: identity, status, schedule, retries, goal, pacing. */
void ctl_render_campaign(FILE *out, const json_t *campaign);

/* The statistics of GET /v1/campaigns/{id}/stats: leads per status (with
 * a bar of their share), call results, goal conversion and spend. With
 * campaign (may be NULL) a heading with its name and status comes first.
 * now_text (may be NULL) is shown in the heading (watch's clock). */
void ctl_render_stats(FILE *out, const json_t *campaign, const json_t *stats, const char *now_text);

/* An import: status, progress, the row counts, and the first rejected rows
 * (rejects: the JSON page of GET /v1/imports/{id}/rejects, may be NULL). */
void ctl_render_import(FILE *out, const json_t *import, const json_t *rejects);

/* The answer of POST .../leads or /v1/leads/{id}/contacts: the counts and
 * one line per lead (its result, id or why it was not added). */
void ctl_render_leads_added(FILE *out, const json_t *answer);

/* An error answer as "error: <message> (field: <field>)", then one line
 * per problem ("  - <message> [<code>]"). A body that is not the API's
 * error JSON is shown as "error: HTTP <status>: <its first line>". */
/* A lead's eligibility (GET /v1/leads/{id}/eligibility): callable now, or
 * one line per rule holding it back with the instant it clears, then the
 * earliest instant all clear. */
void ctl_render_why(FILE *out, const json_t *answer);
/* A recount's answer: one line per counter that differs, or a line that
 * none does. */
void ctl_render_recount(FILE *out, const json_t *answer);

void ctl_render_error(FILE *out, long status, const char *body, size_t len);

/* "[#########.........]  45%  12.3 MiB / 27.1 MiB" into buf; total <= 0
 * (unknown) gives just the amount done. bar_width is the number of cells
 * between the brackets. bytes: amounts are bytes (else plain counts). */
void ctl_progress_format(char *buf, size_t len, int64_t done, int64_t total, int bar_width,
                         bool bytes);

/* 1536 -> "1.5 KiB" into buf. */
void ctl_bytes_format(int64_t n, char *buf, size_t len);

/* Minor units as an amount: (12345, "USD") -> "USD 123.45"; currencies
 * without minor units (JPY, KRW, ...) get no decimals. */
void ctl_money_format(int64_t minor, const char *currency, char *buf, size_t len);

/* An RFC 3339 time as "2026-03-08 09:00:01Z" (no fraction); anything else
 * unchanged. */
void ctl_time_format(const char *rfc3339, char *buf, size_t len);

/* Days as WINDOW_DAY_* bits as text: runs of three or more as a range
 * ("mon-fri", "mon-wed,sat"), "every day" for all seven. */
void ctl_days_format(unsigned days, char *buf, size_t len);

/* Seconds as "1h 02m", "4m 05s", "12s". */
void ctl_seconds_format(int64_t s, char *buf, size_t len);

#endif
