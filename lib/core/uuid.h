/*
 * uuid.h — textual UUIDs (attempt ids, event ids), as Postgres prints them.
 */
#ifndef OUTDIAL_UUID_H
#define OUTDIAL_UUID_H

#include <stdbool.h>

/* 36 characters and a NUL. */
#define UUID_STR_LEN 37

/* Whether s is a UUID in 8-4-4-4-12 hex form (any case). */
bool uuid_str_valid(const char *s);

/* A new random (version 4) UUID, lower case, from getrandom(). */
void uuid_str_new(char out[UUID_STR_LEN]);

#endif
