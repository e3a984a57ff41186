#include "sim_rules.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static const char *const outcome_names[SIM_OUTCOME_COUNT] = {
    [SIM_OUTCOME_BUSY] = "busy",
    [SIM_OUTCOME_NO_ANSWER] = "no-answer",
    [SIM_OUTCOME_VOICEMAIL] = "voicemail",
    [SIM_OUTCOME_HUMAN] = "human",
    [SIM_OUTCOME_HUMAN_GOAL] = "human-goal",
    [SIM_OUTCOME_HUMAN_NO_GOAL] = "human-no-goal",
    [SIM_OUTCOME_FAIL_TRANSIENT] = "fail-transient",
    [SIM_OUTCOME_FAIL_PERMANENT] = "fail-permanent",
};

const char *sim_outcome_name(sim_outcome_t outcome)
{
    if ((int)outcome < 0 || outcome >= SIM_OUTCOME_COUNT)
        return "unknown";
    return outcome_names[outcome];
}

int sim_outcome_parse(const char *name, sim_outcome_t *out)
{
    for (int i = 0; i < SIM_OUTCOME_COUNT; i++) {
        if (strcmp(name, outcome_names[i]) == 0) {
            *out = (sim_outcome_t)i;
            return OD_OK;
        }
    }
    return OD_ERR_INVALID;
}

bool sim_outcome_answered(sim_outcome_t outcome)
{
    return outcome == SIM_OUTCOME_VOICEMAIL || outcome == SIM_OUTCOME_HUMAN ||
           outcome == SIM_OUTCOME_HUMAN_GOAL || outcome == SIM_OUTCOME_HUMAN_NO_GOAL;
}

bool sim_outcome_rings(sim_outcome_t outcome)
{
    return outcome != SIM_OUTCOME_FAIL_TRANSIENT && outcome != SIM_OUTCOME_FAIL_PERMANENT;
}

/* --- hashing --- */

/* FNV-1a over the bytes, then a 64-bit avalanche so that nearby inputs
 * (attempt ids differing in one character) give unrelated outputs. */
static uint64_t fnv_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Each field goes in with its length first, so ("ab","c") and ("a","bc")
 * hash differently. */
static uint64_t fnv_field(uint64_t h, const char *s)
{
    uint64_t len = s ? strlen(s) : UINT64_MAX;
    h = fnv_bytes(h, &len, sizeof(len));
    return s ? fnv_bytes(h, s, strlen(s)) : h;
}

static uint64_t avalanche(uint64_t x)
{
    x ^= x >> 31;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

uint64_t sim_hash64(uint64_t seed, const char *a, const char *b, uint64_t n, const char *salt)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv_bytes(h, &seed, sizeof(seed));
    h = fnv_field(h, a);
    h = fnv_field(h, b);
    h = fnv_bytes(h, &n, sizeof(n));
    h = fnv_field(h, salt);
    return avalanche(h);
}

double sim_hash_unit(uint64_t seed, const char *a, const char *b, uint64_t n, const char *salt)
{
    /* 53 bits: every value is an exact double in [0, 1). */
    return (double)(sim_hash64(seed, a, b, n, salt) >> 11) / 9007199254740992.0;
}

/* --- defaults --- */

static void range_set(sim_range_t *r, int64_t min_s, int64_t max_s)
{
    r->min_us = min_s * 1000000;
    r->max_us = max_s * 1000000;
}

static void reasons_set(sim_rules_t *rules, sim_outcome_t o, const char *csv)
{
    for (size_t i = 0; i < rules->nreasons[o]; i++)
        free(rules->reasons[o][i]);
    rules->nreasons[o] = 0;
    const char *p = csv;
    while (*p && rules->nreasons[o] < SIM_REASONS_MAX) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0)
            rules->reasons[o][rules->nreasons[o]++] = xstrndup(p, len);
        p += len + (comma ? 1 : 0);
    }
}

