/*
 * pg_connect.h — a connection to a test's database through lib/store/pg
 * (header-only), for the integration tests: where the database cannot be
 * reached the test fails, naming the error, instead of every test writing
 * the same check.
 */
#ifndef OUTDIAL_TEST_PG_CONNECT_H
#define OUTDIAL_TEST_PG_CONNECT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pg.h"

/* A connection to dsn named app (its application_name); the caller owns it
 * (pg_conn_free). Fails the test when it cannot connect. */
static inline pg_conn_t *support_pg_connect(const char *dsn, const char *app)
{
    char err[512];
    pg_conn_t *db = NULL;
    if (pg_conn_new(dsn, app, NULL, &db, err, sizeof(err)) != OD_OK)
        fail_msg("connect: %s", err);
    return db;
}

#endif
