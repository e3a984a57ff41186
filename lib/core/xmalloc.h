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
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) OD_PRINTF(1, 2);

#endif
