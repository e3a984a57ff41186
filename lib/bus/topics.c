#include "topics.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

/*
 * Partition counts. A partition is the unit of parallelism of a consumer
 * group (one member per partition at most) and of ordering (per key), so
 * the counts follow the number of replicas expected to consume each topic.
 * Multiples of 2 and 3 spread evenly over 1, 2, 3, 4 or 6 replicas.
 *
 *   dial-jobs 12        the dialer is the service scaled out for call volume;
 *                       12 lets up to 12 dialer workers share the load.
 *   call-events 12      several events per call (initiated, ringing, ended),
 *                       keyed like dial-jobs; the scheduler group and other
 *                       systems need the same headroom.
 *   leads-in 6          bulk lead feeds from other systems; importer replicas
 *                       are few, ordering is per campaign.
 *   leads-in.rejected 3 only bad rows; low volume.
 *   import-requests 3   one message per import; low volume.
 *   campaign-events 3   status changes and finished leads; low volume.
 *   call-events.dead-letter 3
 *                       call events the scheduler gave up on; a handful.
 *
 * Partitions can be added later on a real cluster, but that moves keys
 * between partitions, so start with enough.
 */
static const topic_def_t topic_defs[TOPIC_COUNT] = {
    {TOPIC_DIAL_JOBS, "dial-jobs", 12},
    {TOPIC_CALL_EVENTS, "call-events", 12},
    {TOPIC_LEADS_IN, "leads-in", 6},
    {TOPIC_LEADS_IN_REJECTED, "leads-in.rejected", 3},
    {TOPIC_IMPORT_REQUESTS, "import-requests", 3},
    {TOPIC_CAMPAIGN_EVENTS, "campaign-events", 3},
    {TOPIC_CALL_EVENTS_DEAD_LETTER, "call-events.dead-letter", 3},
};

/* The longest suffix above, so that a prefix check covers every topic. */
static size_t topic_suffix_max(void)
{
    size_t max = 0;
    for (int i = 0; i < TOPIC_COUNT; i++) {
        size_t n = strlen(topic_defs[i].suffix);
        if (n > max)
            max = n;
    }
    return max;
}

const topic_def_t *topic_def_get(topic_id_t id)
{
    if ((int)id < 0 || id >= TOPIC_COUNT)
        return NULL;
    return &topic_defs[id];
}

const topic_def_t *topic_def_find(const char *suffix)
{
    if (!suffix)
        return NULL;
    for (int i = 0; i < TOPIC_COUNT; i++) {
        if (strcmp(topic_defs[i].suffix, suffix) == 0)
            return &topic_defs[i];
    }
    return NULL;
}

static int topic_char_allowed(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int topic_prefix_check(const char *prefix, char *errbuf, size_t errlen)
{
    if (!prefix)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "topic prefix is missing");
    for (const char *p = prefix; *p; p++) {
        if (topic_char_allowed(*p))
            continue;
        unsigned char byte = (unsigned char)*p;
        /* The prefix itself is not echoed: it may not be valid UTF-8. */
        if (byte >= 0x20 && byte < 0x7f)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "topic prefix: character '%c' at %zu is not allowed (allowed: a-z "
                           "A-Z 0-9 . _ -)",
                           byte, (size_t)(p - prefix));
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "topic prefix: byte 0x%02x at %zu is not allowed (allowed: a-z A-Z 0-9 . "
                       "_ -)",
                       byte, (size_t)(p - prefix));
    }
    size_t room = TOPIC_NAME_MAX - topic_suffix_max();
    if (strlen(prefix) > room)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "topic prefix is %zu characters long (allowed: at most %zu)", strlen(prefix),
                       room);
    return OD_OK;
}

int topic_prefix_from_env(const char **out, char *errbuf, size_t errlen)
{
    /* An empty variable counts as unset (config.h), so "no prefix at all"
     * cannot be configured; a deployment that shares a cluster needs one. */
    const char *prefix = config_get_str(TOPIC_PREFIX_ENV, TOPIC_PREFIX_DEFAULT);
    char why[256];
    int rc = topic_prefix_check(prefix, why, sizeof(why));
    if (rc)
        return od_fail(errbuf, errlen, rc, "%s: %s", TOPIC_PREFIX_ENV, why);
    *out = prefix;
    return OD_OK;
}

int topic_name_build(const char *prefix, topic_id_t id, char *buf, size_t len, char *errbuf,
                     size_t errlen)
{
    const topic_def_t *def = topic_def_get(id);
    if (!def)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown topic id %d", (int)id);
    int rc = topic_prefix_check(prefix, errbuf, errlen);
    if (rc)
        return rc;
    int n = snprintf(buf, len, "%s%s", prefix, def->suffix);
    if (n < 0 || (size_t)n >= len)
        return od_fail(errbuf, errlen, OD_ERR_TRUNCATED,
                       "topic name %s%s needs %d bytes, buffer has %zu", prefix, def->suffix, n + 1,
                       len);
    return OD_OK;
}

int topic_name_from_env(topic_id_t id, char *buf, size_t len, char *errbuf, size_t errlen)
{
    const char *prefix = NULL;
    int rc = topic_prefix_from_env(&prefix, errbuf, errlen);
    if (rc)
        return rc;
    return topic_name_build(prefix, id, buf, len, errbuf, errlen);
}

int topic_group_from_env(const char *role, char *buf, size_t len, char *errbuf, size_t errlen)
{
    const char *prefix = config_get_str(GROUP_PREFIX_ENV, GROUP_PREFIX_DEFAULT);
    int rc = topic_prefix_check(prefix, errbuf, errlen);
    if (rc)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is not a valid group prefix",
                       GROUP_PREFIX_ENV, prefix);
    int n = snprintf(buf, len, "%s%s", prefix, role);
    if (n < 0 || (size_t)n >= len)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is too long", GROUP_PREFIX_ENV,
                       prefix);
    return OD_OK;
}
