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
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) OD_PRINTF(1, 2);

#endif
