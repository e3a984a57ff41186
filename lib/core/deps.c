#include "deps.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "xmalloc.h"

typedef struct dep {
    char name[DEPS_NAME_MAX + 1];
    deps_check_fn check;
    void *arg;
    void (*arg_free)(void *);
    bool up;
    unsigned failures;     /* consecutive, since it was last up */
    int64_t next_us;       /* monotonic time of the next check */
    int64_t down_since_us; /* when it was last found down; 0: never up nor down */
    char reason[384];      /* the last failure's */
} dep_t;

struct deps {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC: the thread's next check, and state changes */
    dep_t deps[DEPS_MAX];
    int n;
    bool started;
    bool stopping;
    pthread_t thread;
};

int64_t deps_backoff_ms(unsigned failures)
{
    return od_backoff_doubling(failures, DEPS_BACKOFF_FIRST_MS, DEPS_BACKOFF_MAX_MS);
}

int64_t deps_check_delay_ms(bool up, unsigned failures)
{
    return up ? DEPS_CHECK_UP_MS : deps_backoff_ms(failures);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timespec mono_at(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    return ts;
}

deps_t *deps_new(void)
{
    deps_t *d = xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &attr);
    pthread_condattr_destroy(&attr);
    return d;
}

int deps_add(deps_t *d, const char *name, deps_check_fn check, void *arg, void (*arg_free)(void *))
{
    size_t len = name ? strlen(name) : 0;
    if (d->started || d->n == DEPS_MAX || len == 0 || len > DEPS_NAME_MAX || !check) {
        fprintf(stderr,
                "deps_add(%s): more than %d dependencies, a name that is empty or over "
                "%d bytes, no check, or added after deps_start\n",
                name ? name : "NULL", DEPS_MAX, DEPS_NAME_MAX);
        abort();
    }
    dep_t *dep = &d->deps[d->n];
    memcpy(dep->name, name, len + 1);
    dep->check = check;
    dep->arg = arg;
    dep->arg_free = arg_free;
    snprintf(dep->reason, sizeof(dep->reason), "not checked yet");
    return d->n++;
}

/* Records the outcome of a check or of a service's own call (d->mu held):
 * the state, when to check next, and a log line when the state changed. */
static void dep_record(dep_t *dep, int rc, const char *reason, int64_t now)
{
    bool was_up = dep->up;
    bool first = dep->down_since_us == 0 && !was_up;
    dep->up = rc == OD_OK;
    if (dep->up) {
        dep->failures = 0;
        dep->reason[0] = '\0';
        if (!was_up)
            log_info("dependency", "%s answers", dep->name);
    } else {
        dep->failures++;
        if (was_up || first)
            dep->down_since_us = now;
        snprintf(dep->reason, sizeof(dep->reason), "%s", reason);
        if (was_up || first)
            log_warn("dependency", "%s does not answer: %s (checked again with backoff)", dep->name,
                     reason);
    }
    dep->next_us = now + deps_check_delay_ms(dep->up, dep->failures) * 1000;
}

static void *deps_main(void *arg)
{
    deps_t *d = arg;
    char err[384];
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        int64_t now = mono_us();
        int64_t next = now + DEPS_CHECK_UP_MS * 1000;
        for (int i = 0; i < d->n && !d->stopping; i++) {
            dep_t *dep = &d->deps[i];
            if (dep->next_us > now) {
                if (dep->next_us < next)
                    next = dep->next_us;
                continue;
            }
            /* The check runs unlocked: readers of the state do not wait
             * for a dependency that takes seconds to time out. Only this
             * thread touches check and arg. */
            pthread_mutex_unlock(&d->mu);
            err[0] = '\0';
            int rc = dep->check(dep->arg, err, sizeof(err));
            pthread_mutex_lock(&d->mu);
            now = mono_us();
            dep_record(dep, rc, err[0] ? err : "the check failed", now);
            pthread_cond_broadcast(&d->cond);
            if (dep->next_us < next)
                next = dep->next_us;
        }
        if (d->stopping)
            break;
        struct timespec until = mono_at(next);
        pthread_cond_timedwait(&d->cond, &d->mu, &until);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int deps_start(deps_t *d, char *errbuf, size_t errlen)
{
    if (d->started)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "deps: already started");
    if (pthread_create(&d->thread, NULL, deps_main, d) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "deps: cannot start the check thread");
    d->started = true;
    return OD_OK;
}

void deps_free(deps_t *d)
{
    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stopping = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    for (int i = 0; i < d->n; i++)
        if (d->deps[i].arg_free)
            d->deps[i].arg_free(d->deps[i].arg);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

bool deps_up(deps_t *d, int dep)
{
    if (dep < 0 || dep >= d->n)
        return false;
    pthread_mutex_lock(&d->mu);
    bool up = d->deps[dep].up;
    pthread_mutex_unlock(&d->mu);
    return up;
}

bool deps_wait(deps_t *d, int dep, const atomic_bool *stop)
{
    if (dep < 0 || dep >= d->n)
        return false;
    pthread_mutex_lock(&d->mu);
    /* 100 ms steps: stop is an atomic flag set by a signal handler, which
     * cannot signal the condition. */
    while (!d->deps[dep].up && !(stop && atomic_load(stop))) {
        struct timespec until = mono_at(mono_us() + 100000);
        pthread_cond_timedwait(&d->cond, &d->mu, &until);
    }
    bool up = d->deps[dep].up;
    pthread_mutex_unlock(&d->mu);
    return up;
}

void deps_failed(deps_t *d, int dep, const char *reason)
{
    if (dep < 0 || dep >= d->n)
        return;
    pthread_mutex_lock(&d->mu);
    dep_record(&d->deps[dep], OD_ERR_UNAVAILABLE, reason && *reason ? reason : "a call failed",
               mono_us());
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mu);
}

void deps_each_down(deps_t *d, deps_down_fn fn, void *arg)
{
    char reason[sizeof(((dep_t *)0)->reason) + 64];
    pthread_mutex_lock(&d->mu);
    int64_t now = mono_us();
    for (int i = 0; i < d->n; i++) {
        const dep_t *dep = &d->deps[i];
        if (dep->up)
            continue;
        if (dep->failures == 0)
            snprintf(reason, sizeof(reason), "%s", dep->reason);
        else
            snprintf(reason, sizeof(reason), "%s (down %" PRId64 " s, %u failed checks)",
                     dep->reason, (now - dep->down_since_us) / 1000000, dep->failures);
        fn(dep->name, reason, arg);
    }
    pthread_mutex_unlock(&d->mu);
}