sim_rules_t *sim_rules_new(void)
{
    sim_rules_t *rules = xcalloc(1, sizeof(*rules));
    rules->goal_variable = xstrdup("appointment_booked");
    rules->data = json_object();
    rules->first_data = json_array();
    /* Rings and talks in campaign time, roughly what US outbound calls see:
     * a busy signal within seconds, no answer after about half a minute
     * (carriers give up at 30-45 s), conversations of a few minutes. */
    range_set(&rules->ring[SIM_OUTCOME_BUSY], 1, 4);
    range_set(&rules->ring[SIM_OUTCOME_NO_ANSWER], 25, 40);
    range_set(&rules->ring[SIM_OUTCOME_VOICEMAIL], 10, 25);
    range_set(&rules->ring[SIM_OUTCOME_HUMAN], 3, 15);
    range_set(&rules->ring[SIM_OUTCOME_HUMAN_GOAL], 3, 15);
    range_set(&rules->ring[SIM_OUTCOME_HUMAN_NO_GOAL], 3, 15);
    range_set(&rules->ring[SIM_OUTCOME_FAIL_PERMANENT], 1, 3);
    range_set(&rules->talk[SIM_OUTCOME_VOICEMAIL], 15, 40);
    range_set(&rules->talk[SIM_OUTCOME_HUMAN], 30, 240);
    range_set(&rules->talk[SIM_OUTCOME_HUMAN_GOAL], 60, 300);
    range_set(&rules->talk[SIM_OUTCOME_HUMAN_NO_GOAL], 30, 180);
    rules->cost_per_minute = 10;
    reasons_set(rules, SIM_OUTCOME_BUSY, "customer-busy");
    reasons_set(rules, SIM_OUTCOME_NO_ANSWER, "customer-did-not-answer");
    reasons_set(rules, SIM_OUTCOME_VOICEMAIL, "voicemail");
    reasons_set(rules, SIM_OUTCOME_HUMAN, "customer-ended-call,assistant-ended-call");
    reasons_set(rules, SIM_OUTCOME_HUMAN_GOAL, "assistant-ended-call,customer-ended-call");
    reasons_set(rules, SIM_OUTCOME_HUMAN_NO_GOAL, "customer-ended-call,assistant-ended-call");
    reasons_set(rules, SIM_OUTCOME_FAIL_PERMANENT, "twilio-reported-customer-misdialed");
    /* The built-in mix: what a cold outbound list might give. */
    static const sim_choice_t mix[] = {
        {SIM_OUTCOME_BUSY, 8},           {SIM_OUTCOME_NO_ANSWER, 25},
        {SIM_OUTCOME_VOICEMAIL, 17},     {SIM_OUTCOME_HUMAN_GOAL, 20},
        {SIM_OUTCOME_HUMAN_NO_GOAL, 25}, {SIM_OUTCOME_FAIL_PERMANENT, 3},
        {SIM_OUTCOME_FAIL_TRANSIENT, 2},
    };
    memcpy(rules->fallback.choices, mix, sizeof(mix));
    rules->fallback.nchoices = sizeof(mix) / sizeof(mix[0]);
    rules->faults.timeout_ms = 30000;
    rules->faults.slow_min_ms = 200;
    rules->faults.slow_max_ms = 2000;
    return rules;
}

void sim_rules_free(sim_rules_t *rules)
{
    if (!rules)
        return;
    free(rules->goal_variable);
    json_decref(rules->data);
    json_decref(rules->first_data);
    for (int o = 0; o < SIM_OUTCOME_COUNT; o++)
        for (size_t i = 0; i < rules->nreasons[o]; i++)
            free(rules->reasons[o][i]);
    for (size_t i = 0; i < rules->nrules; i++)
        free(rules->rules[i].pattern);
    free(rules->rules);
    free(rules->fallback.pattern);
    free(rules);
}

/* --- durations --- */

int sim_duration_parse(const char *text, int64_t *out_us)
{
    if (!text || !*text || !(isdigit((unsigned char)*text) || *text == '.'))
        return OD_ERR_INVALID;
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0)
        return OD_ERR_INVALID;
    double scale;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        scale = 1e6;
    else if (strcmp(end, "ms") == 0)
        scale = 1e3;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        scale = 60e6;
    else if (strcmp(end, "h") == 0)
        scale = 3600e6;
    else
        return OD_ERR_INVALID;
    double us = v * scale;
    if (us > (double)SIM_DURATION_MAX_US)
        return OD_ERR_INVALID;
    *out_us = (int64_t)llround(us);
    return OD_OK;
}

