#include "outbox.h"

#include <stdlib.h>

#include "xmalloc.h"

static const pg_stmt_t outbox_add_stmt = {
    "outbox_add", "INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, decode($3, 'hex'))", 3};

void outbox_item_init(outbox_item_t *item, const char *topic, const char *key,
                      const uint8_t *payload, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    item->hex = xmalloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        item->hex[2 * i] = hex[payload[i] >> 4];
        item->hex[2 * i + 1] = hex[payload[i] & 0xf];
    }
    item->hex[2 * len] = '\0';
    item->stmt = &outbox_add_stmt;
    item->params[0] = topic;
    item->params[1] = key;
    item->params[2] = item->hex;
}

void outbox_item_free(outbox_item_t *item)
{
    free(item->hex);
    item->hex = NULL;
}

int outbox_add_tx(pg_conn_t *db, const char *topic, const char *key, const uint8_t *payload,
                  size_t len, char *errbuf, size_t errlen)
{
    outbox_item_t item;
    outbox_item_init(&item, topic, key, payload, len);
    int rc = pg_stmt_exec(db, item.stmt, item.params, NULL, errbuf, errlen);
    outbox_item_free(&item);
    return rc;
}
