/* threads and signals' waits: a service's workers started and joined
 * together, and the sleeps and waits that end when its stop flag is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "clock.h"
#include "signals.h"
#include "test_main.h"
#include "threads.h"

/* What the workers share: the stop flag they wait on and how many ran. */
typedef struct shared {
    atomic_bool stop;
    atomic_int ran;
} shared_t;

static int64_t now_ms(void)
{
    return od_clock_real_us() / 1000;
}

/* A worker as the services run them: until the stop flag. */
static void *worker_main(void *arg)
{
    shared_t *sh = arg;
    atomic_fetch_add(&sh->ran, 1);
    od_signals_wait(&sh->stop);
    return NULL;
}

/* Sets the stop flag after a short while, as a signal would. */
static void *stopper_main(void *arg)
{
    shared_t *sh = arg;
    atomic_bool never = false;
    od_signals_sleep(&never, 50);
    atomic_store(&sh->stop, true);
    return NULL;
}

static void test_workers_start_then_join_after_the_stop(void **state)
{
    (void)state;
    shared_t sh = {0};
    od_thread_t workers[] = {
        {.name = "first", .main = worker_main},
        {.name = "second", .main = worker_main},
    };
    char err[128] = "";
    assert_int_equal(od_threads_start(workers, OD_COUNT(workers), &sh, err, sizeof(err)), OD_OK);
    assert_true(workers[0].started && workers[1].started);
    int64_t deadline = now_ms() + 10000;
    while (atomic_load(&sh.ran) < 2 && now_ms() < deadline)
        od_signals_sleep(&sh.stop, 5);
    assert_int_equal(atomic_load(&sh.ran), 2);
    atomic_store(&sh.stop, true);
    od_threads_join(workers, OD_COUNT(workers));
    assert_false(workers[0].started || workers[1].started);
    od_threads_join(workers, OD_COUNT(workers)); /* nothing left to join */
}

static void test_join_of_threads_never_started_is_a_no_op(void **state)
{
    (void)state;
    od_thread_t workers[] = {{.name = "idle", .main = worker_main}};
    od_threads_join(workers, OD_COUNT(workers));
    assert_false(workers[0].started);
}

static void test_sleep_lasts_its_time_without_a_stop(void **state)
{
    (void)state;
    atomic_bool stop = false;
    int64_t start = now_ms();
    od_signals_sleep(&stop, 120);
    assert_true(now_ms() - start >= 120);
}

static void test_sleep_and_wait_end_at_the_stop(void **state)
{
    (void)state;
    atomic_bool stop = true;
    int64_t start = now_ms();
    od_signals_sleep(&stop, 60000);
    od_signals_wait(&stop);
    assert_true(now_ms() - start < 1000);

    /* Set while sleeping: seen within one 100 ms slice. */
    shared_t sh = {0};
    od_thread_t stopper = {.name = "stopper", .main = stopper_main};
    char err[128] = "";
    start = now_ms();
    assert_int_equal(od_threads_start(&stopper, 1, &sh, err, sizeof(err)), OD_OK);
    od_signals_sleep(&sh.stop, 60000);
    assert_true(atomic_load(&sh.stop));
    assert_true(now_ms() - start < 5000);
    od_threads_join(&stopper, 1);
}

OD_TEST_MAIN(NULL, NULL, test_workers_start_then_join_after_the_stop,
             test_join_of_threads_never_started_is_a_no_op,
             test_sleep_lasts_its_time_without_a_stop, test_sleep_and_wait_end_at_the_stop)
