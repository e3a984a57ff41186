/*
 * csv_reader.c — streaming CSV reading over libcsv; see csv_reader.h.
 *
 * How row ends and offsets line up: libcsv can only finish a record at an
 * unquoted CR or LF (or at the end of the stream), so input is handed to it
 * in pieces that each end right after one line break (a CRLF pair is kept in
 * one piece). At most one record can complete inside a piece, and when it
 * does, its end is the end of the piece: that is the offset a resumed reader
 * starts at. A CR at the very end of the bytes fed so far is held back until
 * the next byte shows whether an LF follows.
 *
 * libcsv runs with CSV_REPALL_NL so that blank lines are reported (they keep
 * their row number); the LF of a CRLF then shows up as an empty record right
 * after one ended by CR, and is dropped.
 */
#include "csv_reader.h"

#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* libcsv's parser state while inside a field (libcsv.c, not its header);
 * stable since libcsv 3.0. */
#define LIBCSV_FIELD_BEGUN 2

enum reader_stage {
    STAGE_SNIFF = 0, /* collecting the first lines */
    STAGE_PARSE,     /* delimiter known, feeding libcsv */
    STAGE_DONE,      /* finished, stopped or failed */
};

struct csv_reader {
    csv_reader_opts_t opts;
    csv_row_fn on_row;
    void *arg;
    struct csv_parser parser;
    enum reader_stage stage;
    char delimiter;
    csv_buf_t sniff;   /* the stream's start while sniffing */
    uint64_t offset;   /* stream offset of the next byte not yet parsed */
    bool pending_cr;   /* a CR held back (not yet counted in offset) */
    csv_buf_t text;    /* the current record's fields, each NUL-terminated */
    size_t *starts;    /* field offsets into text */
    size_t *lens;      /* field lengths */
    const char **ptrs; /* field pointers handed to the callback */
    size_t n_fields;   /* fields kept */
    size_t cap_fields; /* room in starts/lens/ptrs */
    size_t n_counted;  /* fields seen in the record (also when too_long) */
    size_t row_bytes;  /* bytes of the record so far, one more per field */
    bool too_long;     /* the record outgrew row_max */
    bool ready;        /* a record completed in the current piece */
    bool unclosed;     /* the stream ended inside a quoted field */
    int last_term;     /* terminator of the last record libcsv reported */
    bool header_seen;  /* the header was delivered (or none is expected) */
    uint64_t next_row; /* number of the next data row */
    int rc;            /* sticky result once the reader stopped */
    char *errbuf;      /* the caller's, during one feed/finish call */
    size_t errlen;
};

/* ---- buffers ------------------------------------------------------------ */

void csv_buf_reserve(csv_buf_t *b, size_t more)
{
    xbuf_reserve(&b->data, &b->cap, b->len + more + 1);
}

void csv_buf_append(csv_buf_t *b, const void *s, size_t len)
{
    xbuf_put(&b->data, &b->len, &b->cap, s, len);
}

void csv_buf_puts(csv_buf_t *b, const char *s)
{
    csv_buf_append(b, s, strlen(s));
}

