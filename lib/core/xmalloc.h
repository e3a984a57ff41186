/*
 * xmalloc.h — allocation that never returns NULL.
 *
 * Allocation failure aborts the process with a message (as h2o's
 * h2o_mem_alloc does): a service that cannot allocate cannot do anything
 * useful, and a supervisor restarts it. Callers never check for NULL.
 * Everything returned is freed with free().
 */
#ifndef OUTDIAL_XMALLOC_H
#define OUTDIAL_XMALLOC_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Appends n bytes of data to the growing buffer *buf of *len bytes and keeps
 * it NUL-terminated (so a collected body reads as a string); *buf may start
 * NULL with *len 0. The buffer stays the caller's, freed with free(). Any
 * size cap is the caller's to check before the call. */
void xbuf_append(char **buf, size_t *len, const void *data, size_t n);
/* Grows *buf, of *cap bytes (0 with *buf NULL at first), to hold at least
 * need bytes, doubling from 256 so that appending is amortised linear. */
void xbuf_reserve(char **buf, size_t *cap, size_t need);
/* xbuf_append over a buffer with a capacity (xbuf_reserve): appends n
 * bytes of data (data may be NULL when n is 0) and keeps it NUL-terminated. */
void xbuf_put(char **buf, size_t *len, size_t *cap, const void *data, size_t n);
/* Reads f to its end into a new NUL-terminated buffer (caller frees) and
 * sets *len (when len is not NULL) to the bytes read. NULL, with nothing
 * left allocated, when f reports a read error. f stays the caller's. */
char *xfread_all(FILE *f, size_t *len);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) OD_PRINTF(1, 2);

#endif
