/* The results decision (results_decide.h), without a database. Cross
 * products of call status (with failure class and skip reason) ×
 * answered_by × goal × retry setting (goal-based retry, retry on voicemail,
 * attempts left) × contact group × balance, then × call row × lead row
 * (replays, late and superseding events) and × calling window, each case
 * checked against rules written out here from the header's table, and each
 * replayed against the call row it wrote (a duplicate that writes
 * nothing); then the cases the products do not reach (errors, details,
 * goal JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "contacts.h"
#include "results_decide.h"
#include "test_main.h"
#include "test_rules_support.h"

enum kind {
    K_INITIATED,
    K_RINGING,
    K_IN_PROGRESS,
    K_COMPLETED,
    K_BUSY,
    K_UNANSWERED,
    K_FAILED_TRANSIENT,
    K_FAILED_PERMANENT,
    K_RECOVERY_CLOSE, /* recovery's own close: failed, dial-job-lost (never placed) */
    K_SKIP_WINDOW,
    K_SKIP_NOT_RUNNING,
    K_SKIP_DNC,
    K_SKIP_BUSY,
    K_COUNT
};
enum answered { A_NOT_REPORTED, A_HUMAN, A_VOICEMAIL, A_UNKNOWN, A_COUNT };
enum goal { G_NO_VARIABLE, G_NOT_REPORTED, G_FALSE, G_TRUE, G_COUNT };
/* retry setting: bit 0 goal-based retry, bit 1 retry on voicemail, bit 2 last attempt */
#define R_COUNT 8
enum window { W_NONE, W_NEVER_OPENS, W_COUNT };
enum group { GR_ALONE, GR_PRIMARY, GR_SECONDARY, GR_COUNT };
enum balance { B_NO_COST, B_LEFT, B_ZERO, B_NEGATIVE, B_CHARGED_BEFORE, B_COUNT };
enum call_row { C_NONE, C_RINGING, C_COMPLETED, C_SYNTHETIC, C_REPLAY, C_COUNT };
enum lead_row { L_SCHEDULED, L_PROCESSING, L_STALE, L_CLOSED, L_UNKNOWN, L_COUNT };

#define MAX_RETRIES 2 /* three calls in all */
#define INTERVAL    30
#define CAMPAIGN    "c0000000-0000-4000-8000-000000000001"
#define ATTEMPT     "a0000000-0000-4000-8000-000000000001"
#define OTHER       "a0000000-0000-4000-8000-000000000002"
#define LEAD        "10000000-0000-4000-8000-000000000001"
#define NOW         T("2024-06-05T14:00Z")
#define ENDED       T("2024-06-05T13:59Z")

typedef struct dims {
    int kind, answered, goal, retry, window, group, balance, call, lead;
} dims_t;

static const char *const ny[] = {"America/New_York"}, *const tokyo[] = {"Asia/Tokyo"};

static model_call_status_t kind_status(int k)
{
    static const model_call_status_t s[K_COUNT] = {
        MODEL_CALL_INITIATED, MODEL_CALL_RINGING,    MODEL_CALL_IN_PROGRESS, MODEL_CALL_COMPLETED,
        MODEL_CALL_BUSY,      MODEL_CALL_UNANSWERED, MODEL_CALL_FAILED,      MODEL_CALL_FAILED,
        MODEL_CALL_FAILED,    MODEL_CALL_SKIPPED,    MODEL_CALL_SKIPPED,     MODEL_CALL_SKIPPED,
        MODEL_CALL_SKIPPED};
    return s[k];
}

static bool kind_terminal(int k)
{
    return k >= K_COMPLETED;
}

static bool kind_skipped(int k)
{
    return k >= K_SKIP_WINDOW;
}

/* The lead's attempt count before the event's call. */
static int attempts_before(const dims_t *d)
{
    return d->retry & 4 ? MAX_RETRIES : 0;
}

typedef struct fixture {
    results_event_t ev;
    results_lead_t lead;
    results_call_t call;
    results_campaign_t c;
    char vars[128];
} fixture_t;

