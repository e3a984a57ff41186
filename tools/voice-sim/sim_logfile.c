#include "sim_logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sim_vapi.h"

int sim_logfile_open(sim_t *sim, const char *path, char *errbuf, size_t errlen)
{
    sim->log_fd = -1;
    if (!path)
        return OD_OK;
    sim->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sim->log_fd < 0)
        return od_fail(errbuf, errlen, OD_ERR_IO, "log file %s: %s", path, strerror(errno));
    return OD_OK;
}

void sim_logfile_close(sim_t *sim)
{
    if (sim->log_fd >= 0)
        close(sim->log_fd);
    sim->log_fd = -1;
}

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
