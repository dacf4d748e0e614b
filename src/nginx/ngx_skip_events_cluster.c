/*
 * ngx_skip: the `skip_events` write path on a Redis Cluster
 * (docs/cluster.md, "Live events on a cluster").
 *
 * The single-server event script touches five keys on up to five slots,
 * which a cluster refuses.  Here an event is only labelled and journaled,
 * by one script on one slot (sk_script_journal, store_scripts_cluster.h):
 * the journal shard of its listener (journal.h), whose keys (the stream
 * and the (session, track) markers) share a hash tag.  `skipctl features
 * apply --cluster` applies the journal to the records later, record by
 * record, idempotently.
 *
 * The 2xx point.  Each primary that owns a shard of the batch gets its
 * events as one pipelined send on its *events connection* (a second
 * connection per primary, ngx_skip_cluster.c): the journal scripts, then
 * "WAIT 1 <ms>".  WAIT answers once a replica has every write this
 * connection made, so when it says 1 each event of the batch is on two
 * servers (plus the primary's own disk with appendfsync always).  WAIT
 * blocks the connection it is sent on, and it has to be the connection
 * that wrote: that is why lookups have connections of their own and
 * never wait behind it.  The 200 goes out when every primary of the
 * batch confirmed; anything else is a 503 and the client sends the batch
 * again, which the markers make harmless (a repeat journals nothing).
 *
 * Per node part:
 *   - NOSCRIPT (a node restarted, a promoted replica): the events that
 *     got it are sent again, the first as EVAL, then WAIT again; at most
 *     twice;
 *   - "ERR skip: " (the script refused an event the parser accepted: a
 *     bug): 400 naming the line, as on one server;
 *   - MOVED (a failover or a resharding): the map learns it, 503;
 *     anything else (ASK, TRYAGAIN, CLUSTERDOWN, a lost connection, WAIT
 *     short of a replica, the deadline): 503.
 *
 * Memory: the parts are heap memory (ngx_alloc) pointed at by the
 * commands; the request's cleanup detaches every command before freeing
 * them, so no reply reaches freed memory.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "../core/crc16_slot.h"
#include "../core/journal.h"
#include "../core/store_scripts.h"
#include "../core/store_scripts_cluster.h"
#include "ngx_skip_cluster.h"
#include "ngx_skip_events.h"
#include "ngx_skip_events_int.h"


/* EVALSHA sha numkeys + keys + args */
#define NGX_HTTP_SKIP_EVCL_ARGC                                               \
    (3 + SK_SCRIPT_JOURNAL_NKEYS + SK_SCRIPT_JOURNAL_NARGS)

/* replicas WAIT asks for: the event is on two servers before the 2xx */
#define NGX_HTTP_SKIP_EVCL_REPLICAS  1

#define NGX_HTTP_SKIP_EVCL_NOSCRIPT  2


typedef struct ngx_http_skip_evcl_s  ngx_http_skip_evcl_t;


/* the events of one primary */
typedef struct {
    ngx_http_skip_evcl_t        *state;
    ngx_skip_redis_t            *rd;
    ngx_skip_redis_cmd_t        *cmd;        /* NULL: no reply pending */
    ngx_uint_t                   first;      /* in state->order */
    ngx_uint_t                   n;
    ngx_uint_t                   noscript;   /* resends so far */
} ngx_http_skip_evcl_part_t;


struct ngx_http_skip_evcl_s {
    ngx_http_skip_events_ctx_t  *ctx;
    ngx_skip_cluster_t          *cluster;
    ngx_msec_t                   wait_ms;
    ngx_uint_t                   pending;
    ngx_uint_t                   nparts;
    ngx_uint_t                  *order;      /* event indices, by part */
    ngx_http_skip_evcl_part_t    parts[NGX_SKIP_CLUSTER_MAX_NODES];
};


