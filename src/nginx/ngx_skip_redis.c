/*
 * ngx_skip: the per-worker, multiplexed Redis connection.
 *
 * Why nginx owns the socket (and hiredis is only the codec).  Debian 12
 * ships hiredis 0.14.1, whose async API has no timeouts, resolves host
 * names with a blocking getaddrinfo(), closes the fd itself on free (so an
 * nginx adapter double-closes unless it is careful), reads at most 16 kB per
 * event (which stalls under edge-triggered epoll), and may free the context
 * under the caller inside redisAsyncHandleRead().  nginx-notes.md 1.4 lists
 * the bugs each public adapter had because of that.  Here the connection is
 * an ordinary nginx peer connection (ngx_event_connect_peer, c->send,
 * c->recv until EAGAIN), all timeouts are nginx timers, and hiredis is used
 * only for what it is good at: redisReader to parse replies.  Commands are
 * built from argv as length-prefixed RESP (ids never go through a format
 * string), written by ngx_skip_redis_enqueue() itself.  None of the traps
 * above can happen by construction.
 *
 * Life of the connection:
 *
 *   IDLE --connect--> CONNECTING --> HANDSHAKE (AUTH, SELECT, GET active)
 *     ^                   |              |
 *     +--- backoff timer <+--------------+-- failure, timeout, EOF, garbage
 *                                        v
 *                                      READY (lookups accepted)
 *
 * While not READY, ngx_skip_redis_send() refuses at once: requests take
 * the fallback instead of queueing behind a dead server.  Reconnects come
 * only from a backoff timer (50 ms doubling to 2 s, +-50 % jitter, so the
 * workers do not reconnect in lock step).  Every timer here is
 * "cancelable", so a gracefully exiting worker never waits for them, and
 * exit_process closes the socket, so nginx finds no socket left open.
 *
 * Commands are queued in a FIFO in the order they were written; Redis
 * answers in that order, so the head of the FIFO owns the next reply.  A
 * command object is heap memory owned by this file: the request that asked
 * only holds a pointer and detaches on cleanup or deadline.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <hiredis/hiredis.h>

#include "../core/durability.h"
#include "../core/keys.h"
#include "../core/records.h"
#include "ngx_skip_prom.h"
#include "ngx_skip_redis.h"
#include "ngx_skip_reply.h"
#include "../core/version.h"


#define NGX_SKIP_REDIS_BACKOFF_MIN   50
#define NGX_SKIP_REDIS_BACKOFF_MAX   2000

/* Output buffer limit: a Redis that does not read gets no more. */
#define NGX_SKIP_REDIS_OBUF_MAX      (4 * 1024 * 1024)

/* Bytes of a read handed to the reply reader at a time (see read_handler). */
#define NGX_SKIP_REDIS_FEED          1024


typedef enum {
    NGX_SKIP_REDIS_IDLE = 0,
    NGX_SKIP_REDIS_CONNECTING,
    NGX_SKIP_REDIS_HANDSHAKE,
    NGX_SKIP_REDIS_READY,
    NGX_SKIP_REDIS_DESTROYED
} ngx_skip_redis_state_e;


struct ngx_skip_redis_cmd_s {
    ngx_queue_t                 queue;
    ngx_skip_redis_handler_pt   handler;     /* NULL once detached */
    void                       *data;
    ngx_msec_t                  sent;
    ngx_uint_t                  n;           /* replies expected */
    ngx_uint_t                  got;
    redisReply                 *replies[1];  /* n of them, allocated */
};


/*
 * Commands of up to NGX_SKIP_REDIS_CMD_SMALL replies (a track request's
 * lookup: user, track, taste) come from a per-worker free list: one
 * malloc/free pair less per request.  Larger ones (a batch of the
 * prediction API) are malloc()ed.  At most NGX_SKIP_REDIS_CMD_KEEP are kept.
 */
#define NGX_SKIP_REDIS_CMD_SMALL  4
#define NGX_SKIP_REDIS_CMD_KEEP   1024

#define ngx_skip_redis_cmd_size(n)                                            \
    (sizeof(ngx_skip_redis_cmd_t) + ((n) - 1) * sizeof(redisReply *))

static ngx_skip_redis_cmd_t  *ngx_skip_redis_cmd_free;   /* via replies[0] */
static ngx_uint_t             ngx_skip_redis_cmd_nfree;


struct ngx_skip_redis_s {
    ngx_skip_redis_conf_t      *conf;
    ngx_log_t                   log;         /* "while talking to Redis" */
    ngx_log_t                   quiet_log;   /* for ngx_event_connect_peer */

    ngx_skip_redis_state_e      state;
    ngx_connection_t           *conn;
    redisReader                *reader;

    ngx_queue_t                 pending;     /* ngx_skip_redis_cmd_t FIFO */
    ngx_uint_t                  npending;

    u_char                     *obuf;        /* written, not yet sent */
    size_t                      olen;
    size_t                      opos;
    size_t                      osize;

    ngx_event_t                 reconnect;   /* backoff */
    ngx_event_t                 connect_timer;
    ngx_event_t                 refresh;     /* GET active + liveness */
    ngx_connection_t            dummy;       /* ev->data of the timers */

    ngx_msec_t                  backoff;
    ngx_uint_t                  generation;  /* bumped by every close */
    ngx_uint_t                  refreshing;

    ngx_uint_t                  parked;      /* no reconnects */

