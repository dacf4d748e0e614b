/*
 * ngx_skip: the per-worker Redis connection (see ngx_skip_redis.c for the
 * design and why nginx owns the socket).
 *
 * One connection per worker, opened in init_process and closed in
 * exit_process.  Commands from all requests are pipelined on it; replies
 * come back in order and are matched to a heap "command" object, never to a
 * request: a request that goes away (client reset, deadline) only detaches
 * its command, whose reply is then read and dropped.
 */

#ifndef _NGX_SKIP_REDIS_H_INCLUDED_
#define _NGX_SKIP_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>


/*
 * Most commands one ngx_skip_redis_send() pipelines: the prediction API's
 * batch (one user and up to skip_api_max_tracks tracks, one HMGET each)
 * leaves in one send and comes back as one callback.
 */
#define NGX_SKIP_REDIS_MAXCMDS   1024

/* Commands in flight per worker; beyond that lookups fail at once. */
#define NGX_SKIP_REDIS_MAX_PENDING  4096


typedef struct ngx_skip_redis_s      ngx_skip_redis_t;
typedef struct ngx_skip_redis_cmd_s  ngx_skip_redis_cmd_t;

/*
 * Called once per ngx_skip_redis_send(), with one reply per command, or
 * with replies == NULL when the connection was lost first.  Replies are
 * freed when the handler returns.  Never called after detach.
 */
typedef void (*ngx_skip_redis_handler_pt)(void *data, redisReply **replies,
    ngx_uint_t n);


typedef struct {
    int                    argc;
    const char           **argv;
    const size_t          *lens;
} ngx_skip_redis_argv_t;


typedef struct {
    ngx_addr_t             addr;        /* resolved at configuration time */
    ngx_str_t              password;    /* empty: no AUTH */
    ngx_int_t              db;          /* 0: no SELECT */
    u_char                *prefix;      /* key prefix, NUL-terminated */
    ngx_msec_t             connect_timeout;
    ngx_msec_t             refresh;     /* how often <prefix>:active is read */

    /* circuit breaker (skip_redis_breaker); threshold 0: off */
    ngx_uint_t             breaker_threshold;
    ngx_msec_t             breaker_open;     /* first open interval */
    ngx_msec_t             breaker_max;      /* longest open interval */
    ngx_msec_t             breaker_quiet;    /* and no answer for this long */

    /*
     * A node of a Redis Cluster (ngx_skip_cluster.c): the handshake is
     * AUTH (and READONLY for replica reads) + PING, no <prefix>:active
     * (that key lives on one node only; the cluster reads it), no refresh
     * timer, no persistence check, no skip_redis_connected gauge.
     * state_handler is told when the connection becomes ready (1) and
     * when it is lost (0); it must not call back into this connection
     * synchronously (schedule a timer instead).
     */
    ngx_uint_t             node;
    ngx_uint_t             readonly;
    ngx_uint_t             durable_check;  /* node: ask about persistence
                                              (events connections) */
    void                 (*state_handler)(void *data, ngx_uint_t ready);
    void                  *state_data;
} ngx_skip_redis_conf_t;


ngx_skip_redis_t *ngx_skip_redis_create(ngx_cycle_t *cycle,
    ngx_skip_redis_conf_t *conf);
void ngx_skip_redis_destroy(ngx_skip_redis_t *rd);

/* NGX_OK when lookups can be sent now, NGX_DECLINED otherwise. */
ngx_int_t ngx_skip_redis_ready(ngx_skip_redis_t *rd);

/*
 * The active snapshot id (NUL-terminated), or NULL when Redis has none.
 * *gen changes whenever the snapshot does (record caches key on it).
 */
const char *ngx_skip_redis_snapshot(ngx_skip_redis_t *rd, ngx_uint_t *gen);

/* Queue n pipelined commands; NULL when not ready or overloaded. */
ngx_skip_redis_cmd_t *ngx_skip_redis_send(ngx_skip_redis_t *rd,
    ngx_skip_redis_argv_t *cmds, ngx_uint_t n,
    ngx_skip_redis_handler_pt handler, void *data);

/* The caller is gone: drop the reply when it comes. */
void ngx_skip_redis_detach(ngx_skip_redis_cmd_t *cmd);

/*
 * Liveness: when the oldest command has waited longer than the connect
 * timeout, declare the connection dead and reconnect (cheap; called on
 * every lookup deadline).
 */
void ngx_skip_redis_check(ngx_skip_redis_t *rd);

/*
 * The circuit breaker, per worker.  A Redis that accepts commands but does
 * not answer would otherwise cost every request the whole deadline.  After
 * breaker_threshold lookups in a row timed out and Redis has answered
 * nothing for breaker_quiet ms (so that a short stall, e.g. an fsync of
 * appendfsync always, does not open it under load), the breaker opens: allow()
 * says NGX_BUSY (fall back at once) for breaker_open ms; then it lets one
 * lookup through as a probe.  The probe answered closes the breaker; the
 * probe timed out opens it again for twice as long, up to breaker_max.  Any
 * answer resets the count.  Only lookups count: the connection's own
 * liveness check (ngx_skip_redis_check) still reconnects as before.
 */
ngx_int_t ngx_skip_redis_breaker_allow(ngx_skip_redis_t *rd);
void ngx_skip_redis_breaker_result(ngx_skip_redis_t *rd,
    ngx_uint_t timed_out);

/*
 * Once per persistence verdict: NULL when Redis stores every write durably
 * before replying (appendonly yes + appendfsync always), when the check has
 * not answered yet, or when this was said already; otherwise what is wrong
 * and what to set (durability.h).  The events handler logs it at warn when
 * it acknowledges events.
 */
const char *ngx_skip_redis_durability_warning(ngx_skip_redis_t *rd);

/*
 * A cluster node the slot map no longer names: close the connection (its
 * pending commands fail, their lookups fall back) and stop reconnecting
 * until unpark().  Both are no-ops when already in that state.
 */
void ngx_skip_redis_park(ngx_skip_redis_t *rd);
void ngx_skip_redis_unpark(ngx_skip_redis_t *rd);

/* "host:port" or "unix:/path", for messages */
ngx_str_t *ngx_skip_redis_name(ngx_skip_redis_t *rd);

/* WARN-level message, at most one per second per worker (plus a count). */
void ngx_skip_warn(ngx_log_t *log, ngx_err_t err, const char *fmt, ...);


#endif /* _NGX_SKIP_REDIS_H_INCLUDED_ */