int sim_range_parse(const char *text, sim_range_t *out)
{
    /* The separator is the first '-' (durations are never negative). */
    const char *dash = strchr(text, '-');
    sim_range_t r;
    if (!dash) {
        if (sim_duration_parse(text, &r.min_us))
            return OD_ERR_INVALID;
        r.max_us = r.min_us;
    } else {
        char left[64];
        size_t len = (size_t)(dash - text);
        if (len == 0 || len >= sizeof(left))
            return OD_ERR_INVALID;
        memcpy(left, text, len);
        left[len] = '\0';
        if (sim_duration_parse(left, &r.min_us) || sim_duration_parse(dash + 1, &r.max_us))
            return OD_ERR_INVALID;
        if (r.min_us > r.max_us)
            return OD_ERR_INVALID;
    }
    *out = r;
    return OD_OK;
}

/* --- parsing --- */

#define TOKENS_MAX (SIM_OUTCOME_COUNT + 4)

typedef struct line_ctx {
    const char *source;
    int line;
    char *errbuf;
    size_t errlen;
} line_ctx_t;

static int line_fail(const line_ctx_t *ctx, const char *fmt, ...) OD_PRINTF(2, 3);
static int line_fail(const line_ctx_t *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return od_fail(ctx->errbuf, ctx->errlen, OD_ERR_INVALID, "%s:%d: %s", ctx->source, ctx->line,
                   msg);
}

static int parse_probability(const line_ctx_t *ctx, const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double p = strtod(text, &end);
    if (errno || end == text || *end || !(p >= 0.0 && p <= 1.0))
        return line_fail(ctx, "'%s' is not a probability between 0 and 1", text);
    *out = p;
    return OD_OK;
}

static int parse_count(const line_ctx_t *ctx, const char *text, int64_t min, int64_t max,
                       int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return line_fail(ctx, "'%s' is not a whole number in %lld..%lld", text, (long long)min,
                         (long long)max);
    *out = v;
    return OD_OK;
}

static void outcome_list(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < SIM_OUTCOME_COUNT && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", outcome_names[i]);
}

static int parse_outcome(const line_ctx_t *ctx, const char *text, sim_outcome_t *out)
{
    if (sim_outcome_parse(text, out) == OD_OK)
        return OD_OK;
    char names[256];
    outcome_list(names, sizeof(names));
    return line_fail(ctx, "unknown outcome '%s' (one of: %s)", text, names);
}

/* An outcome spec: "busy", or "busy:10 no-answer:20 ...". */
static int parse_spec(const line_ctx_t *ctx, char **tok, int ntok, sim_rule_t *rule)
{
    if (ntok < 1)
        return line_fail(ctx, "an outcome or weighted outcomes (busy:10 voicemail:5 ...) "
                              "must follow");
    rule->nchoices = 0;
    double total = 0;
    for (int i = 0; i < ntok; i++) {
        char *colon = strchr(tok[i], ':');
        if (!colon && ntok > 1)
            return line_fail(ctx, "'%s': give every outcome a weight (outcome:weight)", tok[i]);
        if (colon)
            *colon = '\0';
        sim_outcome_t o = (sim_outcome_t)0;
        int rc = parse_outcome(ctx, tok[i], &o);
        if (rc)
            return rc;
        double w = 1.0;
        if (colon) {
            char *end = NULL;
            errno = 0;
            w = strtod(colon + 1, &end);
            if (errno || end == colon + 1 || *end || !(w >= 0.0) || !isfinite(w))
                return line_fail(ctx, "'%s' is not a weight (a number >= 0)", colon + 1);
        }
        for (size_t j = 0; j < rule->nchoices; j++)
            if (rule->choices[j].outcome == o)
                return line_fail(ctx, "outcome '%s' is given twice", tok[i]);
        if (w > 0) {
            rule->choices[rule->nchoices].outcome = o;
            rule->choices[rule->nchoices].weight = w;
            rule->nchoices++;
        }
        total += w;
    }
    if (!(total > 0))
        return line_fail(ctx, "the weights add up to 0");
    return OD_OK;
}

/* `ring RANGE` / `ring OUTCOME RANGE`, and the same for talk. */
static int parse_durations(const line_ctx_t *ctx, sim_rules_t *rules, bool talk, char **tok,
                           int ntok)
{
    const char *what = talk ? "talk" : "ring";
    if (ntok != 1 && ntok != 2)
        return line_fail(ctx, "%s takes a range (5s-30s), optionally after an outcome", what);
    sim_range_t r;
    if (sim_range_parse(tok[ntok - 1], &r))
        return line_fail(ctx,
                         "'%s' is not a duration range such as 5s-30s, 500ms or 2m-4m "
                         "(at most 24h, smaller bound first)",
                         tok[ntok - 1]);
    sim_range_t *table = talk ? rules->talk : rules->ring;
    if (ntok == 2) {
        sim_outcome_t o = (sim_outcome_t)0;
        int rc = parse_outcome(ctx, tok[0], &o);
        if (rc)
            return rc;
        if (talk && !sim_outcome_answered(o))
            return line_fail(ctx, "%s calls are never answered, so they have no talk time", tok[0]);
        if (o == SIM_OUTCOME_FAIL_TRANSIENT)
            return line_fail(ctx, "fail-transient calls are never placed");
        table[o] = r;
        return OD_OK;
    }
    for (int o = 0; o < SIM_OUTCOME_COUNT; o++) {
        if (talk ? sim_outcome_answered((sim_outcome_t)o) : sim_outcome_rings((sim_outcome_t)o))
            table[o] = r;
    }
    return OD_OK;
}

