#include "ctl_table.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct ctl_table {
    size_t n_cols;
    char **headers;
    ctl_align_t *align;
    size_t *max_width;
    char **cells; /* n_rows * n_cols, row-major */
    size_t n_rows, cap_rows;
};

ctl_table_t *ctl_table_new(size_t n_cols, const char *const *headers)
{
    ctl_table_t *t = xcalloc(1, sizeof(*t));
    t->n_cols = n_cols;
    t->headers = xcalloc(n_cols, sizeof(*t->headers));
    t->align = xcalloc(n_cols, sizeof(*t->align));
    t->max_width = xcalloc(n_cols, sizeof(*t->max_width));
    for (size_t i = 0; i < n_cols; i++)
        t->headers[i] = xstrdup(headers[i] ? headers[i] : "");
    return t;
}

void ctl_table_free(ctl_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cols; i++)
        free(t->headers[i]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->headers);
    free(t->align);
    free(t->max_width);
    free(t->cells);
    free(t);
}

void ctl_table_column(ctl_table_t *t, size_t col, ctl_align_t align, size_t max_width)
{
    if (col >= t->n_cols)
        return;
    t->align[col] = align;
    t->max_width[col] = max_width && max_width < 4 ? 4 : max_width;
}

void ctl_table_add_row(ctl_table_t *t)
{
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap_rows * t->n_cols * sizeof(*t->cells));
    }
    memset(t->cells + t->n_rows * t->n_cols, 0, t->n_cols * sizeof(*t->cells));
    t->n_rows++;
}

void ctl_table_cell(ctl_table_t *t, size_t col, const char *text)
{
    if (t->n_rows == 0 || col >= t->n_cols)
        return;
    char **cell = &t->cells[(t->n_rows - 1) * t->n_cols + col];
    free(*cell);
    char *copy = xstrdup(text && *text ? text : "-");
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    *cell = copy;
}

size_t ctl_table_rows(const ctl_table_t *t)
{
    return t->n_rows;
}

size_t ctl_text_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80) /* not a continuation byte */
            n++;
    return n;
}

/* The byte length of the first `chars` characters of s. */
static size_t prefix_bytes(const char *s, size_t chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t seen = 0;
    while (*p) {
        if ((*p & 0xc0) != 0x80) {
            if (seen == chars)
                break;
            seen++;
        }
        p++;
    }
    return (size_t)(p - (const unsigned char *)s);
}

static const char *cell_text(const ctl_table_t *t, size_t row, size_t col)
{
    const char *s = t->cells[row * t->n_cols + col];
    return s ? s : "-";
}

/* Writes s in a column of width w; cut to w characters with "..." when
 * longer. pad: whether to fill up to w (not for the last column). */
static void cell_write(FILE *out, const char *s, size_t w, ctl_align_t align, bool pad)
{
    size_t width = ctl_text_width(s);
    size_t bytes = strlen(s);
    bool cut = width > w;
    if (cut) {
        bytes = prefix_bytes(s, w - 3);
        width = w;
    }
    size_t fill = w - width;
    if (align == CTL_ALIGN_RIGHT)
        fprintf(out, "%*s", (int)fill, "");
    fwrite(s, 1, bytes, out);
    if (cut)
        fputs("...", out);
    if (align == CTL_ALIGN_LEFT && pad)
        fprintf(out, "%*s", (int)fill, "");
}

void ctl_table_write(const ctl_table_t *t, FILE *out)
{
    size_t *w = xcalloc(t->n_cols ? t->n_cols : 1, sizeof(*w));
    for (size_t c = 0; c < t->n_cols; c++) {
        w[c] = ctl_text_width(t->headers[c]);
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t cw = ctl_text_width(cell_text(t, r, c));
            if (cw > w[c])
                w[c] = cw;
        }
        if (t->max_width[c] && w[c] > t->max_width[c])
            w[c] = t->max_width[c];
    }
    for (size_t r = 0; r <= t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *s = r == 0 ? t->headers[c] : cell_text(t, r - 1, c);
            bool last = c + 1 == t->n_cols;
            cell_write(out, s, w[c], t->align[c], !last);
            if (!last)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
    free(w);
}
