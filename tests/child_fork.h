/*
 * child_fork.h — forking a child process that cannot outlive the test
 * (header-only), for the helpers that start services and tools.
 */
#ifndef OUTDIAL_TESTS_CHILD_FORK_H
#define OUTDIAL_TESTS_CHILD_FORK_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

/* fork(), with the child killed (SIGKILL) when the test process ends, so
 * that a failed assertion (which skips the test's own stops) leaves nothing
 * running. stdio is flushed first, so the child does not write the test's
 * buffered output a second time. Exits the test when fork fails. Call it
 * from the test's main thread: the signal follows the thread that forked. */
static inline pid_t child_fork_tied(void)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127); /* the test ended before the line above */
    }
    return pid;
}

#endif
