/*
 * sim_rules.h — what happens to a simulated call, decided from a rules file.
 *
 * The rules file (format in docs/provider-protocol.md and rules.example)
 * says, by number pattern, by the assistant placing the call (its provider
 * assistantId) or by weights, which outcome a call gets (busy, no
 * answer, voicemail, a human with the goal reached or not, a failure), how
 * long it rings and talks (campaign time), what it costs, which endedReason
 * the provider reports, and which protocol faults to inject.
 *
 * Decisions are pure functions of (seed, number, attempt id): every random
 * choice is a hash of those, never a draw from a sequential generator, so a
 * call's outcome does not depend on the order in which calls arrive, on how
 * many dialers place them, or on what else the simulator is doing.
 */
#ifndef OUTDIAL_SIM_RULES_H
#define OUTDIAL_SIM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

typedef enum sim_outcome {
    SIM_OUTCOME_BUSY = 0,       /* rings briefly, ends customer-busy */
    SIM_OUTCOME_NO_ANSWER,      /* rings out, ends customer-did-not-answer */
    SIM_OUTCOME_VOICEMAIL,      /* answered by a machine, ends voicemail */
    SIM_OUTCOME_HUMAN,          /* answered, no goal variable reported */
    SIM_OUTCOME_HUMAN_GOAL,     /* answered, goal variable true */
    SIM_OUTCOME_HUMAN_NO_GOAL,  /* answered, goal variable false */
    SIM_OUTCOME_FAIL_TRANSIENT, /* POST /call answered 503, nothing placed */
    SIM_OUTCOME_FAIL_PERMANENT, /* placed, ends at once with a failure reason */
    SIM_OUTCOME_COUNT,
} sim_outcome_t;

/* The outcome's name in rules files and JSON ("no-answer", ...). */
const char *sim_outcome_name(sim_outcome_t outcome);
/* OD_ERR_INVALID for an unknown name. */
int sim_outcome_parse(const char *name, sim_outcome_t *out) OD_WUR;
/* Someone (or a machine) picked up: voicemail and the human outcomes. */
bool sim_outcome_answered(sim_outcome_t outcome);
/* The call rings before it ends or is answered (not the failures). */
bool sim_outcome_rings(sim_outcome_t outcome);

/* A closed range of durations in microseconds. */
typedef struct sim_range {
    int64_t min_us;
    int64_t max_us;
} sim_range_t;

/* Protocol faults. Probabilities are 0..1; durations are real time (they
 * act on HTTP exchanges with the dialer, whose timeouts are real). */
typedef struct sim_faults {
    double http_5xx;     /* POST /call answered 500, nothing placed */
    double timeout;      /* the call is placed, the answer held for timeout_ms */
    int64_t timeout_ms;  /* hold time of a timeout */
    double slow;         /* the call is placed, the answer delayed */
    int64_t slow_min_ms; /* delay of a slow answer: a value in min..max */
    int64_t slow_max_ms;
    double duplicate;       /* a webhook is sent twice */
    double out_of_order;    /* a call's webhooks arrive out of order */
    double lost;            /* a webhook is never sent */
    int64_t max_concurrent; /* calls in flight before 429; 0: no limit */
} sim_faults_t;

/* How many endedReason values one outcome may rotate through. */
#define SIM_REASONS_MAX 8
/* How many `match` lines a file may have. */
#define SIM_RULES_MAX 4096
/* The longest line a rules file may have. */
#define SIM_LINE_MAX 1024
/* Durations above a day are typos, not calls. */
#define SIM_DURATION_MAX_US (24LL * 3600 * 1000000)

typedef struct sim_choice {
    sim_outcome_t outcome;
    double weight; /* > 0 */
} sim_choice_t;

/* One `match` or `assistant` line (or the `default` line): a glob on the
 * E.164 number (or, for `assistant`, on the call's assistantId) and the
 * outcome, or weighted outcomes, of the calls it matches. */
typedef struct sim_rule {
    char *pattern;     /* fnmatch(3) glob; NULL for the default */
    bool by_assistant; /* an `assistant` line: pattern is on the assistantId */
    sim_choice_t choices[SIM_OUTCOME_COUNT];
    size_t nchoices;
    int line; /* where it was written; 0 for the built-in default */
} sim_rule_t;

typedef struct sim_rules {
    uint64_t seed; /* `seed` line; the --seed option wins over it */
    bool seed_set;
    char *goal_variable; /* boolean post-call variable for the human outcomes */
    json_t *data;        /* `data` lines: extra structuredData of human calls (owned) */
    json_t *first_data;  /* `data-first` lines: [{"pattern", "name", "value"}] (owned) */
    bool instant;        /* zero ring and talk time (benchmarks) */
    sim_range_t ring[SIM_OUTCOME_COUNT]; /* until answer, or until the end when unanswered */
    sim_range_t talk[SIM_OUTCOME_COUNT]; /* from answer to end */
    int64_t cost_per_minute;             /* minor units (cents) per minute of talk */
    char *reasons[SIM_OUTCOME_COUNT][SIM_REASONS_MAX];
    size_t nreasons[SIM_OUTCOME_COUNT];
    sim_rule_t *rules; /* `match` and `assistant` lines, first match wins */
    size_t nrules;
    sim_rule_t fallback; /* `default` line, or the built-in mix */
    sim_faults_t faults; /* `fault` and `max-concurrent` lines */
} sim_rules_t;

