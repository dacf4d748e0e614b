/*
 * ngx_skip: the lookup's round trip on a Redis Cluster.
 *
 * The records a lookup needs (the user's, each track's) usually live on
 * different nodes.  Each key goes to the node of its hash slot
 * (ngx_skip_cluster_route); the keys of one node leave as one pipelined
 * send on that node's connection ("a part").  All parts are written in
 * the same event loop iteration (the connections post their write events),
 * so the request waits for the slowest node, once: one round trip, as on
 * one Redis.
 *
 * The listener's taste (GET <snap>:ut:<user>, when the model reads it) is
 * one more key, routed like the records: usually a third node, still in
 * the same round trip.
 *
 * Per key, not per lookup:
 *   - its node is down, not connected yet, or its breaker is open: the
 *     key is not asked (fail-open), the others still are;
 *   - -MOVED: the map learns the new owner, the key is asked there again;
 *     -ASK (a slot being migrated): "ASKING" + the HMGET to the node named,
 *     in one send.  At most NGX_SKIP_LOOKUP_HOPS redirections per key (a
 *     migration can answer ASK after a MOVED), all within the deadline;
 *   - any other error: the key counts as an error, as on one Redis.
 * A key that got no answer leaves its record "not fetched", and
 * ngx_skip_lookup_source() says why (lk->source): the fallback decision.
 *
 * Parts are request pool memory; a part's command is detached when the
 * request goes away or the deadline comes, so no reply ever reaches a
 * freed part.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_skip_lookup.h"
#include "ngx_skip_lookup_int.h"
#include "ngx_skip_cache.h"


#define NGX_SKIP_LOOKUP_HOPS        2
#define NGX_SKIP_LOOKUP_PART_STACK  4     /* commands built on the stack */


typedef struct ngx_skip_lookup_part_s  ngx_skip_lookup_part_t;

struct ngx_skip_lookup_part_s {
    ngx_skip_lookup_part_t     *next;
    ngx_skip_lookup_t          *lk;
    ngx_skip_redis_t           *rd;
    ngx_skip_redis_cmd_t       *cmd;        /* NULL once answered */
    ngx_uint_t                  asking;     /* "ASKING" before each HMGET */
    ngx_uint_t                  late;       /* no answer by the deadline */
    ngx_uint_t                  hops;
    ngx_uint_t                  n;
    ngx_uint_t                  rec[1];     /* 0: the user, i + 1: track i,
                                               ntracks + 1: the taste */
};


static ngx_int_t ngx_skip_lookup_part_send(ngx_skip_lookup_t *lk,
    ngx_skip_redis_t *rd, ngx_uint_t *rec, ngx_uint_t n, ngx_uint_t asking,
    ngx_uint_t hops);
static void ngx_skip_lookup_part_reply(void *data, redisReply **replies,
    ngx_uint_t n);
static void ngx_skip_lookup_take(ngx_skip_lookup_t *lk, ngx_uint_t rec,
    redisReply *reply);
static void ngx_skip_lookup_cluster_done(ngx_skip_lookup_t *lk);


