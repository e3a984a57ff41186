/* file: od_file_write_atomic, the whole-or-nothing write of the port and
 * bootstrap files that tests and scripts wait for. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"
#include "test_main.h"
#include "xmalloc.h"

/* A fresh directory per test, removed (with what a test left in it) after. */
static int dir_make(void **state)
{
    char *dir = xstrdup("/tmp/outdial-test-file-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int dir_remove(void **state)
{
    char *dir = *state;
    DIR *d = opendir(dir);
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        if (remove(path) != 0)
            fail_msg("cannot remove %s", path);
        free(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
    return 0;
}

/* How many entries dir holds, but for . and .. */
static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static char *file_read(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = xfread_all(f, NULL);
    fclose(f);
    assert_non_null(text);
    return text;
}

/* path holds exactly want, and dir nothing else: no temporary file left. */
static void file_expect(const char *dir, const char *path, const char *want)
{
    char *text = file_read(path);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(dir_entries(dir), 1);
}

static void test_writes_the_text_then_replaces_it(void **state)
{
    const char *dir = *state;
    char *path = xasprintf("%s/kafka.bootstrap", dir);
    char err[256] = "";
    assert_int_equal(od_file_write_atomic(path, err, sizeof(err), "%d\n", 18080), OD_OK);
    file_expect(dir, path, "18080\n");
    assert_int_equal(od_file_write_atomic(path, err, sizeof(err), "%s\n", "127.0.0.1:49092"),
                     OD_OK);
    file_expect(dir, path, "127.0.0.1:49092\n");
    free(path);
}

static void test_a_missing_directory_names_the_temporary_file(void **state)
{
    const char *dir = *state;
    char *path = xasprintf("%s/missing/api.port", dir);
    char *tmp = xasprintf("%s.tmp.%d: ", path, (int)getpid());
    char err[512] = "";
    assert_int_equal(od_file_write_atomic(path, err, sizeof(err), "%d\n", 1), OD_ERR_IO);
    if (strncmp(err, tmp, strlen(tmp)) != 0)
        fail_msg("message '%s' does not start with '%s'", err, tmp);
    assert_int_equal(dir_entries(dir), 0);
    free(tmp);
    free(path);
}

/* A rename that fails (the path is a directory) leaves no temporary file
 * behind and the directory as it was. */
static void test_a_failed_rename_removes_the_temporary_file(void **state)
{
    const char *dir = *state;
    char *path = xasprintf("%s/taken", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    char err[512] = "";
    assert_int_equal(od_file_write_atomic(path, err, sizeof(err), "%d\n", 1), OD_ERR_IO);
    if (strncmp(err, "rename ", 7) != 0 || !strstr(err, path))
        fail_msg("message '%s' does not name the rename to %s", err, path);
    assert_int_equal(dir_entries(dir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(rmdir(path), 0);
    free(path);
}

OD_TEST_MAIN_EACH(NULL, NULL, dir_make, dir_remove, test_writes_the_text_then_replaces_it,
                  test_a_missing_directory_names_the_temporary_file,
                  test_a_failed_rename_removes_the_temporary_file)
