/*
 * importer_batch.c — rows to COPY text; see importer_batch.h.
 */
#include "importer_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "xmalloc.h"

void importer_rng_init(importer_rng_t *rng)
{
    rng->used = sizeof(rng->pool);
    rng->last_ms = 0;
    rng->seq = 0;
}

static void rng_fill(importer_rng_t *rng)
{
    size_t got = 0;
    while (got < sizeof(rng->pool)) {
        ssize_t n = getrandom(rng->pool + got, sizeof(rng->pool) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* getrandom cannot fail on Linux >= 3.17 with a valid buffer;
             * ids that are not random would silently collide, so stop. */
            abort();
        }
        got += (size_t)n;
    }
    rng->used = 0;
}

void importer_uuid_make(importer_rng_t *rng, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    if (rng->used + 8 > sizeof(rng->pool))
        rng_fill(rng);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    if (ms <= rng->last_ms) {
        /* Same millisecond (or the clock stepped back): count on. */
        ms = rng->last_ms;
        if (++rng->seq > 0x0FFF) {
            ms++;
            rng->seq = 0;
        }
    } else {
        rng->seq = 0;
    }
    rng->last_ms = ms;
    uint8_t b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | (rng->seq >> 8)); /* version 7, counter high bits */
    b[7] = (uint8_t)(rng->seq & 0xFF);
    memcpy(b + 8, rng->pool + rng->used, 8);
    rng->used += 8;
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 9562 variant */
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 0x0F];
    }
    out[k] = '\0';
}

importer_batch_t *importer_batch_new(void)
{
    return xcalloc(1, sizeof(importer_batch_t));
}

/* Applies fn to each of the batch's text buffers: one list for reset and
 * free, so that a buffer added to the batch is never left out of one. */
static void bufs_each(importer_batch_t *b, void (*fn)(csv_buf_t *))
{
    csv_buf_t *const bufs[] = {&b->text,   &b->leads,          &b->rejects,
                               &b->direct, &b->direct_numbers, &b->secondaries};
    for (size_t i = 0; i < OD_COUNT(bufs); i++)
        fn(bufs[i]);
}

void importer_batch_reset(importer_batch_t *b)
{
    bufs_each(b, csv_buf_reset);
    b->n_direct = 0;
    b->direct_unusable = false;
    b->n_fields = 0;
    b->n_rows = 0;
    b->end_offset = 0;
    b->last_row = 0;
    b->n_primary = 0;
    b->n_secondary = 0;
    b->n_rejected = 0;
    b->n_cell_rejected = 0;
    b->n_external = 0;
    b->seq = 0;
}

void importer_batch_free(importer_batch_t *b)
{
    if (!b)
        return;
    bufs_each(b, csv_buf_free);
    free(b->field_off);
    free(b->field_len);
    free(b->rows);
    free(b);
}

void importer_batch_add(importer_batch_t *b, const csv_row_t *row)
{
    if (b->n_rows == b->cap_rows) {
        b->cap_rows = b->cap_rows ? b->cap_rows * 2 : 1024;
        b->rows = xrealloc(b->rows, b->cap_rows * sizeof(*b->rows));
    }
    size_t stored = row->too_long ? 0 : row->n_fields;
    if (b->n_fields + stored > b->cap_fields) {
        size_t cap = b->cap_fields ? b->cap_fields : 4096;
        while (cap < b->n_fields + stored)
            cap *= 2;
        b->field_off = xrealloc(b->field_off, cap * sizeof(*b->field_off));
        b->field_len = xrealloc(b->field_len, cap * sizeof(*b->field_len));
        b->cap_fields = cap;
    }
    importer_row_t *r = &b->rows[b->n_rows++];
    r->number = row->number;
    r->first_field = b->n_fields;
    r->n_stored = stored;
    r->n_fields = row->n_fields;
    r->bad_utf8_field = row->bad_utf8_field;
    r->too_long = row->too_long;
    r->unclosed_quote = row->unclosed_quote;
    for (size_t i = 0; i < stored; i++) {
        b->field_off[b->n_fields] = b->text.len;
        b->field_len[b->n_fields] = row->lens[i];
        csv_buf_append(&b->text, row->fields[i], row->lens[i]);
        csv_buf_putc(&b->text, '\0');
        b->n_fields++;
    }
    b->end_offset = row->end_offset;
    b->last_row = row->number;
}

