/*
 * case_file_cells.h — a cell of a case file (case_file.h) read as a whole
 * number, a number or yes/no (header-only).
 *
 *     int cap = case_file_int(cf, row, 1);
 *     bool shared = case_file_yes(cf, row, 13);
 *
 * Any other text fails the test, naming the row (its number and first cell)
 * and the column.
 */
#ifndef OUTDIAL_TEST_CASE_FILE_CELLS_H
#define OUTDIAL_TEST_CASE_FILE_CELLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "case_file.h"

/* Fails the test for the cell of row and column, which is not what want
 * says, naming the row (from 0, its first cell) and the column. */
static inline void case_file_refuse_(const case_file_t *cf, size_t row, size_t column,
                                     const char *want)
{
    const char *text = case_file_cell(cf, row, column), *first = case_file_cell(cf, row, 0);
    fail_msg("row %zu (%s), column %s: '%s' is not %s", row, first ? first : "-", cf->cells[column],
             text ? text : "-", want);
}

/* The cell of row and column as a whole number (decimal, with a sign). */
static inline long long case_file_int(const case_file_t *cf, size_t row, size_t column)
{
    const char *text = case_file_cell(cf, row, column);
    char *end = NULL;
    long long value = text ? strtoll(text, &end, 10) : 0;
    if (!text || *text == '\0' || *end != '\0')
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

#endif