void csv_buf_putc(csv_buf_t *b, char c)
{
    csv_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void csv_buf_printf(csv_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        csv_buf_append(b, small, (size_t)n);
        return;
    }
    csv_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *csv_buf_cstr(csv_buf_t *b)
{
    csv_buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}

void csv_buf_reset(csv_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void csv_buf_free(csv_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- UTF-8 ---------------------------------------------------------------- */

size_t csv_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* Lead files are mostly ASCII: eight bytes at a time while they are
         * ASCII and not NUL. */
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            uint64_t high = v & 0x8080808080808080ULL;
            uint64_t zero = (v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL;
            if (!high && !zero) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0; /* overlong */
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F; /* surrogates */
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90; /* overlong */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F; /* above U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= need)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return len;
}

void csv_utf8_append_sanitized(csv_buf_t *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t ok = csv_utf8_valid_prefix(s + i, len - i);
        csv_buf_append(b, s + i, ok);
        i += ok;
        if (i < len) {
            csv_buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
}

void csv_field_append(csv_buf_t *b, const char *s, size_t len, char delimiter)
{
    bool quote =
        len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t');
    for (size_t i = 0; i < len && !quote; i++)
        if (s[i] == delimiter || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = true;
    if (!quote) {
        csv_utf8_append_sanitized(b, s, len);
        return;
    }
    csv_buf_putc(b, '"');
    size_t i = 0;
    while (i < len) {
        const char *q = memchr(s + i, '"', len - i);
        size_t seg = q ? (size_t)(q - (s + i)) : len - i;
        csv_utf8_append_sanitized(b, s + i, seg);
        i += seg;
        if (q) {
            csv_buf_append(b, "\"\"", 2);
            i++;
        }
    }
    csv_buf_putc(b, '"');
}

/* ---- libcsv callbacks ---------------------------------------------------- */

static void record_reset(csv_reader_t *r)
{
    csv_buf_reset(&r->text);
    r->n_fields = 0;
    r->n_counted = 0;
    r->row_bytes = 0;
    r->too_long = false;
}

static void on_field(void *s, size_t len, void *data)
{
    csv_reader_t *r = data;
    r->n_counted++;
    if (r->too_long)
        return;
    r->row_bytes += len + 1;
    if (r->row_bytes > r->opts.row_max) {
        /* Keep counting fields, drop their text: memory stays bounded. */
        r->too_long = true;
        r->n_fields = 0;
        csv_buf_reset(&r->text);
        return;
    }
    if (r->n_fields == r->cap_fields) {
        r->cap_fields = r->cap_fields ? r->cap_fields * 2 : 16;
        r->starts = xrealloc(r->starts, r->cap_fields * sizeof(*r->starts));
        r->lens = xrealloc(r->lens, r->cap_fields * sizeof(*r->lens));
        r->ptrs = xrealloc(r->ptrs, r->cap_fields * sizeof(*r->ptrs));
    }
    r->starts[r->n_fields] = r->text.len;
    r->lens[r->n_fields] = len;
    csv_buf_append(&r->text, s ? s : "", s ? len : 0);
    csv_buf_putc(&r->text, '\0');
    r->n_fields++;
}

static void on_record(int c, void *data)
{
    csv_reader_t *r = data;
    if (r->n_counted == 0) {
        /* No field at all: the LF of a CRLF, or a blank line. */
        bool crlf = c == '\n' && r->last_term == '\r';
        r->last_term = c;
        if (!crlf && r->header_seen)
            r->next_row++;
        return;
    }
    r->last_term = c;
    r->ready = true;
}

/* Hands the record completed in the last piece (if any) to the callback,
 * with end_offset = the current offset. */
static int record_deliver(csv_reader_t *r)
{
    if (!r->ready)
        return OD_OK;
    r->ready = false;
    bool blank = !r->too_long;
    for (size_t i = 0; i < r->n_fields && blank; i++)
        if (r->lens[i] != 0)
            blank = false;
    if (blank) {
        if (r->header_seen)
            r->next_row++;
        record_reset(r);
        return OD_OK;
    }
    csv_row_t row;
    memset(&row, 0, sizeof(row));
    row.end_offset = r->offset;
    row.n_fields = r->n_counted;
    row.too_long = r->too_long;
    row.bad_utf8_field = -1;
    row.unclosed_quote = r->unclosed;
    if (!r->header_seen) {
        row.header = true;
        r->header_seen = true;
    } else {
        row.number = r->next_row++;
    }
    if (!r->too_long) {
        for (size_t i = 0; i < r->n_fields; i++) {
            r->ptrs[i] = r->text.data + r->starts[i];
            if (row.bad_utf8_field < 0 &&
                csv_utf8_valid_prefix(r->ptrs[i], r->lens[i]) != r->lens[i])
                row.bad_utf8_field = (int)i;
        }
        row.fields = r->ptrs;
        row.lens = r->lens;
    }
    int rc = r->on_row(&row, r->arg);
    record_reset(r);
    return rc;
}

/* ---- parsing -------------------------------------------------------------- */

static int stop(csv_reader_t *r, int rc)
{
    r->rc = rc;
    r->stage = STAGE_DONE;
    return rc;
}

static int piece_feed(csv_reader_t *r, const char *p, size_t n)
{
    if (n == 0)
        return OD_OK;
    size_t done = csv_parse(&r->parser, p, n, on_field, on_record, r);
    if (done != n)
        return stop(r, od_fail(r->errbuf, r->errlen, OD_ERR_INTERNAL, "CSV parser: %s",
                               csv_strerror(csv_error(&r->parser))));
    r->offset += n;
    if (r->parser.entry_pos > r->opts.field_max) {
        if (!r->header_seen)
            return stop(r, od_fail(r->errbuf, r->errlen, OD_ERR_INVALID,
                                   "the header has a field longer than %zu bytes: a quote is "
                                   "probably not closed",
                                   r->opts.field_max));
        return stop(r, od_fail(r->errbuf, r->errlen, OD_ERR_INVALID,
                               "row %llu has a field longer than %zu bytes: a quote opened in "
                               "that row is probably not closed",
                               (unsigned long long)r->next_row, r->opts.field_max));
    }
    return OD_OK;
}

/* Feeds buf to libcsv piece by piece (see the top of the file). */
static int parse_bytes(csv_reader_t *r, const char *buf, size_t len)
{
    int rc;
    size_t i = 0;
    if (r->pending_cr && len > 0) {
        r->pending_cr = false;
        if ((rc = piece_feed(r, "\r", 1)) != OD_OK)
            return rc;
        if (buf[0] == '\n') {
            if ((rc = piece_feed(r, buf, 1)) != OD_OK)
                return rc;
            i = 1;
        }
        if ((rc = record_deliver(r)) != OD_OK)
            return stop(r, rc);
    }
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\r')
            j++;
        if (j == len)
            return piece_feed(r, buf + i, len - i); /* no line break: nothing completes */
        size_t end = j + 1;
        if (buf[j] == '\r') {
            if (j + 1 == len) {
                rc = piece_feed(r, buf + i, j - i);
                r->pending_cr = rc == OD_OK;
                return rc;
            }
            if (buf[j + 1] == '\n')
                end = j + 2;
        }
        if ((rc = piece_feed(r, buf + i, end - i)) != OD_OK)
            return rc;
        if ((rc = record_deliver(r)) != OD_OK)
            return stop(r, rc);
        i = end;
    }
    return OD_OK;
}

/* Ends of the first two lines of s (outside quotes), as offsets just past
 * each line break; returns how many were found (0..2). */
static int lines_find(const char *s, size_t n, size_t ends[2])
{
    int found = 0;
    bool quoted = false;
    for (size_t i = 0; i < n && found < 2; i++) {
        if (s[i] == '"') {
            quoted = !quoted;
        } else if (!quoted && (s[i] == '\n' || s[i] == '\r')) {
            if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
                i++;
            ends[found++] = i + 1;
        }
    }
    return found;
}

static size_t count_outside_quotes(const char *s, size_t n, char c)
{
    size_t count = 0;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == c)
            count++;
    }
    return count;
}

/* The delimiter of a file whose first lines are line1 and line2 (line2 may
 * be empty). See csv_reader.h for the rule. */
static char delimiter_sniff(const char *line1, size_t n1, const char *line2, size_t n2)
{
    static const char candidates[] = {',', ';', '\t'};
    char best = 0;
    size_t best_count = 0;
    bool best_consistent = false;
    for (size_t k = 0; k < sizeof(candidates); k++) {
        size_t c1 = count_outside_quotes(line1, n1, candidates[k]);
        if (c1 == 0)
            continue;
        bool consistent = n2 > 0 && count_outside_quotes(line2, n2, candidates[k]) == c1;
        if (!best || (consistent && !best_consistent) ||
            (consistent == best_consistent && c1 > best_count)) {
            best = candidates[k];
            best_count = c1;
            best_consistent = consistent;
        }
    }
    return best ? best : ',';
}

/* Ends the sniffing stage with what has been collected: BOM, "sep=" line,
 * delimiter; then parses the collected bytes. */
static int sniff_decide(csv_reader_t *r)
{
    const char *s = r->sniff.data ? r->sniff.data : "";
    size_t n = r->sniff.len;
    size_t skip = 0;
    int rc = OD_OK;
    if (r->opts.offset == 0) {
        if (n >= 2 && (((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE) ||
                       ((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF))) {
            rc = stop(r, od_fail(r->errbuf, r->errlen, OD_ERR_INVALID,
                                 "the file is UTF-16 text: save it as \"CSV UTF-8\""));
            goto out;
        }
        if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            skip = 3;
    }
    size_t ends[2] = {0, 0};
    int lines = lines_find(s + skip, n - skip, ends);
    size_t end1 = lines >= 1 ? ends[0] : n - skip;
    const char *line1 = s + skip;
    size_t content1 = end1;
    while (content1 > 0 && (line1[content1 - 1] == '\n' || line1[content1 - 1] == '\r'))
        content1--;
    char delim = r->opts.delimiter;
    if (content1 == 5 && strncmp(line1, "sep=", 4) == 0 &&
        (line1[4] == ',' || line1[4] == ';' || line1[4] == '\t' || line1[4] == '|')) {
        /* Excel's delimiter line: not a record. */
        if (!delim)
            delim = line1[4];
        skip += end1;
    } else if (!delim) {
        const char *line2 = lines >= 1 ? line1 + ends[0] : "";
        size_t n2 = lines >= 2 ? ends[1] - ends[0] : (lines == 1 ? n - skip - ends[0] : 0);
        delim = delimiter_sniff(line1, content1, line2, n2);
    }
    r->delimiter = delim;
    csv_set_delim(&r->parser, (unsigned char)delim);
    r->stage = STAGE_PARSE;
    r->offset = r->opts.offset + skip;
    rc = parse_bytes(r, s + skip, n - skip);
out:
    csv_buf_free(&r->sniff);
    return rc;
}

static bool sniff_enough(const csv_reader_t *r)
{
    if (r->sniff.len >= CSV_READER_SNIFF_MAX)
        return true;
    size_t ends[2];
    return lines_find(r->sniff.data, r->sniff.len, ends) == 2;
}

int csv_reader_new(const csv_reader_opts_t *opts, csv_row_fn on_row, void *arg, csv_reader_t **out,
                   char *errbuf, size_t errlen)
{
    *out = NULL;
    csv_reader_opts_t o = {.header = true};
    if (opts)
        o = *opts;
    if (o.delimiter && o.delimiter != ',' && o.delimiter != ';' && o.delimiter != '\t' &&
        o.delimiter != '|')
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "delimiter must be comma, semicolon, tab or |");
    if (o.offset > 0 && !o.delimiter)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "a reader resuming at an offset needs the delimiter");
    if (!on_row)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "no row callback");
    if (!o.first_row)
        o.first_row = 1;
    if (!o.row_max)
        o.row_max = CSV_READER_ROW_MAX_DEFAULT;
    if (!o.field_max)
        o.field_max = CSV_READER_FIELD_MAX_DEFAULT;
    csv_reader_t *r = xcalloc(1, sizeof(*r));
    r->opts = o;
    r->on_row = on_row;
    r->arg = arg;
    if (csv_init(&r->parser, CSV_REPALL_NL) != 0) {
        free(r);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "CSV parser: cannot initialise");
    }
    csv_set_realloc_func(&r->parser, xrealloc);
    r->header_seen = !o.header;
    r->next_row = o.first_row;
    r->offset = o.offset;
    r->last_term = -1;
    if (o.offset > 0) {
        r->stage = STAGE_PARSE;
        r->delimiter = o.delimiter;
        csv_set_delim(&r->parser, (unsigned char)o.delimiter);
    }
    *out = r;
    return OD_OK;
}

