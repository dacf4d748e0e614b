/*
 * ngx_skip: the `skip_events` location handler.
 *
 * POST one JSON event or a JSONL batch (any Content-Type; skipctl replay
 * sends application/x-ndjson):
 *
 *   {"user_id":101,"track_id":"<22 chars>","event_type":"Play",
 *    "timestamp":"2024-02-08 09:52:40.925 +02:00:00","session_id":7}
 *
 * Lines are parsed by the dataset's tolerant reader (src/dataset.h, kind
 * "sessions"), so every form it accepts is accepted here: v1 positional
 * arrays, any case of the event name, every timestamp form of
 * timeparse.h, unknown keys ignored.  session_id is a key field there and
 * so required here; it is what makes a retried event idempotent.
 *
 * The answer:
 *
 *   200 {"accepted":N,"applied":A,"ignored":L}  every event is stored: the
 *       client may forget them.  N = events in the batch, A = Play/Skip
 *       events counted in the active snapshot (others are journaled only:
 *       unknown user/track, or a repeat), L = Likes (accepted, not stored:
 *       the feature store has no use for them).
 *   400 {"error":"bad events","rejected":K,"errors":[{"line":..,"field":..,
 *       "reason":..},...]}  at least one line is unusable (first 8 named);
 *       NOTHING of the batch is applied (all-or-nothing).  Also for an
 *       empty body and for Advertisement/BuyPremium (not listener
 *       outcomes).  Every Play/Skip must pass the event rule
 *       (src/event_rule.h): exactly what the store script accepts (so a
 *       batch never fails in Redis for a reason a retry cannot change),
 *       plus a time not more than skip_events_max_skew ahead of our clock.
 *       The same batch always gets the same 400.
 *   401 skip_events_token is set and the Bearer token is missing or wrong.
 *   405 not POST (Allow: POST).
 *   413 body over client_max_body_size (nginx's own check) or more lines
 *       than skip_events_max.
 *   503 {"error":"..."} + Retry-After: 1  Redis is not configured, not
 *       connected, answered an error, or did not confirm every event
 *       within skip_events_timeout.  The client keeps the batch and sends
 *       it again.
 *
 * Applying.  Every Play/Skip is one EVALSHA of sk_script_event
 * (src/store_scripts.h) on the worker's Redis connection; all of a batch
 * is queued at once, so it leaves in one write and comes back in one
 * round trip.  NOSCRIPT (Redis restarted or SCRIPT FLUSH) is answered by
 * sending that event again as EVAL, once; later events of the same batch
 * go again as EVALSHA behind it (Redis runs them in order, so the script
 * exists by then).  200 is sent only when every reply confirmed its event.
 *
 * Why a retry after 503 never double-counts.  A 503 may come after Redis
 * applied part of the batch (deadline, connection lost after the write).
 * The script keeps a marker per (session, track) and counts a repeat as
 * nothing, so sending the batch again changes only what was not applied
 * yet: exactly once per (session, track), within the marker's 2 h.  An
 * acknowledged (200) event is in Redis; an unacknowledged one is with the
 * client.  Nothing is lost either way.
 *
 * Live evaluation.  After the 200 is decided, each Play/Skip takes the
 * prediction remembered for its (user, track) out of the skip_recent table
 * (ngx_skip_recent.c) and counts (arm, predicted, actual) in
 * skip_outcomes_total.  The contract (skipctl replay) is one outcome event
 * per listen: Play = listened in full, Skip = skipped; the first one for a
 * pair consumes the prediction, so a resent batch never counts twice.
 *
 * Lifetime.  The request context lives in r->pool; the Redis commands
 * point at "tickets" in heap memory.  A request that goes away (client
 * closed while waiting: ngx_http_test_reading; HTTP/2 reset) runs the
 * cleanup, which detaches every outstanding command, deletes the
 * deadline and frees the tickets, so no reply is ever delivered to freed
 * memory.  Redis trouble is logged at warn at most, rate-limited.
 *
 * On a Redis Cluster the batch is journaled instead (one script per event
 * on its listener's shard, WAIT 1), and skipctl applies the journal:
 * ngx_skip_events_cluster.c.
 *
 * This file: the handler, Redis and the answers.  Reading a batch into
 * events, with the event rule and the 400's list of bad lines, is
 * ngx_skip_events_parse.c; the types both use are ngx_skip_events_int.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "../core/dataset.h"
#include "../core/event_rule.h"
#include "../core/keys.h"
#include "../core/store_scripts.h"
#include "ngx_skip_conf.h"
#include "ngx_skip_events.h"
#include "ngx_skip_events_int.h"
#include "ngx_skip_prom.h"
#include "ngx_skip_recent.h"
#include "ngx_skip_redis.h"


/* EVALSHA sha numkeys 2 keys + 8 args */
#define NGX_HTTP_SKIP_EVENTS_ARGC  (3 + SK_SCRIPT_EVENT_NKEYS + 9)