static void fixture_build(const dims_t *d, fixture_t *f)
{
    memset(f, 0, sizeof(*f));
    int a = attempts_before(d);
    results_event_t *ev = &f->ev;
    ev->event_id = "event-1";
    ev->attempt_id = ATTEMPT;
    ev->lead_id = LEAD;
    ev->campaign_id = CAMPAIGN;
    ev->attempt_number = (uint32_t)a + 1;
    ev->status = kind_status(d->kind);
    ev->answered_by_reported = d->answered != A_NOT_REPORTED;
    ev->answered_by = d->answered == A_HUMAN       ? MODEL_ANSWERED_BY_HUMAN
                      : d->answered == A_VOICEMAIL ? MODEL_ANSWERED_BY_VOICEMAIL
                                                   : MODEL_ANSWERED_BY_UNKNOWN;
    ev->failure = d->kind == K_FAILED_PERMANENT ? RESULTS_FAILURE_PERMANENT
                  : d->kind == K_FAILED_TRANSIENT || d->kind == K_RECOVERY_CLOSE
                      ? RESULTS_FAILURE_TRANSIENT
                      : RESULTS_FAILURE_NONE;
    ev->skip_reason = d->kind == K_SKIP_NOT_RUNNING ? MODEL_SKIP_CAMPAIGN_NOT_RUNNING
                      : d->kind == K_SKIP_DNC       ? MODEL_SKIP_DNC
                      : d->kind == K_SKIP_BUSY      ? MODEL_SKIP_NUMBER_BUSY
                                                    : MODEL_SKIP_OUTSIDE_WINDOW;
    ev->provider_call_id = "pc-1";
    ev->ended_reason = d->kind == K_RECOVERY_CLOSE ? "dial-job-lost" : NULL;
    if (d->goal == G_FALSE || d->goal == G_TRUE)
        snprintf(f->vars, sizeof(f->vars), "{\"booked\": %s, \"note\": \"x\"}",
                 d->goal == G_TRUE ? "true" : "false");
    else
        snprintf(f->vars, sizeof(f->vars), "{\"note\": \"x\"}");
    ev->post_call_variables_json = kind_terminal(d->kind) ? f->vars : NULL;
    ev->started_at_us = ENDED - 60000000;
    ev->ended_at_us = kind_terminal(d->kind) ? ENDED : 0;
    ev->occurred_at_us = ENDED;
    ev->duration_ms = 59600;
    ev->cost_minor = d->balance == B_NO_COST ? 0 : 30;

    results_lead_t *l = &f->lead;
    l->found = d->lead != L_UNKNOWN;
    l->campaign_id = CAMPAIGN;
    l->e164 = "+12125550100";
    switch (d->lead) {
    case L_SCHEDULED:
        l->status = MODEL_LEAD_SCHEDULED, l->attempts = a, l->current_attempt_id = ATTEMPT;
        break;
    case L_PROCESSING:
        l->status = MODEL_LEAD_PROCESSING, l->attempts = a, l->current_attempt_id = ATTEMPT;
        break;
    case L_STALE: /* called again since */
        l->status = MODEL_LEAD_PROCESSING, l->attempts = a + 1, l->current_attempt_id = OTHER;
        break;
    default: /* L_CLOSED: recovery closed this attempt, nothing dialed since */
        l->status = MODEL_LEAD_RESCHEDULED, l->attempts = a + 1, l->current_attempt_id = "";
        break;
    }

    results_call_t *c = &f->call;
    c->found = d->call != C_NONE;
    c->ended_reason = "";
    c->status = d->call == C_RINGING     ? MODEL_CALL_RINGING
                : d->call == C_COMPLETED ? MODEL_CALL_COMPLETED
                                         : MODEL_CALL_FAILED;
    if (d->call == C_SYNTHETIC)
        c->ended_reason = "call-end-not-reported";
    c->has_event = d->call == C_REPLAY;
    c->charged = c->found && d->balance == B_CHARGED_BEFORE;

    results_campaign_t *cp = &f->c;
    cp->account_id = "acc";
    cp->retry = (retry_policy_t){MAX_RETRIES, INTERVAL, d->retry & 2, d->retry & 1};
    cp->goal_variable = d->goal == G_NO_VARIABLE ? "" : "booked";
    if (d->window == W_NEVER_OPENS) {
        cp->window.rules[0] = (window_rule_t){{540, 600, WINDOW_DAYS_ALL}, ny, 1};
        cp->window.rules[1] = (window_rule_t){{540, 600, WINDOW_DAYS_ALL}, tokyo, 1};
        cp->window.n_rules = 2;
    }
}