    /* the handshake's command names, for "refused AUTH" messages */
    const char                 *handshake[4];
    ngx_uint_t                  handshake_n;

    char                        snap[SK_SNAP_MAX + 1];
    ngx_uint_t                  has_snap;
    ngx_uint_t                  snap_gen;

    /* circuit breaker */
    ngx_uint_t                  timeouts;    /* lookups in a row */
    ngx_msec_t                  answered;    /* last answered lookup; a
                                                reconnect is no answer */
    ngx_uint_t                  open;
    ngx_uint_t                  probing;     /* a probe is out */
    ngx_msec_t                  open_for;
    ngx_msec_t                  open_until;
    /* the persistence check at connect (durability.h) */
    sk_durable                  durable;
    ngx_uint_t                  durable_checked;
    ngx_uint_t                  durable_warned;
    char                        durable_why[400];
};


static void ngx_skip_redis_connect(ngx_skip_redis_t *rd);
static void ngx_skip_redis_connect_handler(ngx_event_t *wev);
static void ngx_skip_redis_connected(ngx_skip_redis_t *rd);
static void ngx_skip_redis_handshake_done(void *data, redisReply **replies,
    ngx_uint_t n);
static void ngx_skip_redis_active_done(void *data, redisReply **replies,
    ngx_uint_t n);
static void ngx_skip_redis_check_durable(ngx_skip_redis_t *rd);
static void ngx_skip_redis_durable_done(void *data, redisReply **replies,
    ngx_uint_t n);
static ngx_int_t ngx_skip_redis_set_active(ngx_skip_redis_t *rd,
    redisReply *reply);
static void ngx_skip_redis_read_handler(ngx_event_t *rev);
static void ngx_skip_redis_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_skip_redis_flush(ngx_skip_redis_t *rd);
static ngx_skip_redis_cmd_t *ngx_skip_redis_enqueue(ngx_skip_redis_t *rd,
    ngx_skip_redis_argv_t *cmds, ngx_uint_t n,
    ngx_skip_redis_handler_pt handler, void *data);
static void ngx_skip_redis_deliver(ngx_skip_redis_t *rd, redisReply *reply);
static void ngx_skip_redis_close(ngx_skip_redis_t *rd);
static void ngx_skip_redis_fail(ngx_skip_redis_t *rd);
static void ngx_skip_redis_schedule(ngx_skip_redis_t *rd);
static void ngx_skip_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_skip_redis_connect_timeout_handler(ngx_event_t *ev);
static void ngx_skip_redis_refresh_handler(ngx_event_t *ev);
static ngx_skip_redis_cmd_t *ngx_skip_redis_alloc_cmd(ngx_uint_t n,
    ngx_log_t *log);
static void ngx_skip_redis_free_cmd(ngx_skip_redis_cmd_t *cmd);


/* one rate limiter per worker process */
static time_t      ngx_skip_warn_sec;
static ngx_uint_t  ngx_skip_warn_suppressed;


void
ngx_skip_warn(ngx_log_t *log, ngx_err_t err, const char *fmt, ...)
{
    u_char      buf[NGX_MAX_ERROR_STR / 2], *p;
    va_list     args;
    ngx_uint_t  suppressed;

    if (ngx_time() == ngx_skip_warn_sec) {
        ngx_skip_warn_suppressed++;
        return;
    }

    ngx_skip_warn_sec = ngx_time();
    suppressed = ngx_skip_warn_suppressed;
    ngx_skip_warn_suppressed = 0;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    /* whatever a message quotes from Redis or a client: no control bytes */
    sk_log_scrub((char *) buf, p - buf);

    if (suppressed) {
        ngx_log_error(NGX_LOG_WARN, log, err,
                      "%*s (%ui similar messages suppressed)",
                      p - buf, buf, suppressed);

    } else {
        ngx_log_error(NGX_LOG_WARN, log, err, "%*s", p - buf, buf);
    }
}


static void
ngx_skip_redis_init_timer(ngx_skip_redis_t *rd, ngx_event_t *ev,
    ngx_event_handler_pt handler)
{
    ev->handler = handler;
    ev->data = &rd->dummy;
    ev->log = &rd->log;
    ev->cancelable = 1;
}


ngx_skip_redis_t *
ngx_skip_redis_create(ngx_cycle_t *cycle, ngx_skip_redis_conf_t *conf)
{
    ngx_skip_redis_t  *rd;

    rd = ngx_calloc(sizeof(ngx_skip_redis_t), cycle->log);
    if (rd == NULL) {
        return NULL;
    }

    rd->conf = conf;
    rd->log = *cycle->log;
    rd->log.action = "talking to skip Redis";

    /*
     * ngx_event_connect_peer() logs a refused connect at "error"; a Redis
     * outage must not log above "warn", so the connect call gets a log
     * that only lets "crit" and worse through, and we say it ourselves.
     */
    rd->quiet_log = rd->log;
    if (rd->quiet_log.log_level > NGX_LOG_CRIT) {
        rd->quiet_log.log_level = NGX_LOG_CRIT;
    }

    ngx_queue_init(&rd->pending);

    /* timer events need a connection-shaped ev->data for debug logging */
    rd->dummy.fd = (ngx_socket_t) -1;
    rd->dummy.data = rd;
    rd->dummy.log = &rd->log;

    ngx_skip_redis_init_timer(rd, &rd->reconnect,
                              ngx_skip_redis_reconnect_handler);
    ngx_skip_redis_init_timer(rd, &rd->connect_timer,
                              ngx_skip_redis_connect_timeout_handler);
    ngx_skip_redis_init_timer(rd, &rd->refresh,
                              ngx_skip_redis_refresh_handler);

    rd->backoff = NGX_SKIP_REDIS_BACKOFF_MIN;

    ngx_skip_redis_connect(rd);

    return rd;
}


