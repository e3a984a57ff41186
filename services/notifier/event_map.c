#include "event_map.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "model.h"

void webhook_msg_clear(webhook_msg_t *out)
{
    free(out->body);
    memset(out, 0, sizeof(*out));
}

static json_t *time_json(int64_t us)
{
    if (us <= 0)
        return json_null();
    char buf[40];
    od_time_format_rfc3339(us, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *name_json(const char *name)
{
    return name ? json_string(name) : json_null();
}

static json_t *text_json(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* Fills out's ids and body from the envelope and data (taken). */
static int msg_finish(webhook_msg_t *out, webhook_event_t type, const char *event_id,
                      const char *account_id, int64_t occurred_us, json_t *data, char *errbuf,
                      size_t errlen)
{
    if (!event_id || strlen(event_id) >= sizeof(out->event_id) || !account_id ||
        strlen(account_id) >= sizeof(out->account_id)) {
        json_decref(data);
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "event without a valid event or account id");
    }
    out->type = type;
    snprintf(out->event_id, sizeof(out->event_id), "%s", event_id);
    snprintf(out->account_id, sizeof(out->account_id), "%s", account_id);
    json_t *root = json_object();
    json_object_set_new(root, "id", json_string(event_id));
    json_object_set_new(root, "type", json_string(webhook_event_name(type)));
    json_object_set_new(root, "created_at", time_json(occurred_us));
    json_object_set_new(root, "account_id", json_string(account_id));
    json_object_set_new(root, "data", data);
    out->body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!out->body)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "cannot write the webhook's JSON");
    return OD_OK;
}

int webhook_msg_from_call(const callevent_t *ev, webhook_msg_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int status = (int)ev->status - 1; /* numbered alike, from 1 */
    if (status != MODEL_CALL_COMPLETED && status != MODEL_CALL_BUSY &&
        status != MODEL_CALL_UNANSWERED && status != MODEL_CALL_FAILED)
        return OD_OK;
    const char *answered_by =
        ev->answered_by ? model_answered_by_name((model_answered_by_t)(ev->answered_by - 1)) : NULL;
    static const char *const failure[] = {NULL, "transient", "permanent"};
    const char *failure_class = (int)ev->failure_class >= 1 && (int)ev->failure_class <= 2
                                    ? failure[ev->failure_class]
                                    : NULL;
    json_t *vars = NULL;
    if (ev->post_call_variables_json && *ev->post_call_variables_json)
        vars = json_loads(ev->post_call_variables_json, 0, NULL);
    if (!json_is_object(vars)) {
        json_decref(vars);
        vars = json_object();
    }
    /* The call's members in the order the body lists them. */
    const struct {
        const char *key;
        json_t *value; /* taken by data */
    } members[] = {
        {"call_id", json_string(ev->attempt_id)},
        {"lead_id", json_string(ev->lead_id)},
        {"campaign_id", json_string(ev->campaign_id)},
        {"attempt_number", json_integer(ev->attempt_number)},
        {"status", name_json(model_call_status_name(status))},
        {"answered_by", name_json(answered_by)},
        {"provider_call_id", text_json(ev->provider_call_id)},
        /* The number the call came from (the caller-ID pool's pick); null
         * on an event that does not name it. */
        {"caller_id", text_json(ev->caller_id)},
        {"started_at", time_json(ev->started_at_us)},
        {"ended_at", time_json(ev->ended_at_us)},
        {"duration_ms", json_integer(ev->duration_ms)},
        {"cost_minor", json_integer(ev->cost_minor)},
        {"ended_reason", text_json(ev->ended_reason)},
        {"failure_class", name_json(failure_class)},
        {"post_call_variables", vars},
    };
    json_t *data = json_object();
    for (size_t i = 0; i < OD_COUNT(members); i++)
        json_object_set_new(data, members[i].key, members[i].value);
    return msg_finish(out, WEBHOOK_EVENT_CALL_ENDED, ev->event_id, ev->account_id,
                      ev->occurred_at_us, data, errbuf, errlen);
}

int webhook_msg_from_campaign(const campaignevent_t *ev, webhook_msg_t *out, char *errbuf,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *data = json_object();
    json_object_set_new(data, "campaign_id", json_string(ev->campaign_id));
    webhook_event_t type = WEBHOOK_EVENT_NONE;
    switch (ev->kind) {
    case OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_STATUS_CHANGED:
        type = WEBHOOK_EVENT_CAMPAIGN_STATUS_CHANGED;
        json_object_set_new(data, "old_status",
                            ev->old_status ? name_json(model_campaign_status_name(
                                                 (model_campaign_status_t)(ev->old_status - 1)))
                                           : json_null());
        json_object_set_new(
            data, "new_status",
            name_json(model_campaign_status_name((model_campaign_status_t)(ev->new_status - 1))));
        json_object_set_new(data, "reason", text_json(ev->reason));
        break;
    case OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED:
        type = WEBHOOK_EVENT_LEAD_FINISHED;
        json_object_set_new(data, "lead_id", json_string(ev->lead_id));
        json_object_set_new(
            data, "status",
            json_string(ev->lead_status ==
                                OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED
                            ? "completed"
                            : "max_retries"));
        /* Numbered alike (campaign_event.proto): NONE is UNSPECIFIED. */
        json_object_set_new(data, "outcome",
                            ev->outcome
                                ? name_json(model_outcome_name((model_outcome_t)ev->outcome))
                                : json_null());
        json_object_set_new(
            data, "goal_result",
            ev->goal_result == OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_TRUE    ? json_true()
            : ev->goal_result == OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_FALSE ? json_false()
                                                                             : json_null());
        break;
    case OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_IMPORT_FINISHED:
        type = WEBHOOK_EVENT_IMPORT_FINISHED;
        json_object_set_new(data, "import_id", json_string(ev->import_id));
        json_object_set_new(data, "status", text_json(ev->reason));
        break;
    default:
        json_decref(data);
        return OD_OK;
    }
    return msg_finish(out, type, ev->event_id, ev->account_id, ev->occurred_at_us, data, errbuf,
                      errlen);
}
