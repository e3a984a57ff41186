/*
 * handlers.h — the handlers of every route (router.c's table), by
 * resource file, and what the resource files share with main.c.
 */
#ifndef OUTDIAL_API_HANDLERS_H
#define OUTDIAL_API_HANDLERS_H

#include "api.h"
#include "router.h"

/* accounts.c */
void accounts_get(api_ctx_t *ctx);
void accounts_update(api_ctx_t *ctx);
void accounts_secret_rotate(api_ctx_t *ctx);
void accounts_admin_create(api_ctx_t *ctx);
void accounts_admin_credit(api_ctx_t *ctx);

/* assistants.c */
void assistants_create(api_ctx_t *ctx);
void assistants_list(api_ctx_t *ctx);
void assistants_get(api_ctx_t *ctx);
void assistants_update(api_ctx_t *ctx);
void assistants_delete(api_ctx_t *ctx);

/* caller_ids.c: an assistant's caller-ID pool */
void caller_ids_list(api_ctx_t *ctx);
void caller_ids_add(api_ctx_t *ctx);
void caller_ids_remove(api_ctx_t *ctx);

/* campaigns.c */
void campaigns_create(api_ctx_t *ctx);
void campaigns_list(api_ctx_t *ctx);
void campaigns_get(api_ctx_t *ctx);
void campaigns_update(api_ctx_t *ctx);
void campaigns_start(api_ctx_t *ctx);
void campaigns_pause(api_ctx_t *ctx);
void campaigns_resume(api_ctx_t *ctx);
void campaigns_archive(api_ctx_t *ctx);
void campaigns_delete(api_ctx_t *ctx);

/* stats.c */
void campaigns_stats(api_ctx_t *ctx);
void campaigns_hourly(api_ctx_t *ctx);
void campaigns_admin_recount(api_ctx_t *ctx);

/* live.c */
void campaigns_live(api_ctx_t *ctx);

/* leads.c */
void leads_add(api_ctx_t *ctx);
void leads_list(api_ctx_t *ctx);
void leads_get(api_ctx_t *ctx);
void leads_update(api_ctx_t *ctx);
void leads_delete(api_ctx_t *ctx);
void leads_reset(api_ctx_t *ctx);
void leads_complete(api_ctx_t *ctx);
void leads_contacts_add(api_ctx_t *ctx);

/* compliance.c */
void accounts_legal_rules(api_ctx_t *ctx);
void leads_eligibility(api_ctx_t *ctx);

/* imports.c */
int imports_upload_body(api_ctx_t *ctx, const char *data, size_t len, void **state,
                        void (**free_state)(api_ctx_t *ctx, void *state));
void imports_upload_finish(api_ctx_t *ctx);
void imports_list(api_ctx_t *ctx);
void imports_get(api_ctx_t *ctx);
void imports_rejects(api_ctx_t *ctx);

/* calls.c */
void calls_list_campaign(api_ctx_t *ctx);
void calls_list_lead(api_ctx_t *ctx);
void calls_get(api_ctx_t *ctx);

/* exports.c */
void exports_leads_csv(api_ctx_t *ctx);
void exports_calls_csv(api_ctx_t *ctx);
/* dnc.c */
void dnc_add(api_ctx_t *ctx);
void dnc_list(api_ctx_t *ctx);
void dnc_get(api_ctx_t *ctx);
void dnc_remove(api_ctx_t *ctx);
void dnc_import(api_ctx_t *ctx);
void dnc_registry(api_ctx_t *ctx);

/* webhooks.c */
void webhooks_create(api_ctx_t *ctx);
void webhooks_list(api_ctx_t *ctx);
void webhooks_get(api_ctx_t *ctx);
void webhooks_update(api_ctx_t *ctx);
void webhooks_delete(api_ctx_t *ctx);
void webhooks_secret_rotate(api_ctx_t *ctx);
void webhooks_deliveries(api_ctx_t *ctx);
void webhooks_deliveries_replay(api_ctx_t *ctx);
void webhooks_delivery_replay(api_ctx_t *ctx);

/* ---- shared helpers ---------------------------------------------------- */

/* campaigns.c: whether the campaign exists in ctx's account; answers 404
 * (or the failure) and returns false when not. status_out (may be NULL,
 * >= 16 bytes) gets its status. With lock, the row is locked FOR SHARE in
 * the caller's transaction (status cannot change until it ends). */
bool campaigns_owned(api_ctx_t *ctx, const char *campaign_id, bool lock, char *status_out);
/* The same, and answers 409 campaign_archived for an archived campaign,
 * to which nothing can be added (leads, uploads). */
bool campaigns_writable(api_ctx_t *ctx, const char *campaign_id, bool lock, char *status_out);

/* leads.c: tells the scheduler to look at the campaign now (pg_notify on
 * LIFECYCLE_NOTIFY_CHANNEL), inside the caller's transaction. */
int leads_notify_tx(pg_conn_t *db, const char *campaign_id, char *errbuf, size_t errlen) OD_WUR;

/* imports.c: deletes the import rows of uploads that never completed
 * (the API died during the upload) created more than older_than_s ago
 * (real time: created_at is an audit column). *n_out (may be NULL) gets
 * how many. */
int imports_orphans_discard(pg_conn_t *db, int older_than_s, int *n_out, char *errbuf,
                            size_t errlen) OD_WUR;

/* dnc.c: rewrites every account's Redis DNC set from Postgres (adds what
 * is missing, removes what Postgres no longer has). */
int dnc_sync_all(pg_conn_t *db, redis_t *r, const char *redis_prefix, size_t *n_accounts,
                 char *errbuf, size_t errlen) OD_WUR;

#endif