static int parse_fault(const line_ctx_t *ctx, sim_faults_t *f, char **tok, int ntok)
{
    if (ntok < 2)
        return line_fail(ctx, "fault takes a kind and a probability (fault lost 0.01)");
    const char *kind = tok[0];
    double p = 0;
    int rc = parse_probability(ctx, tok[1], &p);
    if (rc)
        return rc;
    if (strcmp(kind, "timeout") == 0) {
        if (ntok != 3)
            return line_fail(ctx, "fault timeout takes a probability and a duration "
                                  "(fault timeout 0.01 30s)");
        int64_t us = 0;
        if (sim_duration_parse(tok[2], &us) || us < 1000)
            return line_fail(ctx, "'%s' is not a duration of at least 1ms", tok[2]);
        f->timeout = p;
        f->timeout_ms = us / 1000;
        return OD_OK;
    }
    if (strcmp(kind, "slow") == 0) {
        if (ntok != 3)
            return line_fail(ctx, "fault slow takes a probability and a range "
                                  "(fault slow 0.05 200ms-2s)");
        sim_range_t r;
        if (sim_range_parse(tok[2], &r))
            return line_fail(ctx, "'%s' is not a duration range", tok[2]);
        f->slow = p;
        f->slow_min_ms = r.min_us / 1000;
        f->slow_max_ms = r.max_us / 1000;
        return OD_OK;
    }
    if (ntok != 2)
        return line_fail(ctx, "fault %s takes only a probability", kind);
    if (strcmp(kind, "5xx") == 0 || strcmp(kind, "http-5xx") == 0)
        f->http_5xx = p;
    else if (strcmp(kind, "duplicate") == 0)
        f->duplicate = p;
    else if (strcmp(kind, "out-of-order") == 0)
        f->out_of_order = p;
    else if (strcmp(kind, "lost") == 0)
        f->lost = p;
    else
        return line_fail(ctx,
                         "unknown fault '%s' (one of: 5xx, timeout, slow, duplicate, "
                         "out-of-order, lost)",
                         kind);
    return OD_OK;
}

