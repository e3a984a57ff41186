/* Legal calling rules: the shipped pack (rules/us.json) parses and says
 * what docs/compliance.md says; bad packs and overrides get errors naming
 * the entry and field; profiles pick the right entries; and a table of
 * instants (weekdays, Sundays, holidays and their observed days, both DST
 * changes) gets the expected verdict, blocking rules and next allowed
 * instant. A property test then holds the evaluator to its promise over
 * random instants: the next allowed instant is allowed, no minute before it
 * is. Expected instants are local time with their UTC offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_file.h"
#include "legal.h"
#include "test_main.h"
#include "test_rules_support.h"

#define MINUTE_US (60LL * 1000000LL)

static char *pack_text(void)
{
    const char *dir = getenv("OUTDIAL_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/rules/us.json", dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (set OUTDIAL_SOURCE_DIR)", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

static legal_pack_t *pack_load(void)
{
    char *text = pack_text();
    char errbuf[512] = "";
    legal_pack_t *pack = NULL;
    int rc = legal_pack_parse(text, &pack, errbuf, sizeof(errbuf));
    free(text);
    if (rc != OD_OK)
        fail_msg("rules/us.json: %s", errbuf);
    return pack;
}

static void test_shipped_pack(void **state)
{
    (void)state;
    legal_pack_t *pack = pack_load();
    assert_non_null(pack->version);
    assert_string_equal(pack->federal.code, "US");
    for (int d = 0; d < 7; d++) {
        assert_true(pack->federal.hours[d].open);
        assert_int_equal(pack->federal.hours[d].start_min, 8 * 60);
        assert_int_equal(pack->federal.hours[d].end_min, 21 * 60);
    }
    assert_true(pack->federal.n_sources >= 1);
    for (size_t i = 0; i < pack->n_entries; i++) {
        assert_true(pack->entries[i].n_sources >= 1);
        if (i > 0)
            assert_true(strcmp(pack->entries[i - 1].code, pack->entries[i].code) < 0);
    }
    const char *capped[] = {"FL", "OK", "MD"};
    for (size_t i = 0; i < 3; i++) {
        const legal_entry_t *e = legal_pack_find(pack, capped[i]);
        assert_non_null(e);
        assert_int_equal(e->calls_per_24h, 3);
        assert_int_equal(e->hours[0].end_min, 20 * 60);
    }
    const legal_entry_t *ri = legal_pack_find(pack, "RI");
    assert_non_null(ri);
    assert_int_equal(ri->hours[4].start_min, 9 * 60);
    assert_int_equal(ri->hours[4].end_min, 18 * 60);
    assert_int_equal(ri->hours[5].start_min, 10 * 60);
    assert_int_equal(ri->hours[5].end_min, 17 * 60);
    assert_false(ri->hours[6].open);
    assert_true(ri->holidays[HOLIDAY_VICTORY_DAY]);
    const legal_entry_t *la = legal_pack_find(pack, "LA");
    assert_non_null(la);
    assert_false(la->hours[6].open);
    assert_true(la->hours[5].open);
    assert_true(la->holidays[HOLIDAY_MARDI_GRAS]);
    assert_null(legal_pack_find(pack, "TX"));
    legal_pack_free(pack);
    legal_pack_free(NULL);
}

typedef struct bad_case {
    const char *json;
    const char *message; /* a substring of the error */
} bad_case_t;

#define FED                                                                                        \
    "\"federal\":{\"code\":\"US\",\"name\":\"F\",\"hours\":{\"all\":\"08:00-21:00\"},"             \
    "\"sources\":[{\"cite\":\"47 CFR 64.1200\"}]}"
#define HEAD "{\"version\":\"1\",\"updated\":\"2026-12-06\"," FED ","
#define SRC  "\"sources\":[{\"cite\":\"x\"}]"

/* clang-format off */
static const bad_case_t bad_packs[] = {
    {"{", "not JSON"},
    {"[]", "must be a JSON object"},
    {"{\"updated\":\"2026-12-06\"}", "version"},
    {"{\"version\":\"1\",\"updated\":\"Dec 6\"}", "updated"},
    {"{\"version\":\"1\",\"updated\":\"2026-12-06\"}", "federal"},
    {HEAD "\"jurisdictions\":{}}", "jurisdictions"},
    {HEAD "\"jurisdictions\":[{\"code\":\"ZZ\",\"name\":\"Z\"," SRC "}]}", "jurisdictions[0].code"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\"," SRC "}]}", "jurisdictions[0] (FL).name"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"}]}", "(FL).sources"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\",\"sources\":[{\"url\":\"u\"}]}]}",
     "(FL).sources[0].cite"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC ",\"hours\":{\"mon\":\"20:00-08:00\"}}]}",
     "(FL).hours.mon"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC ",\"hours\":{\"monday\":\"closed\"}}]}",
     "(FL).hours.monday"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC ",\"holidays\":[\"boxing_day\"]}]}",
     "(FL).holidays[0]"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC ",\"calls_per_24h\":0}]}",
     "(FL).calls_per_24h"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC ",\"cap\":3}]}", "(FL).cap: unknown"},
    {HEAD "\"jurisdictions\":[{\"code\":\"FL\",\"name\":\"F\"," SRC "},{\"code\":\"FL\",\"name\":\"F\"," SRC "}]}",
     "FL already has an entry"},
};
/* clang-format on */

