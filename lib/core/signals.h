/*
 * signals.h — how a process hears that it is asked to stop.
 */
#ifndef OUTDIAL_SIGNALS_H
#define OUTDIAL_SIGNALS_H

#include <stdatomic.h>
#include <stdbool.h>

/* Sends SIGTERM and SIGINT to on_stop, without SA_RESTART: a blocking call
 * (poll, sleep, a read in libcurl) returns early, so the loop that made it
 * sees the stop at once. With ignore_pipe, SIGPIPE is ignored: a write to a
 * closed socket is then an error the writer handles, not the process's
 * death. on_stop must be async-signal-safe (set a flag). */
void od_signals_on_stop(void (*on_stop)(int), bool ignore_pipe);

/* od_signals_on_stop with a handler that sets *stop: what every service
 * does, its loops and waits reading the flag. stop is the caller's and must
 * live as long as the process (a static); one flag per process, a second
 * call replaces the first. */
void od_signals_stop_flag(atomic_bool *stop, bool ignore_pipe);

/* Sleeps ms milliseconds, or less: it wakes within 100 ms of *stop being
 * set, so a loop that waits between tries stops promptly. */
void od_signals_sleep(const atomic_bool *stop, int ms);

/* Returns once *stop is set: a service's main thread after start-up, its
 * workers running, until it is asked to stop. */
void od_signals_wait(const atomic_bool *stop);

#endif