void
ngx_skip_redis_destroy(ngx_skip_redis_t *rd)
{
    ngx_queue_t           *q;
    ngx_skip_redis_cmd_t  *cmd;

    /*
     * The worker is exiting.  A request still waiting here (only after a
     * fast shutdown: a graceful one waits for the lookup deadlines) must
     * not be resumed from inside exit_process: just forget it.
     */
    for (q = ngx_queue_head(&rd->pending);
         q != ngx_queue_sentinel(&rd->pending);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_skip_redis_cmd_t, queue);
        ngx_skip_redis_detach(cmd);
    }

    ngx_skip_redis_close(rd);

    if (!rd->conf->node) {
        ngx_http_skip_metrics_redis_connected(0);
    }

    rd->state = NGX_SKIP_REDIS_DESTROYED;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->obuf) {
        ngx_free(rd->obuf);
    }

    ngx_free(rd);
}


ngx_int_t
ngx_skip_redis_ready(ngx_skip_redis_t *rd)
{
    return rd->state == NGX_SKIP_REDIS_READY ? NGX_OK : NGX_DECLINED;
}


const char *
ngx_skip_redis_snapshot(ngx_skip_redis_t *rd, ngx_uint_t *gen)
{
    *gen = rd->snap_gen;

    return rd->has_snap ? rd->snap : NULL;
}


/* ---- connecting ------------------------------------------------------- */


static void
ngx_skip_redis_connect(ngx_skip_redis_t *rd)
{
    ngx_int_t               rc;
    ngx_err_t               err;
    ngx_connection_t       *c;
    ngx_peer_connection_t   pc;

    ngx_memzero(&pc, sizeof(ngx_peer_connection_t));

    pc.sockaddr = rd->conf->addr.sockaddr;
    pc.socklen = rd->conf->addr.socklen;
    pc.name = &rd->conf->addr.name;
    pc.get = ngx_event_get_peer;
    pc.log = &rd->quiet_log;
    pc.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&pc);
    err = ngx_socket_errno;

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_skip_warn(&rd->log, err, "skip: connect() to Redis %V failed",
                      &rd->conf->addr.name);

        if (pc.connection) {
            ngx_close_connection(pc.connection);
        }

        ngx_skip_redis_schedule(rd);
        return;
    }

    c = pc.connection;

    if (rd->conf->addr.sockaddr->sa_family != AF_UNIX) {
        int  nodelay = 1;

        /* pipelined lookups must not wait for the previous reply's ACK */
        (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY,
                          (const void *) &nodelay, sizeof(int));
    }

    c->data = rd;
    c->log = &rd->log;
    c->read->log = &rd->log;
    c->write->log = &rd->log;
    c->read->handler = ngx_skip_redis_read_handler;
    c->write->handler = ngx_skip_redis_connect_handler;

    rd->conn = c;
    rd->state = NGX_SKIP_REDIS_CONNECTING;

    /* covers the TCP connect and the AUTH/SELECT/GET handshake */
    ngx_add_timer(&rd->connect_timer, rd->conf->connect_timeout);

    if (rc == NGX_OK) {
        /* unix sockets usually connect at once */
        ngx_skip_redis_connected(rd);
    }
}


static void
ngx_skip_redis_connect_handler(ngx_event_t *wev)
{
    int                err;
    socklen_t          len;
    ngx_connection_t  *c;
    ngx_skip_redis_t  *rd;

    c = wev->data;
    rd = c->data;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_skip_warn(&rd->log, err, "skip: connect() to Redis %V failed",
                      &rd->conf->addr.name);
        ngx_skip_redis_fail(rd);
        return;
    }

    ngx_skip_redis_connected(rd);
}


static void
ngx_skip_redis_connected(ngx_skip_redis_t *rd)
{
    size_t                  lens[4][2];
    ngx_uint_t              n;
    const char             *argv[4][2];
    u_char                  db[NGX_INT_T_LEN];
    u_char                  key[SK_KEY_MAX];
    ngx_skip_redis_argv_t   cmds[4];

    rd->conn->write->handler = ngx_skip_redis_write_handler;
    rd->state = NGX_SKIP_REDIS_HANDSHAKE;

    rd->reader = ngx_skip_reply_reader_create();
    if (rd->reader == NULL) {
        ngx_skip_redis_fail(rd);
        return;
    }

    n = 0;

    if (rd->conf->password.len) {
        argv[n][0] = "AUTH";
        lens[n][0] = 4;
        argv[n][1] = (const char *) rd->conf->password.data;
        lens[n][1] = rd->conf->password.len;
        cmds[n].argc = 2;
        n++;
    }

    if (rd->conf->db) {
        argv[n][0] = "SELECT";
        lens[n][0] = 6;
        argv[n][1] = (const char *) db;
        lens[n][1] = ngx_sprintf(db, "%i", rd->conf->db) - db;
        cmds[n].argc = 2;
        n++;
    }

    if (rd->conf->readonly) {
        argv[n][0] = "READONLY";
        lens[n][0] = 8;
        cmds[n].argc = 1;
        n++;
    }

    if (rd->conf->node) {
        /* the snapshot id is the cluster's business: just a round trip */
        argv[n][0] = "PING";
        lens[n][0] = 4;
        cmds[n].argc = 1;
        n++;

    } else {
        argv[n][0] = "GET";
        lens[n][0] = 3;
        argv[n][1] = (const char *) key;
        lens[n][1] = sk_key_active((char *) key, sizeof(key),
                                   (const char *) rd->conf->prefix);
        cmds[n].argc = 2;
        n++;
    }

    for (rd->handshake_n = 0; rd->handshake_n < n; rd->handshake_n++) {
        cmds[rd->handshake_n].argv = argv[rd->handshake_n];
        cmds[rd->handshake_n].lens = lens[rd->handshake_n];
        rd->handshake[rd->handshake_n] = argv[rd->handshake_n][0];
    }

    if (ngx_skip_redis_enqueue(rd, cmds, n, ngx_skip_redis_handshake_done, rd)
        == NULL)
    {
        ngx_skip_redis_fail(rd);
        return;
    }

    (void) ngx_skip_redis_flush(rd);
}


