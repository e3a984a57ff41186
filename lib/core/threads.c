#include "threads.h"

int od_threads_start(od_thread_t *threads, size_t n, void *arg, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&threads[i].thread, NULL, threads[i].main, arg) != 0)
            return od_fail(errbuf, errlen, OD_ERR_IO, "cannot start the %s thread",
                           threads[i].name);
        threads[i].started = true;
    }
    return OD_OK;
}

void od_threads_join(od_thread_t *threads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (threads[i].started)
            pthread_join(threads[i].thread, NULL);
        threads[i].started = false;
    }
}