static bool variable_name_ok(const char *s)
{
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* Splits line into whitespace-separated tokens in place; a '#' at the start
 * of a token ends the line. Returns the count, or -1 for too many. */
static int tokenize(char *line, char **tok, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            return n;
        if (n == max)
            return -1;
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
}

/* The next word of *p (ended by a NUL written over the space after it). */
static char *next_word(char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    char *word = *p;
    while (**p && !isspace((unsigned char)**p))
        (*p)++;
    if (**p)
        *(*p)++ = '\0';
    return word;
}

/* `data NAME JSON` and `data-first GLOB NAME JSON` after the command (p):
 * the pattern (with_pattern), the name and the JSON value, which keeps its
 * spaces. *value is new (the caller takes it); usage names the form. */
static int parse_data(const line_ctx_t *ctx, const char *usage, bool with_pattern, char *p,
                      char **pattern, char **name, json_t **value)
{
    *pattern = with_pattern ? next_word(&p) : NULL;
    *name = next_word(&p);
    if ((with_pattern && !**pattern) || !variable_name_ok(*name))
        return line_fail(ctx, "%s", usage);
    json_error_t jerr;
    *value = json_loads(p, JSON_DECODE_ANY, &jerr);
    if (!*value)
        return line_fail(ctx, "%s %s: the value is not JSON (%s)",
                         with_pattern ? "data-first" : "data", *name, jerr.text);
    return OD_OK;
}

void sim_rules_first_data(const sim_rules_t *rules, const char *number, json_t *data)
{
    size_t i;
    json_t *line;
    json_array_foreach(rules->first_data, i, line)
    {
        const char *pattern = json_string_value(json_object_get(line, "pattern"));
        if (number && fnmatch(pattern, number, 0) == 0)
            json_object_set(data, json_string_value(json_object_get(line, "name")),
                            json_object_get(line, "value"));
    }
}

static int parse_line(const line_ctx_t *ctx, sim_rules_t *rules, char *line)
{
    /* `data NAME JSON` keeps the JSON with its spaces: handle it first. */
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    char *pattern, *name;
    json_t *v;
    /* `data-first GLOB NAME JSON`: NAME = JSON in the post-call variables of
     * the first call placed to a number matching GLOB, and of no later one
     * (a callee who asks for something once, such as a callback time). */
    if (strncmp(p, "data-first", 10) == 0 && isspace((unsigned char)p[10])) {
        if (parse_data(ctx,
                       "data-first takes a number pattern, a variable name and a JSON value "
                       "(data-first +1212555017? callback_at \"2026-03-12T15:00\")",
                       true, p + 10, &pattern, &name, &v))
            return OD_ERR_INVALID;
        json_array_append_new(rules->first_data, json_pack("{s:s, s:s, s:o}", "pattern", pattern,
                                                           "name", name, "value", v));
        return OD_OK;
    }
    if (strncmp(p, "data", 4) == 0 && isspace((unsigned char)p[4])) {
        if (parse_data(ctx, "data takes a variable name and a JSON value (data interest \"high\")",
                       false, p + 4, &pattern, &name, &v))
            return OD_ERR_INVALID;
        json_object_set_new(rules->data, name, v);
        return OD_OK;
    }

    char *tok[TOKENS_MAX];
    int ntok = tokenize(line, tok, TOKENS_MAX);
    if (ntok < 0)
        return line_fail(ctx, "too many words on one line");
    if (ntok == 0)
        return OD_OK;
    const char *cmd = tok[0];
    char **args = tok + 1;
    int nargs = ntok - 1;

    if (strcmp(cmd, "seed") == 0) {
        if (nargs != 1)
            return line_fail(ctx, "seed takes one number");
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(args[0], &end, 10);
        if (errno || end == args[0] || *end || args[0][0] == '-')
            return line_fail(ctx, "'%s' is not a seed (0..2^64-1)", args[0]);
        rules->seed = v;
        rules->seed_set = true;
        return OD_OK;
    }
    if (strcmp(cmd, "goal-variable") == 0) {
        if (nargs != 1 || !variable_name_ok(args[0]))
            return line_fail(ctx, "goal-variable takes one name (letters, digits, _ - .)");
        free(rules->goal_variable);
        rules->goal_variable = xstrdup(args[0]);
        return OD_OK;
    }
    if (strcmp(cmd, "instant") == 0) {
        if (nargs != 0)
            return line_fail(ctx, "instant takes nothing");
        rules->instant = true;
        return OD_OK;
    }
    if (strcmp(cmd, "ring") == 0 || strcmp(cmd, "talk") == 0)
        return parse_durations(ctx, rules, cmd[0] == 't', args, nargs);
    if (strcmp(cmd, "cost-per-minute") == 0) {
        if (nargs != 1)
            return line_fail(ctx, "cost-per-minute takes whole minor units (cents)");
        return parse_count(ctx, args[0], 0, 100000, &rules->cost_per_minute);
    }
    if (strcmp(cmd, "reason") == 0) {
        if (nargs != 2)
            return line_fail(ctx, "reason takes an outcome and endedReason values "
                                  "(reason busy customer-busy)");
        sim_outcome_t o = (sim_outcome_t)0;
        int rc = parse_outcome(ctx, args[0], &o);
        if (rc)
            return rc;
        if (o == SIM_OUTCOME_FAIL_TRANSIENT)
            return line_fail(ctx, "fail-transient calls are never placed, so they have no "
                                  "endedReason");
        reasons_set(rules, o, args[1]);
        if (rules->nreasons[o] == 0)
            return line_fail(ctx, "reason %s: no value", args[0]);
        return OD_OK;
    }
    bool by_assistant = strcmp(cmd, "assistant") == 0;
    if (strcmp(cmd, "match") == 0 || by_assistant) {
        if (nargs < 2)
            return line_fail(ctx, by_assistant ? "assistant takes an assistantId pattern and an "
                                                 "outcome (assistant asst-b* human-goal:3 busy:1)"
                                               : "match takes a number pattern and an outcome "
                                                 "(match +1555000* busy)");
        if (rules->nrules == SIM_RULES_MAX)
            return line_fail(ctx, "more than %d match and assistant lines", SIM_RULES_MAX);
        if (!by_assistant && args[0][0] != '+' && args[0][0] != '*' && args[0][0] != '?' &&
            args[0][0] != '[')
            return line_fail(ctx, "'%s' cannot match an E.164 number (they start with '+')",
                             args[0]);
        sim_rule_t rule = {.by_assistant = by_assistant};
        int rc = parse_spec(ctx, args + 1, nargs - 1, &rule);
        if (rc)
            return rc;
        rule.pattern = xstrdup(args[0]);
        rule.line = ctx->line;
        rules->rules = xrealloc(rules->rules, (rules->nrules + 1) * sizeof(*rules->rules));
        rules->rules[rules->nrules++] = rule;
        return OD_OK;
    }
    if (strcmp(cmd, "default") == 0) {
        sim_rule_t rule = {0};
        int rc = parse_spec(ctx, args, nargs, &rule);
        if (rc)
            return rc;
        rule.line = ctx->line;
        rules->fallback = rule;
        return OD_OK;
    }
    if (strcmp(cmd, "fault") == 0)
        return parse_fault(ctx, &rules->faults, args, nargs);
    if (strcmp(cmd, "data") == 0) /* with a name and value it was handled above */
        return line_fail(ctx, "data takes a variable name and a JSON value "
                              "(data interest \"high\")");
    if (strcmp(cmd, "max-concurrent") == 0) {
        if (nargs != 1)
            return line_fail(ctx, "max-concurrent takes a number (0: no limit)");
        return parse_count(ctx, args[0], 0, 10000000, &rules->faults.max_concurrent);
    }
    return line_fail(ctx, "unknown directive '%s'", cmd);
}

int sim_rules_parse(sim_rules_t *rules, const char *text, const char *source, char *errbuf,
                    size_t errlen)
{
    line_ctx_t ctx = {.source = source ? source : "rules", .errbuf = errbuf, .errlen = errlen};
    const char *p = text;
    while (*p) {
        ctx.line++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= SIM_LINE_MAX)
            return line_fail(&ctx, "line longer than %d bytes", SIM_LINE_MAX - 1);
        char line[SIM_LINE_MAX];
        memcpy(line, p, len);
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[len - 1] = '\0';
        int rc = parse_line(&ctx, rules, line);
        if (rc)
            return rc;
        p += len + (nl ? 1 : 0);
    }
    return OD_OK;
}

