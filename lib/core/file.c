#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmalloc.h"

int od_file_write_atomic(const char *path, char *errbuf, size_t errlen, const char *fmt, ...)
{
    /* The PID in the name: two processes writing the same path never
     * share a temporary file. */
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int rc = OD_OK;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    va_list ap;
    va_start(ap, fmt);
    bool ok = vfprintf(f, fmt, ap) >= 0;
    va_end(ap);
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    return rc;
}