static ngx_int_t ngx_http_skip_events_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_skip_events_authorized(ngx_http_request_t *r,
    ngx_str_t *token);
static void ngx_http_skip_events_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_skip_events_send_one(
    ngx_http_skip_events_ctx_t *ctx, ngx_http_skip_events_ticket_t *t,
    ngx_uint_t eval);
static void ngx_http_skip_events_reply(void *data, redisReply **replies,
    ngx_uint_t n);
static void ngx_http_skip_events_deadline(ngx_event_t *ev);
static void ngx_http_skip_events_detach(ngx_http_skip_events_ctx_t *ctx);
static void ngx_http_skip_events_cleanup(void *data);
static void ngx_http_skip_events_finalize(ngx_http_skip_events_ctx_t *ctx,
    ngx_int_t rc);
static ngx_int_t ngx_http_skip_events_respond_str(ngx_http_request_t *r,
    ngx_uint_t status, const char *body);

static char *ngx_http_skip_events_recent(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_skip_events_init(ngx_conf_t *cf);
static void *ngx_http_skip_events_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_skip_events_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_skip_events_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_skip_events_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_skip_events_max_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_SKIP_REDIS_MAX_PENDING / 2
};


static ngx_command_t  ngx_http_skip_events_commands[] = {

    { ngx_string("skip_events"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_skip_events_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_events_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_events_loc_conf_t, timeout),
      NULL },

    { ngx_string("skip_events_max_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_events_loc_conf_t, max_skew),
      NULL },

    { ngx_string("skip_events_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_events_loc_conf_t, max_events),
      &ngx_http_skip_events_max_bounds },

    { ngx_string("skip_events_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_events_loc_conf_t, token),
      &ngx_http_skip_conf_str_nonempty },

    { ngx_string("skip_events_recent"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_skip_events_recent,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_skip_events_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_skip_events_init,             /* postconfiguration */

    ngx_http_skip_events_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_skip_events_create_loc_conf,  /* create location configuration */
    ngx_http_skip_events_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_skip_events_module = {
    NGX_MODULE_V1,
    &ngx_http_skip_events_module_ctx,      /* module context */
    ngx_http_skip_events_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_skip_events_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* SHA1 of sk_script_event, computed once per process */
static char  ngx_http_skip_events_sha[41];


/* ---- the handler ------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_events_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_skip_events_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_events_module);

    if (r->method != NGX_HTTP_POST) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_skip_events_add_header(r, "Allow", "POST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_skip_events_respond_str(r, NGX_HTTP_NOT_ALLOWED,
                   "{\"error\":\"method not allowed: POST events\"}\n");
    }

    if (elcf->token.len && ngx_http_skip_events_authorized(r, &elcf->token)
                           != NGX_OK)
    {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_skip_events_add_header(r, "WWW-Authenticate",
                                            "Bearer realm=\"skip_events\"")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_skip_events_respond_str(r, NGX_HTTP_UNAUTHORIZED,
                   "{\"error\":\"missing or wrong bearer token\"}\n");
    }

    /* one buffer when it fits client_body_buffer_size, else a temp file */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_skip_events_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        /* 413 for a body over client_max_body_size comes from here */
        return rc;
    }

    return NGX_DONE;
}


/* "Authorization: Bearer <token>", compared in constant time. */
static ngx_int_t
ngx_http_skip_events_authorized(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char      *p, *last, diff;
    ngx_uint_t   i;

    if (r->headers_in.authorization == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.authorization->value.data;
    last = p + r->headers_in.authorization->value.len;

    if (last - p < 7 || ngx_strncasecmp(p, (u_char *) "Bearer ", 7) != 0) {
        return NGX_DECLINED;
    }

    p += 7;

    while (p < last && *p == ' ') {
        p++;
    }

    /*
     * The time depends on the configured token's length only: every byte
     * of it is compared, against the offered bytes cycled.
     */
    diff = ((size_t) (last - p) != token->len);

    if (p == last) {
        return NGX_DECLINED;
    }

    for (i = 0; i < token->len; i++) {
        diff |= token->data[i] ^ p[i % (last - p)];
    }

    return diff ? NGX_DECLINED : NGX_OK;
}


/* The body is read: parse, validate, send. */
static void
ngx_http_skip_events_body(ngx_http_request_t *r)
{
    u_char                           *body;
    size_t                            len;
    ngx_int_t                         rc;
    ngx_str_t                         out;
    ngx_uint_t                        i;
    ngx_msec_t                        connect_timeout;
    ngx_skip_cluster_t               *cl;
    ngx_http_cleanup_t               *cln;
    ngx_http_skip_events_ctx_t       *ctx;
    ngx_http_skip_events_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_events_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_skip_events_ctx_t));
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->request = r;

    body = ngx_http_skip_events_read_body(r, &len);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_skip_events_parse(r, ctx, body, len,
                                    (ngx_uint_t) elcf->max_events,
                                    elcf->max_skew, &out);

    if (rc == NGX_HTTP_BAD_REQUEST || rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
    {
        ngx_http_finalize_request(r, ngx_http_skip_events_respond(r, rc,
                                                 out.data, out.len));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ctx->nevents == ctx->nlikes) {
        /* only Likes: nothing to store */
        ngx_http_skip_events_succeed(ctx);
        return;
    }

    ctx->redis = ngx_http_skip_worker_redis(r, &ctx->prefix);

    if (ctx->redis == NULL) {
        cl = ngx_http_skip_worker_cluster(r, &connect_timeout);

        if (cl) {
            /* journaled per shard, applied by skipctl features apply */
            ngx_http_skip_events_cluster(ctx, cl, elcf->timeout,
                                         connect_timeout);
            return;
        }

        ngx_http_skip_events_unavailable(ctx, "no skip_redis configured");
        return;
    }

    if (ngx_skip_redis_ready(ctx->redis) != NGX_OK) {
        ngx_http_skip_events_unavailable(ctx, "Redis is not connected");
        return;
    }

    ctx->active_len = sk_key_active((char *) ctx->active_key, SK_KEY_MAX,
                                    (const char *) ctx->prefix.data);
    ctx->events_len = ngx_snprintf(ctx->events_key, SK_KEY_MAX, "%V:events",
                                   &ctx->prefix)
                      - ctx->events_key;

    if (ngx_http_skip_events_sha[0] == '\0') {
        sk_script_sha1(sk_script_event, ngx_http_skip_events_sha);
    }

    ctx->tickets = ngx_alloc((ctx->nevents - ctx->nlikes)
                             * sizeof(ngx_http_skip_events_ticket_t),
                             r->connection->log);
    if (ctx->tickets == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_free(ctx->tickets);
        ctx->tickets = NULL;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_skip_events_cleanup;
    cln->data = ctx;

    for (i = 0; i < ctx->nevents; i++) {
        if (ctx->events[i].type == SK_EV_LIKE) {
            continue;
        }

        ctx->tickets[ctx->ntickets].ctx = ctx;
        ctx->tickets[ctx->ntickets].cmd = NULL;
        ctx->tickets[ctx->ntickets].event = i;
        ctx->tickets[ctx->ntickets].noscript = 0;

        if (ngx_http_skip_events_send_one(ctx, &ctx->tickets[ctx->ntickets],
                                          0)
            != NGX_OK)
        {
            /* overloaded: what was queued may still run; it is idempotent */
            ngx_http_skip_events_detach(ctx);
            ngx_http_skip_events_unavailable(ctx, "Redis queue is full");
            return;
        }

        ctx->ntickets++;
        ctx->pending++;
    }

    ctx->deadline.handler = ngx_http_skip_events_deadline;
    ctx->deadline.data = r->connection;
    ctx->deadline.log = r->connection->log;
    ngx_add_timer(&ctx->deadline, elcf->timeout);

    /* a client that closes while we wait finalizes the request (499) */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    ctx->async = 1;
}


/* The request body as one buffer (memory or the temp file). */
u_char *
ngx_http_skip_events_read_body(ngx_http_request_t *r, size_t *len)
{
    u_char       *body, *p;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    *len = 0;

    if (r->request_body == NULL) {
        return (u_char *) "";
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    body = ngx_pnalloc(r->pool, size + 1);
    if (body == NULL) {
        return NULL;
    }

    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* a body over client_body_buffer_size: a local temp file */
            size = (size_t) (b->file_last - b->file_pos);

            if (size) {
                n = ngx_read_file(b->file, p, size, b->file_pos);
                if (n != (ssize_t) size) {
                    return NULL;
                }

                p += n;
            }

            continue;
        }

        if (b->last > b->pos) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }

    *p = '\0';
    *len = p - body;

    return body;
}


/* ---- Redis ------------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_events_send_one(ngx_http_skip_events_ctx_t *ctx,
    ngx_http_skip_events_ticket_t *t, ngx_uint_t eval)
{
    int                         argc;
    u_char                      ms[NGX_INT64_LEN + 1];
    u_char                      sess[NGX_INT64_LEN + 1];
    u_char                      hour[NGX_INT_T_LEN];
    size_t                      lens[NGX_HTTP_SKIP_EVENTS_ARGC];
    const char                 *argv[NGX_HTTP_SKIP_EVENTS_ARGC];
    ngx_skip_redis_argv_t       cmd;
    ngx_http_skip_events_ev_t  *ev;

    ev = &ctx->events[t->event];
    argc = 0;

#define ngx_http_skip_events_arg(s, n)                                        \
    argv[argc] = (const char *) (s); lens[argc] = (n); argc++

    if (eval) {
        ngx_http_skip_events_arg("EVAL", 4);
        ngx_http_skip_events_arg(sk_script_event,
                                 ngx_strlen(sk_script_event));
    } else {
        ngx_http_skip_events_arg("EVALSHA", 7);
        ngx_http_skip_events_arg(ngx_http_skip_events_sha, 40);
    }

    ngx_http_skip_events_arg("2", 1);
    ngx_http_skip_events_arg(ctx->active_key, ctx->active_len);
    ngx_http_skip_events_arg(ctx->events_key, ctx->events_len);
    ngx_http_skip_events_arg(ctx->prefix.data, ctx->prefix.len);
    ngx_http_skip_events_arg(ev->user, ev->user_len);
    ngx_http_skip_events_arg(ev->track, SK_ID_LEN);

    if (ev->type == SK_EV_PLAY) {
        ngx_http_skip_events_arg("play", 4);
    } else {
        ngx_http_skip_events_arg("skip", 4);
    }

    ngx_http_skip_events_arg(ms, ngx_sprintf(ms, "%L", ev->ts_ms) - ms);
    ngx_http_skip_events_arg(sess,
                             ngx_sprintf(sess, "%L", ev->session_id) - sess);
    ngx_http_skip_events_arg("", 0);         /* marker TTL: the default */
    ngx_http_skip_events_arg("0", 1);        /* no stream cap: gc trims */
    ngx_http_skip_events_arg(hour, ngx_sprintf(hour, "%d", ev->hour) - hour);

#undef ngx_http_skip_events_arg

    cmd.argc = argc;
    cmd.argv = argv;
    cmd.lens = lens;

    t->cmd = ngx_skip_redis_send(ctx->redis, &cmd, 1,
                                 ngx_http_skip_events_reply, t);

    return t->cmd ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_skip_events_reply(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_http_skip_events_ticket_t *t = data;

    redisReply                  *rp;
    ngx_http_request_t          *r;
    ngx_http_skip_events_ctx_t  *ctx;

    ctx = t->ctx;
    r = ctx->request;

    /* the command is freed when we return */
    t->cmd = NULL;

    if (replies == NULL) {
        /* connection lost: the Redis code has logged it */
        ngx_http_skip_events_detach(ctx);
        ngx_http_skip_events_unavailable(ctx, "Redis connection lost");
        return;
    }

    rp = replies[0];

    if (rp->type == REDIS_REPLY_ERROR
        && rp->len >= 8 && ngx_strncmp(rp->str, "NOSCRIPT", 8) == 0
        && t->noscript++ < 2)
    {
        /*
         * Nothing ran.  The first NOSCRIPT of the batch loads the script
         * with EVAL; the others follow it as EVALSHA.
         */
        if (ngx_http_skip_events_send_one(ctx, t,
                                          !ctx->eval_sent || t->noscript > 1)
            == NGX_OK)
        {
            ctx->eval_sent = 1;
            return;
        }

        ngx_http_skip_events_detach(ctx);
        ngx_http_skip_events_unavailable(ctx, "Redis queue is full");
        return;
    }

    if (rp->type == REDIS_REPLY_ERROR
        && rp->len >= 10 && ngx_strncmp(rp->str, "ERR skip: ", 10) == 0)
    {
        /*
         * The script refused this event for good (it checks the same rule
         * as the parser, so this means the two disagree: a bug).  A 503
         * would have the client resend it forever; 400 names the line.
         */
        ngx_skip_warn(r->connection->log, 0,
                      "skip: the event script refused line %l, which "
                      "passed the event rule: %*s", ctx->events[t->event].line,
                      (size_t) rp->len, rp->str);

        ngx_http_skip_events_detach(ctx);
        ngx_http_skip_events_refused(ctx, ctx->events[t->event].line,
                                     rp->str + 10, rp->len - 10);
        return;
    }

    if (rp->type != REDIS_REPLY_ARRAY || rp->elements < 4
        || rp->element[3]->type != REDIS_REPLY_INTEGER)
    {
        if (rp->type == REDIS_REPLY_ERROR) {
            ngx_skip_warn(r->connection->log, 0,
                          "skip: Redis refused an event: %*s",
                          (size_t) rp->len, rp->str);
        } else {
            ngx_skip_warn(r->connection->log, 0,
                          "skip: unexpected Redis reply of type %d to the "
                          "event script", rp->type);
        }

        ngx_http_skip_events_detach(ctx);
        ngx_http_skip_events_unavailable(ctx, "Redis did not store an event");
        return;
    }

    if (rp->element[3]->integer == 1) {
        ctx->applied++;
    }

    if (--ctx->pending == 0) {
        ngx_http_skip_events_succeed(ctx);
    }
}


static void
ngx_http_skip_events_deadline(ngx_event_t *ev)
{
    ngx_skip_redis_t            *rd;
    ngx_http_skip_events_ctx_t  *ctx;

    ctx = (ngx_http_skip_events_ctx_t *)
              ((u_char *) ev - offsetof(ngx_http_skip_events_ctx_t, deadline));

    rd = ctx->redis;

    ngx_http_skip_events_detach(ctx);
    ngx_http_skip_events_unavailable(ctx, "Redis did not confirm in time");

    /* a Redis that stopped answering altogether is dropped from here */
    ngx_skip_redis_check(rd);
}


/* Forget every outstanding command: their replies will be dropped. */
static void
ngx_http_skip_events_detach(ngx_http_skip_events_ctx_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->ntickets; i++) {
        if (ctx->tickets[i].cmd) {
            ngx_skip_redis_detach(ctx->tickets[i].cmd);
            ctx->tickets[i].cmd = NULL;
        }
    }

    ctx->pending = 0;

    if (ctx->deadline.timer_set) {
        ngx_del_timer(&ctx->deadline);
    }
}


static void
ngx_http_skip_events_cleanup(void *data)
{
    ngx_http_skip_events_ctx_t *ctx = data;

    if (ctx->tickets == NULL) {
        return;
    }

    ngx_http_skip_events_detach(ctx);

    ngx_free(ctx->tickets);
    ctx->tickets = NULL;
}


/* ---- answers ----------------------------------------------------------- */


void
ngx_http_skip_events_succeed(ngx_http_skip_events_ctx_t *ctx)
{
    u_char                     *out, *p;
    ngx_int_t                   rc;
    ngx_uint_t                  i, model, predicted;
    ngx_str_t                   user, track;
    const char                 *why;
    ngx_http_request_t         *r;
    ngx_http_skip_events_ev_t  *ev;

    r = ctx->request;

    if (ctx->done) {
        return;
    }

    ctx->done = 1;

    if (ctx->deadline.timer_set) {
        ngx_del_timer(&ctx->deadline);
    }

    /* stored: now the outcomes of remembered predictions count */
    for (i = 0; i < ctx->nevents; i++) {
        ev = &ctx->events[i];

        if (ev->type == SK_EV_LIKE) {
            continue;
        }

        user.data = ev->user;
        user.len = ev->user_len;
        track.data = (u_char *) ev->track;
        track.len = SK_ID_LEN;

        if (ngx_skip_recent_consume(&user, &track, &model, &predicted)
            == NGX_OK)
        {
            ngx_http_skip_metrics_outcome(model,
                predicted ? NGX_HTTP_SKIP_METRICS_SKIP
                          : NGX_HTTP_SKIP_METRICS_PLAY,
                ev->type == SK_EV_SKIP ? NGX_HTTP_SKIP_METRICS_SKIP
                                       : NGX_HTTP_SKIP_METRICS_PLAY);
        }
    }

    ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_ACCEPTED, ctx->nevents);

    /* "2xx means stored" needs Redis to persist before it replies */
    if (ctx->redis) {
        why = ngx_skip_redis_durability_warning(ctx->redis);

        if (why) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "skip: events are acknowledged, but Redis %V does "
                          "not store them durably: %s",
                          ngx_skip_redis_name(ctx->redis), why);
        }
    }

    out = ngx_pnalloc(r->pool, 3 * NGX_INT_T_LEN + 64);
    if (out == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        p = ngx_sprintf(out, "{\"accepted\":%ui,\"applied\":%ui,"
                        "\"ignored\":%ui}\n",
                        ctx->nevents, ctx->applied, ctx->nlikes);
        rc = ngx_http_skip_events_respond(r, NGX_HTTP_OK, out, p - out);
    }

    ngx_http_skip_events_finalize(ctx, rc);
}


void
ngx_http_skip_events_unavailable(ngx_http_skip_events_ctx_t *ctx,
    const char *why)
{
    u_char              *out, *p;
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->done) {
        return;
    }

    ctx->done = 1;

    ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_UNAVAILABLE,
                                ctx->nevents);

    if (ngx_http_skip_events_add_header(r, "Retry-After", "1") != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    out = ngx_pnalloc(r->pool, 128 + ngx_strlen(why));
    if (out == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    p = ngx_sprintf(out, "{\"error\":\"%s; nothing acknowledged, send the "
                    "batch again\",\"retry_after\":1}\n", why);

    rc = ngx_http_skip_events_respond(r, NGX_HTTP_SERVICE_UNAVAILABLE, out,
                                      p - out);

done:

    ngx_http_skip_events_finalize(ctx, rc);
}


/*
 * The store script refused an event: permanent, so 400, never 503.  Events
 * before it in the batch may be stored; resending the batch without the
 * named line is safe (a stored event counts nothing the second time).
 */
void
ngx_http_skip_events_refused(ngx_http_skip_events_ctx_t *ctx, long line,
    const char *why, size_t len)
{
    u_char              *out, *p, *last;
    u_char               reason[160];
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->done) {
        return;
    }

    ctx->done = 1;

    ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_REJECTED, ctx->nevents);

    ngx_cpystrn(reason, (u_char *) why, ngx_min(len + 1, sizeof(reason)));

    out = ngx_pnalloc(r->pool, 512);
    if (out == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    p = out;
    last = out + 512;

    p = ngx_slprintf(p, last, "{\"error\":\"the store refused an event; "
                     "events before it may be stored: drop or fix the "
                     "named line and send the batch again (nothing counts "
                     "twice)\",\"rejected\":1,\"errors\":[{\"line\":%l,"
                     "\"field\":null,\"reason\":", line);
    p = ngx_http_skip_events_json_str(p, last, (const char *) reason);
    p = ngx_slprintf(p, last, "}]}\n");

    rc = ngx_http_skip_events_respond(r, NGX_HTTP_BAD_REQUEST, out, p - out);

done:

    ngx_http_skip_events_finalize(ctx, rc);
}


