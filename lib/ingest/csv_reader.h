/*
 * csv_reader.h — a streaming CSV reader for lead files (libcsv underneath).
 *
 * Bytes go in as they arrive (csv_reader_feed, any split, never the whole
 * file at once), rows come out through a callback. What it handles, so that
 * the files users really send work:
 *
 *  - UTF-8 with or without a byte order mark; a UTF-16 BOM is an error
 *    telling the user to save as UTF-8.
 *  - Delimiter comma, semicolon or tab, sniffed from the first two lines
 *    (outside quotes): the candidate found in the first line, preferring one
 *    whose count is the same in the second line, then the most frequent,
 *    then , ; tab in that order; none at all means comma. Excel's
 *    "sep=;" first line sets it explicitly and is not a row.
 *  - CRLF, LF or CR line ends; quoted fields with "" quotes and line breaks.
 *  - Spaces around unquoted fields are dropped (libcsv); quoted fields keep
 *    theirs.
 *
 * Row numbers. The first non-blank record is the header (when opts.header);
 * the records after it are data rows numbered from 1, so row N is line N+1
 * of a spreadsheet showing a file whose header is on line 1. A record that
 * spans several lines (a quoted line break) is one row, as in a
 * spreadsheet. Blank records (no fields, or only empty fields such as
 * ";;;") are not delivered but keep their number, so numbers stay those a
 * user sees.
 *
 * Each row carries end_offset, the stream offset just after it (its line
 * break included): a new reader started there (opts.offset, opts.first_row,
 * the same delimiter, no header) continues exactly as this one would have.
 * That is how an import resumes.
 *
 * Limits that keep memory bounded whatever the input: a row of more than
 * opts.row_max bytes is delivered with too_long set and no field text; a
 * single field longer than opts.field_max (in practice a quote that is never
 * closed, swallowing the rest of the file) stops the reader with
 * OD_ERR_INVALID naming the row it started in. A quote still open when the
 * stream ends (within field_max) marks the last row unclosed_quote.
 *
 * Invalid UTF-8 (including NUL bytes, overlong forms, surrogates) is
 * detected per row: bad_utf8_field is the first such field. The header's is
 * reported the same way; the caller decides.
 *
 * A reader is used by one thread.
 */
#ifndef OUTDIAL_CSV_READER_H
#define OUTDIAL_CSV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Defaults of the limits (see above). 64 KiB is far above any real lead row
 * (a few hundred bytes) and small enough to keep in memory per row. 1 MiB
 * lets a legitimately long quoted note through but stops a runaway quote
 * long before it matters. */
#define CSV_READER_ROW_MAX_DEFAULT   (64 * 1024)
#define CSV_READER_FIELD_MAX_DEFAULT (1024 * 1024)
/* How much of the stream start is looked at for the delimiter. */
#define CSV_READER_SNIFF_MAX (64 * 1024)

typedef struct csv_reader csv_reader_t;

typedef struct csv_reader_opts {
    char delimiter;     /* ',' ';' '\t' or 0 to sniff (required when offset > 0) */
    bool header;        /* the first non-blank record is a header */
    uint64_t first_row; /* number of the first data row; 0 means 1 */
    uint64_t offset;    /* stream offset of the first byte fed; > 0 when resuming
                           (then no BOM, sep= line or sniffing) */
    size_t row_max;     /* 0: CSV_READER_ROW_MAX_DEFAULT */
    size_t field_max;   /* 0: CSV_READER_FIELD_MAX_DEFAULT */
} csv_reader_opts_t;

/* One record, valid only during the callback. */
typedef struct csv_row {
    uint64_t number;           /* data row number; 0 for the header */
    uint64_t end_offset;       /* stream offset just after the record */
    bool header;               /* this is the header record */
    size_t n_fields;           /* fields in the record (counted even when too_long) */
    const char *const *fields; /* n_fields NUL-terminated texts; NULL when too_long */
    const size_t *lens;        /* their lengths in bytes; NULL when too_long */
    bool too_long;             /* longer than row_max: fields dropped */
    int bad_utf8_field;        /* index of the first field that is not valid UTF-8, or -1 */
    bool unclosed_quote;       /* the stream ended inside a quoted field of this
                                  record: it swallowed the rest of the file */
} csv_row_t;

/* Called for every header and data row. Return 0 to go on; any other value
 * stops the reader, and csv_reader_feed/finish return it. */
typedef int (*csv_row_fn)(const csv_row_t *row, void *arg);

/* A new reader calling on_row(row, arg). opts may be NULL (sniff, header,
 * defaults). OD_ERR_INVALID for a bad delimiter or a resume without one.
 * Free with csv_reader_free(). */
int csv_reader_new(const csv_reader_opts_t *opts, csv_row_fn on_row, void *arg, csv_reader_t **out,
                   char *errbuf, size_t errlen) OD_WUR;

/* Parses len more bytes of the stream. Rows completed by them are
 * delivered before it returns (the last line's may wait for the next call
 * or csv_reader_finish). Returns OD_OK, the callback's stop value, or
 * OD_ERR_INVALID for a file that cannot be read as CSV (UTF-16, a runaway
 * field); after a non-zero return the reader accepts nothing more. */
int csv_reader_feed(csv_reader_t *r, const void *buf, size_t len, char *errbuf,
                    size_t errlen) OD_WUR;

/* The stream ended: delivers the last row (also without a final line break).
 * Returns as csv_reader_feed. */
int csv_reader_finish(csv_reader_t *r, char *errbuf, size_t errlen) OD_WUR;

/* The delimiter in use; 0 while still sniffing. */
char csv_reader_delimiter(const csv_reader_t *r);

/* Data rows numbered so far (blank ones included): the number the next
 * data row would get, minus one. */
uint64_t csv_reader_last_row(const csv_reader_t *r);

/* Frees the reader; NULL is a no-op. */
void csv_reader_free(csv_reader_t *r);

/* ---- helpers for writing rows back out ------------------------------- */

/* A growable byte buffer (xmalloc family); data is NUL-terminated when
 * len > 0 or after csv_buf_cstr. Zero-initialise, then free with
 * csv_buf_free (which leaves it zeroed). */
typedef struct csv_buf {
    char *data;
    size_t len;
    size_t cap;
} csv_buf_t;

void csv_buf_reserve(csv_buf_t *b, size_t more);
void csv_buf_append(csv_buf_t *b, const void *s, size_t len);
void csv_buf_puts(csv_buf_t *b, const char *s);
void csv_buf_putc(csv_buf_t *b, char c);
void csv_buf_printf(csv_buf_t *b, const char *fmt, ...) OD_PRINTF(2, 3);
/* data, "" when empty; always NUL-terminated. */
const char *csv_buf_cstr(csv_buf_t *b);
void csv_buf_reset(csv_buf_t *b); /* len = 0, memory kept */
void csv_buf_free(csv_buf_t *b);

/* Length of the longest prefix of s[0..len) that is valid UTF-8 without NUL
 * bytes (== len when all of it is). */
size_t csv_utf8_valid_prefix(const char *s, size_t len);

/* Appends s[0..len) with every invalid UTF-8 byte (or NUL) replaced by
 * U+FFFD, so that the result is always valid text. */
void csv_utf8_append_sanitized(csv_buf_t *b, const char *s, size_t len);

/* Appends one field as CSV: quoted (with "" for ") when it holds the
 * delimiter, a quote, a line break or leading/trailing spaces; invalid
 * UTF-8 is replaced as above. */
void csv_field_append(csv_buf_t *b, const char *s, size_t len, char delimiter);

#endif