static void
ngx_skip_redis_handshake_done(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_redis_t *rd = data;

    ngx_uint_t   i;
    redisReply  *r;

    if (replies == NULL) {
        /* the connection went away; ngx_skip_redis_fail() reconnects */
        return;
    }

    for (i = 0; i < n; i++) {
        r = replies[i];

        if (r->type == REDIS_REPLY_ERROR
            && (i + 1 < n || rd->conf->node))
        {
            ngx_skip_warn(&rd->log, 0, "skip: Redis %V refused %s: %*s",
                          &rd->conf->addr.name, rd->handshake[i],
                          (size_t) ngx_min(r->len, 200), r->str);
            ngx_skip_redis_fail(rd);
            return;
        }
    }

    if (!rd->conf->node
        && ngx_skip_redis_set_active(rd, replies[n - 1]) != NGX_OK)
    {
        ngx_skip_redis_fail(rd);
        return;
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    rd->state = NGX_SKIP_REDIS_READY;
    rd->backoff = NGX_SKIP_REDIS_BACKOFF_MIN;

    if (rd->conf->node) {
        ngx_log_error(NGX_LOG_INFO, &rd->log, 0,
                      "skip: connected to Redis Cluster node %V%s",
                      &rd->conf->addr.name,
                      rd->conf->readonly ? " (READONLY)" : "");

        rd->conf->state_handler(rd->conf->state_data, 1);
        return;
    }

    ngx_http_skip_metrics_redis_connected(1);

    ngx_log_error(NGX_LOG_INFO, &rd->log, 0,
                  "skip: ngx_skip " SK_VERSION " connected to Redis %V, "
                  "active snapshot \"%s\"",
                  &rd->conf->addr.name, rd->has_snap ? rd->snap : "");

    ngx_add_timer(&rd->refresh, rd->conf->refresh);

    ngx_skip_redis_check_durable(rd);
}


/*
 * Does this server persist every write before it replies?  Asked once per
 * connection (a restarted Redis may have another configuration), before
 * any event can be sent on it, so the answer is known when the first event
 * is acknowledged.  CONFIG may be renamed or denied by an ACL: INFO
 * persistence then tells at least whether the AOF is on.
 */
static void
ngx_skip_redis_check_durable(ngx_skip_redis_t *rd)
{
    static const char     *argv[3][3] = {
        { "CONFIG", "GET", "appendonly" },
        { "CONFIG", "GET", "appendfsync" },
        { "INFO", "persistence", NULL }
    };
    static const size_t    lens[3][3] = {
        { 6, 3, 10 },
        { 6, 3, 11 },
        { 4, 11, 0 }
    };
    ngx_skip_redis_argv_t  cmds[3];
    ngx_uint_t             i;

    for (i = 0; i < 3; i++) {
        cmds[i].argc = (i == 2) ? 2 : 3;
        cmds[i].argv = argv[i];
        cmds[i].lens = lens[i];
    }

    (void) ngx_skip_redis_send(rd, cmds, 3, ngx_skip_redis_durable_done, rd);
}


/* the value of a CONFIG GET NAME reply, or NULL */
static const char *
ngx_skip_redis_config_value(redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return NULL;
    }

    return r->element[1]->str;
}


static void
ngx_skip_redis_durable_done(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_redis_t *rd = data;

    sk_durable   d;
    redisReply  *info;

    if (replies == NULL) {
        return;                 /* connection lost: asked again at connect */
    }

    d = sk_durability_config(ngx_skip_redis_config_value(replies[0]),
                             ngx_skip_redis_config_value(replies[1]),
                             rd->durable_why, sizeof(rd->durable_why));

    if (d == SK_DURABLE_UNKNOWN
        && ngx_skip_redis_config_value(replies[0]) == NULL)
    {
        info = replies[2];
        d = sk_durability_info(info->type == REDIS_REPLY_STRING
                               || info->type == REDIS_REPLY_STATUS
                               ? info->str : NULL,
                               info->len, rd->durable_why,
                               sizeof(rd->durable_why));
    }

    if (!rd->durable_checked || d != rd->durable) {
        rd->durable_warned = 0;
    }

    rd->durable = d;
    rd->durable_checked = 1;

    ngx_http_skip_metrics_redis_durable(d == SK_DURABLE_YES ? 2 : 1);

    ngx_log_error(NGX_LOG_INFO, &rd->log, 0,
                  "skip: Redis %V persistence: %s%s",
                  &rd->conf->addr.name,
                  d == SK_DURABLE_YES ? "every write is fsynced before the "
                                        "reply (appendfsync always)"
                                      : "not durable: ",
                  rd->durable_why);
}


