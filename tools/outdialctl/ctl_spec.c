#include "ctl_spec.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse.h"
#include "window.h"
#include "xmalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- options of each resource --------------------------------------------- */

static const ctl_opt_t account_set_opts[] = {
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the account's name", false, false},
    {"region", CTL_OPT_TEXT, CTL_TO_BODY, "default_region", NULL, "XX",
     "default region of numbers written without +country code (ISO 3166: US, GB, DE)", false,
     false},
    {"quiet-hours", CTL_OPT_WINDOW, CTL_TO_BODY, "quiet_hours_start", "quiet_hours_end",
     "HH:MM-HH:MM|none",
     "hours (callee's local time) outside of which no campaign calls; none: no limit", false, true},
    {"legal-profile", CTL_OPT_TEXT, CTL_TO_BODY, "legal_profile", NULL, "none|us_federal|us_states",
     "the legal calling rules applied (docs/compliance.md)", false, false},
};

static const ctl_opt_t admin_create_opts[] = {
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the account's name", true, false},
    {"balance-minor", CTL_OPT_INT, CTL_TO_BODY, "balance_minor", NULL, "N",
     "opening balance in minor units (cents): 5000 = 50.00", false, false},
    {"region", CTL_OPT_TEXT, CTL_TO_BODY, "default_region", NULL, "XX",
     "default phone region (default US)", false, false},
    {"currency", CTL_OPT_TEXT, CTL_TO_BODY, "currency", NULL, "CUR",
     "ISO 4217 currency (default USD)", false, false},
};

static const ctl_opt_t admin_credit_opts[] = {
    {"amount-minor", CTL_OPT_INT, CTL_TO_BODY, "amount_minor", NULL, "N",
     "amount in minor units (cents) to add; negative takes away", true, false},
};

/* create and set share the options: "required" holds for create; set is a
 * PATCH, which changes only what is given (opt_required). */
static const ctl_opt_t assistant_opts[] = {
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the assistant's name", true, false},
    {"timezone", CTL_OPT_TEXT, CTL_TO_BODY, "timezone", NULL, "ZONE",
     "IANA time zone of the calling window (America/New_York)", true, false},
    {"phone", CTL_OPT_TEXT, CTL_TO_BODY, "outbound_phone_number", NULL, "E164|none",
     "outbound caller-id number (+12125550100); a campaign needs one to start", false, true},
    {"provider", CTL_OPT_TEXT, CTL_TO_BODY, "provider", NULL, "NAME",
     "voice provider (vapi, the default)", false, false},
    {"provider-assistant-id", CTL_OPT_TEXT, CTL_TO_BODY, "provider_assistant_id", NULL, "ID",
     "the provider's id of the assistant", true, false},
    {"provider-phone-number-id", CTL_OPT_TEXT, CTL_TO_BODY, "provider_phone_number_id", NULL,
     "ID|none", "the provider's id of the outbound number", false, true},
    {"var", CTL_OPT_SCHEMA, CTL_TO_BODY, "post_call_schema", NULL, "NAME=TYPE",
     "a post-call variable, TYPE boolean, string or number (repeat; on set, the list replaces "
     "the schema; none empties it)",
     false, true},
};

static const ctl_opt_t caller_id_add_opts[] = {
    {"phone", CTL_OPT_TEXT, CTL_TO_BODY, "phone_number", NULL, "E164",
     "the outbound number (+12125550199, or national in the account's region)", true, false},
    {"provider-phone-number-id", CTL_OPT_TEXT, CTL_TO_BODY, "provider_phone_number_id", NULL, "ID",
     "the provider's id of the number (Vapi's own numbers need it)", false, false},
    {"daily-cap", CTL_OPT_INT, CTL_TO_BODY, "daily_cap", NULL, "N",
     "calls a day from the number, 1-10000 (default none: no cap)", false, false},
    {"timezone", CTL_OPT_TEXT, CTL_TO_BODY, "timezone", NULL, "ZONE",
     "IANA time zone whose midnight starts the number's next day (default: the number's area "
     "code's, else the assistant's)",
     false, false},
};

static const ctl_opt_t campaign_opts[] = {
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the campaign's name", true, false},
    {"assistant", CTL_OPT_TEXT, CTL_TO_BODY, "assistant_id", NULL, "ID", "the assistant that calls",
     true, false},
    {"window", CTL_OPT_WINDOW, CTL_TO_BODY, "window_start", "window_end", "HH:MM-HH:MM",
     "allowed calling hours (default 09:00-18:00; 22:00-02:00 crosses midnight)", false, false},
    {"days", CTL_OPT_DAYS, CTL_TO_BODY, "allowed_days", NULL, "DAYS",
     "allowed days: mon-fri, mon,wed,fri, weekdays, weekends, all (default mon-fri)", false, false},
    {"max-retries", CTL_OPT_INT, CTL_TO_BODY, "max_retries", NULL, "N",
     "retries after the first call, 1-5 (default 3)", false, false},
    {"retry-interval", CTL_OPT_MINUTES, CTL_TO_BODY, "retry_interval_minutes", NULL, "DUR",
     "time between attempts, 10 minutes to 3 days: 60, 90m, 2h, 1d (default 60 minutes)", false,
     false},
    {"retry-on-voicemail", CTL_OPT_BOOL, CTL_TO_BODY, "retry_on_voicemail", NULL, "on|off",
     "call again when voicemail answers (default on)", false, false},
    {"goal", CTL_OPT_TEXT, CTL_TO_BODY, "goal_variable", NULL, "VAR|none",
     "a boolean post-call variable of the assistant that means success", false, true},
    {"goal-based-retry", CTL_OPT_BOOL, CTL_TO_BODY, "goal_based_retry", NULL, "on|off",
     "keep calling until the goal is achieved (needs --goal; default off)", false, false},
    {"timezone-mode", CTL_OPT_TEXT, CTL_TO_BODY, "timezone_mode", NULL, "assistant|lead",
     "whose local time the window is read in (default assistant)", false, false},
    {"max-concurrent", CTL_OPT_INT, CTL_TO_BODY, "max_concurrent_calls", NULL, "N",
     "calls at once, 1-1000 (default 10)", false, false},
    {"calls-per-minute", CTL_OPT_INT, CTL_TO_BODY, "calls_per_minute", NULL, "N|none",
     "calls started per minute, 1-6000 (default none: no limit)", false, true},
    {"max-call-duration", CTL_OPT_SECONDS, CTL_TO_BODY, "max_call_duration_s", NULL, "DUR",
     "longest call, 10s to 12h: 600, 10m (default 10m)", false, false},
    {"callback", CTL_OPT_TEXT, CTL_TO_BODY, "callback_variable", NULL, "VAR|none",
     "a string post-call variable of the assistant: the time a callee asks to be called back",
     false, true},
    {"caller-id-strategy", CTL_OPT_TEXT, CTL_TO_BODY, "caller_id_strategy", NULL,
     "single|local_presence|sticky|round_robin",
     "how a call's number is picked from the assistant's caller-ID pool (default single: the "
     "assistant's number)",
     false, false},
};

