#include "webhook_filter.h"

#include <string.h>

static const struct {
    webhook_event_t type;
    const char *name;
} event_names[] = {
    {WEBHOOK_EVENT_LEAD_FINISHED, "lead.finished"},
    {WEBHOOK_EVENT_CALL_ENDED, "call.ended"},
    {WEBHOOK_EVENT_CAMPAIGN_STATUS_CHANGED, "campaign.status_changed"},
    {WEBHOOK_EVENT_IMPORT_FINISHED, "import.finished"},
};
#define EVENT_NAMES_N (sizeof(event_names) / sizeof(event_names[0]))

const char *webhook_event_name(webhook_event_t type)
{
    for (size_t i = 0; i < EVENT_NAMES_N; i++)
        if (event_names[i].type == type)
            return event_names[i].name;
    return NULL;
}

webhook_event_t webhook_event_parse(const char *name)
{
    for (size_t i = 0; name && i < EVENT_NAMES_N; i++)
        if (strcmp(event_names[i].name, name) == 0)
            return event_names[i].type;
    return WEBHOOK_EVENT_NONE;
}

int webhook_filter_add(unsigned *filter, const char *name, char *errbuf, size_t errlen)
{
    webhook_event_t type = webhook_event_parse(name);
    if (type == WEBHOOK_EVENT_NONE)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "unknown event '%.40s' (one of lead.finished, call.ended, "
                       "campaign.status_changed, import.finished)",
                       name ? name : "");
    *filter |= (unsigned)type;
    return OD_OK;
}

bool webhook_filter_matches(unsigned filter, webhook_event_t type)
{
    return type != WEBHOOK_EVENT_NONE && (filter & (unsigned)type) == (unsigned)type;
}