int sim_rules_load(const char *path, sim_rules_t **out, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    char *text = NULL;
    sim_rules_t *rules = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "rules file %s: %s", path, strerror(errno));
        goto out;
    }
    /* A rules file is a few hundred lines; 4 MiB means a wrong file. */
    const size_t max = 4u << 20;
    text = xmalloc(max + 1);
    size_t len = fread(text, 1, max + 1, fp);
    if (ferror(fp)) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "rules file %s: read error", path);
        goto out;
    }
    if (len > max) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "rules file %s: larger than 4 MiB", path);
        goto out;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "rules file %s: not a text file", path);
        goto out;
    }
    rules = sim_rules_new();
    rc = sim_rules_parse(rules, text, path, errbuf, errlen);
    if (rc == OD_OK) {
        *out = rules;
        rules = NULL; /* now the caller's */
    }
out:
    sim_rules_free(rules);
    free(text);
    if (fp)
        fclose(fp);
    return rc;
}

/* --- decisions --- */

static int64_t range_pick(const sim_range_t *r, double u)
{
    if (r->max_us <= r->min_us)
        return r->min_us;
    /* Whole milliseconds: reports and logs stay readable. */
    int64_t span_ms = (r->max_us - r->min_us) / 1000;
    return r->min_us + (int64_t)(u * (double)(span_ms + 1)) * 1000;
}

static const sim_rule_t *rule_find(const sim_rules_t *rules, const char *number,
                                   const char *assistant_id)
{
    for (size_t i = 0; i < rules->nrules; i++) {
        const sim_rule_t *rule = &rules->rules[i];
        const char *subject = rule->by_assistant ? assistant_id : number;
        if (subject && fnmatch(rule->pattern, subject, 0) == 0)
            return rule;
    }
    return &rules->fallback;
}

