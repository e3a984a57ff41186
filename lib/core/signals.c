#include "signals.h"

#include <signal.h>
#include <string.h>
#include <time.h>

void od_signals_on_stop(void (*on_stop)(int), bool ignore_pipe)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ignore_pipe)
        signal(SIGPIPE, SIG_IGN);
}

/* Set before the handler is installed, read by it only. */
static atomic_bool *stop_flag;

static void stop_flag_set(int sig)
{
    (void)sig;
    atomic_store(stop_flag, true);
}

void od_signals_stop_flag(atomic_bool *stop, bool ignore_pipe)
{
    stop_flag = stop;
    od_signals_on_stop(stop_flag_set, ignore_pipe);
}

void od_signals_sleep(const atomic_bool *stop, int ms)
{
    /* Slices of 100 ms: a stop that lands between the check and the
     * sleep is seen within one slice. */
    while (ms > 0 && !atomic_load(stop)) {
        int step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

void od_signals_wait(const atomic_bool *stop)
{
    while (!atomic_load(stop))
        od_signals_sleep(stop, 200);
}
