/*
 * sim_client.h — reading the voice simulator's control API (GET /sim/calls)
 * in the tests, whichever suite fetched it (header-only).
 */
#ifndef OUTDIAL_TESTS_SIM_CLIENT_H
#define OUTDIAL_TESTS_SIM_CLIENT_H

#include <stddef.h>

#include <jansson.h>

/* How many of calls (the "calls" array of GET /sim/calls; taken: decref'd
 * here) the simulator placed, rather than refused. */
static inline size_t sim_calls_placed(json_t *calls)
{
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(calls, i, c) n += json_is_true(json_object_get(c, "placed"));
    json_decref(calls);
    return n;
}

#endif
