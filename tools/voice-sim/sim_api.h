/*
 * sim_api.h — the simulator's HTTP routes on lib/http.
 *
 * Provider APIs (Authorization: Bearer <api key>), Vapi's and Retell's:
 *   POST /call          place a call (201 with the call object, status "queued")
 *   GET  /call/{id}     the call object as it is now
 *   POST /v2/create-phone-call   place a call (201, call_status "registered")
 *   GET  /v2/get-call/{call_id}  the call object as it is now
 * Control and inspection (no key; bind to loopback):
 *   GET  /sim/calls      the call log (?number= ?campaign_id= ?attempt_id=)
 *   GET  /sim/stats      counts per outcome, rejections, webhooks, concurrency
 *   GET  /sim/invariants double dials and overlapping calls to one number
 *   GET  /sim/faults     the faults in force
 *   POST /sim/faults     change them (JSON, absent fields unchanged)
 */
#ifndef OUTDIAL_SIM_API_H
#define OUTDIAL_SIM_API_H

#include <stddef.h>

#include "err.h"
#include "http.h"
#include "sim.h"

/* Adds the routes to srv (before it starts); sim is borrowed and must
 * outlive the server. */
int sim_api_routes_add(http_server_t *srv, sim_t *sim, char *errbuf, size_t errlen) OD_WUR;

/* Readiness callback for http_config_t: not ready once stopping. */
void sim_api_ready(http_readiness_t *rd, void *arg);

#endif