/* one journal command's storage, built just before its send */
typedef struct {
    const char                  *argv[NGX_HTTP_SKIP_EVCL_ARGC];
    size_t                       lens[NGX_HTTP_SKIP_EVCL_ARGC];
    u_char                       journal[SK_JOURNAL_KEY_MAX];
    u_char                       open[SK_JOURNAL_KEY_MAX];
    u_char                       ms[NGX_INT64_LEN + 1];
    u_char                       sess[NGX_INT64_LEN + 1];
    u_char                       hour[NGX_INT_T_LEN];
} ngx_http_skip_evcl_cmd_t;


static ngx_int_t ngx_http_skip_evcl_send(ngx_http_skip_evcl_part_t *part,
    ngx_uint_t eval);
static void ngx_http_skip_evcl_build(ngx_http_skip_evcl_t *st,
    ngx_http_skip_events_ev_t *ev, ngx_http_skip_evcl_cmd_t *c,
    ngx_skip_redis_argv_t *cmd, ngx_uint_t eval);
static void ngx_http_skip_evcl_reply(void *data, redisReply **replies,
    ngx_uint_t n);
static void ngx_http_skip_evcl_deadline(ngx_event_t *ev);
static void ngx_http_skip_evcl_detach(ngx_http_skip_evcl_t *st);
static void ngx_http_skip_evcl_cleanup(void *data);


static char  ngx_http_skip_evcl_sha[41];


/*
 * The batch's Play/Skip events to their journal shards' primaries.  Ends
 * the request itself (200, 400, 503) or leaves it waiting for replies.
 */