static const ctl_opt_t campaign_list_opts[] = {
    {"status", CTL_OPT_TEXT, CTL_TO_QUERY, "status", NULL, "STATUS",
     "only draft, in_progress, paused or completed campaigns", false, false},
    {"archived", CTL_OPT_TEXT, CTL_TO_QUERY, "archived", NULL, "false|true|all",
     "archived campaigns: false (default: leave them out), true (only them) or all", false, false},
};

static const ctl_opt_t lead_add_opts[] = {
    {"phone", CTL_OPT_TEXT, CTL_TO_BODY, "phone", NULL, "NUMBER",
     "the number (+12125550123, or national in the account's region)", true, false},
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the person's name", false, false},
    {"var", CTL_OPT_VAR, CTL_TO_BODY, "variables", NULL, "NAME=VALUE",
     "a variable for the assistant (repeat)", false, false},
    {"timezone", CTL_OPT_TEXT, CTL_TO_BODY, "timezone", NULL, "ZONE",
     "the person's IANA time zone (for --timezone-mode lead)", false, false},
    {"secondary", CTL_OPT_LIST, CTL_TO_BODY, "secondary_phones", NULL, "NUMBER",
     "a secondary contact, called after the primary ends without success (repeat)", false, false},
    {"external-id", CTL_OPT_TEXT, CTL_TO_BODY, "external_id", NULL, "ID",
     "your system's id of the lead", false, false},
    {"state", CTL_OPT_TEXT, CTL_TO_BODY, "state", NULL, "XX",
     "the person's US state or Canadian province (default: from the number)", false, false},
};

static const ctl_opt_t lead_set_opts[] = {
    {"phone", CTL_OPT_TEXT, CTL_TO_BODY, "phone", NULL, "NUMBER", "a corrected number", false,
     false},
    {"name", CTL_OPT_TEXT, CTL_TO_BODY, "name", NULL, "NAME", "the person's name", false, false},
    {"var", CTL_OPT_VAR, CTL_TO_BODY, "variables", NULL, "NAME=VALUE",
     "a variable (repeat; the list replaces the lead's variables)", false, false},
    {"timezone", CTL_OPT_TEXT, CTL_TO_BODY, "timezone", NULL, "ZONE|none",
     "the person's IANA time zone", false, true},
    {"external-id", CTL_OPT_TEXT, CTL_TO_BODY, "external_id", NULL, "ID|none",
     "your system's id of the lead", false, true},
    {"state", CTL_OPT_TEXT, CTL_TO_BODY, "state", NULL, "XX|none",
     "the person's US state or Canadian province; none: from the number", false, true},
};

static const ctl_opt_t lead_list_opts[] = {
    {"status", CTL_OPT_TEXT, CTL_TO_QUERY, "status", NULL, "STATUS",
     "created, scheduled, processing, completed, rescheduled or max_retries", false, false},
    {"outcome", CTL_OPT_TEXT, CTL_TO_QUERY, "outcome", NULL, "OUTCOME",
     "goal_achieved, answered, voicemail, exhausted, permanent_failure, dnc or manual", false,
     false},
    {"invalid", CTL_OPT_FLAG, CTL_TO_QUERY, "invalid", NULL, NULL,
     "only leads whose number is invalid", false, false},
};

static const ctl_opt_t lead_contact_opts[] = {
    {"phone", CTL_OPT_LIST, CTL_TO_BODY, "secondary_phones", NULL, "NUMBER",
     "a secondary contact's number (repeat for several, in calling order)", true, false},
};

static const ctl_opt_t import_opts[] = {
    {"map", CTL_OPT_MAP, CTL_TO_QUERY, "map", NULL, "FIELD=COLUMN",
     "the CSV column of a field: phone, name, first_name, last_name, email, timezone, "
     "external_id, secondary_phone[_N] (repeat, or join with ',')",
     false, false},
    {"region", CTL_OPT_TEXT, CTL_TO_QUERY, "region", NULL, "XX",
     "region of numbers without +country code (default: the account's)", false, false},
    {"no-wait", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "return once the file is uploaded, without following the import", false, false},
    {"timeout", CTL_OPT_SECONDS, CTL_TO_LOCAL, NULL, NULL, "DUR",
     "stop following after this long (exit 1; the import goes on): 90, 5m", false, false},
};

static const ctl_opt_t rejects_opts[] = {
    {"csv", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "the rows as CSV (row, reason and the original columns), to fix and upload again", false,
     false},
};

static const ctl_opt_t export_opts[] = {
    {"leads", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "every lead: status, outcome, attempts, last call, goal, post-call variables", false, false},
    {"calls", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "every call: status, answered_by, times, duration, cost, post-call variables", false, false},
};

static const ctl_opt_t calls_opts[] = {
    {"lead", CTL_OPT_TEXT, CTL_TO_LOCAL, NULL, NULL, "LEAD",
     "the calls of one lead instead of a campaign", false, false},
    {"status", CTL_OPT_TEXT, CTL_TO_QUERY, "status", NULL, "STATUS",
     "only calls with this status (completed, busy, unanswered, failed, skipped, ...)", false,
     false},
};

static const ctl_opt_t dnc_add_opts[] = {
    {"reason", CTL_OPT_TEXT, CTL_TO_BODY, "reason", NULL, "TEXT",
     "why the numbers must not be called (kept with each)", false, false},
};

static const ctl_opt_t dnc_import_opts[] = {
    {"list-date", CTL_OPT_TEXT, CTL_TO_LOCAL, NULL, NULL, "YYYY-MM-DD",
     "the date of the list (the registry's download date)", true, false},
    {"registry", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "the national registry's list (else the account's own)", false, false},
};

static const ctl_opt_t watch_opts[] = {
    {"interval-ms", CTL_OPT_INT, CTL_TO_LOCAL, NULL, NULL, "MS",
     "time between redraws in milliseconds (default 1000)", false, false},
    {"once", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL, "draw once and exit", false, false},
    {"until-complete", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL,
     "for scripts: exit 0 when the campaign is completed (the default stop), 1 when --timeout "
     "runs out first",
     false, false},
    {"timeout", CTL_OPT_SECONDS, CTL_TO_LOCAL, NULL, NULL, "DUR",
     "give up after this long (exit 1): 90, 5m", false, false},
};

static const ctl_opt_t recount_opts[] = {
    {"fix", CTL_OPT_FLAG, CTL_TO_BODY, "fix", NULL, NULL,
     "replace the counters by the recount (lists what it repaired; exit 0)", false, false},
};