const char *
ngx_skip_redis_durability_warning(ngx_skip_redis_t *rd)
{
    if (!rd->durable_checked || rd->durable == SK_DURABLE_YES
        || rd->durable_warned)
    {
        return NULL;
    }

    rd->durable_warned = 1;

    return rd->durable_why;
}


ngx_str_t *
ngx_skip_redis_name(ngx_skip_redis_t *rd)
{
    return &rd->conf->addr.name;
}


/* A GET <prefix>:active reply: a snapshot id or nil. */
static ngx_int_t
ngx_skip_redis_set_active(ngx_skip_redis_t *rd, redisReply *r)
{
    if (r->type == REDIS_REPLY_NIL) {
        if (rd->has_snap) {
            rd->has_snap = 0;
            rd->snap_gen++;
        }

        return NGX_OK;
    }

    if (r->type != REDIS_REPLY_STRING
        || !sk_snapshot_valid(r->str, r->len))
    {
        ngx_skip_warn(&rd->log, 0, "skip: Redis %V: unexpected reply to "
                      "GET %s:active (type %d)", &rd->conf->addr.name,
                      rd->conf->prefix, r->type);
        return NGX_ERROR;
    }

    if (!rd->has_snap || ngx_strcmp(rd->snap, r->str) != 0) {
        ngx_memcpy(rd->snap, r->str, r->len);
        rd->snap[r->len] = '\0';
        rd->has_snap = 1;
        rd->snap_gen++;
    }

    return NGX_OK;
}


/* ---- sending ---------------------------------------------------------- */


ngx_skip_redis_cmd_t *
ngx_skip_redis_send(ngx_skip_redis_t *rd, ngx_skip_redis_argv_t *cmds,
    ngx_uint_t n, ngx_skip_redis_handler_pt handler, void *data)
{
    ngx_skip_redis_cmd_t  *cmd;

    if (rd->state != NGX_SKIP_REDIS_READY
        || rd->npending >= NGX_SKIP_REDIS_MAX_PENDING)
    {
        return NULL;
    }

    cmd = ngx_skip_redis_enqueue(rd, cmds, n, handler, data);
    if (cmd == NULL) {
        return NULL;
    }

    /*
     * Write once per event loop iteration, not once per request: the
     * posted write event runs after the current batch of events, so the
     * lookups of all requests that arrived together leave in one send().
     */
    if (!rd->conn->write->posted) {
        ngx_post_event(rd->conn->write, &ngx_posted_events);
    }

    return cmd;
}


void
ngx_skip_redis_detach(ngx_skip_redis_cmd_t *cmd)
{
    cmd->handler = NULL;
    cmd->data = NULL;
}


/*
 * "<decimal>\r\n": the RESP counts and lengths, a dozen per lookup, written
 * without ngx_sprintf()'s format parsing.
 */
static u_char *
ngx_skip_redis_write_len(u_char *p, size_t v)
{
    u_char   tmp[NGX_SIZE_T_LEN];
    size_t   k;

    k = 0;

    do {
        tmp[k++] = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    while (k) {
        *p++ = tmp[--k];
    }

    *p++ = '\r';
    *p++ = '\n';

    return p;
}


static ngx_skip_redis_cmd_t *
ngx_skip_redis_enqueue(ngx_skip_redis_t *rd, ngx_skip_redis_argv_t *cmds,
    ngx_uint_t n, ngx_skip_redis_handler_pt handler, void *data)
{
    int                    j;
    size_t                 need, size;
    u_char                *p;
    ngx_uint_t             i;
    ngx_skip_redis_cmd_t  *cmd;

    if (n == 0 || n > NGX_SKIP_REDIS_MAXCMDS) {
        return NULL;
    }

    /*
     * The commands are written straight into the output buffer in RESP
     * (what redisFormatCommandArgv() writes: "*argc", then "$len" and
     * the bytes of each argument), without its malloc() per command and
     * libc sprintf() per argument: a batch of the prediction API is 101
     * commands of 26 arguments.  Arguments are length-prefixed, so no
     * byte of an id can become a command.  All of it fits, or nothing is
     * queued: a command half in the buffer would desynchronise the reply
     * FIFO.
     */
    need = rd->olen;

    for (i = 0; i < n; i++) {
        need += 1 + NGX_INT_T_LEN + 2;

        for (j = 0; j < cmds[i].argc; j++) {
            need += 1 + NGX_SIZE_T_LEN + 2 + cmds[i].lens[j] + 2;
        }
    }

    if (need > NGX_SKIP_REDIS_OBUF_MAX) {
        return NULL;
    }

    if (need > rd->osize) {
        size = ngx_max(rd->osize * 2, 16384);
        while (size < need) {
            size *= 2;
        }

        p = realloc(rd->obuf, size);
        if (p == NULL) {
            return NULL;
        }

        rd->obuf = p;
        rd->osize = size;
    }

    cmd = ngx_skip_redis_alloc_cmd(n, &rd->log);
    if (cmd == NULL) {
        return NULL;
    }

    p = rd->obuf + rd->olen;

    for (i = 0; i < n; i++) {
        *p++ = '*';
        p = ngx_skip_redis_write_len(p, cmds[i].argc);

        for (j = 0; j < cmds[i].argc; j++) {
            *p++ = '$';
            p = ngx_skip_redis_write_len(p, cmds[i].lens[j]);
            p = ngx_cpymem(p, cmds[i].argv[j], cmds[i].lens[j]);
            *p++ = '\r';
            *p++ = '\n';
        }
    }

    rd->olen = p - rd->obuf;

    cmd->handler = handler;
    cmd->data = data;
    cmd->n = n;
    cmd->sent = ngx_current_msec;

    ngx_queue_insert_tail(&rd->pending, &cmd->queue);
    rd->npending++;

    return cmd;
}


static void
ngx_skip_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t  *c;

    c = wev->data;

    (void) ngx_skip_redis_flush(c->data);
}


