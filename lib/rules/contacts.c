#include "contacts.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

bool contacts_status_is_open(model_lead_status_t status)
{
    switch (status) {
    case MODEL_LEAD_CREATED:
    case MODEL_LEAD_SCHEDULED:
    case MODEL_LEAD_PROCESSING:
    case MODEL_LEAD_RESCHEDULED:
        return true;
    default:
        return false;
    }
}

bool contacts_campaign_is_complete(const int64_t counts[MODEL_LEAD_STATUS_COUNT])
{
    for (int s = 0; s < MODEL_LEAD_STATUS_COUNT; s++)
        if (contacts_status_is_open((model_lead_status_t)s) && counts[s] > 0)
            return false;
    return true;
}

bool contacts_group_is_finished(const contacts_member_t *members, size_t n)
{
    bool all_exhausted = n > 0;
    for (size_t i = 0; i < n; i++) {
        if (members[i].status == MODEL_LEAD_COMPLETED)
            return true;
        if (members[i].status != MODEL_LEAD_MAX_RETRIES)
            all_exhausted = false;
    }
    return all_exhausted;
}

int contacts_group_step(const contacts_member_t *members, size_t n, contacts_action_t *actions,
                        size_t *n_changed, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    size_t *order = NULL;
    *n_changed = 0;
    if (n == 0 || !members || !actions) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "contact group is empty");
        goto out;
    }
    /* Member indices sorted by contact order (insertion sort: groups are a
     * primary and a handful of secondaries). */
    order = xcalloc(n, sizeof(*order));
    for (size_t i = 0; i < n; i++) {
        actions[i] = CONTACTS_ACTION_NONE;
        if (members[i].contact_order < 0 || (int)members[i].status < 0 ||
            members[i].status >= MODEL_LEAD_STATUS_COUNT) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                         "contact %zu has contact order %d or status %d out of range", i,
                         members[i].contact_order, (int)members[i].status);
            goto out;
        }
        size_t j = i;
        while (j > 0 && members[order[j - 1]].contact_order > members[i].contact_order) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t k = 1; k < n; k++) {
        if (members[order[k]].contact_order == members[order[k - 1]].contact_order) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "two contacts have contact order %d",
                         members[order[k]].contact_order);
            goto out;
        }
    }
    if (members[order[0]].contact_order != 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "contact group has no primary (order 0)");
        goto out;
    }

    bool any_completed = false;
    for (size_t i = 0; i < n; i++)
        any_completed = any_completed || members[i].status == MODEL_LEAD_COMPLETED;
    if (any_completed) {
        /* Someone was reached: nobody else in the group is called. Leads with
         * a call already out (scheduled, processing) finish that call first;
         * the step after its result completes them. */
        for (size_t i = 0; i < n; i++) {
            if (members[i].status == MODEL_LEAD_CREATED ||
                members[i].status == MODEL_LEAD_RESCHEDULED) {
                actions[i] = CONTACTS_ACTION_COMPLETE;
                (*n_changed)++;
            }
        }
        goto out;
    }
    if (members[order[0]].status != MODEL_LEAD_MAX_RETRIES)
        goto out; /* the primary is still being called (or waits to be) */
    for (size_t k = 1; k < n; k++) {
        const contacts_member_t *m = &members[order[k]];
        if (m->status == MODEL_LEAD_MAX_RETRIES)
            continue; /* this one ended without success: the next one's turn */
        if (m->status == MODEL_LEAD_CREATED && !m->due) {
            actions[order[k]] = CONTACTS_ACTION_MAKE_DUE;
            (*n_changed)++;
        }
        break; /* one at a time: this one is (now) being called */
    }
out:
    free(order);
    return rc;
}
