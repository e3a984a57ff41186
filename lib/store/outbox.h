/*
 * outbox.h — the transactional outbox (table outbox, docs/architecture.md
 * §2): a Kafka message written in the same transaction as the change it
 * tells of; the scheduler publishes and deletes the rows. Any process that
 * writes PostgreSQL can queue one (the API and the scheduler through
 * lib/campaign/lifecycle.h, the importer for import.finished).
 */
#ifndef OUTDIAL_STORE_OUTBOX_H
#define OUTDIAL_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pg.h"

/* The insert as a statement for a pipeline (pg_pipeline_exec): stmt with
 * params. topic and key are borrowed (they must outlive the item); the
 * payload is copied as hex text, freed by outbox_item_free. */
typedef struct outbox_item {
    const pg_stmt_t *stmt;
    const char *params[3];
    char *hex;
} outbox_item_t;

void outbox_item_init(outbox_item_t *item, const char *topic, const char *key,
                      const uint8_t *payload, size_t len);
void outbox_item_free(outbox_item_t *item);

/* Queues payload (an encoded message) for topic (the full name) under key,
 * inside the caller's transaction. */
int outbox_add_tx(pg_conn_t *db, const char *topic, const char *key, const uint8_t *payload,
                  size_t len, char *errbuf, size_t errlen) OD_WUR;

#endif