/* results_decide of f's rows at NOW; err holds 256 bytes. */
static int decide(const fixture_t *f, results_writes_t *w, char *err)
{
    return results_decide(&f->ev, &f->lead, &f->call, &f->c, NOW, w, err, 256);
}

/* What the table says. */
typedef struct expected {
    results_effect_t effect;
    results_call_write_t call_write;
    model_call_status_t call_status;
    bool charge, pause, processing, lead_end, finished;
    model_lead_status_t status;
    model_outcome_t outcome;
    int attempts;
    bool has_next;
    int64_t next_us; /* checked when has_next and nonzero */
    model_goal_t goal;
} expected_t;

static void expect_end(const dims_t *d, bool revisit, expected_t *x)
{
    (void)
        revisit; /* a revisited lead's call number is the closed attempt's, as for a current one */
    int a = attempts_before(d);
    int n = a + 1;
    bool gb = d->retry & 1, vm = d->retry & 2, last = n >= 1 + MAX_RETRIES;
    bool never = d->window == W_NEVER_OPENS;
    model_goal_t goal = d->goal == G_TRUE    ? MODEL_GOAL_TRUE
                        : d->goal == G_FALSE ? MODEL_GOAL_FALSE
                                             : MODEL_GOAL_ABSENT;
    /* Recovery's close of an attempt the fence proved never placed gives
     * the attempt back. */
    bool given_back = d->kind == K_RECOVERY_CLOSE;
    x->lead_end = true;
    x->goal = goal;
    x->attempts = kind_skipped(d->kind) || given_back ? a : n;
    bool retry = false;
    model_lead_status_t waiting = a == 0 ? MODEL_LEAD_CREATED : MODEL_LEAD_RESCHEDULED;
    switch (d->kind) {
    case K_COMPLETED:
        if (d->answered == A_VOICEMAIL) {
            if (vm)
                retry = true;
            else
                x->status = MODEL_LEAD_COMPLETED, x->outcome = MODEL_OUTCOME_VOICEMAIL;
        } else if (!gb) {
            x->status = MODEL_LEAD_COMPLETED, x->outcome = MODEL_OUTCOME_ANSWERED;
        } else if (goal == MODEL_GOAL_TRUE) {
            x->status = MODEL_LEAD_COMPLETED, x->outcome = MODEL_OUTCOME_GOAL_ACHIEVED;
        } else {
            retry = true;
        }
        break;
    case K_FAILED_PERMANENT:
        x->status = MODEL_LEAD_MAX_RETRIES, x->outcome = MODEL_OUTCOME_PERMANENT_FAILURE;
        break;
    case K_SKIP_DNC:
        x->status = MODEL_LEAD_MAX_RETRIES, x->outcome = MODEL_OUTCOME_DNC;
        break;
    case K_SKIP_NOT_RUNNING:
        x->status = waiting, x->has_next = true, x->next_us = ENDED;
        break;
    case K_SKIP_WINDOW:
    case K_SKIP_BUSY:
        if (never)
            x->status = MODEL_LEAD_MAX_RETRIES, x->outcome = MODEL_OUTCOME_EXHAUSTED;
        else
            x->status = waiting, x->has_next = true,
            x->next_us =
                ENDED + (d->kind == K_SKIP_BUSY ? RETRY_NUMBER_BUSY_DELAY_MIN : 0) * 60000000LL;
        break;
    default: /* busy, unanswered, failed transient */
        retry = true;
    }
    if (retry && given_back && !never) {
        x->status = waiting, x->has_next = true, x->next_us = ENDED + INTERVAL * 60000000LL;
    } else if (retry) {
        if (last || never)
            x->status = MODEL_LEAD_MAX_RETRIES, x->outcome = MODEL_OUTCOME_EXHAUSTED;
        else
            x->status = MODEL_LEAD_RESCHEDULED, x->has_next = true,
            x->next_us = ENDED + INTERVAL * 60000000LL;
    }
    x->finished = x->status == MODEL_LEAD_COMPLETED || x->status == MODEL_LEAD_MAX_RETRIES;
}

