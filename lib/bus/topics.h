/*
 * topics.h — the Kafka topics of outdial (docs/architecture.md §2) and their names.
 *
 * Every topic name is a deployment prefix plus a fixed suffix:
 * "outdial." + "dial-jobs" = "outdial.dial-jobs". The prefix comes from
 * OUTDIAL_KAFKA_TOPIC_PREFIX (default "outdial.") so several deployments
 * can share one cluster. The partition counts here are what tools/kafka-dev
 * creates and what an operator should create on a real cluster; code never
 * assumes them (a consumer group works with any count).
 */
#ifndef OUTDIAL_TOPICS_H
#define OUTDIAL_TOPICS_H

#include <stddef.h>

#include "err.h"

#define TOPIC_PREFIX_ENV     "OUTDIAL_KAFKA_TOPIC_PREFIX"
#define TOPIC_PREFIX_DEFAULT "outdial."
/* Kafka's own limit on a topic name. */
#define TOPIC_NAME_MAX 249

typedef enum topic_id {
    TOPIC_DIAL_JOBS = 0,           /* key lead id, DialJob: scheduler -> dialer */
    TOPIC_CALL_EVENTS,             /* key lead id, CallEvent: dialer -> scheduler, others */
    TOPIC_LEADS_IN,                /* key campaign id, LeadUpsert: other systems -> importer */
    TOPIC_LEADS_IN_REJECTED,       /* key campaign id, rejected LeadUpsert: importer -> others */
    TOPIC_IMPORT_REQUESTS,         /* key campaign id, ImportRequest: api -> importer */
    TOPIC_CAMPAIGN_EVENTS,         /* key campaign id, CampaignEvent: scheduler -> others */
    TOPIC_CALL_EVENTS_DEAD_LETTER, /* key lead id, CallEvent the scheduler could not apply */
    TOPIC_COUNT
} topic_id_t;

typedef struct topic_def {
    topic_id_t id;
    const char *suffix; /* the name without prefix, e.g. "dial-jobs" */
    int partitions;     /* partition count to create */
} topic_def_t;

/* The definition of a topic; NULL for an id out of range. Static data,
 * never freed. */
const topic_def_t *topic_def_get(topic_id_t id);

/* The definition whose suffix is exactly suffix ("dial-jobs"), or NULL. */
const topic_def_t *topic_def_find(const char *suffix);

/* Checks a prefix: only the characters Kafka allows in a topic name
 * (a-z A-Z 0-9 . _ -), and short enough for every suffix. "" is allowed. */
int topic_prefix_check(const char *prefix, char *errbuf, size_t errlen) OD_WUR;

/* The prefix from OUTDIAL_KAFKA_TOPIC_PREFIX, or "outdial." when unset.
 * *out points into the environment (valid until it changes). A bad value is
 * OD_ERR_INVALID with a message naming the variable. */
int topic_prefix_from_env(const char **out, char *errbuf, size_t errlen) OD_WUR;

/* Writes prefix + suffix of id into buf (len bytes, TOPIC_NAME_MAX + 1 is
 * always enough). OD_ERR_INVALID for a bad prefix or id, OD_ERR_TRUNCATED
 * when buf is too small. */
int topic_name_build(const char *prefix, topic_id_t id, char *buf, size_t len, char *errbuf,
                     size_t errlen) OD_WUR;

/* topic_name_build with the prefix of topic_prefix_from_env. */
int topic_name_from_env(topic_id_t id, char *buf, size_t len, char *errbuf, size_t errlen) OD_WUR;

/* Consumer group names carry a prefix too (OUTDIAL_KAFKA_GROUP_PREFIX,
 * default "outdial-"): deployments, or tests, sharing a cluster must not
 * share groups, or a member dying in one stalls the others' rebalances.
 * Writes prefix + role ("outdial-" + "scheduler") into buf. */
#define GROUP_PREFIX_ENV     "OUTDIAL_KAFKA_GROUP_PREFIX"
#define GROUP_PREFIX_DEFAULT "outdial-"
int topic_group_from_env(const char *role, char *buf, size_t len, char *errbuf,
                         size_t errlen) OD_WUR;

#endif
