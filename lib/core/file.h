/*
 * file.h — a small file written whole and atomically.
 */
#ifndef OUTDIAL_FILE_H
#define OUTDIAL_FILE_H

#include <stddef.h>

#include "err.h"

/* Writes the printf-style text to path as a whole: into path.tmp.PID first
 * (flushed and synced), then renamed over path, so a reader sees either the
 * old file (or none) or all of the new text, never a part. Made for the
 * files that tell a test or a script a process's port or address.
 *
 * OD_OK, or OD_ERR_IO with the file and the system's reason in errbuf; the
 * temporary file does not outlive a failure, and path is then untouched. */
int od_file_write_atomic(const char *path, char *errbuf, size_t errlen, const char *fmt, ...)
    OD_PRINTF(4, 5) OD_WUR;

#endif