/* ---- the commands --------------------------------------------------------------- */

#define OPTS(a) a, N(a)
#define NO_OPTS NULL, 0

const ctl_cmd_t ctl_commands[] = {
    /* account */
    {"account", NULL, "", 0, 0, "show the account: balance, currency, region, quiet hours", "GET",
     "/v1/account", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl account"},
    {"account", "set", "", 0, 0,
     "change the account's name, default region, quiet hours or legal profile", "PATCH",
     "/v1/account", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true,
     OPTS(account_set_opts), "outdialctl account set --region US --quiet-hours 08:00-21:00"},
    {"account", "legal-rules", "", 0, 0,
     "the legal profile and the effective rules of each jurisdiction", "GET",
     "/v1/account/legal-rules", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT,
     false, NO_OPTS, "outdialctl account legal-rules --json"},
    {"account", "rotate-webhook-secret", "", 0, 0,
     "replace the account's webhook secret; the new one is shown this once", "POST",
     "/v1/account/webhook-secret/rotate", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST,
     CTL_VIEW_OBJECT, false, NO_OPTS, "outdialctl account rotate-webhook-secret"},
    {"admin", "account-create", "", 0, 0, "create an account and its first API key (admin)", "POST",
     "/v1/admin/accounts", NULL, NULL, NULL, CTL_AUTH_ADMIN, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true,
     OPTS(admin_create_opts), "outdialctl admin account-create --name Acme --balance-minor 10000"},
    {"admin", "credit", "ACCOUNT", 1, 1, "add to (or take from) an account's balance (admin)",
     "POST", "/v1/admin/accounts/{0}/credit", NULL, NULL, NULL, CTL_AUTH_ADMIN, CTL_RUN_REQUEST,
     CTL_VIEW_OBJECT, true, OPTS(admin_credit_opts),
     "outdialctl admin credit 6f1c...-... --amount-minor 5000"},
    /* assistants */
    {"assistant", "create", "", 0, 0, "create an assistant", "POST", "/v1/assistants", NULL, NULL,
     NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true, OPTS(assistant_opts),
     "outdialctl assistant create --name Bot --timezone America/New_York --phone +12125550100 "
     "--provider-assistant-id A --provider-phone-number-id P --var appointment_booked=boolean"},
    {"assistant", "list", "", 0, 0, "list the assistants", "GET", "/v1/assistants", NULL, NULL,
     NULL, CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_ASSISTANTS, false, NO_OPTS,
     "outdialctl assistant list"},
    {"assistant", "get", "ASSISTANT", 1, 1, "show an assistant", "GET", "/v1/assistants/{0}", NULL,
     NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false, NO_OPTS,
     "outdialctl assistant get 0b6e...-..."},
    {"assistant", "set", "ASSISTANT", 1, 1, "change an assistant", "PATCH", "/v1/assistants/{0}",
     NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true, OPTS(assistant_opts),
     "outdialctl assistant set 0b6e...-... --phone +12125550101"},
    {"assistant", "delete", "ASSISTANT", 1, 1, "delete an assistant no campaign uses", "DELETE",
     "/v1/assistants/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl assistant delete 0b6e...-..."},
    {"assistant", "caller-ids", "ASSISTANT", 1, 1,
     "list an assistant's caller-ID pool: the numbers a campaign's strategy calls from", "GET",
     "/v1/assistants/{0}/caller-ids", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST,
     CTL_VIEW_CALLER_IDS, false, NO_OPTS, "outdialctl assistant caller-ids 0b6e...-..."},
    {"assistant", "add-caller-id", "ASSISTANT", 1, 1,
     "add a number to an assistant's caller-ID pool (at most 32)", "POST",
     "/v1/assistants/{0}/caller-ids", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST,
     CTL_VIEW_OBJECT, true, OPTS(caller_id_add_opts),
     "outdialctl assistant add-caller-id 0b6e...-... --phone +12125550199 "
     "--provider-phone-number-id pn_789 --daily-cap 100 --timezone America/New_York"},
    {"assistant", "remove-caller-id", "ASSISTANT NUMBER", 2, 2,
     "remove a number from an assistant's caller-ID pool", "DELETE",
     "/v1/assistants/{0}/caller-ids/{1}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST,
     CTL_VIEW_OBJECT, false, NO_OPTS,
     "outdialctl assistant remove-caller-id 0b6e...-... +12125550199"},
    /* campaigns */
    {"campaign", "create", "", 0, 0, "create a campaign (draft) with its schedule and retries",
     "POST", "/v1/campaigns", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN,
     true, OPTS(campaign_opts),
     "outdialctl campaign create --name X --assistant ID --window 09:00-18:00 --days mon-fri "
     "--max-retries 3 --retry-interval 60 --retry-on-voicemail on --goal appointment_booked "
     "--goal-based-retry on --timezone-mode lead --max-concurrent 20"},
    {"campaign", "list", "", 0, 0, "list the campaigns", "GET", "/v1/campaigns", NULL, NULL, NULL,
     CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_CAMPAIGNS, false, OPTS(campaign_list_opts),
     "outdialctl campaign list --status in_progress --archived all"},
    {"campaign", "get", "CAMPAIGN", 1, 1, "show a campaign and its settings", "GET",
     "/v1/campaigns/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN, false,
     NO_OPTS, "outdialctl campaign get 3d2f...-..."},
    {"campaign", "set", "CAMPAIGN", 1, 1,
     "change a campaign's name, or its settings while draft or paused", "PATCH",
     "/v1/campaigns/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN, true,
     OPTS(campaign_opts), "outdialctl campaign set 3d2f...-... --max-retries 2"},
    {"campaign", "start", "CAMPAIGN", 1, 1,
     "start a draft campaign (refused with every unmet requirement)", "POST",
     "/v1/campaigns/{0}/start", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN,
     false, NO_OPTS, "outdialctl campaign start 3d2f...-..."},
    {"campaign", "pause", "CAMPAIGN", 1, 1, "pause a running campaign", "POST",
     "/v1/campaigns/{0}/pause", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN,
     false, NO_OPTS, "outdialctl campaign pause 3d2f...-..."},
    {"campaign", "resume", "CAMPAIGN", 1, 1, "resume a paused or completed campaign", "POST",
     "/v1/campaigns/{0}/resume", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_CAMPAIGN,
     false, NO_OPTS, "outdialctl campaign resume 3d2f...-..."},
    {"campaign", "archive", "CAMPAIGN", 1, 1,
     "archive a completed campaign: left out of the list, kept whole and readable", "POST",
     "/v1/campaigns/{0}/archive", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST,
     CTL_VIEW_CAMPAIGN, false, NO_OPTS, "outdialctl campaign archive 3d2f...-..."},
    {"campaign", "delete", "CAMPAIGN", 1, 1, "delete a draft campaign with its leads", "DELETE",
     "/v1/campaigns/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl campaign delete 3d2f...-..."},
    {"campaign", "stats", "CAMPAIGN", 1, 1, "lead, call, goal and spend statistics", "GET",
     "/v1/campaigns/{0}/stats", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_STATS,
     false, NO_OPTS, "outdialctl campaign stats 3d2f...-..."},
    {"stats", "recount", "CAMPAIGN", 1, 1,
     "counters of a campaign's statistics that differ from a recount (exit 1 if any) (admin)",
     "POST", "/v1/admin/campaigns/{0}/recount", NULL, NULL, NULL, CTL_AUTH_ADMIN, CTL_RUN_REQUEST,
     CTL_VIEW_RECOUNT, true, OPTS(recount_opts), "outdialctl stats recount 3d2f...-... --fix"},
    /* leads */
    {"lead", "add", "CAMPAIGN", 1, 1,
     "add a lead (or many with --data '[...]') with its secondary contacts", "POST",
     "/v1/campaigns/{0}/leads", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT,
     true, OPTS(lead_add_opts),
     "outdialctl lead add 3d2f...-... --phone +12125550123 --name 'Ann Lee' --var "
     "company=Acme --timezone America/Chicago --secondary +12125550124"},
    {"lead", "list", "CAMPAIGN", 1, 1, "list a campaign's leads", "GET", "/v1/campaigns/{0}/leads",
     NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_LEADS, false, OPTS(lead_list_opts),
     "outdialctl lead list 3d2f...-... --status created"},
    {"lead", "get", "LEAD", 1, 1, "show a lead", "GET", "/v1/leads/{0}", NULL, NULL, NULL,
     CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false, NO_OPTS,
     "outdialctl lead get 9a7c...-..."},
    {"lead", "set", "LEAD", 1, 1, "correct a lead's phone, name, time zone or variables", "PATCH",
     "/v1/leads/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true,
     OPTS(lead_set_opts), "outdialctl lead set 9a7c...-... --phone +12125550199"},
    {"lead", "why", "LEAD", 1, 1,
     "why a lead is not called now: every rule holding it back and when it clears", "GET",
     "/v1/leads/{0}/eligibility", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_WHY,
     false, NO_OPTS, "outdialctl lead why 9a7c...-..."},
    {"lead", "delete", "LEAD", 1, 1, "remove a lead that has no calls", "DELETE", "/v1/leads/{0}",
     NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false, NO_OPTS,
     "outdialctl lead delete 9a7c...-..."},
    {"lead", "reset", "LEAD", 1, 1, "set a lead to created: attempts 0, due now", "POST",
     "/v1/leads/{0}/reset", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl lead reset 9a7c...-..."},
    {"lead", "complete", "LEAD", 1, 1, "set a lead to completed: no further calls", "POST",
     "/v1/leads/{0}/complete", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT,
     false, NO_OPTS, "outdialctl lead complete 9a7c...-..."},
    {"lead", "add-contact", "LEAD", 1, 1, "add secondary contacts to a primary lead", "POST",
     "/v1/leads/{0}/contacts", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT,
     true, OPTS(lead_contact_opts), "outdialctl lead add-contact 9a7c...-... --phone +12125550125"},
    /* imports */
    {"import", NULL, "CAMPAIGN FILE", 2, 2,
     "upload a CSV file of leads (streamed) and follow the import to its summary", "POST",
     "/v1/campaigns/{0}/imports", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_IMPORT, CTL_VIEW_IMPORT,
     false, OPTS(import_opts),
     "outdialctl import 3d2f...-... leads.csv --map phone='Mobile Nr' --region US"},
    {"import", "list", "CAMPAIGN", 1, 1, "list a campaign's imports", "GET",
     "/v1/campaigns/{0}/imports", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_IMPORTS,
     false, NO_OPTS, "outdialctl import list 3d2f...-..."},
    {"import", "status", "IMPORT", 1, 1, "an import's status, counts and progress", "GET",
     "/v1/imports/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_IMPORT, false,
     NO_OPTS, "outdialctl import status 1c0b...-..."},
    {"import", "rejects", "IMPORT", 1, 1, "an import's rejected rows with the reasons", "GET",
     "/v1/imports/{0}/rejects", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_REJECTS,
     false, OPTS(rejects_opts), "outdialctl import rejects 1c0b...-... --csv > rejects.csv"},
    /* calls */
    {"calls", NULL, "[CAMPAIGN]", 0, 1, "list a campaign's calls, or a lead's with --lead", "GET",
     "/v1/campaigns/{0}/calls", "lead", "/v1/leads/{0}/calls", NULL, CTL_AUTH_KEY, CTL_RUN_LIST,
     CTL_VIEW_CALLS, false, OPTS(calls_opts), "outdialctl calls 3d2f...-..."},
    {"call", "get", "CALL", 1, 1, "show one call (attempt) with its status history", "GET",
     "/v1/calls/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl call get 5e1a...-..."},
    /* do-not-call list */
    {"dnc", "add", "NUMBER...", 1, CTL_POS_MAX, "add numbers to the do-not-call list", "POST",
     "/v1/dnc", NULL, NULL, "phone", CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, true,
     OPTS(dnc_add_opts), "outdialctl dnc add +12125550123 +12125550124 --reason 'asked on call'"},
    {"dnc", "remove", "NUMBER", 1, 1, "remove a number from the do-not-call list", "DELETE",
     "/v1/dnc/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl dnc remove +12125550123"},
    {"dnc", "list", "", 0, 0, "list the do-not-call list", "GET", "/v1/dnc", NULL, NULL, NULL,
     CTL_AUTH_KEY, CTL_RUN_LIST, CTL_VIEW_DNC, false, NO_OPTS, "outdialctl dnc list"},
    {"dnc", "import", "FILE", 1, 1,
     "add a file of numbers (one a line, or the registry's AAA,NNNNNNN) to the do-not-call list",
     "POST", "/v1/dnc/imports", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_DNC_IMPORT, CTL_VIEW_OBJECT,
     false, OPTS(dnc_import_opts),
     "outdialctl dnc import registry-2026-12-01.txt --list-date 2026-12-01 --registry"},
    {"dnc", "registry", "", 0, 0, "whether the national registry scrub is due", "GET",
     "/v1/dnc/registry", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl dnc registry"},
    {"dnc", "check", "NUMBER", 1, 1, "whether a number is on the do-not-call list", "GET",
     "/v1/dnc/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_REQUEST, CTL_VIEW_OBJECT, false,
     NO_OPTS, "outdialctl dnc check +12125550123"},
    /* live view */
    {"watch", NULL, "CAMPAIGN", 1, 1,
     "redraw a campaign's status, leads, calls, goal and spend until it completes", "GET",
     "/v1/campaigns/{0}", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_WATCH, CTL_VIEW_STATS, false,
     OPTS(watch_opts), "outdialctl watch 3d2f...-..."},
    {"export", NULL, "CAMPAIGN", 1, 1,
     "a campaign's leads (--leads) or calls (--calls) as CSV, streamed to stdout", "GET",
     "/v1/campaigns/{0}/leads.csv", NULL, NULL, NULL, CTL_AUTH_KEY, CTL_RUN_EXPORT, CTL_VIEW_OBJECT,
     false, OPTS(export_opts), "outdialctl export 3d2f...-... --leads > leads.csv"},
};

const size_t ctl_n_commands = N(ctl_commands);

/* Options every list command takes. */
static const ctl_opt_t list_opts[] = {
    {"limit", CTL_OPT_INT, CTL_TO_QUERY, "limit", NULL, "N", "rows per page, 1-1000 (default 100)",
     false, false},
    {"cursor", CTL_OPT_TEXT, CTL_TO_QUERY, "cursor", NULL, "CURSOR",
     "start after this row (next_cursor of the previous page)", false, false},
    {"all", CTL_OPT_FLAG, CTL_TO_LOCAL, NULL, NULL, NULL, "follow next_cursor to the last page",
     false, false},
};

/* Options of commands with a JSON body. */
static const ctl_opt_t data_opt = {
    "data",
    CTL_OPT_TEXT,
    CTL_TO_LOCAL,
    NULL,
    NULL,
    "JSON|@FILE|-",
    "send this JSON as the body instead of the options (@FILE reads a file, - stdin)",
    false,
    false};

/* ---- option lookup ------------------------------------------------------------------ */

/* The i-th option a command takes: its own, then the list options, then
 * --data. NULL past the end. */
static const ctl_opt_t *cmd_opt(const ctl_cmd_t *cmd, size_t i)
{
    if (i < cmd->n_opts)
        return &cmd->opts[i];
    i -= cmd->n_opts;
    if (cmd->run == CTL_RUN_LIST) {
        if (i < N(list_opts))
            return &list_opts[i];
        i -= N(list_opts);
    }
    if (cmd->body && i == 0)
        return &data_opt;
    return NULL;
}

static int opt_index(const ctl_cmd_t *cmd, const char *name, size_t len)
{
    const ctl_opt_t *o;
    for (size_t i = 0; (o = cmd_opt(cmd, i)) != NULL; i++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Whether o must be given to cmd: a PATCH changes only what is given. */
static bool opt_required(const ctl_cmd_t *cmd, const ctl_opt_t *o)
{
    return o->required && strcmp(cmd->method, "PATCH") != 0;
}

static bool opt_repeats(const ctl_opt_t *o)
{
    return o->kind == CTL_OPT_VAR || o->kind == CTL_OPT_SCHEMA || o->kind == CTL_OPT_LIST ||
           o->kind == CTL_OPT_MAP;
}

const char *const *ctl_args_values(const ctl_args_t *args, const char *name, size_t *n)
{
    *n = 0;
    if (!args->cmd)
        return NULL;
    int i = opt_index(args->cmd, name, strlen(name));
    if (i < 0 || i >= CTL_OPTS_MAX)
        return NULL;
    *n = args->n_vals[i];
    return args->vals[i];
}

const char *ctl_args_value(const ctl_args_t *args, const char *name)
{
    size_t n = 0;
    const char *const *v = ctl_args_values(args, name, &n);
    return n ? v[n - 1] : NULL;
}

int ctl_args_timeout_ms(const ctl_args_t *args, int64_t *timeout_ms, char *errbuf, size_t errlen)
{
    *timeout_ms = 0;
    const char *timeout = ctl_args_value(args, "timeout");
    if (!timeout)
        return OD_OK;
    char why[512];
    int64_t s = 0;
    int rc = ctl_duration_parse(timeout, 1, &s, why, sizeof(why));
    if (rc != OD_OK)
        return od_fail(errbuf, errlen, rc, "--timeout: %s", why);
    *timeout_ms = s * 1000;
    return OD_OK;
}

bool ctl_args_has(const ctl_args_t *args, const char *name)
{
    size_t n = 0;
    (void)ctl_args_values(args, name, &n);
    return n > 0;
}

void ctl_args_drop(ctl_args_t *args, const char *name)
{
    if (!args->cmd)
        return;
    int i = opt_index(args->cmd, name, strlen(name));
    if (i >= 0 && i < CTL_OPTS_MAX)
        args->n_vals[i] = 0; /* the array is freed by ctl_args_free */
}

char *ctl_cmd_words(const ctl_cmd_t *cmd)
{
    return cmd->name ? xasprintf("%s %s", cmd->group, cmd->name) : xstrdup(cmd->group);
}

/* ---- argv ---------------------------------------------------------------------------- */

/* The global options; *takes_value says whether one follows. */
static bool global_opt(const char *arg, size_t len, bool *takes_value)
{
    static const char *const with_value[] = {"url", "key", "admin-token"};
    static const char *const flags[] = {"json", "help", "quiet"};
    for (size_t i = 0; i < N(with_value); i++) {
        if (strlen(with_value[i]) == len && strncmp(arg, with_value[i], len) == 0) {
            *takes_value = true;
            return true;
        }
    }
    for (size_t i = 0; i < N(flags); i++) {
        if (strlen(flags[i]) == len && strncmp(arg, flags[i], len) == 0) {
            *takes_value = false;
            return true;
        }
    }
    return false;
}

static void global_set(ctl_args_t *args, const char *name, size_t len, const char *value)
{
    if (len == 3 && strncmp(name, "url", 3) == 0)
        args->url = value;
    else if (len == 3 && strncmp(name, "key", 3) == 0)
        args->key = value;
    else if (len == 11 && strncmp(name, "admin-token", 11) == 0)
        args->admin_token = value;
    else if (len == 4 && strncmp(name, "json", 4) == 0)
        args->json = true;
    else if (len == 4 && strncmp(name, "help", 4) == 0)
        args->help = true;
    else if (len == 5 && strncmp(name, "quiet", 5) == 0)
        args->quiet = true;
}

static bool group_known(const char *word)
{
    for (size_t i = 0; i < ctl_n_commands; i++)
        if (strcmp(ctl_commands[i].group, word) == 0)
            return true;
    return false;
}

/* The command named by words[0] and maybe words[1]; *used is how many of
 * the words name it. */
static const ctl_cmd_t *cmd_find(const char *const *words, size_t n_words, size_t *used)
{
    if (n_words == 0)
        return NULL;
    const ctl_cmd_t *own = NULL;
    for (size_t i = 0; i < ctl_n_commands; i++) {
        const ctl_cmd_t *c = &ctl_commands[i];
        if (strcmp(c->group, words[0]) != 0)
            continue;
        if (!c->name)
            own = c;
        else if (n_words > 1 && strcmp(c->name, words[1]) == 0) {
            *used = 2;
            return c;
        }
    }
    *used = 1;
    return own;
}

/* Checks one value against its option's kind, so a bad value is a usage
 * error before anything is sent. */
static int value_check(const ctl_opt_t *o, const char *v, char *errbuf, size_t errlen)
{
    char why[256];
    int rc = OD_OK;
    if (o->nullable && ctl_is_none(v))
        return OD_OK;
    int64_t n;
    unsigned days;
    bool b;
    char k[128], s[6], e[6];
    const char *val;
    switch (o->kind) {
    case CTL_OPT_INT:
        rc = ctl_int_parse(v, INT64_MIN, INT64_MAX, &n, why, sizeof(why));
        break;
    case CTL_OPT_BOOL:
        rc = ctl_bool_parse(v, &b, why, sizeof(why));
        break;
    case CTL_OPT_DAYS:
        rc = ctl_days_parse(v, &days, why, sizeof(why));
        break;
    case CTL_OPT_WINDOW:
        rc = ctl_window_parse(v, s, e, NULL, NULL, why, sizeof(why));
        break;
    case CTL_OPT_MINUTES:
        rc = ctl_minutes_parse(v, &n, why, sizeof(why));
        break;
    case CTL_OPT_SECONDS:
        rc = ctl_duration_parse(v, 1, &n, why, sizeof(why));
        break;
    case CTL_OPT_VAR:
        rc = ctl_kv_split(v, k, sizeof(k), &val, why, sizeof(why));
        break;
    case CTL_OPT_SCHEMA:
        rc = ctl_kv_split(v, k, sizeof(k), &val, why, sizeof(why));
        if (rc == OD_OK && strcmp(val, "boolean") != 0 && strcmp(val, "string") != 0 &&
            strcmp(val, "number") != 0)
            rc = od_fail(why, sizeof(why), OD_ERR_INVALID,
                         "'%s': the type must be boolean, string or number", v);
        break;
    case CTL_OPT_MAP: {
        /* "phone=Mobile,name=Client": every part is FIELD=COLUMN. */
        char *copy = xstrdup(v);
        char *save = NULL;
        bool any = false;
        for (char *part = strtok_r(copy, ",", &save); part && rc == OD_OK;
             part = strtok_r(NULL, ",", &save)) {
            rc = ctl_kv_split(part, k, sizeof(k), &val, why, sizeof(why));
            if (rc == OD_OK && !*val)
                rc = od_fail(why, sizeof(why), OD_ERR_INVALID, "'%s' names no column", part);
            any = true;
        }
        if (rc == OD_OK && !any)
            rc = od_fail(why, sizeof(why), OD_ERR_INVALID, "'%s' is not FIELD=COLUMN", v);
        free(copy);
        break;
    }
    case CTL_OPT_FLAG:
    case CTL_OPT_TEXT:
    case CTL_OPT_LIST:
        break;
    }
    if (rc)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s: %s", o->name, why);
    return OD_OK;
}

static void value_add(ctl_args_t *args, int i, const char *v)
{
    args->vals[i] = xrealloc(args->vals[i], (args->n_vals[i] + 1) * sizeof(*args->vals[i]));
    args->vals[i][args->n_vals[i]++] = v;
}

void ctl_args_free(ctl_args_t *args)
{
    if (!args)
        return;
    for (size_t i = 0; i < CTL_OPTS_MAX; i++) {
        free(args->vals[i]);
        args->vals[i] = NULL;
        args->n_vals[i] = 0;
    }
}

int ctl_args_parse(int argc, char **argv, ctl_args_t *args, char *errbuf, size_t errlen)
{
    memset(args, 0, sizeof(*args));
    /* Pass 1: global options anywhere (before "--"); the rest in order. */
    const char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    size_t n_rest = 0;
    int rc = OD_OK;
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash) {
            rest[n_rest++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = true;
            rest[n_rest++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            args->help = true;
            continue;
        }
        if (strcmp(a, "-q") == 0) {
            args->quiet = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            rest[n_rest++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        bool takes_value = false;
        if (!global_opt(name, len, &takes_value)) {
            rest[n_rest++] = a;
            continue;
        }
        const char *value = NULL;
        if (takes_value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                rc =
                    od_fail(errbuf, errlen, OD_ERR_INVALID, "--%.*s needs a value", (int)len, name);
                goto out;
            }
        } else if (eq) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "--%.*s takes no value", (int)len, name);
            goto out;
        }
        global_set(args, name, len, value);
    }

    /* Pass 2: the command's words. */
    size_t n_words = 0;
    while (n_words < n_rest && n_words < 2 && rest[n_words][0] != '-')
        n_words++;
    if (n_rest == 0) {
        if (!args->help)
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "no command given");
        goto out;
    }
    if (rest[0][0] == '-') {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown option %s (a command comes first)",
                     rest[0]);
        goto out;
    }
    size_t used = 0;
    args->cmd = cmd_find(rest, n_words, &used);
    if (!args->cmd) {
        if (group_known(rest[0])) {
            args->group = rest[0];
            if (!args->help)
                rc = n_words > 1 ? od_fail(errbuf, errlen, OD_ERR_INVALID,
                                           "unknown command '%s %s'", rest[0], rest[1])
                                 : od_fail(errbuf, errlen, OD_ERR_INVALID,
                                           "'%s' needs a subcommand", rest[0]);
        } else {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "unknown command '%s'", rest[0]);
        }
        goto out;
    }
    const ctl_cmd_t *cmd = args->cmd;

    /* Pass 3: the command's options and positionals. */
    dashdash = false;
    for (size_t i = used; i < n_rest; i++) {
        const char *a = rest[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || a[1] != '-' || a[2] == '\0') {
            if (args->n_pos >= cmd->max_args || args->n_pos >= CTL_POS_MAX) {
                char *words = ctl_cmd_words(cmd);
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "unexpected argument '%s' to %s", a,
                             words);
                free(words);
                goto out;
            }
            args->pos[args->n_pos++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int oi = opt_index(cmd, name, len);
        if (oi < 0 || oi >= CTL_OPTS_MAX) {
            char *words = ctl_cmd_words(cmd);
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s has no option --%.*s", words, (int)len,
                         name);
            free(words);
            goto out;
        }
        const ctl_opt_t *o = cmd_opt(cmd, (size_t)oi);
        const char *value;
        if (o->kind == CTL_OPT_FLAG) {
            if (eq) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s takes no value", o->name);
                goto out;
            }
            value = "true";
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < n_rest) {
            value = rest[++i];
        } else {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s needs a value (%s)", o->name,
                         o->meta ? o->meta : "VALUE");
            goto out;
        }
        if (args->n_vals[oi] > 0 && !opt_repeats(o)) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s is given twice", o->name);
            goto out;
        }
        if (!args->help) {
            rc = value_check(o, value, errbuf, errlen);
            if (rc)
                goto out;
        }
        value_add(args, oi, value);
        if (o == &data_opt)
            args->data = value;
    }
    if (args->help)
        goto out;

    /* Required things. */
    bool alt = cmd->alt_opt && ctl_args_has(args, cmd->alt_opt);
    size_t min_args = alt ? 0 : cmd->min_args;
    if (alt && args->n_pos > 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "give either %s or --%s, not both", cmd->args,
                     cmd->alt_opt);
        goto out;
    }
    if (!alt && cmd->alt_opt && args->n_pos == 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "give %s or --%s", cmd->args, cmd->alt_opt);
        goto out;
    }
    if (args->n_pos < min_args) {
        char *words = ctl_cmd_words(cmd);
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s needs %s", words, cmd->args);
        free(words);
        goto out;
    }
    if (args->data) {
        for (size_t i = 0; i < cmd->n_opts; i++) {
            if (args->n_vals[i] > 0 && cmd->opts[i].to == CTL_TO_BODY) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                             "--data replaces the body: leave out --%s", cmd->opts[i].name);
                goto out;
            }
        }
    } else {
        for (size_t i = 0; i < cmd->n_opts; i++) {
            if (opt_required(cmd, &cmd->opts[i]) && args->n_vals[i] == 0) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s is required", cmd->opts[i].name);
                goto out;
            }
        }
    }