/* Rules with the built-in defaults (see rules.example). Free with
 * sim_rules_free(). */
sim_rules_t *sim_rules_new(void);
void sim_rules_free(sim_rules_t *rules);

/* Applies the lines of text on top of rules. source names the text in
 * messages ("rules.demo:12: ..."). On a bad line returns OD_ERR_INVALID
 * with the file, line and what is wrong in errbuf; rules may then be
 * partly changed and should be freed. */
int sim_rules_parse(sim_rules_t *rules, const char *text, const char *source, char *errbuf,
                    size_t errlen) OD_WUR;

/* Reads a rules file into new rules (caller frees). */
int sim_rules_load(const char *path, sim_rules_t **out, char *errbuf, size_t errlen) OD_WUR;

/* "90", "90s", "1.5m", "500ms", "2h" into µs; OD_ERR_INVALID otherwise. */
int sim_duration_parse(const char *text, int64_t *out_us) OD_WUR;
/* "5s-30s" or a single duration. */
int sim_range_parse(const char *text, sim_range_t *out) OD_WUR;

/* What happens to one call. */
typedef struct sim_decision {
    sim_outcome_t outcome;
    int64_t ring_us;          /* campaign µs from the POST to the answer, or to the end */
    int64_t talk_us;          /* campaign µs from the answer to the end; 0 if unanswered */
    const char *ended_reason; /* borrowed from the rules; NULL for fail-transient */
    int64_t cost_cents;       /* talk time at cost_per_minute, rounded up to a cent */
    int rule_line;            /* the deciding rule's line; 0 for the built-in default */
} sim_decision_t;

/* Sets on data the `data-first` variables whose pattern matches number
 * (the variables of the first call to a number: sim_call_t.first_to_number). */
void sim_rules_first_data(const sim_rules_t *rules, const char *number, json_t *data);

/* Decides a call from (seed, number, attempt_id). attempt_id may be NULL
 * (then every call to the number decides alike). */
void sim_rules_decide(const sim_rules_t *rules, uint64_t seed, const char *number,
                      const char *attempt_id, sim_decision_t *out);

/* The same for a call placed by assistant_id (the request's assistantId;
 * NULL: no `assistant` line matches). The random choices are the same
 * hashes: only which line decides depends on the assistant. */
void sim_rules_decide_for(const sim_rules_t *rules, uint64_t seed, const char *number,
                          const char *assistant_id, const char *attempt_id, sim_decision_t *out);

/* Faults of one POST /call: nth is how many POSTs with the same key came
 * before (so a retry of the same attempt draws anew, deterministically). */
typedef enum sim_disorder {
    SIM_DISORDER_NONE = 0,
    SIM_DISORDER_REPORT_FIRST, /* end-of-call-report before status-update ended */
    SIM_DISORDER_LATE_ANSWER,  /* status-update in-progress held until after the report */
} sim_disorder_t;

typedef struct sim_request_faults {
    bool http_5xx;
    int64_t delay_ms;        /* before answering; 0 for none */
    bool timeout;            /* delay_ms is a timeout rather than a slow answer */
    sim_disorder_t disorder; /* how the call's webhooks are reordered */
} sim_request_faults_t;
void sim_faults_decide_request(const sim_faults_t *faults, uint64_t seed, const char *key,
                               uint64_t nth, sim_request_faults_t *out);

/* Faults of one webhook of a call: message is the message's kind (0..3). */
typedef struct sim_message_faults {
    bool lost;
    bool duplicate;
} sim_message_faults_t;
void sim_faults_decide_message(const sim_faults_t *faults, uint64_t seed, const char *key,
                               uint64_t nth, int message, sim_message_faults_t *out);

/*
 * Updates faults from a JSON object (POST /sim/faults); absent fields keep
 * their values:
 *   {"http_5xx":P, "timeout":{"p":P,"ms":M}, "slow":{"p":P,"min_ms":A,"max_ms":B},
 *    "duplicate":P, "out_of_order":P, "lost":P, "max_concurrent":N}
 * ("seconds":S is accepted in place of "ms"). On a bad field returns
 * OD_ERR_INVALID naming it, and faults is unchanged.
 */
int sim_faults_update_json(sim_faults_t *faults, const json_t *update, char *errbuf,
                           size_t errlen) OD_WUR;
/* The faults in the same JSON shape (caller json_decref()s). */
json_t *sim_faults_to_json(const sim_faults_t *faults);

/* A value uniform in [0, 1) from (seed, a, b, n, salt); a and b may be
 * NULL. The same inputs give the same value on every run and machine. */
double sim_hash_unit(uint64_t seed, const char *a, const char *b, uint64_t n, const char *salt);
/* The raw 64-bit hash behind sim_hash_unit. */
uint64_t sim_hash64(uint64_t seed, const char *a, const char *b, uint64_t n, const char *salt);

#endif