static int call_rank(model_call_status_t s)
{
    return s == MODEL_CALL_INITIATED     ? 1
           : s == MODEL_CALL_RINGING     ? 2
           : s == MODEL_CALL_IN_PROGRESS ? 3
                                         : 4;
}

static void expect(const dims_t *d, expected_t *x)
{
    memset(x, 0, sizeof(*x));
    if (d->lead == L_UNKNOWN) {
        x->effect = RESULTS_UNKNOWN_LEAD;
        return;
    }
    if (d->call == C_REPLAY) {
        x->effect = RESULTS_DUPLICATE;
        return;
    }
    bool terminal = kind_terminal(d->kind), skipped = kind_skipped(d->kind);
    model_call_status_t st = kind_status(d->kind);
    bool first_terminal = false, supersedes = false;
    switch (d->call) {
    case C_NONE:
        x->call_write = RESULTS_CALL_INSERT, x->call_status = st, first_terminal = terminal;
        break;
    case C_RINGING:
        x->call_write = RESULTS_CALL_UPDATE, first_terminal = terminal;
        x->call_status = call_rank(st) > call_rank(MODEL_CALL_RINGING) ? st : MODEL_CALL_RINGING;
        break;
    case C_COMPLETED: /* the first terminal status won */
        x->call_write = RESULTS_CALL_UPDATE, x->call_status = MODEL_CALL_COMPLETED;
        break;
    default: /* C_SYNTHETIC: a real terminal result replaces recovery's close */
        supersedes = terminal && !skipped && d->kind != K_RECOVERY_CLOSE;
        first_terminal = supersedes;
        x->call_write = RESULTS_CALL_UPDATE;
        x->call_status = supersedes ? st : MODEL_CALL_FAILED;
    }
    x->effect = RESULTS_APPLIED;
    /* Charged before: a call row whose charged_at is set (without a row,
     * the charge is the first, and leaves the balance below zero). */
    x->charge = terminal && !skipped && d->balance != B_NO_COST &&
                !(d->balance == B_CHARGED_BEFORE && d->call != C_NONE);
    x->pause = x->charge &&
               (d->balance == B_ZERO || d->balance == B_NEGATIVE || d->balance == B_CHARGED_BEFORE);
    bool current = d->lead == L_SCHEDULED || d->lead == L_PROCESSING;
    bool revisit = supersedes && d->lead == L_CLOSED;
    if (!current && !revisit)
        x->effect = RESULTS_STALE;
    else if (!terminal)
        x->processing = d->lead == L_SCHEDULED;
    else if (first_terminal)
        expect_end(d, revisit, x);
}

/* The contact group after the lead's end, and what must happen to it. */
static void check_group(const dims_t *d, const results_writes_t *w, const char *name)
{
    contacts_member_t m[3];
    contacts_action_t want[3] = {CONTACTS_ACTION_NONE, CONTACTS_ACTION_NONE, CONTACTS_ACTION_NONE};
    size_t n;
    bool completed = w->end.status == MODEL_LEAD_COMPLETED;
    if (d->group == GR_ALONE) {
        m[0] = (contacts_member_t){w->end.status, w->end.has_next, 0};
        n = 1;
    } else if (d->group == GR_PRIMARY) {
        m[0] = (contacts_member_t){w->end.status, w->end.has_next, 0};
        m[1] = (contacts_member_t){MODEL_LEAD_CREATED, false, 1};
        m[2] = (contacts_member_t){MODEL_LEAD_CREATED, false, 2};
        n = 3;
        if (completed)
            want[1] = want[2] = CONTACTS_ACTION_COMPLETE;
        else
            want[1] = CONTACTS_ACTION_MAKE_DUE;
    } else {
        m[0] = (contacts_member_t){MODEL_LEAD_MAX_RETRIES, false, 0};
        m[1] = (contacts_member_t){w->end.status, w->end.has_next, 1};
        m[2] = (contacts_member_t){MODEL_LEAD_CREATED, false, 2};
        n = 3;
        if (completed)
            want[2] = CONTACTS_ACTION_COMPLETE;
        else
            want[2] = CONTACTS_ACTION_MAKE_DUE;
    }
    contacts_action_t got[3];
    size_t changed;
    char err[256];
    if (contacts_group_step(m, n, got, &changed, err, sizeof(err)) != OD_OK)
        fail_msg("%s: group step: %s", name, err);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: group member %zu: action %d, want %d", name, i, got[i], want[i]);
}