out:
    free(rest);
    return rc;
}

/* ---- the request ----------------------------------------------------------------------- */

/* Adds option o's values to body. The values were checked by the parser;
 * they are parsed again here so that this function stands alone. */
static int body_add(json_t *body, const ctl_opt_t *o, const char *const *vals, size_t n,
                    char *errbuf, size_t errlen)
{
    char why[256];
    int rc = OD_OK;
    const char *v = vals[n - 1];
    if (o->nullable && ctl_is_none(v)) {
        json_object_set_new(body, o->field, json_null());
        if (o->field2)
            json_object_set_new(body, o->field2, json_null());
        return OD_OK;
    }
    switch (o->kind) {
    case CTL_OPT_FLAG:
        json_object_set_new(body, o->field, json_true());
        break;
    case CTL_OPT_TEXT:
        json_object_set_new(body, o->field, json_string(v));
        break;
    case CTL_OPT_INT: {
        int64_t x = 0;
        rc = ctl_int_parse(v, INT64_MIN, INT64_MAX, &x, why, sizeof(why));
        if (rc == OD_OK)
            json_object_set_new(body, o->field, json_integer(x));
        break;
    }
    case CTL_OPT_BOOL: {
        bool b = false;
        rc = ctl_bool_parse(v, &b, why, sizeof(why));
        if (rc == OD_OK)
            json_object_set_new(body, o->field, json_boolean(b));
        break;
    }
    case CTL_OPT_DAYS: {
        unsigned days = 0;
        rc = ctl_days_parse(v, &days, why, sizeof(why));
        if (rc)
            break;
        json_t *arr = json_array();
        for (unsigned d = 0; d < 7; d++)
            if (days & (1u << d))
                json_array_append_new(arr, json_string(window_day_name(1u << d)));
        json_object_set_new(body, o->field, arr);
        break;
    }
    case CTL_OPT_WINDOW: {
        char start[6], end[6];
        rc = ctl_window_parse(v, start, end, NULL, NULL, why, sizeof(why));
        if (rc)
            break;
        json_object_set_new(body, o->field, json_string(start));
        json_object_set_new(body, o->field2, json_string(end));
        break;
    }
    case CTL_OPT_MINUTES:
    case CTL_OPT_SECONDS: {
        int64_t x = 0;
        rc = o->kind == CTL_OPT_MINUTES ? ctl_minutes_parse(v, &x, why, sizeof(why))
                                        : ctl_duration_parse(v, 1, &x, why, sizeof(why));
        if (rc == OD_OK)
            json_object_set_new(body, o->field, json_integer(x));
        break;
    }
    case CTL_OPT_VAR:
    case CTL_OPT_SCHEMA: {
        json_t *obj = json_object();
        for (size_t i = 0; i < n && rc == OD_OK; i++) {
            char k[128];
            const char *val = NULL;
            if (o->nullable && ctl_is_none(vals[i]))
                continue;
            rc = ctl_kv_split(vals[i], k, sizeof(k), &val, why, sizeof(why));
            if (rc == OD_OK)
                json_object_set_new(obj, k, json_string(val));
        }
        json_object_set_new(body, o->field, obj);
        break;
    }
    case CTL_OPT_LIST: {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(vals[i]));
        json_object_set_new(body, o->field, arr);
        break;
    }
    case CTL_OPT_MAP:
        break; /* query only */
    }
    if (rc)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s: %s", o->name, why);
    /* json_string refuses invalid UTF-8: say so rather than send null. */
    if (o->field && !json_object_get(body, o->field))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "--%s: the value is not valid UTF-8",
                       o->name);
    return OD_OK;
}