void
ngx_http_skip_events_cluster(ngx_http_skip_events_ctx_t *ctx,
    ngx_skip_cluster_t *cl, ngx_msec_t timeout, ngx_msec_t connect_timeout)
{
    size_t                       len;
    ngx_uint_t                   i, p, k, *part_of;
    u_char                       key[SK_JOURNAL_KEY_MAX];
    ngx_skip_redis_t            *rd;
    ngx_http_request_t          *r;
    ngx_http_cleanup_t          *cln;
    ngx_http_skip_evcl_t        *st;
    ngx_http_skip_events_ev_t   *ev;
    ngx_http_skip_evcl_part_t   *part;

    r = ctx->request;

    if (ngx_skip_cluster_ready(cl) != NGX_OK) {
        ngx_http_skip_events_unavailable(ctx, "no Redis Cluster slot map "
                                         "yet");
        return;
    }

    if (ngx_http_skip_evcl_sha[0] == '\0') {
        sk_script_sha1(sk_script_journal, ngx_http_skip_evcl_sha);
    }

    st = ngx_alloc(sizeof(ngx_http_skip_evcl_t)
                   + 2 * ctx->nevents * sizeof(ngx_uint_t),
                   r->connection->log);
    if (st == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(st, sizeof(ngx_http_skip_evcl_t));
    st->ctx = ctx;
    st->cluster = cl;
    st->order = (ngx_uint_t *) (st + 1);
    part_of = st->order + ctx->nevents;

    /*
     * WAIT's own timeout: within the request's deadline, and short of the
     * node liveness check (a WAIT that blocks the whole connect timeout
     * would make a healthy node look dead).
     */
    st->wait_ms = ngx_min(timeout * 3 / 4, connect_timeout / 2);
    if (st->wait_ms == 0) {
        st->wait_ms = 1;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_free(st);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_skip_evcl_cleanup;
    cln->data = st;
    ctx->cluster_state = st;

    /* route: the primary of each event's journal shard */
    for (i = 0; i < ctx->nevents; i++) {
        ev = &ctx->events[i];

        if (ev->type == SK_EV_LIKE) {
            continue;
        }

        len = sk_key_journal((char *) key, sizeof(key),
                             (const char *) ctx->prefix.data,
                             sk_journal_shard((const char *) ev->user,
                                              ev->user_len));

        rd = ngx_skip_cluster_route_events(cl, sk_key_slot((char *) key,
                                                           len));
        if (rd == NULL) {
            ngx_http_skip_events_unavailable(ctx, "the Redis Cluster "
                                             "primary of a journal shard "
                                             "is not connected");
            return;
        }

        for (p = 0; p < st->nparts; p++) {
            if (st->parts[p].rd == rd) {
                break;
            }
        }

        if (p == st->nparts) {
            st->parts[p].state = st;
            st->parts[p].rd = rd;
            st->nparts++;
        }

        part_of[i] = p;
        st->parts[p].n++;
    }

    /* the events of each part together, in batch order */
    for (p = 0, k = 0; p < st->nparts; p++) {
        st->parts[p].first = k;
        k += st->parts[p].n;
        st->parts[p].n = 0;
    }

    for (i = 0; i < ctx->nevents; i++) {
        if (ctx->events[i].type == SK_EV_LIKE) {
            continue;
        }

        part = &st->parts[part_of[i]];
        st->order[part->first + part->n++] = i;
    }

    for (p = 0; p < st->nparts; p++) {
        if (ngx_http_skip_evcl_send(&st->parts[p], 0) != NGX_OK) {
            /* what was queued may still run: it is idempotent */
            ngx_http_skip_evcl_detach(st);
            ngx_http_skip_events_unavailable(ctx, "Redis queue is full");
            return;
        }

        st->pending++;
    }

    ctx->deadline.handler = ngx_http_skip_evcl_deadline;
    ctx->deadline.data = r->connection;
    ctx->deadline.log = r->connection->log;
    ngx_add_timer(&ctx->deadline, timeout);

    /* a client that closes while we wait finalizes the request (499) */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    ctx->async = 1;
}


/* One part's journal scripts and the WAIT after them, in one send. */
static ngx_int_t
ngx_http_skip_evcl_send(ngx_http_skip_evcl_part_t *part, ngx_uint_t eval)
{
    u_char                      wait_ms[NGX_INT_T_LEN], replicas[4];
    ngx_uint_t                  i, n;
    const char                 *wait_argv[3];
    size_t                      wait_lens[3];
    ngx_http_skip_evcl_t       *st;
    ngx_skip_redis_argv_t      *cmds;
    ngx_http_skip_evcl_cmd_t   *c;

    st = part->state;
    n = part->n;

    /* the commands are formatted into the output buffer by the send */
    c = ngx_alloc(n * sizeof(ngx_http_skip_evcl_cmd_t)
                  + (n + 1) * sizeof(ngx_skip_redis_argv_t),
                  st->ctx->request->connection->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    cmds = (ngx_skip_redis_argv_t *) (c + n);

    for (i = 0; i < n; i++) {
        /* the first of a NOSCRIPT resend loads the script; Redis runs
         * the others after it */
        ngx_http_skip_evcl_build(st,
                                 &st->ctx->events[st->order[part->first + i]],
                                 &c[i], &cmds[i], eval && i == 0);
    }

    wait_argv[0] = "WAIT";
    wait_lens[0] = 4;
    wait_argv[1] = (const char *) replicas;
    wait_lens[1] = ngx_sprintf(replicas, "%d", NGX_HTTP_SKIP_EVCL_REPLICAS)
                   - replicas;
    wait_argv[2] = (const char *) wait_ms;
    wait_lens[2] = ngx_sprintf(wait_ms, "%M", st->wait_ms) - wait_ms;

    cmds[n].argc = 3;
    cmds[n].argv = wait_argv;
    cmds[n].lens = wait_lens;

    part->cmd = ngx_skip_redis_send(part->rd, cmds, n + 1,
                                    ngx_http_skip_evcl_reply, part);

    ngx_free(c);

    return part->cmd ? NGX_OK : NGX_ERROR;
}


static void
ngx_http_skip_evcl_build(ngx_http_skip_evcl_t *st,
    ngx_http_skip_events_ev_t *ev, ngx_http_skip_evcl_cmd_t *c,
    ngx_skip_redis_argv_t *cmd, ngx_uint_t eval)
{
    int          argc;
    size_t       jlen, olen, slen;
    unsigned     shard;
    const char  *prefix;

    prefix = (const char *) st->ctx->prefix.data;
    shard = sk_journal_shard((const char *) ev->user, ev->user_len);
    slen = ngx_sprintf(c->sess, "%L", ev->session_id) - c->sess;

    jlen = sk_key_journal((char *) c->journal, sizeof(c->journal), prefix,
                          shard);
    olen = sk_key_journal_open((char *) c->open, sizeof(c->open), prefix,
                               shard, (const char *) c->sess, slen,
                               ev->track, SK_ID_LEN);
    argc = 0;

#define ngx_http_skip_evcl_arg(s, n)                                          \
    c->argv[argc] = (const char *) (s); c->lens[argc] = (n); argc++

    if (eval) {
        ngx_http_skip_evcl_arg("EVAL", 4);
        ngx_http_skip_evcl_arg(sk_script_journal,
                               ngx_strlen(sk_script_journal));
    } else {
        ngx_http_skip_evcl_arg("EVALSHA", 7);
        ngx_http_skip_evcl_arg(ngx_http_skip_evcl_sha, 40);
    }

    ngx_http_skip_evcl_arg("2", 1);
    ngx_http_skip_evcl_arg(c->journal, jlen);
    ngx_http_skip_evcl_arg(c->open, olen);
    ngx_http_skip_evcl_arg(ev->user, ev->user_len);
    ngx_http_skip_evcl_arg(ev->track, SK_ID_LEN);

    if (ev->type == SK_EV_PLAY) {
        ngx_http_skip_evcl_arg("play", 4);
    } else {
        ngx_http_skip_evcl_arg("skip", 4);
    }

    ngx_http_skip_evcl_arg(c->ms, ngx_sprintf(c->ms, "%L", ev->ts_ms) - c->ms);
    ngx_http_skip_evcl_arg(c->sess, slen);
    ngx_http_skip_evcl_arg("", 0);           /* marker TTL: the default */
    ngx_http_skip_evcl_arg(c->hour,
                           ngx_sprintf(c->hour, "%d", ev->hour) - c->hour);

#undef ngx_http_skip_evcl_arg

    cmd->argc = argc;
    cmd->argv = c->argv;
    cmd->lens = c->lens;
}


static void
ngx_http_skip_evcl_reply(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_http_skip_evcl_part_t *part = data;

    ngx_uint_t                   i, k, again;
    const char                  *why;
    redisReply                  *rp;
    sk_redirect                  redirect;
    ngx_http_request_t          *r;
    ngx_http_skip_evcl_t        *st;
    ngx_http_skip_events_ctx_t  *ctx;

    st = part->state;
    ctx = st->ctx;
    r = ctx->request;

    /* the command is freed when we return */
    part->cmd = NULL;

    if (replies == NULL) {
        ngx_http_skip_evcl_detach(st);
        ngx_http_skip_events_unavailable(ctx, "Redis Cluster connection "
                                         "lost");
        return;
    }

    again = 0;

    for (i = 0; i < part->n; i++) {
        rp = replies[i];

        if (rp->type == REDIS_REPLY_ERROR
            && rp->len >= 8 && ngx_strncmp(rp->str, "NOSCRIPT", 8) == 0
            && part->noscript < NGX_HTTP_SKIP_EVCL_NOSCRIPT)
        {
            /* nothing ran: this event goes again (kept in order) */
            st->order[part->first + again++] = st->order[part->first + i];
            continue;
        }

        if (rp->type == REDIS_REPLY_ERROR
            && rp->len >= 10 && ngx_strncmp(rp->str, "ERR skip: ", 10) == 0)
        {
            k = st->order[part->first + i];

            ngx_skip_warn(r->connection->log, 0,
                          "skip: the journal script refused line %l, which "
                          "passed the event rule: %*s", ctx->events[k].line,
                          (size_t) rp->len, rp->str);

            ngx_http_skip_evcl_detach(st);
            ngx_http_skip_events_refused(ctx, ctx->events[k].line,
                                         rp->str + 10, rp->len - 10);
            return;
        }

        if (rp->type == REDIS_REPLY_ERROR) {
            if (sk_redirect_parse(rp->str, rp->len, &redirect)
                == SK_REDIRECT_MOVED)
            {
                /* the shard moved (failover, resharding): learn it */
                (void) ngx_skip_cluster_redirect(st->cluster, &redirect);
            }

            ngx_skip_warn(r->connection->log, 0,
                          "skip: Redis Cluster node %V refused an event: "
                          "%*s", ngx_skip_redis_name(part->rd),
                          (size_t) ngx_min(rp->len, 200), rp->str);

            ngx_http_skip_evcl_detach(st);
            ngx_http_skip_events_unavailable(ctx, "Redis Cluster did not "
                                             "journal an event");
            return;
        }

        if (rp->type != REDIS_REPLY_ARRAY || rp->elements != 3
            || rp->element[2]->type != REDIS_REPLY_STRING)
        {
            ngx_skip_warn(r->connection->log, 0,
                          "skip: unexpected Redis reply of type %d to the "
                          "journal script", rp->type);

            ngx_http_skip_evcl_detach(st);
            ngx_http_skip_events_unavailable(ctx, "Redis Cluster did not "
                                             "journal an event");
            return;
        }

        if (rp->element[2]->len > 0) {
            /* journaled with a delta: the applier will count it */
            ctx->applied++;
        }
    }

    rp = replies[n - 1];

    if (rp->type != REDIS_REPLY_INTEGER
        || rp->integer < NGX_HTTP_SKIP_EVCL_REPLICAS)
    {
        ngx_skip_warn(r->connection->log, 0,
                      "skip: Redis Cluster node %V: no replica confirmed "
                      "the events within %M ms (WAIT)",
                      ngx_skip_redis_name(part->rd), st->wait_ms);

        ngx_http_skip_evcl_detach(st);
        ngx_http_skip_events_unavailable(ctx, "no replica confirmed the "
                                         "events in time");
        return;
    }

    why = ngx_skip_redis_durability_warning(part->rd);

    if (why) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "skip: events are acknowledged once a replica has "
                      "them, but Redis Cluster node %V does not store them "
                      "durably: %s", ngx_skip_redis_name(part->rd), why);
    }

    if (again) {
        part->n = again;
        part->noscript++;

        if (ngx_http_skip_evcl_send(part, 1) != NGX_OK) {
            ngx_http_skip_evcl_detach(st);
            ngx_http_skip_events_unavailable(ctx, "Redis queue is full");
        }

        return;
    }

    if (--st->pending == 0) {
        ngx_http_skip_events_succeed(ctx);
    }
}


static void
ngx_http_skip_evcl_deadline(ngx_event_t *ev)
{
    ngx_http_skip_evcl_t        *st;
    ngx_http_skip_events_ctx_t  *ctx;

    ctx = (ngx_http_skip_events_ctx_t *)
              ((u_char *) ev - offsetof(ngx_http_skip_events_ctx_t, deadline));

    st = ctx->cluster_state;

    ngx_http_skip_evcl_detach(st);
    ngx_http_skip_events_unavailable(ctx, "Redis Cluster did not confirm "
                                     "in time");
}


/* Forget every outstanding command: their replies will be dropped. */
static void
ngx_http_skip_evcl_detach(ngx_http_skip_evcl_t *st)
{
    ngx_uint_t  p;

    for (p = 0; p < st->nparts; p++) {
        if (st->parts[p].cmd) {
            ngx_skip_redis_detach(st->parts[p].cmd);
            st->parts[p].cmd = NULL;
        }
    }

    st->pending = 0;

    if (st->ctx->deadline.timer_set) {
        ngx_del_timer(&st->ctx->deadline);
    }
}


static void
ngx_http_skip_evcl_cleanup(void *data)
{
    ngx_http_skip_evcl_t *st = data;

    ngx_http_skip_evcl_detach(st);
    st->ctx->cluster_state = NULL;

    ngx_free(st);
}