/*
 * From a Redis reply or the deadline (not the request's own events), the
 * posted requests must be run by us, as ngx_http_upstream does.
 */
static void
ngx_http_skip_events_finalize(ngx_http_skip_events_ctx_t *ctx, ngx_int_t rc)
{
    ngx_uint_t           async;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;
    async = ctx->async;

    ngx_http_finalize_request(r, rc);

    if (async) {
        ngx_http_run_posted_requests(c);
    }
}


ngx_int_t
ngx_http_skip_events_respond(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_skip_events_respond_str(ngx_http_request_t *r, ngx_uint_t status,
    const char *body)
{
    return ngx_http_skip_events_respond(r, status, (u_char *) body,
                                        ngx_strlen(body));
}


/* A JSON string; bytes outside printable ASCII become "?". */
u_char *
ngx_http_skip_events_json_str(u_char *p, u_char *last, const char *s)
{
    if (p < last) {
        *p++ = '"';
    }

    for ( /* void */ ; *s && p + 2 < last; s++) {
        if (*s == '"' || *s == '\\') {
            *p++ = '\\';
            *p++ = *s;

        } else if ((u_char) *s < 0x20 || (u_char) *s >= 0x7f) {
            *p++ = '?';

        } else {
            *p++ = *s;
        }
    }

    if (p < last) {
        *p++ = '"';
    }

    return p;
}


ngx_int_t
ngx_http_skip_events_add_header(ngx_http_request_t *r, const char *name,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


/* ---- configuration ----------------------------------------------------- */


ngx_uint_t
ngx_http_skip_events_used(ngx_conf_t *cf)
{
    ngx_http_skip_events_main_conf_t  *emcf;

    emcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_skip_events_module);

    return emcf->used;
}


char *
ngx_http_skip_events_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_skip_events_main_conf_t  *emcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_skip_events_handler;

    emcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_skip_events_module);
    emcf->used = 1;

    return NGX_CONF_OK;
}