void importer_copy_escape(csv_buf_t *out, const char *s, size_t len)
{
    csv_buf_reserve(out, len);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            continue;
        }
        csv_buf_append(out, s + run, i - run);
        csv_buf_append(out, esc, 2);
        run = i + 1;
    }
    csv_buf_append(out, s + run, len - run);
}

static void copy_text_or_null(csv_buf_t *out, const char *s)
{
    if (s)
        importer_copy_escape(out, s, strlen(s));
    else
        csv_buf_append(out, "\\N", 2);
}

/* The state column of a COPY line: \N when none. */
static void copy_state(csv_buf_t *out, const char *state)
{
    if (state[0])
        csv_buf_append(out, state, strlen(state));
    else
        csv_buf_append(out, "\\N", 2);
}

/* One line of the temp table's COPY text. A secondary contact shares the
 * row's stated state, else its own number gives it. */
static void lead_line(csv_buf_t *out, uint64_t row, const char *id, const char *parent_id,
                      int contact_order, const char *e164, const lead_map_row_t *lead,
                      const char *external_id)
{
    char state[3];
    lead_map_state_resolve(lead->state_given || !parent_id ? lead->state : NULL, e164, state);
    csv_buf_printf(out, "%llu\t%s\t%s\t%d\t%s\t", (unsigned long long)row, id,
                   parent_id ? parent_id : "\\N", contact_order, e164);
    importer_copy_escape(out, lead->name, strlen(lead->name));
    csv_buf_putc(out, '\t');
    copy_text_or_null(out, lead->timezone);
    csv_buf_putc(out, '\t');
    copy_text_or_null(out, external_id);
    csv_buf_putc(out, '\t');
    importer_copy_escape(out, lead->variables, strlen(lead->variables));
    csv_buf_putc(out, '\t');
    copy_state(out, state);
    csv_buf_putc(out, '\n');
}

/* One line of lead's COPY text for the direct path. */
static void direct_line(csv_buf_t *out, const char *id, const char *campaign_id, const char *e164,
                        const lead_map_row_t *lead, const char *import_id)
{
    csv_buf_printf(out, "%s\t%s\t%s\t", id, campaign_id, e164);
    importer_copy_escape(out, lead->name, strlen(lead->name));
    csv_buf_putc(out, '\t');
    copy_text_or_null(out, lead->timezone);
    csv_buf_putc(out, '\t');
    importer_copy_escape(out, lead->variables, strlen(lead->variables));
    csv_buf_printf(out, "\t%s\t", import_id);
    copy_state(out, lead->state);
    csv_buf_putc(out, '\n');
}

/* The numbers of a batch's primaries, to keep the first row of each: an
 * open-addressing set of E.164 numbers as integers (at most 15 digits, so
 * exact, never a hash that two numbers could share). */
typedef struct number_set {
    uint64_t *slots; /* 0 = empty; a number is stored as its value + 1 */
    size_t mask;
} number_set_t;

static void number_set_init(number_set_t *set, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    set->slots = xcalloc(cap, sizeof(*set->slots));
    set->mask = cap - 1;
}

/* Adds e164: 1 when new, 0 when there already, -1 when it is not
 * "+" and 1..15 digits (then it cannot be kept here). */
