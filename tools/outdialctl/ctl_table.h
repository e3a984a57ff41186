/*
 * ctl_table.h — plain-text tables for a terminal: columns sized to their
 * widest cell (counted in characters, not bytes, so names in any script
 * line up), numbers right-aligned, cells longer than a column's limit cut
 * with "..." at the end.
 *
 * A table collects its cells first (ctl_table_add_row / ctl_table_cell)
 * and is written in one go, because every width depends on every row.
 * Pure: it writes to the FILE * it is given and does nothing else.
 */
#ifndef OUTDIAL_CTL_TABLE_H
#define OUTDIAL_CTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum ctl_align {
    CTL_ALIGN_LEFT = 0,
    CTL_ALIGN_RIGHT,
} ctl_align_t;

typedef struct ctl_table ctl_table_t;

/* A table with n_cols columns and these headers (copied). Freed with
 * ctl_table_free. */
ctl_table_t *ctl_table_new(size_t n_cols, const char *const *headers);
void ctl_table_free(ctl_table_t *t);

/* Column col's alignment and widest cell in characters (0: no limit;
 * otherwise at least 4). */
void ctl_table_column(ctl_table_t *t, size_t col, ctl_align_t align, size_t max_width);

/* Starts a new row whose cells are empty until set. */
void ctl_table_add_row(ctl_table_t *t);
/* Sets a cell of the last row (copied; NULL and "" show as "-"). Control
 * characters (a newline in a name) are shown as spaces. */
void ctl_table_cell(ctl_table_t *t, size_t col, const char *text);

size_t ctl_table_rows(const ctl_table_t *t);

/* Writes the header line and every row, columns separated by two spaces,
 * no trailing blanks. */
void ctl_table_write(const ctl_table_t *t, FILE *out);

/* The number of characters (UTF-8 code points) of s. */
size_t ctl_text_width(const char *s);

#endif
