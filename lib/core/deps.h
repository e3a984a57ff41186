/*
 * deps.h — the dependencies a service needs (PostgreSQL, Redis, Kafka):
 * whether each answers now, for /readyz and for the service's own connect
 * steps, so that a service starts in any order against dependencies that
 * come up later.
 *
 * Each dependency has a check (deps_check_fn: PING, SELECT 1, a metadata
 * request), run by one background thread per deps_t:
 *
 *   state            next check after       why
 *   not checked yet  at once                 the thread's first pass
 *   up               DEPS_CHECK_UP_MS        a loss shows in /readyz within ~2 s
 *   down, n failures deps_backoff_ms(n):     a dependency starting up answers
 *                    250 ms doubling to      within a fraction of a second of
 *                    DEPS_BACKOFF_MAX_MS     being able to; a long outage costs
 *                                            one try per 5 s
 *
 * The delays are pure functions of the state (deps_check_delay_ms), tested
 * by table. No jitter: a deployment's few replicas checking together are no
 * load for any of the three.
 *
 * Readiness: lib/web/http.h's /readyz (http_config_t.deps) lists one
 * failing check per dependency that is down (deps_each_down), named as
 * added ("postgres", "redis", "kafka"), with the reason of its last
 * failure, e.g.
 *   {"check":"redis","reason":"redis 127.0.0.1:6379: connect: Connection
 *    refused (down 12 s, 9 checks)"}
 * A dependency never checked yet is down ("not checked yet").
 *
 * A connect step that needs a dependency waits for it (deps_wait) rather
 * than give up, and reports a failure of its own (deps_failed: the
 * dependency is down until its check passes again); pg_conn_await
 * (lib/store/pg.h) is that loop for PostgreSQL.
 *
 * The checks themselves live with their clients: pg_deps_add,
 * redis_deps_add, kafka_deps_add.
 *
 * Threads: every function but deps_add/deps_start/deps_free may be called
 * from any thread. A check runs on the deps thread only, one at a time, so
 * its argument needs no lock of its own; it may block up to its client's
 * timeouts (a few seconds), which delays the other checks, not the service.
 */
#ifndef OUTDIAL_DEPS_H
#define OUTDIAL_DEPS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Dependencies per deps_t: PostgreSQL, Redis, Kafka, and room for one more. */
#define DEPS_MAX 4
/* The longest dependency name kept ("postgres"). */
#define DEPS_NAME_MAX 31
/* A dependency that answers is checked again after 2 s: how fast /readyz
 * notices that it went away (the service's own calls notice at once). */
#define DEPS_CHECK_UP_MS 2000
/* After the first failure, 250 ms, doubling per failure up to 5 s. */
#define DEPS_BACKOFF_FIRST_MS 250
#define DEPS_BACKOFF_MAX_MS   5000

/* Checks once whether a dependency answers: OD_OK, or an error code with
 * a reason in errbuf that names the dependency's address (never a
 * password). */
typedef int (*deps_check_fn)(void *arg, char *errbuf, size_t errlen);

typedef struct deps deps_t;

/* Pure. The wait after the failures-th consecutive failure (failures >=
 * 1): DEPS_BACKOFF_FIRST_MS * 2^(failures-1), at most DEPS_BACKOFF_MAX_MS;
 * 0 for 0 failures. */
int64_t deps_backoff_ms(unsigned failures);

/* Pure. When to check a dependency again: DEPS_CHECK_UP_MS when it is up,
 * deps_backoff_ms(failures) when down. */
int64_t deps_check_delay_ms(bool up, unsigned failures);

/* An empty set, not started. Free with deps_free. */
deps_t *deps_new(void);

/*
 * Adds a dependency named name (copied, at most DEPS_NAME_MAX bytes),
 * down until its first check passes. arg is handed to check; arg_free (may
 * be NULL) frees it in deps_free, which then owns it. Only before
 * deps_start. Returns the dependency's index (0, 1, ... in the order
 * added). Names and checks are the program's own constants, so a misuse
 * (more than DEPS_MAX, an empty or long name, no check, after deps_start)
 * is a bug: the process aborts with a message, as on allocation failure.
 */
int deps_add(deps_t *d, const char *name, deps_check_fn check, void *arg, void (*arg_free)(void *));

/* Starts the thread that checks every dependency (OD_ERR_INTERNAL when a
 * thread cannot be made). */
int deps_start(deps_t *d, char *errbuf, size_t errlen) OD_WUR;

/* Stops the thread (waiting for a check in progress) and frees every
 * argument given with an arg_free. NULL is a no-op. */
void deps_free(deps_t *d);

/* Whether dependency dep answered its last check (and no deps_failed
 * since). */
bool deps_up(deps_t *d, int dep);

/* Waits until dependency dep is up: true, or false as soon as *stop is
 * set (stop may be NULL: wait for ever). Notices stop within 100 ms. */
bool deps_wait(deps_t *d, int dep, const atomic_bool *stop);

/* A call of the service's own found dependency dep down: it is down, with
 * reason, until its check passes again (scheduled as after a failed
 * check). */
void deps_failed(deps_t *d, int dep, const char *reason);

/* Calls fn once per dependency that is down, in the order added, with its
 * name and a reason: its last failure's, with how long it has been down
 * and how many checks failed ("... (down 12 s, 9 failed checks)"), or
 * "not checked yet". Runs under the set's lock: fn must not call back into
 * d. */
typedef void (*deps_down_fn)(const char *name, const char *reason, void *arg);
void deps_each_down(deps_t *d, deps_down_fn fn, void *arg);

#endif