static ngx_int_t
ngx_skip_redis_flush(ngx_skip_redis_t *rd)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = rd->conn;

    if (c == NULL || rd->state < NGX_SKIP_REDIS_HANDSHAKE) {
        return NGX_OK;
    }

    while (rd->opos < rd->olen) {
        n = c->send(c, rd->obuf + rd->opos, rd->olen - rd->opos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_skip_redis_fail(rd);
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        if (n == NGX_ERROR) {
            ngx_skip_warn(&rd->log, 0, "skip: send() to Redis %V failed",
                          &rd->conf->addr.name);
            ngx_skip_redis_fail(rd);
            return NGX_ERROR;
        }

        rd->opos += n;
    }

    rd->olen = 0;
    rd->opos = 0;

    return NGX_OK;
}


/* ---- receiving -------------------------------------------------------- */


static void
ngx_skip_redis_read_handler(ngx_event_t *rev)
{
    u_char             buf[16384];
    void              *reply;
    size_t             off, chunk;
    ssize_t            n;
    ngx_uint_t         gen;
    ngx_connection_t  *c;
    ngx_skip_redis_t  *rd;

    c = rev->data;
    rd = c->data;

    if (rd->state == NGX_SKIP_REDIS_CONNECTING) {
        /* a refused connect shows up as a read event too */
        ngx_skip_redis_connect_handler(c->write);
        return;
    }

    gen = rd->generation;

    /*
     * Read until EAGAIN: the events are edge-triggered, so anything left
     * unread would wait for the next reply (nchan's 16 kB stall).
     */
    do {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_skip_warn(&rd->log, 0, "skip: Redis %V closed the connection",
                          &rd->conf->addr.name);
            ngx_skip_redis_fail(rd);
            return;
        }

        /*
         * Fed in slices: the reader moves its unread rest to the front of
         * its buffer whenever it has consumed 1 kB, so a whole 16 kB read
         * at once would be moved again and again while its replies are
         * taken out one by one.
         */
        for (off = 0; off < (size_t) n; off += chunk) {
            chunk = ngx_min((size_t) n - off, NGX_SKIP_REDIS_FEED);

            if (redisReaderFeed(rd->reader, (const char *) buf + off, chunk)
                != REDIS_OK)
            {
                goto protocol_error;
            }

            for ( ;; ) {
                if (redisReaderGetReply(rd->reader, &reply) != REDIS_OK) {
                    goto protocol_error;
                }

                if (reply == NULL) {
                    break;
                }

                ngx_skip_redis_deliver(rd, reply);

                if (rd->generation != gen) {
                    /* a handler closed the connection; c is gone */
                    return;
                }
            }
        }

    } while (rev->ready);

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_skip_redis_fail(rd);
    }

    return;

protocol_error:

    ngx_skip_warn(&rd->log, 0, "skip: Redis %V: protocol error: %s",
                  &rd->conf->addr.name, rd->reader->errstr);
    ngx_skip_redis_fail(rd);
}


static void
ngx_skip_redis_deliver(ngx_skip_redis_t *rd, redisReply *reply)
{
    ngx_queue_t           *q;
    ngx_skip_redis_cmd_t  *cmd;

    if (ngx_queue_empty(&rd->pending)) {
        ngx_skip_reply_free(reply);
        ngx_skip_warn(&rd->log, 0, "skip: Redis %V sent a reply nobody asked "
                      "for", &rd->conf->addr.name);
        ngx_skip_redis_fail(rd);
        return;
    }

    q = ngx_queue_head(&rd->pending);
    cmd = ngx_queue_data(q, ngx_skip_redis_cmd_t, queue);

    cmd->replies[cmd->got++] = reply;

    if (cmd->got < cmd->n) {
        return;
    }

    ngx_queue_remove(q);
    rd->npending--;

    if (cmd->handler) {
        cmd->handler(cmd->data, cmd->replies, cmd->n);
    }

    ngx_skip_redis_free_cmd(cmd);
}


static ngx_skip_redis_cmd_t *
ngx_skip_redis_alloc_cmd(ngx_uint_t n, ngx_log_t *log)
{
    ngx_skip_redis_cmd_t  *cmd;

    if (n > NGX_SKIP_REDIS_CMD_SMALL || ngx_skip_redis_cmd_free == NULL) {
        cmd = ngx_alloc(ngx_skip_redis_cmd_size(ngx_max(n,
                                                 NGX_SKIP_REDIS_CMD_SMALL)),
                        log);
        if (cmd == NULL) {
            return NULL;
        }

    } else {
        cmd = ngx_skip_redis_cmd_free;
        ngx_skip_redis_cmd_free = (ngx_skip_redis_cmd_t *) cmd->replies[0];
        ngx_skip_redis_cmd_nfree--;
    }

    ngx_memzero(cmd, ngx_skip_redis_cmd_size(n));

    return cmd;
}


