/*
 * lead_map.h — from a CSV header and rows to leads: which column is the
 * phone, the name, the timezone, the secondary phones, and which are lead
 * variables; and the decision for one row (a lead, or a rejection with a
 * reason code and a message a user can act on).
 *
 * Pure: no I/O. Numbers are parsed by lib/phone (libphonenumber), zones
 * checked by lib/window (ICU). A lead_map_t is immutable once built and may
 * be shared by threads; each thread maps rows with its own lead_map_ctx_t.
 *
 * Default mapping by header name. Header names are compared
 * case-insensitively with spaces, '-' and '.' read as '_' and runs of them
 * as one ("Phone Number", "phone-number" and " PHONE_NUMBER " are all
 * phone_number). Per field, the first name of its list that some column
 * has wins (then the leftmost such column):
 *
 *   phone            phone, phone_number, phonenumber, number, mobile,
 *                    mobile_number, mobile_phone, cell, cell_phone,
 *                    cellphone, telephone, tel, msisdn, primary_phone
 *   name             name, full_name, fullname, contact_name, customer_name
 *   first_name       first_name, firstname, first, given_name
 *   last_name        last_name, lastname, last, surname, family_name
 *   email            email, e_mail, email_address, mail
 *   timezone         timezone, time_zone, tz
 *   external_id      external_id, externalid, crm_id
 *   state            state, province, region, state_code, province_code
 *                    (the callee's US state, DC or Canadian province:
 *                    docs/compliance.md)
 *   secondary_phone  every column called secondary_phone, secondary_phone_N,
 *                    secondary_number[_N], alternate_phone[_N], alt_phone[_N],
 *                    other_phone or phone_N (N >= 2), in column order
 *
 * An explicit mapping ("phone=Mobile Nr,name=Client") names the column of a
 * field; header names in it match exactly, else as above. Fields it does
 * not name keep their default. A column named there that the file does not
 * have is an error.
 *
 * Lead variables: every column that is not phone, name, timezone,
 * external_id, state or a secondary phone, keyed by its normalized header name
 * ("Company Name" -> company_name; an unnamed column is column_N, a repeated
 * name gets _2, _3). first_name, last_name and email are variables under
 * those names. Values are strings, spaces around them trimmed; an empty
 * cell is an empty string.
 *
 * Name: the name column, else first_name and last_name joined by a space.
 */
#ifndef OUTDIAL_LEAD_MAP_H
#define OUTDIAL_LEAD_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "phone.h"
#include "window.h"

/* Limits of one file's mapping. A lead file with more than 1000 columns is
 * a mistake (a transposed sheet), not leads; 20 secondary contacts per lead
 * is far beyond real use, and contact_order is limited to 100 in the schema. */
#define LEAD_MAP_COLUMNS_MAX   1000
#define LEAD_MAP_SECONDARY_MAX 20

typedef enum lead_field {
    LEAD_FIELD_VARIABLE = 0, /* any other column */
    LEAD_FIELD_PHONE,
    LEAD_FIELD_NAME,
    LEAD_FIELD_FIRST_NAME,
    LEAD_FIELD_LAST_NAME,
    LEAD_FIELD_EMAIL,
    LEAD_FIELD_TIMEZONE,
    LEAD_FIELD_EXTERNAL_ID,
    LEAD_FIELD_STATE,
    LEAD_FIELD_SECONDARY_PHONE,
} lead_field_t;

/* One field -> column pair of an explicit mapping. field is a field name
 * (phone, name, first_name, last_name, email, timezone, external_id, state,
 * secondary_phone, secondary_phone_N). */
typedef struct lead_map_pair {
    char *field;
    char *column;
} lead_map_pair_t;

/* An explicit mapping. */
typedef struct lead_map_spec {
    lead_map_pair_t *pairs;
    size_t n;
} lead_map_spec_t;

/* Parses "field=Column,field=Column" (the CLI's --map; spaces around names
 * are dropped, a column name cannot hold ',' there). Unknown fields and a
 * field given twice are OD_ERR_INVALID. On success *out is freed with
 * lead_map_spec_free(). */
int lead_map_spec_parse(const char *text, lead_map_spec_t **out, char *errbuf,
                        size_t errlen) OD_WUR;

/* The same from a JSON object {"phone": "Column", ...} (import.column_mapping,
 * ImportRequest.column_mapping). */
int lead_map_spec_from_json(const char *json, lead_map_spec_t **out, char *errbuf,
                            size_t errlen) OD_WUR;

/* The mapping as a JSON object text (caller frees), for import.column_mapping. */
char *lead_map_spec_to_json(const lead_map_spec_t *spec);

void lead_map_spec_free(lead_map_spec_t *spec);

typedef struct lead_map lead_map_t;

/* Builds the mapping of a file from its header (n_columns names, lengths in
 * lens, valid UTF-8) and an explicit spec (may be NULL). Errors
 * (OD_ERR_INVALID, message naming the columns the file has): no phone
 * column, a column of the spec not in the header, more than
 * LEAD_MAP_COLUMNS_MAX columns or LEAD_MAP_SECONDARY_MAX secondary phone
 * columns, one column mapped to two fields. Free with lead_map_free(). */
int lead_map_new(const char *const *headers, const size_t *lens, size_t n_columns,
                 const lead_map_spec_t *spec, lead_map_t **out, char *errbuf, size_t errlen) OD_WUR;

void lead_map_free(lead_map_t *map);

size_t lead_map_columns(const lead_map_t *map);
/* The field of column i, and its variable key (NULL when it is not stored
 * as a variable). Borrowed from map. */
