/*
 * importer_batch.h — one batch of CSV rows on its way into leads: the rows
 * as read, then (importer_batch_map) the COPY text of their leads and of
 * their rejections, ready for one transaction.
 *
 * Pure: no I/O apart from the kernel's random numbers for lead ids. The
 * importer fills a batch on its parser thread, maps it on a worker thread
 * and writes it on its writer thread; a batch is used by one thread at a
 * time.
 *
 * Lead ids are made here (time-ordered UUID v7) so that a row's secondary
 * contacts can name their primary (parent_id) before anything is inserted.
 *
 * COPY text of the leads (columns of the importer's temp table):
 *   row_number, id, parent_id, contact_order, e164, name, timezone,
 *   external_id, variables
 * A primary has parent_id \N and contact_order 0; its secondary contacts
 * follow it with contact_order 1..n, the row's name, timezone and
 * variables, and no external_id.
 *
 * For writing straight into lead when nothing in the batch can conflict
 * (importer.c decides), the same primaries, each number once (the first row
 * that has it), as COPY text of lead's columns:
 *   id, campaign_id, e164, name, timezone, variables, import_id
 * with their numbers as a Postgres array literal, and the secondary contact
 * lines alone, in the temp table's columns.
 *
 * COPY text of the rejects (import_reject):
 *   import_id, row_number, column_number, column_name, code, reason, raw_row
 * A row rejected as a whole has column_number 0 and column_name \N; an
 * imported row has one line per secondary phone cell left out of its lead
 * (lead_map_row's cell_rejects), with that cell's 1-based column and
 * header. raw_row is the row as comma-separated CSV, invalid UTF-8
 * replaced.
 */
#ifndef OUTDIAL_IMPORTER_BATCH_H
#define OUTDIAL_IMPORTER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_reader.h"
#include "lead_map.h"

/* Random bytes for lead ids, fetched from the kernel in blocks, and the
 * state that keeps one thread's ids increasing. One per thread. */
typedef struct importer_rng {
    uint8_t pool[4096];
    size_t used;
    uint64_t last_ms; /* timestamp of the last id */
    uint16_t seq;     /* counter within that millisecond */
} importer_rng_t;

void importer_rng_init(importer_rng_t *rng);
/* A time-ordered UUID (version 7, RFC 9562: 48-bit Unix milliseconds, a
 * 12-bit counter within the millisecond, 62 random bits) in text form, 36
 * characters and NUL. Ids that grow with time are appended to the right
 * edge of lead's primary key index instead of landing on a random page of
 * it: measured, inserting a batch gets about a quarter cheaper at a
 * million leads. Increasing per thread. */
void importer_uuid_make(importer_rng_t *rng, char out[37]);

/* One data row as read. */
typedef struct importer_row {
    uint64_t number;    /* data row number */
    size_t first_field; /* index of its first field in the batch's field arrays */
    size_t n_stored;    /* fields stored (0 when too_long) */
    size_t n_fields;    /* fields the row had */
    int bad_utf8_field; /* as csv_row_t */
    bool too_long;
    bool unclosed_quote;
} importer_row_t;

typedef struct importer_batch {
    uint64_t seq; /* position in the import, from 0 */
    /* rows as read */
    csv_buf_t text;    /* field texts, each NUL-terminated */
    size_t *field_off; /* offsets into text */
    size_t *field_len;
    size_t n_fields;
    size_t cap_fields;
    importer_row_t *rows;
    size_t n_rows;
    size_t cap_rows;
    uint64_t end_offset; /* stream offset after the last row */
    uint64_t last_row;   /* number of the last row */
    /* after importer_batch_map */
    csv_buf_t leads;        /* COPY text for the temp table */
    csv_buf_t rejects;      /* COPY text for import_reject */
    size_t n_primary;       /* rows that became a lead candidate */
    size_t n_secondary;     /* secondary contact lines in leads */
    size_t n_rejected;      /* rows rejected */
    size_t n_cell_rejected; /* secondary phone cells left out of accepted rows */
    size_t n_external;      /* primaries with an external_id */
    /* the direct path (see above) */
    csv_buf_t direct;         /* COPY text for lead: primaries, each number once */
    csv_buf_t direct_numbers; /* their numbers: {+1...,+4...} */
    csv_buf_t secondaries;    /* the secondary contact lines of leads */
    size_t n_direct;          /* lines in direct */
    bool direct_unusable;     /* a number the direct path cannot check: use the temp table */
} importer_batch_t;

importer_batch_t *importer_batch_new(void);
/* Empties a batch for reuse, keeping its memory. */
void importer_batch_reset(importer_batch_t *b);
void importer_batch_free(importer_batch_t *b);

/* Copies one data row (from a csv_reader callback) into the batch and
 * advances end_offset and last_row. */
void importer_batch_add(importer_batch_t *b, const csv_row_t *row);

/* Maps every row with map (lead_map_row) and fills leads, rejects, the
 * direct path's texts and the counts. import_id (36 characters) goes into
 * each reject line and, with campaign_id, into each direct line. */
void importer_batch_map(importer_batch_t *b, const lead_map_t *map, lead_map_ctx_t *ctx,
                        importer_rng_t *rng, const char *region, const char *campaign_id,
                        const char *import_id);

/* Appends s[0..len) escaped for COPY's text format (\\, \n, \r, \t). */
void importer_copy_escape(csv_buf_t *out, const char *s, size_t len);

#endif