static void
ngx_skip_redis_free_cmd(ngx_skip_redis_cmd_t *cmd)
{
    ngx_uint_t  i;

    for (i = 0; i < cmd->got; i++) {
        ngx_skip_reply_free(cmd->replies[i]);
    }

    if (cmd->n > NGX_SKIP_REDIS_CMD_SMALL
        || ngx_skip_redis_cmd_nfree >= NGX_SKIP_REDIS_CMD_KEEP)
    {
        ngx_free(cmd);
        return;
    }

    cmd->replies[0] = (redisReply *) ngx_skip_redis_cmd_free;
    ngx_skip_redis_cmd_free = cmd;
    ngx_skip_redis_cmd_nfree++;
}


/* ---- timers ------------------------------------------------------------ */


static void
ngx_skip_redis_connect_timeout_handler(ngx_event_t *ev)
{
    ngx_skip_redis_t  *rd;

    rd = ((ngx_connection_t *) ev->data)->data;

    ngx_skip_warn(&rd->log, NGX_ETIMEDOUT, "skip: Redis %V did not complete "
                  "connect and handshake in %M ms", &rd->conf->addr.name,
                  rd->conf->connect_timeout);

    ngx_skip_redis_fail(rd);
}


static void
ngx_skip_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_skip_redis_t  *rd;

    rd = ((ngx_connection_t *) ev->data)->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_skip_redis_connect(rd);
}


static void
ngx_skip_redis_refresh_handler(ngx_event_t *ev)
{
    size_t                  lens[2];
    const char             *argv[2];
    u_char                  key[SK_KEY_MAX];
    ngx_skip_redis_t       *rd;
    ngx_skip_redis_argv_t   cmd;

    rd = ((ngx_connection_t *) ev->data)->data;

    if (rd->state != NGX_SKIP_REDIS_READY) {
        return;
    }

    ngx_skip_redis_check(rd);

    if (rd->state != NGX_SKIP_REDIS_READY) {
        return;
    }

    if (!rd->refreshing) {
        argv[0] = "GET";
        lens[0] = 3;
        argv[1] = (const char *) key;
        lens[1] = sk_key_active((char *) key, sizeof(key),
                                (const char *) rd->conf->prefix);
        cmd.argc = 2;
        cmd.argv = argv;
        cmd.lens = lens;

        if (ngx_skip_redis_send(rd, &cmd, 1, ngx_skip_redis_active_done, rd)) {
            rd->refreshing = 1;
        }
    }

    ngx_add_timer(&rd->refresh, rd->conf->refresh);
}


static void
ngx_skip_redis_active_done(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_redis_t *rd = data;

    rd->refreshing = 0;

    if (replies == NULL) {
        return;
    }

    if (replies[0]->type == REDIS_REPLY_ERROR) {
        ngx_skip_warn(&rd->log, 0, "skip: Redis %V: GET %s:active: %*s",
                      &rd->conf->addr.name, rd->conf->prefix,
                      (size_t) replies[0]->len, replies[0]->str);
        return;
    }

    /* a bad value keeps the snapshot we have; it was logged */
    (void) ngx_skip_redis_set_active(rd, replies[0]);
}


void
ngx_skip_redis_check(ngx_skip_redis_t *rd)
{
    ngx_queue_t           *q;
    ngx_skip_redis_cmd_t  *cmd;

    if (rd->state != NGX_SKIP_REDIS_READY || ngx_queue_empty(&rd->pending)) {
        return;
    }

    q = ngx_queue_head(&rd->pending);
    cmd = ngx_queue_data(q, ngx_skip_redis_cmd_t, queue);

    if ((ngx_msec_int_t) (ngx_current_msec - cmd->sent)
        < (ngx_msec_int_t) rd->conf->connect_timeout)
    {
        return;
    }

    ngx_skip_warn(&rd->log, NGX_ETIMEDOUT, "skip: Redis %V has not answered "
                  "for %M ms, reconnecting", &rd->conf->addr.name,
                  ngx_current_msec - cmd->sent);

    ngx_skip_redis_fail(rd);
}


/* ---- circuit breaker ---------------------------------------------------- */


ngx_int_t
ngx_skip_redis_breaker_allow(ngx_skip_redis_t *rd)
{
    if (!rd->open) {
        return NGX_OK;
    }

    if ((ngx_msec_int_t) (ngx_current_msec - rd->open_until) < 0) {
        return NGX_BUSY;
    }

    /*
     * Half open: this lookup is the probe.  The next ones wait for its
     * outcome, or for another interval if it never reports (its request
     * went away): the breaker cannot get stuck open.
     */
    rd->probing = 1;
    rd->open_until = ngx_current_msec + rd->open_for;

    return NGX_OK;
}


