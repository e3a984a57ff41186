/*
 * redis.h — a blocking Redis client (hiredis) with timeouts, reconnection
 * and the helpers the dialer and the API need: SET NX PX, GET, DEL, set
 * membership for DNC mirrors, and token locks.
 *
 * URL: redis://[[user]:password@]host[:port][/db]   (port 6379, db 0 by
 * default). On every (re)connect the client sends AUTH when a password is
 * given, SELECT when db is not 0, and CLIENT SETNAME outdial.
 *
 * Timeouts: connecting is bounded by connect_timeout_ms, and every command
 * by command_timeout_ms (a socket send/receive timeout): a Redis that stops
 * answering turns into OD_ERR_TIMEOUT, never a hung worker.
 *
 * Reconnection. When a command fails because the connection broke (the
 * server closed it, was restarted, or a timeout left the stream in an
 * unknown state), the client drops the connection and reconnects once.
 * Whether it then re-sends the command depends on the command:
 *   - idempotent commands (GET, DEL, SADD, SREM, SISMEMBER, PING, lock
 *     release and extend) are re-sent once;
 *   - redis_set_nx is NOT re-sent: the first SET may have been applied
 *     before the connection broke, so it returns OD_ERR_UNAVAILABLE with
 *     "outcome unknown" and the caller decides;
 *   - redis_lock_acquire is re-sent, and made safe by its unique token: if
 *     the re-sent SET NX finds the key taken, the client reads it back and
 *     reports the lock as acquired when the value is its own token.
 * A timeout is not retried (the server is slow; retrying doubles the wait):
 * it returns OD_ERR_TIMEOUT (the command may or may not have been applied)
 * and the next command reconnects.
 * When Redis is down, commands fail with OD_ERR_UNAVAILABLE and each later
 * command tries to connect again.
 *
 * Threads: a client may be shared between threads; its commands are
 * serialised on its one connection by a mutex. Use one client per thread
 * where commands must run in parallel.
 *
 * Environment (redis_new_from_env):
 *   OUTDIAL_REDIS_URL                  default redis://127.0.0.1:6379/0
 *   OUTDIAL_REDIS_CONNECT_TIMEOUT_MS   100..60000, default 2000
 *   OUTDIAL_REDIS_COMMAND_TIMEOUT_MS   100..60000, default 2000
 */
#ifndef OUTDIAL_REDIS_H
#define OUTDIAL_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deps.h"
#include "err.h"

/* 128 random bits as 32 lowercase hex digits, plus the NUL. */
#define REDIS_LOCK_TOKEN_SIZE 33

typedef struct redis redis_t;

typedef struct redis_url {
    char host[256];
    int port;
    int db;
    char user[128];     /* empty: none (AUTH password alone) */
    char password[256]; /* empty: no AUTH */
} redis_url_t;

/* Parses a redis:// URL (see above). OD_ERR_INVALID with a message naming
 * the problem; the password never appears in messages. */
int redis_url_parse(const char *url, redis_url_t *out, char *errbuf, size_t errlen) OD_WUR;

/* Connects to url. OD_ERR_INVALID for a bad URL or timeout,
 * OD_ERR_UNAVAILABLE when Redis cannot be reached or refuses AUTH/SELECT.
 * The caller frees *out with redis_free(). */
int redis_new(const char *url, int connect_timeout_ms, int command_timeout_ms, redis_t **out,
              char *errbuf, size_t errlen) OD_WUR;

/* A client for the OUTDIAL_REDIS_* variables that does not need Redis to
 * answer yet: it connects now if it can, else on its first command that
 * finds Redis up (see Reconnection), so that a service starts before Redis
 * does. OD_ERR_INVALID for a bad variable (the only error); otherwise
 * OD_OK and a client the caller frees with redis_free(). */