static void case_name(const dims_t *d, char *buf, size_t len)
{
    snprintf(buf, len,
             "kind %d answered %d goal %d retry %d window %d group %d balance %d call %d lead %d",
             d->kind, d->answered, d->goal, d->retry, d->window, d->group, d->balance, d->call,
             d->lead);
}

static void check_case(const dims_t *d, size_t *n_finished)
{
    fixture_t f;
    fixture_build(d, &f);
    expected_t x;
    expect(d, &x);
    results_writes_t w;
    char err[256], name[160];
    case_name(d, name, sizeof(name));
    int rc = decide(&f, &w, err);
    if (rc != OD_OK)
        fail_msg("%s: rc %d: %s", name, rc, err);
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s: %s", name, #cond);                                                       \
    } while (0)
    CHECK(w.effect == x.effect);
    CHECK(w.call.write == x.call_write);
    if (x.call_write != RESULTS_CALL_KEEP) {
        CHECK(w.call.status == x.call_status);
        CHECK(w.call.event_status == f.ev.status);
        CHECK(w.call.at_us == ENDED);
        CHECK(w.call.synthetic == (d->kind == K_RECOVERY_CLOSE));
    }
    CHECK(w.charge == x.charge);
    /* The balance the charge left, as the write step reads it back. */
    bool charged = w.charge;
    int64_t balance = d->balance == B_LEFT ? 70 : d->balance == B_ZERO ? 0 : -30;
    CHECK(results_charge_pauses(charged, balance) == x.pause);
    CHECK(w.lead_processing == x.processing);
    CHECK(w.lead_end == x.lead_end);
    CHECK(w.lead_finished == x.finished);
    if (x.lead_end) {
        CHECK(w.end.status == x.status);
        CHECK(w.end.outcome == x.outcome);
        CHECK(w.end.attempts == x.attempts);
        CHECK(w.end.has_next == x.has_next);
        if (x.has_next)
            CHECK(w.end.next_attempt_us == x.next_us);
        CHECK(w.end.goal == x.goal);
        CHECK(w.end.has_last_call == (!kind_skipped(d->kind) && d->kind != K_RECOVERY_CLOSE));
        CHECK(w.end.at_us == ENDED);
    }
    if (w.lead_finished) {
        check_group(d, &w, name);
        ++*n_finished;
    }
    /* Idempotent: the same event again, against the call row it wrote,
     * is a duplicate that writes nothing. */
    if (w.call.write != RESULTS_CALL_KEEP) {
        results_call_t after = {true, w.call.status, true, "", w.charge};
        results_writes_t again;
        rc = results_decide(&f.ev, &f.lead, &after, &f.c, NOW, &again, err, sizeof(err));
        CHECK(rc == OD_OK && again.effect == RESULTS_DUPLICATE);
        CHECK(again.call.write == RESULTS_CALL_KEEP && !again.charge && !again.lead_end &&
              !again.lead_processing && !again.lead_finished);
    }
#undef CHECK
}

/* One dimension's values: {first, last} inclusive. */
typedef struct span {
    int first, last;
} span_t;

/* Runs every case of the product of the spans (in dims_t's order). */
static size_t run_product(const span_t spans[9], size_t *n_finished)
{
    size_t n = 0;
    dims_t d;
    for (d.kind = spans[0].first; d.kind <= spans[0].last; d.kind++)
        for (d.answered = spans[1].first; d.answered <= spans[1].last; d.answered++)
            for (d.goal = spans[2].first; d.goal <= spans[2].last; d.goal++)
                for (d.retry = spans[3].first; d.retry <= spans[3].last; d.retry++)
                    for (d.window = spans[4].first; d.window <= spans[4].last; d.window++)
                        for (d.group = spans[5].first; d.group <= spans[5].last; d.group++)
                            for (d.balance = spans[6].first; d.balance <= spans[6].last;
                                 d.balance++)
                                for (d.call = spans[7].first; d.call <= spans[7].last; d.call++)
                                    for (d.lead = spans[8].first; d.lead <= spans[8].last;
                                         d.lead++, n++)
                                        check_case(&d, n_finished);
    return n;
}

