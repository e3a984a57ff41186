#include "signals.h"

#include <signal.h>
#include <string.h>

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
