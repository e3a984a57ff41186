/*
 * dashboard.h — the web dashboard's files (services/api/dashboard/),
 * served by outdial-api at / on its own port (docs/dashboard.md).
 *
 * The files are read once at start into memory, so a request never
 * touches the file system and no path from a client ever reaches it: a
 * request names one of the loaded files or gets 404. The page itself
 * talks to the API only through the public /v1 routes with the API key
 * the user signs in with.
 *
 * Where the files are: OUTDIAL_API_DASHBOARD_DIR; else
 * <the binary's directory>/../share/outdial/dashboard (where `cmake
 * --install` puts them beside bin/outdial-api); else the source tree's
 * services/api/dashboard (builds that are not installed).
 */
#ifndef OUTDIAL_API_DASHBOARD_H
#define OUTDIAL_API_DASHBOARD_H

#include <stddef.h>

#include "err.h"
#include "http.h"

typedef struct dashboard dashboard_t;

/* Files larger than this are not served: the dashboard's own are a few
 * KiB each; anything bigger in the directory is not ours. */
#define DASHBOARD_FILE_MAX (1024 * 1024)

/* The directory the files are read from (see above); a static string or
 * the environment's. */
const char *dashboard_dir(void);

/* Loads every regular file of dir whose name ends in .html, .css, .js or
 * .svg (not recursing). OD_ERR_NOT_FOUND when dir cannot be read or has
 * no index.html; OD_ERR_IO when a file cannot be read. Free with
 * dashboard_free(). */
int dashboard_load(const char *dir, dashboard_t **out, char *errbuf, size_t errlen) OD_WUR;

/* NULL is a no-op. */
void dashboard_free(dashboard_t *dash);

/* How many files were loaded. */
size_t dashboard_files(const dashboard_t *dash);

/* lib/web's handler for "/" (any method; arg: the dashboard, or NULL when
 * none was loaded): GET and HEAD of "/" answer index.html, of "/<name>"
 * that file; another method on a file is 405, anything else 404 in the
 * API's error shape. */
void dashboard_serve(http_request_t *req, http_response_t *resp, void *arg);

#endif