static int number_set_add(number_set_t *set, const char *e164)
{
    if (e164[0] != '+' || !e164[1] || strlen(e164) > 16)
        return -1;
    uint64_t v = 0;
    for (const char *p = e164 + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    v += 1;
    size_t i = (size_t)(v * 0x9E3779B97F4A7C15ull) & set->mask;
    while (set->slots[i]) {
        if (set->slots[i] == v)
            return 0;
        i = (i + 1) & set->mask;
    }
    set->slots[i] = v;
    return 1;
}

/* One line of import_reject's COPY text: the whole row (column NULL) or
 * one cell of it, with code and message. */
static void reject_line(csv_buf_t *out, csv_buf_t *scratch, const char *import_id,
                        const importer_batch_t *b, const importer_row_t *r, const char *column,
                        size_t column_number, const char *code, const char *message)
{
    csv_buf_printf(out, "%s\t%llu\t%zu\t", import_id, (unsigned long long)r->number, column_number);
    copy_text_or_null(out, column);
    csv_buf_printf(out, "\t%s\t", code);
    importer_copy_escape(out, message, strlen(message));
    csv_buf_putc(out, '\t');
    csv_buf_reset(scratch);
    for (size_t i = 0; i < r->n_stored; i++) {
        if (i)
            csv_buf_putc(scratch, ',');
        size_t f = r->first_field + i;
        csv_field_append(scratch, b->text.data + b->field_off[f], b->field_len[f], ',');
    }
    importer_copy_escape(out, scratch->data ? scratch->data : "", scratch->len);
    csv_buf_putc(out, '\n');
}

void importer_batch_map(importer_batch_t *b, const lead_map_t *map, lead_map_ctx_t *ctx,
                        importer_rng_t *rng, const char *region, const char *campaign_id,
                        const char *import_id)
{
    csv_buf_reset(&b->leads);
    csv_buf_reset(&b->rejects);
    csv_buf_reset(&b->direct);
    csv_buf_reset(&b->direct_numbers);
    csv_buf_reset(&b->secondaries);
    b->n_primary = b->n_secondary = b->n_rejected = b->n_external = b->n_direct = 0;
    b->n_cell_rejected = 0;
    b->direct_unusable = false;
    /* Room for a typical lead line up front: fewer reallocations. */
    csv_buf_reserve(&b->leads, b->n_rows * 160);
    csv_buf_reserve(&b->direct, b->n_rows * 200);
    csv_buf_t scratch = {0};
    const char **fields = NULL;
    size_t cap = 0;
    number_set_t seen;
    number_set_init(&seen, b->n_rows);
    for (size_t k = 0; k < b->n_rows; k++) {
        const importer_row_t *r = &b->rows[k];
        if (r->n_stored > cap) {
            cap = r->n_stored * 2;
            fields = xrealloc(fields, cap * sizeof(*fields));
        }
        for (size_t i = 0; i < r->n_stored; i++)
            fields[i] = b->text.data + b->field_off[r->first_field + i];
        lead_map_input_t in = {
            .fields = r->too_long ? NULL : fields,
            .lens = r->too_long ? NULL : b->field_len + r->first_field,
            .n_fields = r->n_fields,
            .bad_utf8_field = r->bad_utf8_field,
            .too_long = r->too_long,
            .unclosed_quote = r->unclosed_quote,
        };
        lead_map_row_t res;
        if (!lead_map_row(map, ctx, region, &in, &res)) {
            reject_line(&b->rejects, &scratch, import_id, b, r, NULL, 0, res.code, res.message);
            b->n_rejected++;
            continue;
        }
        for (size_t c = 0; c < res.n_cell_rejects; c++) {
            const lead_map_cell_reject_t *cr = &res.cell_rejects[c];
            reject_line(&b->rejects, &scratch, import_id, b, r,
                        lead_map_column_header(map, cr->column), cr->column + 1, cr->code,
                        cr->message);
            b->n_cell_rejected++;
        }
        char id[37];
        importer_uuid_make(rng, id);
        lead_line(&b->leads, r->number, id, NULL, 0, res.e164, &res, res.external_id);
        b->n_primary++;
        if (res.external_id)
            b->n_external++;
        int fresh = number_set_add(&seen, res.e164);
        if (fresh < 0)
            b->direct_unusable = true;
        if (fresh > 0) {
            direct_line(&b->direct, id, campaign_id, res.e164, &res, import_id);
            csv_buf_putc(&b->direct_numbers, b->n_direct ? ',' : '{');
            csv_buf_puts(&b->direct_numbers, res.e164);
            b->n_direct++;
        }
        for (size_t s = 0; s < res.n_secondary; s++) {
            char sid[37];
            importer_uuid_make(rng, sid);
            lead_line(&b->leads, r->number, sid, id, (int)s + 1, res.secondary[s], &res, NULL);
            lead_line(&b->secondaries, r->number, sid, id, (int)s + 1, res.secondary[s], &res,
                      NULL);
            b->n_secondary++;
        }
    }
    if (b->n_direct)
        csv_buf_putc(&b->direct_numbers, '}');
    free(seen.slots);
    free(fields);
    csv_buf_free(&scratch);
}
