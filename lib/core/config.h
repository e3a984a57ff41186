/*
 * config.h — configuration from environment variables.
 *
 * Every setting of every service is an environment variable with a
 * documented default. A value that is present but wrong is an error whose
 * message names the variable, what was given and the allowed range; a
 * service refuses to start on it rather than run with a guess.
 * An empty variable counts as unset.
 */
#ifndef OUTDIAL_CONFIG_H
#define OUTDIAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The variable's value, or def when unset or empty. Not a copy: valid until
 * the environment changes. */
const char *config_get_str(const char *name, const char *def);

/* A decimal integer in [min, max]; def when unset. */
int config_get_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char *errbuf, size_t errlen) OD_WUR;

/* A decimal number in [min, max]; def when unset. */
int config_get_double(const char *name, double def, double min, double max, double *out,
                      char *errbuf, size_t errlen) OD_WUR;

/* true/false, 1/0, yes/no, on/off (any case); def when unset. */
int config_get_bool(const char *name, bool def, bool *out, char *errbuf, size_t errlen) OD_WUR;

/* One of the NULL-terminated allowed strings; *out is its index. def is
 * the index used when unset. */
int config_get_enum(const char *name, int def, const char *const *allowed, int *out, char *errbuf,
                    size_t errlen) OD_WUR;

/* A variable that must be set. */
int config_get_required(const char *name, const char **out, char *errbuf, size_t errlen) OD_WUR;

#endif