static void test_bad_packs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_packs) / sizeof(bad_packs[0]); i++) {
        char errbuf[512] = "";
        legal_pack_t *pack = (legal_pack_t *)&errbuf; /* must be reset to NULL */
        int rc = legal_pack_parse(bad_packs[i].json, &pack, errbuf, sizeof(errbuf));
        if (rc != OD_ERR_INVALID || !strstr(errbuf, bad_packs[i].message))
            fail_msg("case %zu: rc %d '%s', want invalid with '%s'", i, rc, errbuf,
                     bad_packs[i].message);
        assert_null(pack);
    }
}

static void test_overrides(void **state)
{
    (void)state;
    legal_pack_t *pack = pack_load();
    char errbuf[512] = "";
    legal_entry_t *ov = NULL;
    size_t n = 0;
    assert_int_equal(legal_overrides_parse(pack,
                                           "[{\"code\":\"FL\",\"hours\":{\"all\":\"10:00-18:00\"},"
                                           "\"calls_per_24h\":2,\"note\":\"counsel said so\"}]",
                                           &ov, &n, errbuf, sizeof(errbuf)),
                     OD_OK);
    assert_int_equal(n, 1);
    assert_true(ov[0].overridden);
    assert_int_equal(ov[0].hours[2].start_min, 10 * 60);
    assert_int_equal(ov[0].calls_per_24h, 2);
    assert_string_equal(ov[0].name, "Florida");
    assert_true(ov[0].n_sources >= 1); /* kept from the pack */
    legal_rules_t rules;
    assert_int_equal(legal_rules_select(pack, LEGAL_PROFILE_US_STATES, "FL", ov, n, &rules, errbuf,
                                        sizeof(errbuf)),
                     OD_OK);
    assert_int_equal(rules.n_entries, 2);
    assert_ptr_equal(rules.entries[1], &ov[0]);
    assert_int_equal(rules.calls_per_24h, 2);
    legal_entries_free(ov, n);

    const bad_case_t bad[] = {
        {"{}", "array"},
        {"[{\"code\":\"TX\"}]", "no entry for TX"},
        {"[{\"code\":\"FL\",\"name\":\"x\"}]", "overrides[0] (FL).name: unknown"},
        {"[{\"code\":\"FL\"},{\"code\":\"FL\"}]", "overridden twice"},
        {"[{\"code\":\"FL\",\"hours\":{\"all\":\"8-20\"}}]", "overrides[0] (FL).hours.all"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errbuf[0] = '\0';
        int rc = legal_overrides_parse(pack, bad[i].json, &ov, &n, errbuf, sizeof(errbuf));
        if (rc == OD_OK || !strstr(errbuf, bad[i].message))
            fail_msg("override %zu: rc %d '%s', want '%s'", i, rc, errbuf, bad[i].message);
        assert_null(ov);
        assert_int_equal(n, 0);
    }
    legal_pack_free(pack);
}

typedef struct select_case {
    legal_profile_t profile;
    const char *jurisdiction;
    int rc;
    size_t n_entries; /* SIZE_MAX: every pack entry and the federal floor */
    int cap;
    bool strictest;
} select_case_t;

static void test_select(void **state)
{
    (void)state;
    /* clang-format off */
    static const select_case_t cases[] = {
        {LEGAL_PROFILE_NONE, "FL", OD_OK, 0, 0, false},
        {LEGAL_PROFILE_US_FEDERAL, "FL", OD_OK, 1, 0, false},
        {LEGAL_PROFILE_US_FEDERAL, NULL, OD_OK, 1, 0, false},
        {LEGAL_PROFILE_US_STATES, "FL", OD_OK, 2, 3, false},
        {LEGAL_PROFILE_US_STATES, "WA", OD_OK, 2, 0, false},
        {LEGAL_PROFILE_US_STATES, "TX", OD_OK, 1, 0, false}, /* no entry: the federal floor */
        {LEGAL_PROFILE_US_STATES, "ON", OD_OK, 1, 0, false},
        {LEGAL_PROFILE_US_STATES, NULL, OD_OK, SIZE_MAX, 3, true},
        {LEGAL_PROFILE_US_STATES, "", OD_OK, SIZE_MAX, 3, true},
        {LEGAL_PROFILE_US_STATES, "XX", OD_ERR_INVALID, 0, 0, false},
        {LEGAL_PROFILE_US_STATES, "fl", OD_ERR_INVALID, 0, 0, false},
    };
    /* clang-format on */
    legal_pack_t *pack = pack_load();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const select_case_t *c = &cases[i];
        char errbuf[256] = "";
        legal_rules_t r;
        int rc = legal_rules_select(pack, c->profile, c->jurisdiction, NULL, 0, &r, errbuf,
                                    sizeof(errbuf));
        size_t want_n = c->n_entries == SIZE_MAX ? pack->n_entries + 1 : c->n_entries;
        if (rc != c->rc || (rc == OD_OK && (r.n_entries != want_n || r.calls_per_24h != c->cap ||
                                            r.strictest != c->strictest)))
            fail_msg("select %zu (%s %s): rc %d n %zu cap %d strictest %d (%s)", i,
                     legal_profile_name(c->profile), c->jurisdiction ? c->jurisdiction : "?", rc,
                     r.n_entries, r.calls_per_24h, r.strictest, errbuf);
        if (rc != OD_OK)
            assert_non_null(strstr(errbuf, c->jurisdiction));
    }
    legal_profile_t p;
    char errbuf[256];
    assert_int_equal(legal_profile_parse("us_states", &p, errbuf, sizeof(errbuf)), OD_OK);
    assert_int_equal(p, LEGAL_PROFILE_US_STATES);
    assert_int_equal(legal_profile_parse("strict", &p, errbuf, sizeof(errbuf)), OD_ERR_INVALID);
    legal_pack_free(pack);
}