void
ngx_skip_redis_breaker_result(ngx_skip_redis_t *rd, ngx_uint_t timed_out)
{
    ngx_skip_redis_conf_t  *conf;

    conf = rd->conf;

    if (conf->breaker_threshold == 0) {
        return;
    }

    if (!timed_out) {
        if (rd->open) {
            ngx_log_error(NGX_LOG_WARN, &rd->log, 0,
                          "skip: Redis %V answers again, breaker closed",
                          &conf->addr.name);
        }

        rd->timeouts = 0;
        rd->open = 0;
        rd->probing = 0;
        rd->answered = ngx_current_msec;
        return;
    }

    if (rd->open) {
        /* lookups sent before it opened time out too: only the probe's
         * outcome counts */
        if (!rd->probing) {
            return;
        }

        rd->probing = 0;
        rd->open_for = ngx_min(rd->open_for * 2, conf->breaker_max);
        rd->open_until = ngx_current_msec + rd->open_for;

        ngx_skip_warn(&rd->log, NGX_ETIMEDOUT, "skip: Redis %V: the probe "
                      "timed out, not asking it for %M ms",
                      &conf->addr.name, rd->open_for);
        return;
    }

    if (++rd->timeouts < conf->breaker_threshold
        || ngx_current_msec - rd->answered < conf->breaker_quiet)
    {
        return;
    }

    rd->open = 1;
    rd->probing = 0;
    rd->open_for = ngx_min(conf->breaker_open, conf->breaker_max);
    rd->open_until = ngx_current_msec + rd->open_for;

    ngx_http_skip_metrics_breaker_trip();

    /* not rate-limited: it opens at most once per interval */
    ngx_log_error(NGX_LOG_WARN, &rd->log, NGX_ETIMEDOUT,
                  "skip: Redis %V: %ui lookups in a row timed out, no "
                  "answer for %M ms, breaker open, not asking it for %M ms",
                  &conf->addr.name, rd->timeouts,
                  ngx_current_msec - rd->answered, rd->open_for);
}


/* ---- closing ------------------------------------------------------------ */


/* Close and fail every pending command; no reconnect. */
static void
ngx_skip_redis_close(ngx_skip_redis_t *rd)
{
    ngx_queue_t            failed, *q;
    ngx_skip_redis_cmd_t  *cmd;

    if (rd->state == NGX_SKIP_REDIS_READY && !rd->conf->node) {
        ngx_http_skip_metrics_redis_connected(0);
    }

    rd->generation++;
    rd->state = NGX_SKIP_REDIS_IDLE;
    rd->refreshing = 0;

    if (rd->conn) {
        /* also deletes its posted and timer events */
        ngx_close_connection(rd->conn);
        rd->conn = NULL;
    }

    if (rd->reader) {
        redisReaderFree(rd->reader);
        rd->reader = NULL;
    }

    rd->olen = 0;
    rd->opos = 0;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (rd->refresh.timer_set) {
        ngx_del_timer(&rd->refresh);
    }

    /*
     * Take the whole FIFO first: a handler resumes its request, and
     * nothing it does may find a half-failed queue.
     */
    ngx_queue_init(&failed);

    if (!ngx_queue_empty(&rd->pending)) {
        ngx_queue_add(&failed, &rd->pending);
        ngx_queue_init(&rd->pending);
    }

    rd->npending = 0;

    while (!ngx_queue_empty(&failed)) {
        q = ngx_queue_head(&failed);
        ngx_queue_remove(q);
        cmd = ngx_queue_data(q, ngx_skip_redis_cmd_t, queue);

        if (cmd->handler) {
            cmd->handler(cmd->data, NULL, 0);
        }

        ngx_skip_redis_free_cmd(cmd);
    }
}


/* Close after a failure and reconnect later. */
static void
ngx_skip_redis_fail(ngx_skip_redis_t *rd)
{
    if (rd->state == NGX_SKIP_REDIS_DESTROYED) {
        return;
    }

    ngx_skip_redis_close(rd);
    ngx_skip_redis_schedule(rd);

    if (rd->conf->node) {
        /* the cluster asks for a fresh slot map: a failover may be on */
        rd->conf->state_handler(rd->conf->state_data, 0);
    }
}


void
ngx_skip_redis_park(ngx_skip_redis_t *rd)
{
    if (rd->parked || rd->state == NGX_SKIP_REDIS_DESTROYED) {
        return;
    }

    rd->parked = 1;

    if (rd->state != NGX_SKIP_REDIS_IDLE) {
        ngx_skip_redis_close(rd);
    }

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }
}


void
ngx_skip_redis_unpark(ngx_skip_redis_t *rd)
{
    if (!rd->parked) {
        return;
    }

    rd->parked = 0;
    rd->backoff = NGX_SKIP_REDIS_BACKOFF_MIN;

    if (rd->state == NGX_SKIP_REDIS_IDLE && !rd->reconnect.timer_set
        && !(ngx_exiting || ngx_terminate || ngx_quit))
    {
        ngx_skip_redis_connect(rd);
    }
}


static void
ngx_skip_redis_schedule(ngx_skip_redis_t *rd)
{
    ngx_msec_t  delay;

    rd->state = NGX_SKIP_REDIS_IDLE;

    if (rd->reconnect.timer_set || rd->parked
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        return;
    }

    /* backoff * [0.5, 1.5): workers spread out instead of stampeding */
    delay = rd->backoff / 2 + (ngx_msec_t) ngx_random() % rd->backoff;

    rd->backoff = ngx_min(rd->backoff * 2, NGX_SKIP_REDIS_BACKOFF_MAX);

    ngx_add_timer(&rd->reconnect, delay);
}