#define ALL(count)                                                                                 \
    {                                                                                              \
        0, (count)-1                                                                               \
    }
#define ONE(value)                                                                                 \
    {                                                                                              \
        value, value                                                                               \
    }

/* Every call status × answered_by × goal × retry setting × contact group
 * × balance, for a first report (no call row) and one after ringing, on
 * the current attempt of a processing lead. */
static void test_product_results(void **state)
{
    (void)state;
    const span_t spans[9] = {ALL(K_COUNT), ALL(A_COUNT),        ALL(G_COUNT),
                             ALL(R_COUNT), ONE(W_NONE),         ALL(GR_COUNT),
                             ALL(B_COUNT), {C_NONE, C_RINGING}, ONE(L_PROCESSING)};
    size_t n_finished = 0;
    size_t n = run_product(spans, &n_finished);
    assert_int_equal(n, (size_t)K_COUNT * A_COUNT * G_COUNT * R_COUNT * GR_COUNT * B_COUNT * 2);
    assert_true(n_finished > n / 4); /* the product reaches finished leads, not only writes */
}

/* Every call status × call row (none, ringing, terminal, recovery's close,
 * a replay) × lead row (scheduled, processing, called again since, closed
 * by recovery, unknown) × balance × first or last attempt: duplicated,
 * late and superseding events. */
static void test_product_rows(void **state)
{
    (void)state;
    const span_t spans[9] = {ALL(K_COUNT),    ONE(A_HUMAN), ONE(G_TRUE),  {0, 7},      ONE(W_NONE),
                             ONE(GR_PRIMARY), ALL(B_COUNT), ALL(C_COUNT), ALL(L_COUNT)};
    size_t n_finished = 0;
    size_t n = run_product(spans, &n_finished);
    assert_int_equal(n, (size_t)K_COUNT * 8 * B_COUNT * C_COUNT * L_COUNT);
    assert_true(n_finished > 0);
}

/* A calling window that never opens again for the person: every retry and
 * every wait for the window ends the lead (exhausted). */
static void test_product_window(void **state)
{
    (void)state;
    const span_t spans[9] = {ALL(K_COUNT), ALL(A_COUNT),   ONE(G_FALSE),
                             ALL(R_COUNT), ALL(W_COUNT),   ONE(GR_SECONDARY),
                             ONE(B_LEFT),  ONE(C_RINGING), ONE(L_SCHEDULED)};
    size_t n_finished = 0;
    size_t n = run_product(spans, &n_finished);
    assert_int_equal(n, (size_t)K_COUNT * A_COUNT * R_COUNT * W_COUNT);
    assert_true(n_finished > 0);
}

/* A base case: a human answered the current attempt (call row ringing). */
static void base(fixture_t *f)
{
    dims_t d = {K_COMPLETED, A_HUMAN, G_NO_VARIABLE, 0,           W_NONE,
                GR_ALONE,    B_LEFT,  C_RINGING,     L_PROCESSING};
    fixture_build(&d, f);
}

static void test_errors(void **state)
{
    (void)state;
    fixture_t f;
    results_writes_t w;
    char err[256];

    base(&f);
    f.lead.campaign_id = "c0000000-0000-4000-8000-000000000009";
    assert_int_equal(decide(&f, &w, err), OD_ERR_INVALID);
    assert_non_null(strstr(err, "belongs to campaign"));

    /* No call row and no number: it cannot have been called. */
    base(&f);
    f.call.found = false;
    f.lead.e164 = "";
    assert_int_equal(decide(&f, &w, err), OD_ERR_INVALID);
    assert_non_null(strstr(err, "no valid number"));

    /* The campaign could not be read: a terminal event needs it... */
    base(&f);
    f.c.rc = OD_ERR_NOT_FOUND;
    f.c.error = "campaign not found";
    assert_int_equal(decide(&f, &w, err), OD_ERR_NOT_FOUND);
    assert_string_equal(err, "campaign not found");
    /* ...also a stale one with a cost to charge... */
    f.lead.current_attempt_id = OTHER;
    assert_int_equal(decide(&f, &w, err), OD_ERR_NOT_FOUND);
    /* ...but not a stale one without, nor a non-terminal event. */
    f.ev.cost_minor = 0;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.effect, RESULTS_STALE);
    f.lead.current_attempt_id = ATTEMPT;
    f.ev.status = MODEL_CALL_IN_PROGRESS;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.effect, RESULTS_APPLIED);

    /* A policy out of range is retry.h's error. */
    base(&f);
    f.c.retry.max_retries = 9;
    assert_int_equal(decide(&f, &w, err), OD_ERR_INVALID);
}