void sim_rules_decide(const sim_rules_t *rules, uint64_t seed, const char *number,
                      const char *attempt_id, sim_decision_t *out)
{
    sim_rules_decide_for(rules, seed, number, NULL, attempt_id, out);
}

void sim_rules_decide_for(const sim_rules_t *rules, uint64_t seed, const char *number,
                          const char *assistant_id, const char *attempt_id, sim_decision_t *out)
{
    memset(out, 0, sizeof(*out));
    const sim_rule_t *rule = rule_find(rules, number, assistant_id);
    out->rule_line = rule->line;
    out->outcome = rule->choices[0].outcome;
    if (rule->nchoices > 1) {
        double total = 0;
        for (size_t i = 0; i < rule->nchoices; i++)
            total += rule->choices[i].weight;
        double x = sim_hash_unit(seed, number, attempt_id, 0, "outcome") * total;
        for (size_t i = 0; i < rule->nchoices; i++) {
            out->outcome = rule->choices[i].outcome;
            if (x < rule->choices[i].weight)
                break;
            x -= rule->choices[i].weight;
        }
    }
    sim_outcome_t o = out->outcome;
    if (o == SIM_OUTCOME_FAIL_TRANSIENT)
        return;
    if (!rules->instant) {
        out->ring_us =
            range_pick(&rules->ring[o], sim_hash_unit(seed, number, attempt_id, 0, "ring"));
        if (sim_outcome_answered(o))
            out->talk_us =
                range_pick(&rules->talk[o], sim_hash_unit(seed, number, attempt_id, 0, "talk"));
    }
    if (rules->nreasons[o] > 0) {
        size_t i = (size_t)(sim_hash_unit(seed, number, attempt_id, 0, "reason") *
                            (double)rules->nreasons[o]);
        out->ended_reason = rules->reasons[o][i];
    }
    /* Whole cents, rounded up: what a per-second biller charges. */
    const int64_t us_per_minute = 60LL * 1000000;
    out->cost_cents = (out->talk_us * rules->cost_per_minute + us_per_minute - 1) / us_per_minute;
}

void sim_faults_decide_request(const sim_faults_t *faults, uint64_t seed, const char *key,
                               uint64_t nth, sim_request_faults_t *out)
{
    memset(out, 0, sizeof(*out));
    if (faults->http_5xx > 0 && sim_hash_unit(seed, key, NULL, nth, "5xx") < faults->http_5xx) {
        out->http_5xx = true;
        return;
    }
    if (faults->timeout > 0 && sim_hash_unit(seed, key, NULL, nth, "timeout") < faults->timeout) {
        out->timeout = true;
        out->delay_ms = faults->timeout_ms;
    } else if (faults->slow > 0 && sim_hash_unit(seed, key, NULL, nth, "slow") < faults->slow) {
        sim_range_t ms = {faults->slow_min_ms * 1000, faults->slow_max_ms * 1000};
        out->delay_ms = range_pick(&ms, sim_hash_unit(seed, key, NULL, nth, "slow-ms")) / 1000;
    }
    if (faults->out_of_order > 0 &&
        sim_hash_unit(seed, key, NULL, nth, "disorder") < faults->out_of_order)
        out->disorder = sim_hash_unit(seed, key, NULL, nth, "disorder-kind") < 0.5
                            ? SIM_DISORDER_REPORT_FIRST
                            : SIM_DISORDER_LATE_ANSWER;
}

void sim_faults_decide_message(const sim_faults_t *faults, uint64_t seed, const char *key,
                               uint64_t nth, int message, sim_message_faults_t *out)
{
    memset(out, 0, sizeof(*out));
    char salt[32];
    snprintf(salt, sizeof(salt), "lost-%d", message);
    if (faults->lost > 0 && sim_hash_unit(seed, key, NULL, nth, salt) < faults->lost) {
        out->lost = true;
        return;
    }
    snprintf(salt, sizeof(salt), "dup-%d", message);
    if (faults->duplicate > 0 && sim_hash_unit(seed, key, NULL, nth, salt) < faults->duplicate)
        out->duplicate = true;
}

/* --- faults as JSON --- */

static int json_probability(const json_t *obj, const char *key, const char *field, double *out,
                            char *errbuf, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return OD_OK;
    if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s must be a number between 0 and 1",
                       field);
    *out = json_number_value(v);
    return OD_OK;
}

static int json_count(const json_t *obj, const char *key, const char *field, int64_t min,
                      int64_t max, int64_t *out, char *errbuf, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return OD_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s must be a whole number in %lld..%lld",
                       field, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return OD_OK;
}