lead_field_t lead_map_column_field(const lead_map_t *map, size_t i);
const char *lead_map_column_variable(const lead_map_t *map, size_t i);
/* The header text of column i, trimmed. */
const char *lead_map_column_header(const lead_map_t *map, size_t i);

/* "phone <- 'Phone', name <- 'First Name' + 'Last Name', variables: company, city"
 * for logs and the CLI. Caller frees. */
char *lead_map_describe(const lead_map_t *map);

/* The field name ("phone", "secondary_phone") of f. */
const char *lead_field_name(lead_field_t f);

/* Normalizes a header name as described above into out (outlen bytes,
 * truncated); returns the length written. */
size_t lead_map_normalize(const char *s, size_t len, char *out, size_t outlen);

/* Per-thread scratch for lead_map_row: buffers and a cache of zone names. */
typedef struct lead_map_ctx lead_map_ctx_t;
lead_map_ctx_t *lead_map_ctx_new(void);
void lead_map_ctx_free(lead_map_ctx_t *ctx);

/* One data row as read. */
typedef struct lead_map_input {
    const char *const *fields; /* n_fields texts (NULL when too_long) */
    const size_t *lens;
    size_t n_fields;
    int bad_utf8_field;  /* first field that is not valid UTF-8, or -1 */
    bool too_long;       /* the reader dropped the fields */
    bool unclosed_quote; /* a quote of the row never closed (csv_row_t) */
} lead_map_input_t;

/* Reason codes of rejected rows (import_reject.code; docs/import.md says
 * what each means). Number problems use phone_reason_code(): missing_phone,
 * not_a_number, invalid_country, too_short, too_long, invalid_number. */
#define LEAD_REJECT_BAD_ENCODING      "bad_encoding"
#define LEAD_REJECT_TOO_MANY_COLUMNS  "too_many_columns"
#define LEAD_REJECT_ROW_TOO_LONG      "row_too_long"
#define LEAD_REJECT_UNCLOSED_QUOTE    "unclosed_quote"
#define LEAD_REJECT_INVALID_TIMEZONE  "invalid_timezone"
#define LEAD_REJECT_INVALID_SECONDARY "invalid_secondary_phone"
#define LEAD_REJECT_INVALID_STATE     "invalid_state"

/* A cell of an accepted row that was left out of its lead: a secondary
 * phone that is not a valid number. The row is still a lead (a bad
 * optional cell never costs the user a valid lead); the cell is reported
 * as a reject of its own, with its column. */
typedef struct lead_map_cell_reject {
    size_t column;    /* 0-based column index */
    const char *code; /* LEAD_REJECT_INVALID_SECONDARY */
    char message[256];
} lead_map_cell_reject_t;

/* The lead of one row, or why not. Strings point into the ctx and stay
 * valid until its next lead_map_row call. */
typedef struct lead_map_row {
    /* accepted */
    char e164[PHONE_E164_MAX + 1];
    const char *name;        /* "" when none */
    const char *timezone;    /* canonical IANA name, or NULL */
    const char *external_id; /* NULL when none */
    char state[3];           /* the state column's code, else the number's; "" when none */
    bool state_given;        /* state came from the state column (secondaries share it) */
    const char *variables;   /* a JSON object, compact */
    size_t n_secondary;      /* distinct secondary numbers, in column order */
    char secondary[LEAD_MAP_SECONDARY_MAX][PHONE_E164_MAX + 1];
    /* accepted, without these cells (in column order) */
    size_t n_cell_rejects;
    lead_map_cell_reject_t cell_rejects[LEAD_MAP_SECONDARY_MAX];
    /* rejected */
    const char *code; /* NULL when accepted */
    char message[256];
} lead_map_row_t;

/* Maps one row. region: ISO 3166 alpha-2 for numbers without +country
 * code (may be NULL). Returns true with out filled for a lead, false with
 * out->code and out->message for a rejected row. Checks, in this order:
 * unclosed_quote, row_too_long, bad_encoding, too_many_columns (more non-empty cells than
 * the header has columns; empty extra cells are ignored), the phone
 * (phone_reason_code), the timezone, the state. Then the secondary phones, which never
 * reject the row: a cell that is not a valid number is left out of the
 * lead and listed in out->cell_rejects (invalid_secondary_phone, the
 * message naming the column, the value and why); a secondary number equal
 * to the primary or to an earlier one is dropped silently. */
bool lead_map_row(const lead_map_t *map, lead_map_ctx_t *ctx, const char *region,
                  const lead_map_input_t *in, lead_map_row_t *out);

/* Checks a zone name as a lead's timezone: an IANA name ICU knows, in any
 * letter case; writes the canonical name ("US/Eastern" and
 * "america/new_york" give "America/New_York") into out. Cached in ctx.
 * OD_ERR_INVALID with a message otherwise. */
int lead_map_zone_canonical(lead_map_ctx_t *ctx, const char *zone, size_t len,
                            char out[WINDOW_ZONE_MAX], char *errbuf, size_t errlen) OD_WUR;

/* The same for one NUL-terminated name, without a cache (the API's
 * single lead or assistant). */
int lead_map_zone_canonical_one(const char *zone, char out[WINDOW_ZONE_MAX], char *errbuf,
                                size_t errlen) OD_WUR;

/* A lead's stated state: a US state, DC or Canadian province code of two
 * letters in any case (spaces around ignored), written in capitals to out.
 * false when s is not one. */
bool lead_map_state_canonical(const char *s, size_t len, char out[3]);

/* The state stored on a lead: given (a canonical code) when not NULL or
 * "", else the region of e164's area code (lib/rules/lead_region.h), else
 * "" (toll-free, non-geographic, not +1, no number). */
void lead_map_state_resolve(const char *given, const char *e164, char out[3]);

#endif