static void test_details(void **state)
{
    (void)state;
    fixture_t f;
    results_writes_t w;
    char err[256];

    /* The first terminal event records its details; the attempt number is
     * the event's, else the lead's next. */
    base(&f);
    f.call.found = false;
    f.ev.attempt_number = 0;
    f.lead.attempts = 2;
    f.ev.ended_reason = "customer-ended-call";
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.call.attempt_number, 3);
    assert_true(w.call.has_duration && w.call.duration_s == 60); /* 59.6 s rounds to 60 */
    assert_true(w.call.has_cost && w.call.cost_minor == 30);
    assert_true(w.call.has_answered_by && w.call.answered_by == MODEL_ANSWERED_BY_HUMAN);
    assert_string_equal(w.call.ended_reason, "customer-ended-call");
    assert_string_equal(w.call.provider_call_id, "pc-1");
    assert_int_equal(w.call.ended_at_us, ENDED);
    assert_int_equal(w.end.attempts, 3);
    assert_true(w.end.has_last_answered_by);

    /* A late terminal event after the first: only its history entry, and
     * its cost (charged once by the write step). */
    base(&f);
    f.call.status = MODEL_CALL_BUSY;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.call.status, MODEL_CALL_BUSY);
    assert_false(w.call.has_answered_by || w.call.has_duration || w.call.ended_at_us ||
                 w.call.ended_reason || w.call.post_call_variables_json);
    assert_true(w.call.has_cost && w.charge);
    assert_false(w.lead_end);
    /* ...but not when the call was charged before: its cost stays. */
    f.call.charged = true;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_false(w.charge);

    /* A late ringing after in_progress does not move the status back. */
    base(&f);
    f.call.status = MODEL_CALL_IN_PROGRESS;
    f.ev.status = MODEL_CALL_RINGING;
    f.ev.ended_at_us = 0;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.call.status, MODEL_CALL_IN_PROGRESS);
    assert_int_equal(w.call.event_status, MODEL_CALL_RINGING);
    assert_false(w.lead_processing); /* the lead is processing already */

    /* Superseding recovery's close: ended reason reported-late unless given. */
    base(&f);
    f.call.status = MODEL_CALL_FAILED;
    f.call.ended_reason = "dial-job-lost";
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_string_equal(w.call.ended_reason, "reported-late");
    assert_int_equal(w.call.status, MODEL_CALL_COMPLETED);
    f.ev.ended_reason = "customer-ended-call";
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_string_equal(w.call.ended_reason, "customer-ended-call");

    /* A closed lead takes the superseding result only if nothing was
     * dialed since: attempts still the closed attempt's. */
    base(&f);
    f.call.status = MODEL_CALL_FAILED;
    f.call.ended_reason = "call-end-not-reported";
    f.lead.current_attempt_id = "";
    f.lead.status = MODEL_LEAD_MAX_RETRIES;
    f.lead.attempts = 1;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_true(w.lead_end && w.end.status == MODEL_LEAD_COMPLETED && w.end.attempts == 1);
    f.lead.attempts = 2;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.effect, RESULTS_STALE);
    f.lead.attempts = 1;
    f.lead.status = MODEL_LEAD_CREATED;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.effect, RESULTS_STALE);

    /* No occurred_at: the history entry and the lead take now. */
    base(&f);
    f.ev.occurred_at_us = 0;
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_int_equal(w.call.at_us, NOW);
    assert_int_equal(w.end.at_us, NOW);
}

