#include "sim_logfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim_vapi.h"

void sim_call_finish(sim_t *sim, sim_call_t *call)
{
    call->finished = !call->aborted;
    if (sim->log_fd < 0)
        return;
    json_t *rec = sim_call_to_json(call);
    char *line = json_dumps(rec, SIM_JSON_FLAGS);
    json_decref(rec);
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps leaves room only for the NUL: write it as the newline */
    /* One write per line with O_APPEND: lines never interleave, and a
     * crash leaves whole lines behind. */
    ssize_t n = write(sim->log_fd, line, len + 1);
    if (n != (ssize_t)(len + 1))
        log_warn("log_file", "writing the call log failed: %s",
                 n < 0 ? strerror(errno) : "short write");
    free(line);
}