static int json_only_keys(const json_t *obj, const char *where, const char *const *allowed,
                          char *errbuf, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, key) == 0;
        if (!ok)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s%s is not a fault setting", where,
                           key);
    }
    return OD_OK;
}

/* A fault given as an object ({"p":P, ...}): checks that obj, the value of
 * name, is an object (shape: what it should look like, for the message)
 * with only the keys allowed, and reads its probability p into *p. */
static int json_fault_object(const json_t *obj, const char *name, const char *shape,
                             const char *const *allowed, double *p, char *errbuf, size_t errlen)
{
    char where[32];
    if (!json_is_object(obj))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s must be an object %s", name, shape);
    snprintf(where, sizeof(where), "%s.", name);
    int rc = json_only_keys(obj, where, allowed, errbuf, errlen);
    if (!rc) {
        snprintf(where, sizeof(where), "%s.p", name);
        rc = json_probability(obj, "p", where, p, errbuf, errlen);
    }
    return rc;
}

int sim_faults_update_json(sim_faults_t *faults, const json_t *update, char *errbuf, size_t errlen)
{
    static const char *const top[] = {"http_5xx",     "timeout", "slow",           "duplicate",
                                      "out_of_order", "lost",    "max_concurrent", NULL};
    static const char *const timeout_keys[] = {"p", "ms", "seconds", NULL};
    static const char *const slow_keys[] = {"p", "min_ms", "max_ms", NULL};
    if (!json_is_object(update))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body must be a JSON object");
    sim_faults_t f = *faults;
    int rc = json_only_keys(update, "", top, errbuf, errlen);
    if (!rc)
        rc = json_probability(update, "http_5xx", "http_5xx", &f.http_5xx, errbuf, errlen);
    if (!rc)
        rc = json_probability(update, "duplicate", "duplicate", &f.duplicate, errbuf, errlen);
    if (!rc)
        rc = json_probability(update, "out_of_order", "out_of_order", &f.out_of_order, errbuf,
                              errlen);
    if (!rc)
        rc = json_probability(update, "lost", "lost", &f.lost, errbuf, errlen);
    if (!rc)
        rc = json_count(update, "max_concurrent", "max_concurrent", 0, 10000000, &f.max_concurrent,
                        errbuf, errlen);
    const json_t *t = json_object_get(update, "timeout");
    if (!rc && t) {
        int64_t seconds = 0;
        rc = json_fault_object(t, "timeout", "{\"p\":P,\"ms\":M}", timeout_keys, &f.timeout, errbuf,
                               errlen);
        if (!rc)
            rc = json_count(t, "ms", "timeout.ms", 1, 3600000, &f.timeout_ms, errbuf, errlen);
        if (!rc)
            rc = json_count(t, "seconds", "timeout.seconds", 1, 3600, &seconds, errbuf, errlen);
        if (!rc && seconds > 0)
            f.timeout_ms = seconds * 1000;
    }
    const json_t *s = json_object_get(update, "slow");
    if (!rc && s) {
        rc = json_fault_object(s, "slow", "{\"p\":P,\"min_ms\":A,\"max_ms\":B}", slow_keys, &f.slow,
                               errbuf, errlen);
        if (!rc)
            rc = json_count(s, "min_ms", "slow.min_ms", 0, 3600000, &f.slow_min_ms, errbuf, errlen);
        if (!rc)
            rc = json_count(s, "max_ms", "slow.max_ms", 0, 3600000, &f.slow_max_ms, errbuf, errlen);
        if (!rc && f.slow_min_ms > f.slow_max_ms)
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "slow.min_ms is above slow.max_ms");
    }
    if (rc)
        return rc;
    *faults = f;
    return OD_OK;
}

json_t *sim_faults_to_json(const sim_faults_t *f)
{
    return json_pack("{s:f, s:{s:f, s:I}, s:{s:f, s:I, s:I}, s:f, s:f, s:f, s:I}", "http_5xx",
                     f->http_5xx, "timeout", "p", f->timeout, "ms", (json_int_t)f->timeout_ms,
                     "slow", "p", f->slow, "min_ms", (json_int_t)f->slow_min_ms, "max_ms",
                     (json_int_t)f->slow_max_ms, "duplicate", f->duplicate, "out_of_order",
                     f->out_of_order, "lost", f->lost, "max_concurrent",
                     (json_int_t)f->max_concurrent);
}