ngx_int_t
ngx_skip_lookup_cluster_start(ngx_skip_lookup_t *lk)
{
    size_t             len;
    ngx_uint_t         i, k, g, nrec, ngroups, *recs, *start, *count;
    ngx_skip_redis_t  *rd, **group, **routed;

    /* the user, the tracks, the taste */
    nrec = lk->ntracks + 2;

    lk->parts = NULL;
    lk->pending = 0;
    lk->failure = NGX_SKIP_SRC_REDIS;

    lk->keys = ngx_pnalloc(lk->pool, nrec * SK_KEY_MAX);
    lk->key_lens = ngx_palloc(lk->pool, nrec * sizeof(size_t));
    routed = ngx_pcalloc(lk->pool, nrec * sizeof(ngx_skip_redis_t *));
    group = ngx_palloc(lk->pool, nrec * sizeof(ngx_skip_redis_t *));
    recs = ngx_palloc(lk->pool, 3 * nrec * sizeof(ngx_uint_t));

    if (lk->keys == NULL || lk->key_lens == NULL || routed == NULL
        || group == NULL || recs == NULL)
    {
        lk->source = NGX_SKIP_SRC_ERROR;
        return NGX_OK;
    }

    start = recs + nrec;
    count = start + nrec;

    /* route each key; count the keys of each node */
    ngroups = 0;

    for (i = 0; i < nrec; i++) {
        if (i == 0 ? !lk->want_user
            : i == nrec - 1 ? !lk->fetch_taste
            : !lk->tracks[i - 1].want)
        {
            continue;
        }

        if (i == 0) {
            len = sk_key_user((char *) lk->keys, SK_KEY_MAX,
                              (const char *) lk->prefix, lk->snap,
                              (const char *) lk->user_id.data,
                              lk->user_id.len);

        } else if (i == nrec - 1) {
            len = sk_key_taste((char *) lk->keys + i * SK_KEY_MAX,
                               SK_KEY_MAX, (const char *) lk->prefix,
                               lk->snap, (const char *) lk->user_id.data,
                               lk->user_id.len);

        } else {
            len = sk_key_track((char *) lk->keys + i * SK_KEY_MAX, SK_KEY_MAX,
                               (const char *) lk->prefix, lk->snap,
                               (const char *) lk->tracks[i - 1].id.data,
                               lk->tracks[i - 1].id.len);
        }

        lk->key_lens[i] = len;

        rd = ngx_skip_cluster_route(lk->cluster,
                                    sk_key_slot((char *) lk->keys
                                                + i * SK_KEY_MAX, len));
        if (rd == NULL) {
            lk->failure = NGX_SKIP_SRC_DISCONNECTED;
            continue;
        }

        for (g = 0; g < ngroups; g++) {
            if (group[g] == rd) {
                break;
            }
        }

        if (g == ngroups) {
            if (ngx_skip_redis_breaker_allow(rd) != NGX_OK) {
                lk->failure = NGX_SKIP_SRC_BREAKER;
                continue;
            }

            group[ngroups] = rd;
            count[ngroups++] = 0;
        }

        routed[i] = rd;
        count[g]++;
    }

    /* the keys of each node together, in record order */
    k = 0;

    for (g = 0; g < ngroups; g++) {
        start[g] = k;
        k += count[g];
        count[g] = 0;
    }

    for (i = 0; i < nrec; i++) {
        if (routed[i] == NULL) {
            continue;
        }

        for (g = 0; routed[i] != group[g]; g++) { /* void */ }

        recs[start[g] + count[g]++] = i;
    }

    for (g = 0; g < ngroups; g++) {
        if (ngx_skip_lookup_part_send(lk, group[g], &recs[start[g]], count[g],
                                      0, 0)
            != NGX_OK)
        {
            lk->failure = NGX_SKIP_SRC_DISCONNECTED;
        }
    }

    if (lk->pending == 0) {
        lk->source = lk->failure;
        return NGX_OK;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_skip_lookup_part_send(ngx_skip_lookup_t *lk, ngx_skip_redis_t *rd,
    ngx_uint_t *rec, ngx_uint_t n, ngx_uint_t asking, ngx_uint_t hops)
{
    u_char                   *heap;
    ngx_uint_t                i, k, ncmds;
    ngx_skip_lookup_part_t   *part;
    ngx_skip_lookup_hmget_t  *h;
    ngx_skip_redis_argv_t    *cmds;
    ngx_skip_lookup_hmget_t   h_stack[NGX_SKIP_LOOKUP_PART_STACK];
    ngx_skip_redis_argv_t     cmds_stack[NGX_SKIP_LOOKUP_PART_STACK];

    static const char        *asking_argv[1] = { "ASKING" };
    static const size_t       asking_lens[1] = { 6 };

    part = ngx_palloc(lk->pool, sizeof(ngx_skip_lookup_part_t)
                                + (n - 1) * sizeof(ngx_uint_t));
    if (part == NULL) {
        return NGX_ERROR;
    }

    ncmds = asking ? 2 * n : n;
    heap = NULL;

    if (ncmds <= NGX_SKIP_LOOKUP_PART_STACK) {
        /* a track request: one or two keys per node, no malloc */
        h = h_stack;
        cmds = cmds_stack;

    } else {
        heap = ngx_alloc(ncmds * sizeof(ngx_skip_redis_argv_t)
                         + n * sizeof(ngx_skip_lookup_hmget_t),
                         lk->connection->log);
        if (heap == NULL) {
            return NGX_ERROR;
        }

        h = (ngx_skip_lookup_hmget_t *) heap;
        cmds = (ngx_skip_redis_argv_t *) (heap
                                      + n * sizeof(ngx_skip_lookup_hmget_t));
    }

    for (i = 0, k = 0; i < n; i++) {
        if (asking) {
            cmds[k].argc = 1;
            cmds[k].argv = asking_argv;
            cmds[k].lens = asking_lens;
            k++;
        }

        ngx_memcpy(h[i].key, lk->keys + rec[i] * SK_KEY_MAX,
                   lk->key_lens[rec[i]]);

        if (rec[i] == lk->ntracks + 1) {
            /* the taste: every genre (the tracks' are not known yet) */
            h[i].argv[0] = "GET";
            h[i].lens[0] = 3;
            h[i].argv[1] = (const char *) h[i].key;
            h[i].lens[1] = lk->key_lens[rec[i]];
            cmds[k].argc = 2;
            cmds[k].argv = h[i].argv;
            cmds[k].lens = h[i].lens;
            k++;

        } else {
            ngx_skip_lookup_hmget(&cmds[k++], &h[i], lk->key_lens[rec[i]],
                                  rec[i] == 0 ? sk_user_stored
                                              : sk_track_stored,
                                  SK_REC_NFETCH);
        }

        part->rec[i] = rec[i];
    }

    part->lk = lk;
    part->rd = rd;
    part->asking = asking;
    part->late = 0;
    part->hops = hops;
    part->n = n;

    part->cmd = ngx_skip_redis_send(rd, cmds, ncmds,
                                    ngx_skip_lookup_part_reply, part);

    /* the commands are in the connection's output buffer by now */
    if (heap) {
        ngx_free(heap);
    }

    if (part->cmd == NULL) {
        return NGX_ERROR;
    }

    part->next = lk->parts;
    lk->parts = part;
    lk->pending++;

    return NGX_OK;
}


static void
ngx_skip_lookup_part_reply(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_lookup_part_t *part = data;

    ngx_uint_t          i, rec;
    redisReply         *reply;
    sk_redirect         redirect;
    ngx_skip_lookup_t  *lk;
    ngx_skip_redis_t   *rd;

    lk = part->lk;
    part->cmd = NULL;
    lk->pending--;

    if (replies == NULL) {
        /* that node's connection was lost before it answered */
        lk->failure = NGX_SKIP_SRC_ERROR;
        goto done;
    }

    ngx_skip_redis_breaker_result(part->rd, 0);

    for (i = 0; i < part->n; i++) {
        reply = replies[part->asking ? 2 * i + 1 : i];
        rec = part->rec[i];

        if (reply->type == REDIS_REPLY_ERROR
            && part->hops < NGX_SKIP_LOOKUP_HOPS
            && sk_redirect_parse(reply->str, reply->len, &redirect)
               != SK_REDIRECT_NONE)
        {
            rd = ngx_skip_cluster_redirect(lk->cluster, &redirect);

            if (rd == NULL
                || ngx_skip_lookup_part_send(lk, rd, &rec, 1,
                                             redirect.kind == SK_REDIRECT_ASK,
                                             part->hops + 1)
                   != NGX_OK)
            {
                lk->failure = NGX_SKIP_SRC_DISCONNECTED;
            }

            continue;
        }

        ngx_skip_lookup_take(lk, rec, reply);
    }

done:

    if (lk->pending == 0) {
        ngx_skip_lookup_cluster_done(lk);
    }
}


/* One record's HMGET reply: decode it, and cache what Redis said. */
static void
ngx_skip_lookup_take(ngx_skip_lookup_t *lk, ngx_uint_t rec,
    redisReply *reply)
{
    ngx_skip_lookup_track_t  *t;

    if (rec == lk->ntracks + 1) {
        ngx_skip_lookup_take_taste(lk, reply);
        return;
    }

    if (rec == 0) {
        lk->user_status = ngx_skip_lookup_decode(lk, reply,
                                                 NGX_SKIP_CACHE_USER,
                                                 &lk->user_id, &lk->user);
        if (lk->user_status != NGX_SKIP_REC_ERROR && lk->cache) {
            ngx_skip_cache_put(lk->cache, NGX_SKIP_CACHE_USER,
                               lk->user_id.data, lk->user_id.len, lk->gen,
                               lk->user_status, &lk->user);
        }

        return;
    }

    t = &lk->tracks[rec - 1];

    t->status = ngx_skip_lookup_decode(lk, reply, NGX_SKIP_CACHE_TRACK,
                                       &t->id, &t->rec);
    if (t->status != NGX_SKIP_REC_ERROR && lk->cache) {
        ngx_skip_cache_put(lk->cache, NGX_SKIP_CACHE_TRACK, t->id.data,
                           t->id.len, lk->gen, t->status, &t->rec);
    }
}


static void
ngx_skip_lookup_cluster_done(ngx_skip_lookup_t *lk)
{
    if (lk->deadline.timer_set) {
        ngx_del_timer(&lk->deadline);
    }

    lk->parts = NULL;

    /* records not answered fall back for this reason; the rest is REDIS */
    lk->source = lk->failure;
    lk->handler(lk);
}


void
ngx_skip_lookup_cluster_detach(ngx_skip_lookup_t *lk)
{
    ngx_skip_lookup_part_t  *part;

    for (part = lk->parts; part; part = part->next) {
        if (part->cmd) {
            ngx_skip_redis_detach(part->cmd);
            part->cmd = NULL;
        }
    }

    lk->parts = NULL;
    lk->pending = 0;
}


void
ngx_skip_lookup_cluster_deadline(ngx_skip_lookup_t *lk)
{
    ngx_skip_lookup_part_t  *part;

    /*
     * Every part is detached first: a liveness check below may close a
     * connection, which calls the handlers of its pending commands, and
     * none of those may be ours (it would finish this lookup twice).
     */
    for (part = lk->parts; part; part = part->next) {
        part->late = (part->cmd != NULL);

        if (part->cmd) {
            ngx_skip_redis_detach(part->cmd);
            part->cmd = NULL;
        }
    }

    /* the nodes that did not answer in time: breaker, liveness */
    for (part = lk->parts; part; part = part->next) {
        if (part->late) {
            ngx_skip_redis_breaker_result(part->rd, 1);
            ngx_skip_redis_check(part->rd);
        }
    }

    lk->parts = NULL;
    lk->pending = 0;
    lk->source = NGX_SKIP_SRC_TIMEOUT;

    lk->handler(lk);
}