int ctl_body_build(const ctl_args_t *args, const char *data_text, json_t **body, char *errbuf,
                   size_t errlen)
{
    *body = NULL;
    const ctl_cmd_t *cmd = args->cmd;
    if (!cmd || !cmd->body)
        return OD_OK;
    if (data_text) {
        json_error_t jerr;
        json_t *j = json_loads(data_text, JSON_DECODE_ANY, &jerr);
        if (!j)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "--data is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                           jerr.column);
        *body = j;
        return OD_OK;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const ctl_opt_t *o = &cmd->opts[i];
        if (o->to != CTL_TO_BODY || args->n_vals[i] == 0)
            continue;
        int rc = body_add(obj, o, args->vals[i], args->n_vals[i], errbuf, errlen);
        if (rc) {
            json_decref(obj);
            return rc;
        }
    }
    if (cmd->pos_field) {
        /* One object per positional, each with the options' fields. */
        json_t *arr = json_array();
        for (size_t i = 0; i < args->n_pos; i++) {
            json_t *item = json_deep_copy(obj);
            json_object_set_new(item, cmd->pos_field, json_string(args->pos[i]));
            json_array_append_new(arr, item);
        }
        json_decref(obj);
        obj = arr;
    }
    *body = obj;
    return OD_OK;
}