int redis_new_from_env(redis_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Adds Redis (the OUTDIAL_REDIS_* variables) to d as "redis"
 * (lib/core/deps.h): its check is a PING on a client of its own. Its
 * index, or OD_ERR_INVALID for a bad variable (nothing added). */
int redis_deps_add(deps_t *d, char *errbuf, size_t errlen) OD_WUR;

/* Closes the connection and frees the client. NULL is a no-op. */
void redis_free(redis_t *r);

/* How many times the client has reconnected after a broken connection. */
uint64_t redis_reconnect_count(redis_t *r);

/* PING (for readiness checks). Idempotent. */
int redis_ping(redis_t *r, char *errbuf, size_t errlen) OD_WUR;

/*
 * Runs one command given as argv (binary-safe with argvlen, or NULL to use
 * strlen). idempotent says whether it may be re-sent after a broken
 * connection (see above). On OD_OK *reply_out is the reply, which the
 * caller frees with freeReplyObject(); an error reply is returned as an
 * error code (OD_ERR_UNAVAILABLE for LOADING/READONLY/MASTERDOWN/BUSY/
 * TRYAGAIN/CLUSTERDOWN, else OD_ERR_INTERNAL) with Redis's text in errbuf.
 */
int redis_command_argv(redis_t *r, bool idempotent, int argc, const char **argv,
                       const size_t *argvlen, redisReply **reply_out, char *errbuf,
                       size_t errlen) OD_WUR;

/*
 * Runs a Lua script: EVALSHA with sha (the script's SHA-1 in hex; NULL
 * computes it), and EVAL when Redis's script cache does not have it (first
 * use, after a restart or SCRIPT FLUSH). args holds nkeys keys, then the
 * script's arguments (nargs in all). idempotent and *resent_out (may be
 * NULL) as redis_command_argv: only a script that may run twice is re-sent
 * after a broken connection. On OD_OK *reply_out is the script's answer,
 * freed by the caller with freeReplyObject(); an error reply is an error
 * code with Redis's text in errbuf.
 */
int redis_script_run(redis_t *r, const char *script, const char *sha, bool idempotent, int nkeys,
                     int nargs, const char **args, redisReply **reply_out, bool *resent_out,
                     char *errbuf, size_t errlen) OD_WUR;

/*
 * SET key value NX PX ttl_ms (ttl_ms >= 1). OD_OK when this call set the
 * key, OD_ERR_CONFLICT when the key already existed (nothing changed).
 * Not re-sent on a broken connection: OD_ERR_UNAVAILABLE then means the
 * outcome is unknown. Callers that need a safe retry use redis_lock_acquire.
 */
int redis_set_nx(redis_t *r, const char *key, const char *value, int64_t ttl_ms, char *errbuf,
                 size_t errlen) OD_WUR;

/* GET key. OD_OK with *value_out a NUL-terminated copy the caller frees
 * (and *len_out its length, if not NULL; values may hold NUL bytes);
 * OD_ERR_NOT_FOUND when the key does not exist. */
int redis_get(redis_t *r, const char *key, char **value_out, size_t *len_out, char *errbuf,
              size_t errlen) OD_WUR;

/* DEL key. OD_OK whether or not it existed; *deleted_out (if not NULL) says
 * whether this call removed it (after a re-send it may say false although
 * the first, lost attempt removed it). */
int redis_del(redis_t *r, const char *key, bool *deleted_out, char *errbuf, size_t errlen) OD_WUR;

/* SADD / SREM one member. OD_OK whether or not the member was already
 * there (resp. absent): both are idempotent and re-sent. */
int redis_sadd(redis_t *r, const char *key, const char *member, char *errbuf, size_t errlen) OD_WUR;
int redis_srem(redis_t *r, const char *key, const char *member, char *errbuf, size_t errlen) OD_WUR;

/* SISMEMBER: *is_member_out tells whether member is in the set at key. */
int redis_sismember(redis_t *r, const char *key, const char *member, bool *is_member_out,
                    char *errbuf, size_t errlen) OD_WUR;

/*
 * Token locks (a lease that expires on its own, so a crashed holder never
 * blocks others for longer than ttl_ms).
 *
 * redis_lock_acquire: SET key <token> NX PX ttl_ms with a fresh token of 128
 * random bits (getrandom) written to token_out (REDIS_LOCK_TOKEN_SIZE
 * bytes). OD_OK: acquired, and only this token can release or extend it.
 * OD_ERR_CONFLICT: someone else holds it (token_out is still written but
 * means nothing). Safe to re-send after a broken connection (see above).
 *
 * redis_lock_release: deletes key only if it still holds token (a Lua
 * compare-and-delete, EVALSHA with EVAL when the script cache is empty).
 * OD_OK: released. OD_ERR_CONFLICT: the key holds another token or none
 * (the lease expired, maybe taken by someone else); nothing was changed.
 *
 * redis_lock_extend: sets the key's TTL to ttl_ms only if it still holds
 * token (compare-and-PEXPIRE), for bounded leases renewed during long
 * calls. OD_OK: extended. OD_ERR_CONFLICT: not held with this token;
 * nothing was changed, and the caller has lost the lease.
 */
int redis_lock_acquire(redis_t *r, const char *key, int64_t ttl_ms,
                       char token_out[REDIS_LOCK_TOKEN_SIZE], char *errbuf, size_t errlen) OD_WUR;
int redis_lock_release(redis_t *r, const char *key, const char *token, char *errbuf,
                       size_t errlen) OD_WUR;
int redis_lock_extend(redis_t *r, const char *key, const char *token, int64_t ttl_ms, char *errbuf,
                      size_t errlen) OD_WUR;

#endif
