/* The API's admin token: an attacker who tries the tokens the repository
 * has published (the local stack's old default, the placeholders of the
 * deployment files and docs) or a short one finds an API that refused to
 * start with it, with an error naming the rule; a long random token
 * starts it and the published constant gets 401. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>

#include "test_api_support.h"

/* The local stack's constant before it generated a random token. */
#define OLD_LOCAL_TOKEN "local-admin-token-0123456789abcdef"

typedef struct run_result {
    int exit_code; /* -1: did not exit within the deadline */
    char output[8192];
} run_result_t;

/* Runs outdial-api with only the given admin token set (and a database
 * that does not exist: the token is checked before anything connects);
 * collects its stderr and waits for it to exit, 30 s at most. */
static run_result_t api_run_with_token(const char *token)
{
    run_result_t res = {.exit_code = -1};
    char path[1024], token_env[1024];
    snprintf(path, sizeof(path), "%s/services/api/outdial-api", support_env("OUTDIAL_BUILD_DIR"));
    snprintf(token_env, sizeof(token_env), "OUTDIAL_API_ADMIN_TOKEN=%s", token);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        char *const argv[] = {path, NULL};
        char *const envp[] = {"OUTDIAL_PG_DSN=postgresql://outdial@127.0.0.1:1/none",
                              "OUTDIAL_API_HTTP_HOST=127.0.0.1", "OUTDIAL_API_HTTP_PORT=0",
                              token_env, NULL};
        execve(path, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    size_t len = 0;
    int64_t deadline = harness_ms() + 30000;
    int status = 0;
    bool exited = false;
    while (harness_ms() < deadline) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0 && len < sizeof(res.output) - 1) {
            ssize_t n = read(fds[0], res.output + len, sizeof(res.output) - 1 - len);
            if (n > 0)
                len += (size_t)n;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
    }
    ssize_t n;
    while (len < sizeof(res.output) - 1 &&
           (n = read(fds[0], res.output + len, sizeof(res.output) - 1 - len)) > 0)
        len += (size_t)n;
    res.output[len] = '\0';
    close(fds[0]);
    if (!exited) {
        harness_stop(pid, SIGKILL);
        return res;
    }
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return res;
}

static void assert_refused(const char *token, const char *rule)
{
    run_result_t res = api_run_with_token(token);
    if (res.exit_code != 2 || !strstr(res.output, rule))
        fail_msg("token '%s': want exit 2 and \"%s\", got exit %d: %s", token, rule, res.exit_code,
                 res.output);
}

static void test_short_token_refused(void **state)
{
    (void)state;
    assert_refused("0123456789abcdef", "too short: 16 bytes, the rule is at least 32");
    assert_refused("test-admin-token-0123456789", "too short: 27 bytes, the rule is at least 32");
    assert_refused("0123456789abcdef0123456789abcde", "the rule is at least 32");
}

/* Every literal admin token that a file of the docs or the deployment
 * shows (OUTDIAL_API_ADMIN_TOKEN: value, =value or ${...:-value}), added
 * to toks. */
static void tokens_in_file(const char *path, char toks[][256], size_t *n, size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "OUTDIAL_(API_)?ADMIN_TOKEN\"?[[:space:]]*(:-|[:=])[[:space:]]*"
                             "\"?([A-Za-z0-9][A-Za-z0-9_.-]*)",
                             REG_EXTENDED),
                     0);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        regmatch_t m[4];
        const char *p = line;
        while (*n < max && regexec(&re, p, 4, m, 0) == 0) {
            int len = (int)(m[3].rm_eo - m[3].rm_so);
            snprintf(toks[*n], 256, "%.*s", len, p + m[3].rm_so);
            (*n)++;
            p += m[0].rm_eo;
        }
    }
    regfree(&re);
    fclose(f);
}

static void tokens_in_dir(const char *dir, char toks[][256], size_t *n, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        tokens_in_file(path, toks, n, max);
    }
    closedir(d);
}

static void test_published_tokens_refused(void **state)
{
    (void)state;
    const char *src = support_env("OUTDIAL_SOURCE_DIR");
    static char toks[64][256];
    size_t n = 0;
    char path[1024];
    static const char *const dirs[] = {"docs", "deploy/k8s", "deploy/local", "deploy/docker", NULL};
    for (size_t i = 0; dirs[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, dirs[i]);
        tokens_in_dir(path, toks, &n, 64);
    }
    static const char *const files[] = {"docker-compose.yml", "README.md", NULL};
    for (size_t i = 0; files[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, files[i]);
        tokens_in_file(path, toks, &n, 64);
    }
    /* The Kubernetes secret's placeholder at least. */
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
        assert_refused(toks[i], strlen(toks[i]) < 32
                                    ? "too short"
                                    : "example token from the docs or deployment files");
    /* And the ones published before. */
    assert_refused(OLD_LOCAL_TOKEN, "example token");
    assert_refused("compose-admin-token-change-me-0123456789", "example token");
    assert_refused("CHANGE-ME-admin-token-at-least-16-chars", "example token");
}

/* A random token starts the API; the old published constant, tried as an
 * attacker would, gets 401 on an admin route. */
static void test_random_token_serves_and_old_constant_fails(void **state)
{
    (void)state;
    char token[65];
    FILE *f = fopen("/dev/urandom", "r");
    assert_non_null(f);
    unsigned char raw[32];
    assert_int_equal(fread(raw, 1, sizeof(raw), f), sizeof(raw));
    fclose(f);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    char token_env[128];
    snprintf(token_env, sizeof(token_env), "OUTDIAL_API_ADMIN_TOKEN=%s", token);
    const char *extra[] = {token_env, NULL};
    api_proc_t api;
    api_start(&api, "admintoken", extra);
    api_resp_t r =
        api_call(&api, "POST", "/v1/admin/accounts", OLD_LOCAL_TOKEN, "{\"name\":\"mallory\"}");
    assert_int_equal(r.status, 401);
    api_resp_free(&r);
    r = api_call(&api, "POST", "/v1/admin/accounts", token, "{\"name\":\"ops\"}");
    assert_int_equal(r.status, 201);
    api_resp_free(&r);
    api_stop(&api);
}

HTTPC_TEST_MAIN(NULL, NULL, test_short_token_refused, test_published_tokens_refused,
                test_random_token_serves_and_old_constant_fails)
