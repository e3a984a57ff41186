#include "dashboard.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

#ifndef OUTDIAL_DASHBOARD_DIR_BUILTIN
#define OUTDIAL_DASHBOARD_DIR_BUILTIN "services/api/dashboard"
#endif

typedef struct dashboard_file {
    char *name; /* "app.js" */
    const char *content_type;
    char *body;
    size_t len;
} dashboard_file_t;

struct dashboard {
    dashboard_file_t *files;
    size_t n;
};

/* Content-Security-Policy of every file: scripts, styles, fetches and
 * images from this origin only, no inline script, no framing. The API
 * key lives in the page, so nothing from elsewhere may run there. */
#define DASHBOARD_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i].ext);
        if (len > n && strcmp(name + len - n, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

const char *dashboard_dir(void)
{
    const char *env = getenv("OUTDIAL_API_DASHBOARD_DIR");
    if (env && *env)
        return env;
    /* Installed: bin/outdial-api beside share/outdial/dashboard. */
    static char installed[PATH_MAX + 64];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(installed, sizeof(installed), "%s/../share/outdial/dashboard/index.html", exe);
            if (access(installed, R_OK) == 0) {
                installed[strlen(installed) - strlen("/index.html")] = '\0';
                return installed;
            }
        }
    }
    return OUTDIAL_DASHBOARD_DIR_BUILTIN;
}

static int file_read(const char *path, char **body, size_t *len, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return od_fail(errbuf, errlen, OD_ERR_IO, "dashboard: cannot open %s: %s", path,
                       strerror(errno));
    char *buf = xmalloc(DASHBOARD_FILE_MAX + 1);
    size_t n = fread(buf, 1, DASHBOARD_FILE_MAX + 1, f);
    int rc = OD_OK;
    if (ferror(f))
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "dashboard: cannot read %s", path);
    else if (n > DASHBOARD_FILE_MAX)
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "dashboard: %s is larger than %d bytes", path,
                     DASHBOARD_FILE_MAX);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *body = buf;
    *len = n;
    return OD_OK;
}

static const dashboard_file_t *file_find(const dashboard_t *dash, const char *name)
{
    for (size_t i = 0; dash && i < dash->n; i++)
        if (strcmp(dash->files[i].name, name) == 0)
            return &dash->files[i];
    return NULL;
}

int dashboard_load(const char *dir, dashboard_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "dashboard: cannot read %s: %s", dir,
                       strerror(errno));
    dashboard_t *dash = xcalloc(1, sizeof(*dash));
    int rc = OD_OK;
    struct dirent *de;
    while (rc == OD_OK && (de = readdir(d)) != NULL) {
        const char *type = content_type_of(de->d_name);
        if (!type || de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        dashboard_file_t file = {.content_type = type};
        rc = file_read(path, &file.body, &file.len, errbuf, errlen);
        if (rc)
            break;
        file.name = xstrdup(de->d_name);
        dash->files = xrealloc(dash->files, (dash->n + 1) * sizeof(*dash->files));
        dash->files[dash->n++] = file;
    }
    closedir(d);
    if (rc == OD_OK && !file_find(dash, "index.html"))
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "dashboard: %s has no index.html", dir);
    if (rc) {
        dashboard_free(dash);
        return rc;
    }
    *out = dash;
    return OD_OK;
}

void dashboard_free(dashboard_t *dash)
{
    if (!dash)
        return;
    for (size_t i = 0; i < dash->n; i++) {
        free(dash->files[i].name);
        free(dash->files[i].body);
    }
    free(dash->files);
    free(dash);
}

size_t dashboard_files(const dashboard_t *dash)
{
    return dash ? dash->n : 0;
}

void dashboard_serve(http_request_t *req, http_response_t *resp, void *arg)
{
    const dashboard_t *dash = arg;
    const char *path = http_request_path(req);
    const char *name = strcmp(path, "/") == 0 ? "index.html" : path + 1;
    const dashboard_file_t *file = strchr(name, '/') ? NULL : file_find(dash, name);
    if (!file) {
        char msg[512];
        snprintf(msg, sizeof(msg), "no such path: %.400s", path);
        http_response_error(resp, 404, "not_found", msg, NULL);
        return;
    }
    const char *method = http_request_method(req);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%.16s is not allowed on %.400s", method, path);
        http_response_error(resp, 405, "method_not_allowed", msg, NULL);
        http_response_header_add(resp, "Allow", "GET, HEAD");
        return;
    }
    http_response_set(resp, 200, file->content_type, file->body, file->len);
    /* Revalidated on every load: an upgraded API serves its own page. */
    http_response_header_add(resp, "Cache-Control", "no-cache");
    http_response_header_add(resp, "X-Content-Type-Options", "nosniff");
    http_response_header_add(resp, "Referrer-Policy", "no-referrer");
    http_response_header_add(resp, "Content-Security-Policy", DASHBOARD_CSP);
}