typedef struct check_case {
    const char *name;
    legal_profile_t profile;
    const char *jurisdiction; /* NULL: unknown */
    const char *zone;
    const char *at;
    const char *next;   /* == at when allowed */
    const char *blocks; /* "CODE:reason,..." in rule order; "" when allowed */
} check_case_t;

#define STATES  LEGAL_PROFILE_US_STATES
#define FEDERAL LEGAL_PROFILE_US_FEDERAL
#define NY      "America/New_York"
#define CHI     "America/Chicago"

/* Row row of cases/legal_checks.tsv; its strings point into cf. */
static check_case_t check_case_read(const case_file_t *cf, size_t row)
{
    check_case_t c = {.name = case_file_cell(cf, row, 0),
                      .jurisdiction = case_file_cell(cf, row, 2),
                      .zone = case_file_cell(cf, row, 3),
                      .at = case_file_cell(cf, row, 4),
                      .next = case_file_cell(cf, row, 5),
                      .blocks = case_file_cell(cf, row, 6)};
    char errbuf[256];
    if (legal_profile_parse(case_file_cell(cf, row, 1), &c.profile, errbuf, sizeof(errbuf)) !=
        OD_OK)
        fail_msg("%s: %s", c.name, errbuf);
    if (!c.blocks) /* "-": nothing blocks */
        c.blocks = "";
    return c;
}

static void blocks_string(const legal_verdict_t *v, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_blocks; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s:%s", i ? "," : "", v->blocks[i].entry->code,
                 legal_reason_name(v->blocks[i].reason));
    }
}

static void test_checks(void **state)
{
    (void)state;
    static const char *const columns[] = {"name", "profile", "jurisdiction", "zone",
                                          "at",   "next",    "blocks"};
    case_file_t *cf =
        case_file_load("legal_checks", columns, sizeof(columns) / sizeof(columns[0]), 31);
    legal_pack_t *pack = pack_load();
    for (size_t i = 0; i < cf->n_rows; i++) {
        const check_case_t case_row = check_case_read(cf, i);
        const check_case_t *c = &case_row;
        char errbuf[256] = "";
        legal_rules_t rules;
        legal_verdict_t v;
        assert_int_equal(legal_rules_select(pack, c->profile, c->jurisdiction, NULL, 0, &rules,
                                            errbuf, sizeof(errbuf)),
                         OD_OK);
        int64_t at = T(c->at);
        if (legal_check(&rules, c->zone, at, &v, errbuf, sizeof(errbuf)) != OD_OK)
            fail_msg("%s: %s", c->name, errbuf);
        char got[512];
        blocks_string(&v, got, sizeof(got));
        if (strcmp(got, c->blocks) != 0 || v.next_allowed_us != T(c->next) ||
            v.allowed != (c->blocks[0] == '\0'))
            fail_msg("%s: blocks '%s' next %lld, want '%s' next %lld (%s)", c->name, got,
                     (long long)v.next_allowed_us, c->blocks, (long long)T(c->next), c->next);
        for (size_t b = 0; b < v.n_blocks; b++) {
            assert_true(v.blocks[b].clears_us > at);
            assert_true(v.blocks[b].clears_us <= v.next_allowed_us);
        }
    }
    legal_pack_free(pack);
    case_file_free(cf);
}