int csv_reader_feed(csv_reader_t *r, const void *buf, size_t len, char *errbuf, size_t errlen)
{
    if (r->stage == STAGE_DONE)
        return r->rc ? r->rc : od_fail(errbuf, errlen, OD_ERR_CONFLICT, "the reader has finished");
    r->errbuf = errbuf;
    r->errlen = errlen;
    const char *p = buf;
    int rc = OD_OK;
    if (r->stage == STAGE_SNIFF) {
        size_t room = CSV_READER_SNIFF_MAX - r->sniff.len;
        size_t take = len < room ? len : room;
        csv_buf_append(&r->sniff, p, take);
        p += take;
        len -= take;
        if (!sniff_enough(r))
            goto out;
        if ((rc = sniff_decide(r)) != OD_OK)
            goto out;
    }
    rc = parse_bytes(r, p, len);
out:
    r->errbuf = NULL;
    r->errlen = 0;
    return rc;
}

int csv_reader_finish(csv_reader_t *r, char *errbuf, size_t errlen)
{
    if (r->stage == STAGE_DONE)
        return r->rc ? r->rc : od_fail(errbuf, errlen, OD_ERR_CONFLICT, "the reader has finished");
    r->errbuf = errbuf;
    r->errlen = errlen;
    int rc = OD_OK;
    if (r->stage == STAGE_SNIFF && (rc = sniff_decide(r)) != OD_OK)
        goto out;
    if (r->pending_cr) {
        r->pending_cr = false;
        if ((rc = piece_feed(r, "\r", 1)) != OD_OK)
            goto out;
        if ((rc = record_deliver(r)) != OD_OK)
            goto out;
    }
    /* libcsv's state "inside a field" (FIELD_BEGUN in libcsv.c) with the
     * field quoted: the last quote was never closed. */
    r->unclosed = r->parser.pstate == LIBCSV_FIELD_BEGUN && r->parser.quoted;
    csv_fini(&r->parser, on_field, on_record, r);
    rc = record_deliver(r);
out:
    r->errbuf = NULL;
    r->errlen = 0;
    stop(r, rc);
    return rc;
}

char csv_reader_delimiter(const csv_reader_t *r)
{
    return r->delimiter;
}

uint64_t csv_reader_last_row(const csv_reader_t *r)
{
    return r->next_row - 1;
}

void csv_reader_free(csv_reader_t *r)
{
    if (!r)
        return;
    csv_free(&r->parser);
    csv_buf_free(&r->sniff);
    csv_buf_free(&r->text);
    free(r->starts);
    free(r->lens);
    free(r->ptrs);
    free(r);
}