char *ctl_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = xmalloc(len * 3 + 1);
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf_t;

static void sbuf_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sbuf_str(sbuf_t *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

static void sbuf_encoded(sbuf_t *b, const char *s)
{
    char *e = ctl_url_encode(s);
    sbuf_str(b, e);
    free(e);
}

/* The value of a CTL_OPT_MAP query parameter: every FIELD=COLUMN of every
 * value as FIELD:COLUMN, joined by ','. */
static void map_query(sbuf_t *b, const char *const *vals, size_t n)
{
    sbuf_t m = {0};
    for (size_t i = 0; i < n; i++) {
        char *copy = xstrdup(vals[i]);
        char *save = NULL;
        for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(part, '=');
            if (eq)
                *eq = ':';
            if (m.len)
                sbuf_str(&m, ",");
            sbuf_str(&m, part);
        }
        free(copy);
    }
    sbuf_encoded(b, m.s ? m.s : "");
    free(m.s);
}

char *ctl_path_build(const ctl_args_t *args, const char *extra_query)
{
    const ctl_cmd_t *cmd = args->cmd;
    sbuf_t b = {0};
    bool alt = cmd->alt_opt && ctl_args_has(args, cmd->alt_opt);
    const char *path = alt ? cmd->alt_path : cmd->path;
    for (const char *p = path; *p; p++) {
        if (p[0] == '{' && p[1] >= '0' && p[1] <= '9' && p[2] == '}') {
            size_t i = (size_t)(p[1] - '0');
            const char *v =
                alt ? ctl_args_value(args, cmd->alt_opt) : (i < args->n_pos ? args->pos[i] : "");
            sbuf_encoded(&b, v ? v : "");
            p += 2;
        } else {
            sbuf_add(&b, p, 1);
        }
    }
    char sep = '?';
    const ctl_opt_t *o;
    for (size_t i = 0; (o = cmd_opt(cmd, i)) != NULL; i++) {
        if (o->to != CTL_TO_QUERY || args->n_vals[i] == 0)
            continue;
        sbuf_add(&b, &sep, 1);
        sep = '&';
        sbuf_str(&b, o->field);
        sbuf_str(&b, "=");
        if (o->kind == CTL_OPT_MAP)
            map_query(&b, args->vals[i], args->n_vals[i]);
        else
            sbuf_encoded(&b, args->vals[i][args->n_vals[i] - 1]);
    }
    if (extra_query && *extra_query) {
        sbuf_add(&b, &sep, 1);
        sbuf_str(&b, extra_query);
    }
    return b.s ? b.s : xstrdup("");
}

