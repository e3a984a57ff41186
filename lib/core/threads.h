/*
 * threads.h — a service's worker threads, started together and joined
 * together.
 */
#ifndef OUTDIAL_THREADS_H
#define OUTDIAL_THREADS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* One worker: the caller fills name and main; thread and started are
 * od_threads_start's. */
typedef struct od_thread {
    const char *name; /* in the error: "cannot start the <name> thread" */
    void *(*main)(void *arg);
    pthread_t thread;
    bool started;
} od_thread_t;

/* Starts threads[0..n), in order, each running main(arg). OD_OK; or, at
 * the first that cannot start, OD_ERR_IO with "cannot start the <name>
 * thread" in errbuf: those before it run on, and od_threads_join joins
 * them as usual. */
int od_threads_start(od_thread_t *threads, size_t n, void *arg, char *errbuf, size_t errlen) OD_WUR;

/* Joins the threads od_threads_start started: the caller has asked them to
 * stop (its stop flag) and waits here until each has returned. */
void od_threads_join(od_thread_t *threads, size_t n);

#endif
