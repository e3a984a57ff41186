/*
 * redis_support.h — what the tests that talk to the stack's Redis directly
 * share (header-only): a connection that fails the test when it cannot be
 * made, a key's value and time to live, a connection killed from another
 * one, the script cache emptied. Every helper fails the test (cmocka) on
 * an unexpected answer.
 */
#ifndef OUTDIAL_TESTS_REDIS_SUPPORT_H
#define OUTDIAL_TESTS_REDIS_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "redis.h"
#include "support.h"

/* A connection to url (NULL: the stack's, OUTDIAL_REDIS_URL) with 2 s to
 * connect and to answer; fails the test when it cannot connect. Caller
 * frees with redis_free. */
static inline redis_t *redis_support_connect(const char *url)
{
    char err[256];
    redis_t *r = NULL;
    if (!url)
        url = support_env("OUTDIAL_REDIS_URL");
    if (redis_new(url, 2000, 2000, &r, err, sizeof(err)) != OD_OK)
        fail_msg("redis_new: %s", err);
    return r;
}

/* The value at key, or "" when there is none (a static buffer, valid until
 * the next call). */
static inline const char *redis_support_value(redis_t *r, const char *key)
{
    static char out[256];
    char err[256];
    char *v = NULL;
    int rc = redis_get(r, key, &v, NULL, err, sizeof(err));
    if (rc == OD_ERR_NOT_FOUND)
        return "";
    assert_int_equal(rc, OD_OK);
    snprintf(out, sizeof(out), "%s", v);
    free(v);
    return out;
}

/* PTTL of key in ms (-2 when missing, -1 when it has no expiry). */
static inline long long redis_support_pttl(redis_t *r, const char *key)
{
    char err[256];
    const char *argv[] = {"PTTL", key};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(r, true, 2, argv, NULL, &reply, err, sizeof(err)), OD_OK);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    long long n = reply->integer;
    freeReplyObject(reply);
    return n;
}

/* Kills victim's connection from admin's (CLIENT KILL ID), as a network
 * fault or a Redis restart would drop it. */
static inline void redis_support_kill_connection(redis_t *victim, redis_t *admin)
{
    char err[256];
    const char *id_argv[] = {"CLIENT", "ID"};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(victim, true, 2, id_argv, NULL, &reply, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    char id[32];
    snprintf(id, sizeof(id), "%lld", reply->integer);
    freeReplyObject(reply);
    const char *kill_argv[] = {"CLIENT", "KILL", "ID", id};
    assert_int_equal(redis_command_argv(admin, false, 4, kill_argv, NULL, &reply, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    assert_int_equal(reply->integer, 1);
    freeReplyObject(reply);
}

/* Empties Redis's script cache (SCRIPT FLUSH), as a Redis restart does:
 * the next EVALSHA answers NOSCRIPT. */
static inline void redis_support_script_flush(redis_t *r)
{
    char err[256];
    const char *argv[] = {"SCRIPT", "FLUSH"};
    redisReply *reply = NULL;
    assert_int_equal(redis_command_argv(r, true, 2, argv, NULL, &reply, err, sizeof(err)), OD_OK);
    freeReplyObject(reply);
}

#endif