static void test_goal_variables(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        model_goal_t goal;
    } cases[] = {
        {"{\"booked\": true}", MODEL_GOAL_TRUE},
        {"{\"booked\": false}", MODEL_GOAL_FALSE},
        {"{\"booked\": \"yes\"}", MODEL_GOAL_ABSENT}, /* not a boolean */
        {"{\"booked\": 1}", MODEL_GOAL_ABSENT},
        {"[true]", MODEL_GOAL_ABSENT},
        {"{not json", MODEL_GOAL_ABSENT},
        {NULL, MODEL_GOAL_ABSENT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture_t f;
        base(&f);
        f.c.goal_variable = "booked";
        f.ev.post_call_variables_json = cases[i].json;
        results_writes_t w;
        char err[256];
        assert_int_equal(decide(&f, &w, err), OD_OK);
        if (w.end.goal != cases[i].goal)
            fail_msg("%s: goal %d, want %d", cases[i].json ? cases[i].json : "(none)", w.end.goal,
                     cases[i].goal);
    }
}

/* Opt-out: the campaign's variable reported true ends the lead completed
 * (opted_out) and asks for the DNC entry, also for a stale or late result;
 * false, absent, not a boolean, a replay or a skipped job do not. */
static void test_opt_out(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *json;
        int lead; /* L_* */
        int call; /* C_* */
        bool opt_out, ends;
    } cases[] = {
        {"true: opted out, lead ends", "{\"opted_out\": true}", L_PROCESSING, C_RINGING, true,
         true},
        {"false", "{\"opted_out\": false}", L_PROCESSING, C_RINGING, false, true},
        {"not reported", "{\"booked\": true}", L_PROCESSING, C_RINGING, false, true},
        {"not a boolean", "{\"opted_out\": \"yes\"}", L_PROCESSING, C_RINGING, false, true},
        {"stale result: DNC all the same", "{\"opted_out\": true}", L_STALE, C_RINGING, true,
         false},
        {"replay: nothing again", "{\"opted_out\": true}", L_PROCESSING, C_REPLAY, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dims_t d = {K_COMPLETED, A_HUMAN,       G_NO_VARIABLE, 0, W_NONE, GR_ALONE,
                    B_LEFT,      cases[i].call, cases[i].lead};
        fixture_t f;
        fixture_build(&d, &f);
        f.c.opt_out_variable = "opted_out";
        f.ev.post_call_variables_json = cases[i].json;
        results_writes_t w;
        char err[256];
        assert_int_equal(decide(&f, &w, err), OD_OK);
        if (w.opt_out != cases[i].opt_out || w.lead_end != cases[i].ends)
            fail_msg("%s: opt_out %d lead_end %d", cases[i].name, w.opt_out, w.lead_end);
        if (cases[i].opt_out && cases[i].ends) {
            assert_int_equal(w.end.status, MODEL_LEAD_COMPLETED);
            assert_int_equal(w.end.outcome, MODEL_OUTCOME_OPTED_OUT);
            assert_false(w.end.has_next);
            assert_true(w.lead_finished);
        }
    }
    /* A skipped job reports no variables that count. */
    fixture_t f;
    dims_t d = {K_SKIP_DNC, A_NOT_REPORTED, G_NO_VARIABLE, 0,          W_NONE,
                GR_ALONE,   B_NO_COST,      C_NONE,        L_SCHEDULED};
    fixture_build(&d, &f);
    f.c.opt_out_variable = "opted_out";
    f.ev.post_call_variables_json = "{\"opted_out\": true}";
    results_writes_t w;
    char err[256];
    assert_int_equal(decide(&f, &w, err), OD_OK);
    assert_false(w.opt_out);
}

static void test_reasons_and_balance(void **state)
{
    (void)state;
    assert_true(results_reason_is_synthetic("dial-job-lost"));
    assert_true(results_reason_is_synthetic("call-end-not-reported"));
    assert_false(results_reason_is_synthetic("customer-ended-call"));
    assert_false(results_reason_is_synthetic(NULL));
    assert_false(results_charge_pauses(true, 1));
    assert_true(results_charge_pauses(true, 0));
    assert_true(results_charge_pauses(true, -1));
    assert_false(results_charge_pauses(false, -1)); /* charged before: paused then */
}

OD_TEST_MAIN(NULL, NULL, test_product_results, test_product_rows, test_product_window, test_errors,
             test_details, test_goal_variables, test_opt_out, test_reasons_and_balance)