/* ---- usage ----------------------------------------------------------------------------- */

/* Help text in the column after the option, wrapped at USAGE_WIDTH. */
#define USAGE_WIDTH  100
#define USAGE_INDENT 37

static void help_wrapped(FILE *out, const char *help, const char *tail)
{
    char *text = xasprintf("%s%s", help, tail);
    size_t col = USAGE_INDENT;
    char *save = NULL;
    for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        size_t len = strlen(w);
        if (col > USAGE_INDENT && col + 1 + len > USAGE_WIDTH) {
            fprintf(out, "\n%*s", USAGE_INDENT, "");
            col = USAGE_INDENT;
        }
        if (col > USAGE_INDENT) {
            fputc(' ', out);
            col++;
        }
        fputs(w, out);
        col += len;
    }
    fputc('\n', out);
    free(text);
}

static void opt_usage(FILE *out, const ctl_cmd_t *cmd, const ctl_opt_t *o)
{
    char left[64];
    if (o->kind == CTL_OPT_FLAG)
        snprintf(left, sizeof(left), "--%s", o->name);
    else
        snprintf(left, sizeof(left), "--%s %s", o->name, o->meta ? o->meta : "VALUE");
    fprintf(out, "  %-34s ", left);
    if (strlen(left) > 34)
        fprintf(out, "\n%*s", USAGE_INDENT, "");
    help_wrapped(out, o->help, opt_required(cmd, o) ? " (required)" : "");
}