static void test_check_errors(void **state)
{
    (void)state;
    legal_pack_t *pack = pack_load();
    char errbuf[256];
    legal_rules_t rules;
    legal_verdict_t v;
    assert_int_equal(
        legal_rules_select(pack, STATES, "FL", NULL, 0, &rules, errbuf, sizeof(errbuf)), OD_OK);
    assert_int_equal(legal_check(&rules, "Mars/Olympus", 0, &v, errbuf, sizeof(errbuf)),
                     OD_ERR_INVALID);
    /* An override that closes every day leaves no allowed instant. */
    legal_entry_t *ov = NULL;
    size_t n = 0;
    assert_int_equal(legal_overrides_parse(pack,
                                           "[{\"code\":\"FL\",\"hours\":{\"all\":\"closed\"}}]",
                                           &ov, &n, errbuf, sizeof(errbuf)),
                     OD_OK);
    assert_int_equal(legal_rules_select(pack, STATES, "FL", ov, n, &rules, errbuf, sizeof(errbuf)),
                     OD_OK);
    assert_int_equal(
        legal_check(&rules, NY, T("2026-12-07T12:00-05:00"), &v, errbuf, sizeof(errbuf)),
        OD_ERR_NOT_FOUND);
    legal_entries_free(ov, n);
    legal_pack_free(pack);
}

/* Property: for random instants, zones and jurisdictions, the next allowed
 * instant is allowed, and every minute from the instant up to it is not. */
static void test_next_allowed_property(void **state)
{
    (void)state;
    static const char *const zones[] = {NY,
                                        CHI,
                                        "America/Denver",
                                        "America/Phoenix",
                                        "America/Los_Angeles",
                                        "America/Anchorage",
                                        "Pacific/Honolulu"};
    static const char *const codes[] = {"FL", "OK", "MD", "WA", "RI", "LA", "TX", NULL};
    legal_pack_t *pack = pack_load();
    uint64_t seed = 0x5eed1e6a1ULL;
    const int64_t from = T("2026-01-01T00:00Z"), span = T("2033-01-01T00:00Z") - from;
    for (int i = 0; i < 120; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = seed >> 11;
        const char *zone = zones[r % 7];
        const char *code = codes[(r / 7) % 8];
        legal_profile_t profile = (r / 56) % 4 == 0 ? FEDERAL : STATES;
        int64_t at = from + (int64_t)((r / 224) % (uint64_t)span);
        char errbuf[256];
        legal_rules_t rules;
        legal_verdict_t v, w;
        assert_int_equal(
            legal_rules_select(pack, profile, code, NULL, 0, &rules, errbuf, sizeof(errbuf)),
            OD_OK);
        assert_int_equal(legal_check(&rules, zone, at, &v, errbuf, sizeof(errbuf)), OD_OK);
        assert_int_equal(legal_check(&rules, zone, v.next_allowed_us, &w, errbuf, sizeof(errbuf)),
                         OD_OK);
        if (!w.allowed)
            fail_msg("case %d (%s %s at %lld): next %lld is not allowed", i, code ? code : "?",
                     zone, (long long)at, (long long)v.next_allowed_us);
        assert_true(v.next_allowed_us >= at);
        assert_true(v.next_allowed_us - at < 6LL * 24 * 60 * MINUTE_US);
        int64_t minute = at - (at % MINUTE_US + MINUTE_US) % MINUTE_US;
        for (int64_t t = at; t < v.next_allowed_us; t = (minute += MINUTE_US)) {
            assert_int_equal(legal_check(&rules, zone, t, &w, errbuf, sizeof(errbuf)), OD_OK);
            if (w.allowed)
                fail_msg("case %d (%s %s at %lld): %lld is allowed, before next %lld", i,
                         code ? code : "?", zone, (long long)at, (long long)t,
                         (long long)v.next_allowed_us);
        }
    }
    legal_pack_free(pack);
}

OD_TEST_MAIN(NULL, NULL, test_shipped_pack, test_bad_packs, test_overrides, test_select,
             test_checks, test_check_errors, test_next_allowed_property)