/* skip_events_recent SIZE|off [TTL]; */
static char *
ngx_http_skip_events_recent(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_events_main_conf_t *emcf = conf;

    ssize_t     size;
    time_t      ttl;
    ngx_str_t  *value;

    if (emcf->recent_size != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        emcf->recent_size = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (16 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_events_recent: invalid size \"%V\" "
                           "(at least %uz)", &value[1], 16 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    emcf->recent_size = size;

    if (cf->args->nelts == 3) {
        ttl = ngx_parse_time(&value[2], 1);

        if (ttl == (time_t) NGX_ERROR || ttl < 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_events_recent: invalid time \"%V\"",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        emcf->recent_ttl = ttl;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_skip_events_init(ngx_conf_t *cf)
{
    ngx_http_skip_events_main_conf_t  *emcf;

    emcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_skip_events_module);

    if (emcf->recent_size == NGX_CONF_UNSET) {
        emcf->recent_size = NGX_SKIP_RECENT_DEFAULT_SIZE;
    }

    if (emcf->recent_ttl == NGX_CONF_UNSET) {
        emcf->recent_ttl = NGX_SKIP_RECENT_DEFAULT_TTL;
    }

    /* outcomes arrive only through skip_events: no zone without one */
    if (!emcf->used || emcf->recent_size == 0) {
        return NGX_OK;
    }

    return ngx_skip_recent_add_zone(cf, &ngx_http_skip_events_module,
                                    emcf->recent_size, emcf->recent_ttl);
}


static void *
ngx_http_skip_events_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_skip_events_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_events_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    emcf->recent_size = NGX_CONF_UNSET;
    emcf->recent_ttl = NGX_CONF_UNSET;

    return emcf;
}


static void *
ngx_http_skip_events_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_skip_events_loc_conf_t  *elcf;

    elcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_events_loc_conf_t));
    if (elcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     elcf->token = { 0, NULL };
     */

    elcf->timeout = NGX_CONF_UNSET_MSEC;
    elcf->max_skew = NGX_CONF_UNSET_MSEC;
    elcf->max_events = NGX_CONF_UNSET;

    return elcf;
}


static char *
ngx_http_skip_events_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_skip_events_loc_conf_t *prev = parent;
    ngx_http_skip_events_loc_conf_t *conf = child;

    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 1000);
    ngx_conf_merge_msec_value(conf->max_skew, prev->max_skew,
                              SK_EVENT_SKEW_DEFAULT_MS);
    ngx_conf_merge_value(conf->max_events, prev->max_events, 1000);
    ngx_conf_merge_str_value(conf->token, prev->token, "");

    if (conf->token.len == 3
        && ngx_strncmp(conf->token.data, "off", 3) == 0)
    {
        ngx_str_null(&conf->token);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_skip_events_init_process(ngx_cycle_t *cycle)
{
    ngx_skip_recent_init_process(cycle, &ngx_http_skip_events_module);

    return NGX_OK;
}