static void cmd_line(FILE *out, const ctl_cmd_t *cmd)
{
    char *words = ctl_cmd_words(cmd);
    fprintf(out, "outdialctl %s", words);
    free(words);
    if (cmd->args && *cmd->args)
        fprintf(out, " %s", cmd->args);
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const ctl_opt_t *o = &cmd->opts[i];
        if (!opt_required(cmd, o))
            continue;
        fprintf(out, " --%s %s", o->name, o->meta ? o->meta : "VALUE");
    }
    bool optional = cmd->run == CTL_RUN_LIST || cmd->body;
    for (size_t i = 0; i < cmd->n_opts && !optional; i++)
        optional = !opt_required(cmd, &cmd->opts[i]);
    if (optional)
        fputs(" [options]", out);
    fputc('\n', out);
}

static void globals_usage(FILE *out)
{
    fputs("Global options (anywhere on the line):\n"
          "  --url URL                          the API (default $OUTDIAL_URL, else "
          "http://127.0.0.1:8080)\n"
          "  --key KEY                          API key (default $OUTDIAL_API_KEY)\n"
          "  --admin-token TOKEN                admin token for 'admin' commands (default "
          "$OUTDIAL_ADMIN_TOKEN)\n"
          "  --json                             print the API's JSON instead of tables\n"
          "  --quiet, -q                        print only the id of what was created or listed\n"
          "                                     (for scripts: C=$(outdialctl -q campaign create "
          "...))\n"
          "  --help, -h                         help of a command\n",
          out);
}

void ctl_usage_write(FILE *out, const ctl_cmd_t *cmd, const char *group)
{
    if (cmd) {
        fputs("usage: ", out);
        cmd_line(out, cmd);
        fprintf(out, "\n%s.\n", cmd->summary);
        if (cmd_opt(cmd, 0)) {
            fputs("\nOptions:\n", out);
            const ctl_opt_t *o;
            for (size_t i = 0; (o = cmd_opt(cmd, i)) != NULL; i++)
                opt_usage(out, cmd, o);
        }
        if (cmd->example)
            fprintf(out, "\nExample:\n  %s\n", cmd->example);
        fputc('\n', out);
        globals_usage(out);
        return;
    }
    fputs(group ? "usage:\n"
                : "usage: outdialctl COMMAND [ARGS] [OPTIONS]\n\n"
                  "The command line of outdial's REST API.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < ctl_n_commands; i++) {
        const ctl_cmd_t *c = &ctl_commands[i];
        if (group && strcmp(c->group, group) != 0)
            continue;
        char *words = ctl_cmd_words(c);
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", words, c->args && *c->args ? " " : "",
                 c->args ? c->args : "");
        free(words);
        fprintf(out, "  %-34s ", left);
        help_wrapped(out, c->summary, "");
    }
    fputs("\n'outdialctl COMMAND --help' shows a command's options.\n\n", out);
    globals_usage(out);
}
