/*
 * case_file.h — a table of test cases kept as text in the tree,
 * <CASE_FILE_DIR>/<name>.tsv (header-only). CASE_FILE_DIR is
 * tests/unit/cases (the unit tests' tables, the dialer's, outdialctl's and
 * voice-sim's too) unless the test defines it before including this file
 * (the integration tests' tables: tests/integration/cases).
 *
 * The first line names the columns, separated by tabs; every further line
 * is one case, its fields in that order. A line that starts with '#' is a
 * comment (the heading of a group of cases), so a case's first cell never
 * starts with '#'; an empty line is skipped. A field "-" is NULL (absent),
 * so that it differs from an empty field.
 * The tree is found through OUTDIAL_SOURCE_DIR, which ctest sets.
 *
 *     static const char *const columns[] = {"name", "start", ...};
 *     case_file_t *cf = case_file_load("window", columns, 12, 52);
 *     ... case_file_cell(cf, row, column) for row < cf->n_rows ...
 *     int cap = case_file_int(cf, row, 1);
 *     bool open = case_file_yes(cf, row, 9);
 *     case_file_free(cf);
 *
 * case_file_rows gives an array, owned by the file, for the rows parsed
 * into the test's own struct.
 *
 * A file that cannot be read, a header other than columns, a row with
 * another number of fields, or another number of cases than the test
 * wants (a file cut short, a case commented out) fails the test, naming
 * the file and the line or the counts. case_file_int, case_file_real and
 * case_file_yes read a cell strictly: any other text fails the test,
 * naming the row (its number and first cell) and the column.
 * The caller owns the case_file_t; its cells live until case_file_free.
 */
#ifndef OUTDIAL_TEST_CASE_FILE_H
#define OUTDIAL_TEST_CASE_FILE_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef CASE_FILE_DIR
#define CASE_FILE_DIR "tests/unit/cases"
#endif

typedef struct case_file {
    char *text; /* the file's bytes, cut into cells in place */
    size_t n_rows, n_columns;
    void *rows; /* the caller's parsed rows (case_file_rows), or NULL */
    /* The header, then the n_rows rows, n_columns cells each; NULL for "-".
     * Allocated with the struct: one block. */
    const char *cells[];
} case_file_t;

/* The whole file at path, NUL-terminated; NULL if it cannot be read. */
static inline char *case_file_read_(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            text = malloc((size_t)size + 1);
            len = text ? fread(text, 1, (size_t)size, f) : 0;
            if (text && len != (size_t)size) {
                free(text);
                text = NULL;
            }
        }
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

/* Cuts line (NUL-terminated, no '\n') at its tabs into at most max fields;
 * returns how many it has. */
static inline size_t case_file_split_(char *line, const char **fields, size_t max)
{
    size_t n = 0;
    for (char *field = line; field; n++) {
        char *tab = strchr(field, '\t');
        if (tab)
            *tab++ = '\0';
        if (n < max)
            fields[n] = strcmp(field, "-") == 0 ? NULL : field;
        field = tab;
    }
    return n;
}

/* Reads <CASE_FILE_DIR>/<name>.tsv, whose columns must be columns and
 * which must hold exactly n_rows cases. */
static inline case_file_t *case_file_load(const char *name, const char *const *columns,
                                          size_t n_columns, size_t n_rows)
{
    const char *dir = getenv("OUTDIAL_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/" CASE_FILE_DIR "/%s.tsv", dir ? dir : ".", name);
    char *text = case_file_read_(path);
    if (!text)
        fail_msg("cannot read %s (set OUTDIAL_SOURCE_DIR)", path);
    size_t max_lines = 1;
    for (const char *p = text; *p; p++)
        max_lines += *p == '\n';
    case_file_t *cf = calloc(1, sizeof(*cf) + max_lines * n_columns * sizeof(cf->cells[0]));
    if (!cf)
        abort();
    cf->text = text;
    cf->n_columns = n_columns;
    size_t n_lines = 0; /* the header and the rows read so far */
    int line_no = 0;
    for (char *line = text, *next; line; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        const char **fields = cf->cells + n_lines++ * n_columns;
        size_t n = case_file_split_(line, fields, n_columns);
        if (n != n_columns)
            fail_msg("%s:%d: %zu fields, want %zu", path, line_no, n, n_columns);
        for (size_t k = 0; n_lines == 1 && k < n_columns; k++)
            if (!fields[k] || strcmp(fields[k], columns[k]) != 0)
                fail_msg("%s:%d: column %zu is '%s', want '%s'", path, line_no, k + 1,
                         fields[k] ? fields[k] : "-", columns[k]);
    }
    if (n_lines == 0)
        fail_msg("%s: no header line", path);
    cf->n_rows = n_lines - 1;
    if (cf->n_rows != n_rows)
        fail_msg("%s: %zu cases, want %zu", path, cf->n_rows, n_rows);
    return cf;
}

/* The cell of row and column: NULL where the file says "-". */
static inline const char *case_file_cell(const case_file_t *cf, size_t row, size_t column)
{
    return cf->cells[(row + 1) * cf->n_columns + column];
}

/* An array of n_rows zeroed elements of size bytes, for the rows parsed
 * into the caller's struct; cf owns it (case_file_free frees it). */
static inline void *case_file_rows(case_file_t *cf, size_t size)
{
    free(cf->rows);
    cf->rows = calloc(cf->n_rows ? cf->n_rows : 1, size);
    if (!cf->rows)
        abort();
    return cf->rows;
}

/* Fails the test for the cell of row and column, which is not what want
 * says, naming the row (from 0, its first cell) and the column. */
static inline void case_file_refuse_(const case_file_t *cf, size_t row, size_t column,
                                     const char *want)
{
    const char *text = case_file_cell(cf, row, column), *first = case_file_cell(cf, row, 0);
    fail_msg("row %zu (%s), column %s: '%s' is not %s", row, first ? first : "-", cf->cells[column],
             text ? text : "-", want);
}

/* Whether text (NULL: none) is a whole number (decimal, with a sign) that
 * fits, into *value; for a cell's parts (a list) as for a cell. */
static inline bool case_file_whole(const char *text, long long *value)
{
    char *end = NULL;
    errno = 0;
    *value = text ? strtoll(text, &end, 10) : 0;
    return text && *text != '\0' && *end == '\0' && errno != ERANGE;
}

/* The cell of row and column as a whole number. */
static inline long long case_file_int(const case_file_t *cf, size_t row, size_t column)
{
    long long value;
    if (!case_file_whole(case_file_cell(cf, row, column), &value))
        case_file_refuse_(cf, row, column, "a whole number");
    return value;
}

/* The cell of row and column as a number (strtod's forms). */
static inline double case_file_real(const case_file_t *cf, size_t row, size_t column)
{
    const char *text = case_file_cell(cf, row, column);
    char *end = NULL;
    double value = text ? strtod(text, &end) : 0;
    if (!text || *text == '\0' || *end != '\0')
        case_file_refuse_(cf, row, column, "a number");
    return value;
}

/* The cell of row and column, yes or no, as true or false. */
static inline bool case_file_yes(const case_file_t *cf, size_t row, size_t column)
{
    const char *text = case_file_cell(cf, row, column);
    if (!text || (strcmp(text, "yes") != 0 && strcmp(text, "no") != 0))
        case_file_refuse_(cf, row, column, "yes or no");
    return text && strcmp(text, "yes") == 0;
}

static inline void case_file_free(case_file_t *cf)
{
    if (!cf)
        return;
    free(cf->rows);
    free(cf->text);
    free(cf);
}

#endif
