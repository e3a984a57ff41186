/*
 * thread_group.h — running one function on several threads at once in a
 * test (header-only; include after cmocka.h).
 */
#ifndef OUTDIAL_TESTS_THREAD_GROUP_H
#define OUTDIAL_TESTS_THREAD_GROUP_H

#include <pthread.h>
#include <stdlib.h>

#include "xmalloc.h"

/* Starts n threads of fn(arg), joins them all and asserts that each
 * returned want, the count of its steps that worked (fn returns it cast to
 * void *): so a thread that stopped early fails the test. */
static inline void thread_group_run(int n, void *(*fn)(void *), void *arg, long want)
{
    pthread_t *threads = xcalloc((size_t)n, sizeof(*threads));
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, fn, arg), 0);
    for (int i = 0; i < n; i++) {
        void *done = NULL;
        assert_int_equal(pthread_join(threads[i], &done), 0);
        assert_int_equal((long)done, want);
    }
    free(threads);
}

#endif
