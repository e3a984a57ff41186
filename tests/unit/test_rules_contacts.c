/* Secondary contacts (turns in contact order, one at a time; the group ends
 * when anyone is reached) and campaign completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "case_table.h"
#include "contacts.h"
#include "test_main.h"

#define CR MODEL_LEAD_CREATED
#define SC MODEL_LEAD_SCHEDULED
#define PR MODEL_LEAD_PROCESSING
#define CO MODEL_LEAD_COMPLETED
#define RE MODEL_LEAD_RESCHEDULED
#define MX MODEL_LEAD_MAX_RETRIES

#define NONE     CONTACTS_ACTION_NONE
#define DUE      CONTACTS_ACTION_MAKE_DUE
#define COMPLETE CONTACTS_ACTION_COMPLETE

/* A waiting secondary; a created lead that is due; others. */
#define WAIT(order)                                                                                \
    {                                                                                              \
        CR, false, order                                                                           \
    }
#define M(st, order)                                                                               \
    {                                                                                              \
        st, st == RE, order                                                                        \
    }
#define DUE_NOW(order)                                                                             \
    {                                                                                              \
        CR, true, order                                                                            \
    }

typedef struct group_case {
    const char *name;
    contacts_member_t members[5];
    size_t n;
    contacts_action_t want[5];
    bool finished;
} group_case_t;

/* clang-format off */
static const group_case_t cases[] = {
    {"primary being called: secondaries wait", {M(PR, 0), WAIT(1), WAIT(2)}, 3,
     {NONE, NONE, NONE}, false},
    {"primary rescheduled: secondaries wait", {M(RE, 0), WAIT(1), WAIT(2)}, 3,
     {NONE, NONE, NONE}, false},
    {"primary due: secondaries wait", {DUE_NOW(0), WAIT(1)}, 2, {NONE, NONE}, false},
    {"primary exhausted: first secondary's turn", {M(MX, 0), WAIT(1), WAIT(2)}, 3,
     {NONE, DUE, NONE}, false},
    {"first secondary being retried: second waits", {M(MX, 0), M(RE, 1), WAIT(2)}, 3,
     {NONE, NONE, NONE}, false},
    {"first secondary scheduled: second waits", {M(MX, 0), M(SC, 1), WAIT(2)}, 3,
     {NONE, NONE, NONE}, false},
    {"first secondary already due: nothing more", {M(MX, 0), DUE_NOW(1), WAIT(2)}, 3,
     {NONE, NONE, NONE}, false},
    {"first secondary exhausted: second's turn", {M(MX, 0), M(MX, 1), WAIT(2)}, 3,
     {NONE, NONE, DUE}, false},
    {"everyone exhausted: finished", {M(MX, 0), M(MX, 1), M(MX, 2)}, 3, {NONE, NONE, NONE},
     true},
    {"primary reached: the rest completed", {M(CO, 0), WAIT(1), WAIT(2)}, 3,
     {NONE, COMPLETE, COMPLETE}, true},
    {"first secondary reached: the second completed", {M(MX, 0), M(CO, 1), WAIT(2)}, 3,
     {NONE, NONE, COMPLETE}, true},
    {"second reached while first rescheduled (manual)", {M(MX, 0), M(RE, 1), M(CO, 2)}, 3,
     {NONE, COMPLETE, NONE}, true},
    {"reached: a call in flight finishes first", {M(CO, 0), M(PR, 1), WAIT(2)}, 3,
     {NONE, NONE, COMPLETE}, true},
    {"reached: a scheduled job is left to its result", {M(CO, 0), M(SC, 1)}, 2, {NONE, NONE},
     true},
    {"reached: exhausted members keep their outcome", {M(MX, 0), M(MX, 1), M(CO, 2), WAIT(3)}, 4,
     {NONE, NONE, NONE, COMPLETE}, true},
    {"any order in the array, contact order decides", {WAIT(2), M(MX, 0), WAIT(1)}, 3,
     {NONE, NONE, DUE}, false},
    {"gaps in contact order", {M(MX, 0), M(MX, 3), WAIT(7), WAIT(9)}, 4,
     {NONE, NONE, DUE, NONE}, false},
    {"primary alone, exhausted", {M(MX, 0)}, 1, {NONE}, true},
    {"primary alone, processing", {M(PR, 0)}, 1, {NONE}, false},
    {"primary reset to created after the group ran", {DUE_NOW(0), M(MX, 1)}, 2, {NONE, NONE},
     false},
};
/* clang-format on */

/* One contact group case: the step's actions, how many changed, and whether
 * the group is finished. */
static bool group_case_holds(const void *row)
{
    const group_case_t *c = row;
    contacts_action_t actions[5];
    size_t changed = 99;
    char err[128] = "";
    int rc = contacts_group_step(c->members, c->n, actions, &changed, err, sizeof(err));
    size_t want_changed = 0;
    bool same = rc == OD_OK;
    for (size_t k = 0; k < c->n; k++) {
        want_changed += c->want[k] != NONE;
        same = same && actions[k] == c->want[k];
    }
    same = same && changed == want_changed;
    if (!same || contacts_group_is_finished(c->members, c->n) != c->finished) {
        print_error("%s: rc %d (%s), changed %zu, finished %d\n", c->name, rc, err, changed,
                    contacts_group_is_finished(c->members, c->n));
        return false;
    }
    return true;
}

CASE_TABLE_TEST(test_groups, "contact group", cases, group_case_holds)

static void test_group_errors(void **state)
{
    (void)state;
    contacts_action_t actions[3];
    size_t changed;
    char err[128];
    const contacts_member_t no_primary[] = {WAIT(1), WAIT(2)};
    assert_int_equal(contacts_group_step(no_primary, 2, actions, &changed, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "contact group has no primary (order 0)");
    const contacts_member_t twice[] = {M(MX, 0), WAIT(1), WAIT(1)};
    assert_int_equal(contacts_group_step(twice, 3, actions, &changed, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "two contacts have contact order 1");
    const contacts_member_t negative[] = {M(MX, 0), WAIT(-1)};
    assert_int_equal(contacts_group_step(negative, 2, actions, &changed, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_int_equal(contacts_group_step(NULL, 0, actions, &changed, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "contact group is empty");
}

static void test_campaign_complete(void **state)
{
    (void)state;
    int64_t counts[MODEL_LEAD_STATUS_COUNT] = {0};
    assert_true(contacts_campaign_is_complete(counts));
    counts[MODEL_LEAD_COMPLETED] = 10;
    counts[MODEL_LEAD_MAX_RETRIES] = 3;
    assert_true(contacts_campaign_is_complete(counts));
    const model_lead_status_t open[] = {CR, SC, PR, RE};
    for (size_t i = 0; i < 4; i++) {
        counts[open[i]] = 1;
        assert_false(contacts_campaign_is_complete(counts));
        assert_true(contacts_status_is_open(open[i]));
        counts[open[i]] = 0;
    }
    assert_true(contacts_campaign_is_complete(counts));
    assert_false(contacts_status_is_open(CO));
    assert_false(contacts_status_is_open(MX));
}

OD_TEST_MAIN(NULL, NULL, test_groups, test_group_errors, test_campaign_complete)
