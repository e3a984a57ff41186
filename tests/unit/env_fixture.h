/*
 * env_fixture.h — a clean environment for tests of code that reads OUTDIAL_*
 * settings (header-only).
 *
 * env_clear_outdial() unsets every OUTDIAL_ variable, so that a test sees
 * the defaults whatever the shell that ran it exported (a sourced
 * var/test/stack.env, a developer's own settings) and whatever the test
 * before it set. It keeps the two variables ctest sets for every test to
 * find the tree: OUTDIAL_BUILD_DIR and OUTDIAL_SOURCE_DIR.
 * env_fixture_clear is the same as a cmocka per-test setup:
 *
 *     OD_TEST_MAIN_EACH(NULL, NULL, env_fixture_clear, NULL, test_a, ...)
 */
#ifndef OUTDIAL_TEST_ENV_FIXTURE_H
#define OUTDIAL_TEST_ENV_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* True for an "OUTDIAL_NAME=value" entry that env_clear_outdial removes. */
static inline bool env_is_cleared_(const char *entry)
{
    static const char *const kept[] = {"OUTDIAL_BUILD_DIR=", "OUTDIAL_SOURCE_DIR="};
    if (strncmp(entry, "OUTDIAL_", strlen("OUTDIAL_")) != 0)
        return false;
    for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++)
        if (strncmp(entry, kept[k], strlen(kept[k])) == 0)
            return false;
    return true;
}

static inline void env_clear_outdial(void)
{
    char name[256];
    size_t i = 0;
    while (environ[i]) {
        if (!env_is_cleared_(environ[i])) {
            i++;
            continue;
        }
        size_t len = strcspn(environ[i], "=");
        if (len >= sizeof(name))
            abort(); /* no setting of ours has so long a name */
        memcpy(name, environ[i], len);
        name[len] = '\0';
        unsetenv(name);
        i = 0; /* unsetenv rearranges environ: scan it again from the start */
    }
}

static inline int env_fixture_clear(void **state)
{
    (void)state;
    env_clear_outdial();
    return 0;
}

#endif
