/*
 * ngx_skip: the record lookup shared by track requests and the prediction
 * API (see ngx_skip_lookup.h for the contract).
 *
 * Order of the checks, the same for one track as for five hundred:
 *
 *   invalid user id                  -> BADID, nothing asked
 *   no connection object             -> DISCONNECTED
 *   no snapshot known                -> DISCONNECTED (not connected) or
 *                                       MISSING (Redis has none)
 *   record cache: user, each track   -> a known-missing user decides all;
 *                                       nothing left to ask -> CACHE
 *   not connected / breaker open     -> DISCONNECTED / BREAKER
 *   one pipelined send of the HMGETs -> reply (REDIS), lost connection
 *   (and the taste's GET, when the      (ERROR) or deadline (TIMEOUT)
 *   model reads it and it is not
 *   cached with the user; and the
 *   session's HMGET, never cached:
 *   it changes with every event)
 *
 * When the round trip fails, the tracks whose records were all in the
 * cache are still scored (ngx_skip_lookup_source says CACHE for them).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <math.h>
#include <stdio.h>

#include "ngx_skip_lookup.h"
#include "ngx_skip_lookup_int.h"
#include "ngx_skip_prom.h"
#include "../core/store_scripts.h"
#include "../core/taste_stored.h"


ngx_str_t  ngx_skip_sources[] = {
    ngx_string("redis"),
    ngx_string("cache"),
    ngx_string("timeout"),
    ngx_string("error"),
    ngx_string("disconnected"),
    ngx_string("missing"),
    ngx_string("malformed"),
    ngx_string("badid"),
    ngx_string("breaker")
};


/* Commands built on the stack; a larger batch takes the heap briefly. */
#define NGX_SKIP_LOOKUP_STACK_CMDS  4


static ngx_int_t ngx_skip_lookup_send(ngx_skip_lookup_t *lk, ngx_uint_t n);
static void ngx_skip_lookup_reply(void *data, redisReply **replies,
    ngx_uint_t n);
static ngx_int_t ngx_skip_lookup_decode_session(ngx_skip_lookup_t *lk,
    redisReply *reply);
static ngx_int_t ngx_skip_lookup_fields(redisReply *reply, const char **vals,
    size_t *lens);
static void ngx_skip_lookup_deadline(ngx_event_t *ev);


ngx_int_t
ngx_skip_lookup_start(ngx_skip_lookup_t *lk)
{
    ngx_uint_t                i, n, valid, maybe;
    const char               *snap;
    ngx_skip_cache_entry_t   *e;
    ngx_skip_cache_taste_t   *ct;
    ngx_skip_lookup_track_t  *t;

    lk->sent_usec = -1;
    lk->user_status = NGX_SKIP_REC_NONE;
    lk->taste_status = NGX_SKIP_REC_NONE;
    lk->taste_n = 0;
    lk->fetch_taste = lk->want_taste;
    lk->session_status = NGX_SKIP_REC_NONE;
    lk->fetch_session = (lk->session_id.len > 0);
    lk->want_user = 0;
    valid = 0;

    for (i = 0; i < lk->ntracks; i++) {
        t = &lk->tracks[i];
        t->want = 0;

        /* ids reach Redis only as argv elements, and only when valid */
        if (sk_id_valid((const char *) t->id.data, t->id.len)) {
            t->status = NGX_SKIP_REC_NONE;
            valid++;

        } else {
            t->status = NGX_SKIP_REC_BADID;
        }
    }

    if (!sk_id_valid((const char *) lk->user_id.data, lk->user_id.len)
        || valid == 0)
    {
        lk->source = NGX_SKIP_SRC_BADID;
        return NGX_OK;
    }

    if (lk->redis == NULL && lk->cluster == NULL) {
        lk->source = NGX_SKIP_SRC_DISCONNECTED;
        return NGX_OK;
    }

    /*
     * The last snapshot seen, also while disconnected: fresh record-cache
     * entries of it still serve when Redis cannot (down, breaker open).
     */
    if (lk->cluster) {
        snap = ngx_skip_cluster_snapshot(lk->cluster, &lk->gen);

    } else {
        snap = ngx_skip_redis_snapshot(lk->redis, &lk->gen);
    }

    if (snap == NULL) {
        lk->source = ((lk->cluster
                       ? ngx_skip_cluster_ready(lk->cluster)
                       : ngx_skip_redis_ready(lk->redis)) != NGX_OK)
                     ? NGX_SKIP_SRC_DISCONNECTED
                     : NGX_SKIP_SRC_MISSING;   /* Redis has no snapshot */
        return NGX_OK;
    }

    ngx_cpystrn((u_char *) lk->snap, (u_char *) snap, sizeof(lk->snap));

    /* "maybe": tracks whose prediction still needs the user record */
    lk->want_user = 1;
    maybe = 0;

    if (lk->cache) {
        e = ngx_skip_cache_get(lk->cache, NGX_SKIP_CACHE_USER,
                               lk->user_id.data, lk->user_id.len, lk->gen);
        if (e) {
            lk->want_user = 0;
            lk->user_status = e->status;
            lk->user = e->rec.user;

            ct = lk->want_taste ? ngx_skip_cache_taste(lk->cache, e) : NULL;

            if (ct) {
                lk->fetch_taste = 0;
                lk->taste_status = ct->status;
                lk->taste_n = ct->n;
                lk->taste = ct->taste;
            }
        }
    }

    for (i = 0; i < lk->ntracks; i++) {
        t = &lk->tracks[i];

        if (t->status == NGX_SKIP_REC_BADID) {
            continue;
        }

        t->want = 1;

        if (lk->cache) {
            e = ngx_skip_cache_get(lk->cache, NGX_SKIP_CACHE_TRACK,
                                   t->id.data, t->id.len, lk->gen);
            if (e) {
                t->want = 0;
                t->status = e->status;
                t->rec = e->rec.track;
            }

            ngx_http_skip_metrics_track_cache(t->want
                                              ? NGX_HTTP_SKIP_METRICS_MISS
                                              : NGX_HTTP_SKIP_METRICS_HIT);
        }

        if (t->want || t->status == SK_REC_OK) {
            maybe++;
        }
    }

    /* a known-missing user, or known-missing tracks only, decide already */
    if ((!lk->want_user && lk->user_status != SK_REC_OK) || maybe == 0) {
        lk->want_user = 0;

        for (i = 0; i < lk->ntracks; i++) {
            lk->tracks[i].want = 0;
        }

        lk->source = NGX_SKIP_SRC_CACHE;
        return NGX_OK;
    }

    n = lk->want_user;

    for (i = 0; i < lk->ntracks; i++) {
        n += lk->tracks[i].want;
    }

    /*
     * The taste rides along in the same pipeline (no extra round trip;
     * on a cluster its GET goes to its key's node with the HMGETs);
     * cached with its user entry when the worker caches tastes.
     */
    /*
     * The session's hash, too, in the same send.  Not on a cluster yet:
     * the cluster's events are journaled and applied per record
     * (docs/cluster.md), and nothing there keeps the hash, so the session
     * features abstain (training means) unless the player sends its
     * counts.
     */
    if (lk->cluster) {
        lk->fetch_session = 0;
    }

    n += lk->fetch_taste ? 1 : 0;
    n += lk->fetch_session ? 1 : 0;

    if (n == 0) {
        lk->source = NGX_SKIP_SRC_CACHE;
        return NGX_OK;
    }

    if (lk->cluster) {
        /* each key to its node: one send per node, one round trip */
        lk->sent_usec = ngx_skip_lookup_usec();

        if (ngx_skip_lookup_cluster_start(lk) != NGX_AGAIN) {
            lk->sent_usec = -1;
            return NGX_OK;
        }

        goto sent;
    }

    if (ngx_skip_redis_ready(lk->redis) != NGX_OK) {
        lk->source = NGX_SKIP_SRC_DISCONNECTED;
        return NGX_OK;
    }

    if (ngx_skip_redis_breaker_allow(lk->redis) != NGX_OK) {
        lk->source = NGX_SKIP_SRC_BREAKER;
        return NGX_OK;
    }

    if (ngx_skip_lookup_send(lk, n) != NGX_OK) {
        /* not connected after all, or too many lookups in flight */
        lk->source = NGX_SKIP_SRC_DISCONNECTED;
        return NGX_OK;
    }

    lk->sent_usec = ngx_skip_lookup_usec();

sent:

    lk->deadline.handler = ngx_skip_lookup_deadline;
    lk->deadline.data = lk->connection;
    lk->deadline.log = lk->connection->log;

    ngx_add_timer(&lk->deadline, lk->timeout);

    return NGX_AGAIN;
}


/* All HMGETs of the lookup, in one ngx_skip_redis_send(): one round trip. */
static ngx_int_t
ngx_skip_lookup_send(ngx_skip_lookup_t *lk, ngx_uint_t n)
{
    ngx_uint_t                i, k;
    ngx_skip_lookup_track_t  *t;
    ngx_skip_redis_argv_t     cmds_stack[NGX_SKIP_LOOKUP_STACK_CMDS];
    ngx_skip_redis_argv_t    *cmds;
    ngx_skip_lookup_hmget_t   h_stack[NGX_SKIP_LOOKUP_STACK_CMDS];
    ngx_skip_lookup_hmget_t  *h;
    u_char                   *heap;

    heap = NULL;

    if (n <= NGX_SKIP_LOOKUP_STACK_CMDS) {
        cmds = cmds_stack;
        h = h_stack;

    } else {
        heap = ngx_alloc(n * (sizeof(ngx_skip_redis_argv_t)
                              + sizeof(ngx_skip_lookup_hmget_t)),
                         lk->connection->log);
        if (heap == NULL) {
            return NGX_ERROR;
        }

        h = (ngx_skip_lookup_hmget_t *) heap;
        cmds = (ngx_skip_redis_argv_t *) (heap
                                      + n * sizeof(ngx_skip_lookup_hmget_t));
    }

    k = 0;

    if (lk->want_user) {
        ngx_skip_lookup_hmget(&cmds[k], &h[k],
                              sk_key_user((char *) h[k].key, SK_KEY_MAX,
                                          (const char *) lk->prefix, lk->snap,
                                          (const char *) lk->user_id.data,
                                          lk->user_id.len),
                              sk_user_stored, SK_REC_NFETCH);
        k++;
    }

    for (i = 0; i < lk->ntracks; i++) {
        t = &lk->tracks[i];

        if (!t->want) {
            continue;
        }

        ngx_skip_lookup_hmget(&cmds[k], &h[k],
                              sk_key_track((char *) h[k].key, SK_KEY_MAX,
                                           (const char *) lk->prefix,
                                           lk->snap,
                                           (const char *) t->id.data,
                                           t->id.len),
                              sk_track_stored, SK_REC_NFETCH);
        k++;
    }

    if (lk->fetch_taste) {
        /*
         * Last, so that the records' replies keep their places; every
         * genre, as the track's are not known before its record.
         */
        h[k].argv[0] = "GET";
        h[k].lens[0] = 3;
        h[k].argv[1] = (const char *) h[k].key;
        h[k].lens[1] = sk_key_taste((char *) h[k].key, SK_KEY_MAX,
                                    (const char *) lk->prefix, lk->snap,
                                    (const char *) lk->user_id.data,
                                    lk->user_id.len);
        cmds[k].argc = 2;
        cmds[k].argv = h[k].argv;
        cmds[k].lens = h[k].lens;
        k++;
    }

    if (lk->fetch_session) {
        /* live state, outside the snapshots */
        ngx_skip_lookup_hmget(&cmds[k], &h[k],
                              sk_key_session((char *) h[k].key, SK_KEY_MAX,
                                             (const char *) lk->prefix,
                                             (const char *)
                                                 lk->session_id.data,
                                             lk->session_id.len),
                              sk_session_fields, SK_SESS_NFETCH);
        k++;
    }

    lk->cmd = ngx_skip_redis_send(lk->redis, cmds, k, ngx_skip_lookup_reply,
                                  lk);

    if (heap) {
        /* the commands are formatted into the output buffer by now */
        ngx_free(heap);
    }

    return lk->cmd ? NGX_OK : NGX_ERROR;
}


void
ngx_skip_lookup_hmget(ngx_skip_redis_argv_t *cmd, ngx_skip_lookup_hmget_t *h,
    size_t key_len, const char *const *fields, ngx_uint_t nfields)
{
    ngx_uint_t  i;

    h->argv[0] = "HMGET";
    h->lens[0] = 5;
    h->argv[1] = (const char *) h->key;
    h->lens[1] = key_len;

    for (i = 0; i < nfields; i++) {
        h->argv[2 + i] = fields[i];
        h->lens[2 + i] = ngx_strlen(fields[i]);
    }

    cmd->argc = 2 + nfields;
    cmd->argv = h->argv;
    cmd->lens = h->lens;
}


void
ngx_skip_lookup_cancel(ngx_skip_lookup_t *lk)
{
    if (lk->parts) {
        ngx_skip_lookup_cluster_detach(lk);
    }

    if (lk->cmd) {
        ngx_skip_redis_detach(lk->cmd);
        lk->cmd = NULL;
    }

    if (lk->deadline.timer_set) {
        ngx_del_timer(&lk->deadline);
    }
}


static void
ngx_skip_lookup_reply(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_lookup_t *lk = data;

    ngx_uint_t                i, k;
    ngx_skip_lookup_track_t  *t;

    lk->cmd = NULL;

    if (lk->deadline.timer_set) {
        ngx_del_timer(&lk->deadline);
    }

    if (replies == NULL) {
        /* the connection was lost before the answer */
        lk->source = NGX_SKIP_SRC_ERROR;
        lk->handler(lk);
        return;
    }

    /* Redis answers: whatever the answer, the breaker may close */
    ngx_skip_redis_breaker_result(lk->redis, 0);

    k = 0;

    if (lk->want_user) {
        lk->user_status = ngx_skip_lookup_decode(lk, replies[k++],
                                                 NGX_SKIP_CACHE_USER,
                                                 &lk->user_id, &lk->user);
        if (lk->user_status != NGX_SKIP_REC_ERROR && lk->cache) {
            ngx_skip_cache_put(lk->cache, NGX_SKIP_CACHE_USER,
                               lk->user_id.data, lk->user_id.len, lk->gen,
                               lk->user_status, &lk->user);
        }
    }

    for (i = 0; i < lk->ntracks && k < n; i++) {
        t = &lk->tracks[i];

        if (!t->want) {
            continue;
        }

        t->status = ngx_skip_lookup_decode(lk, replies[k++],
                                           NGX_SKIP_CACHE_TRACK, &t->id,
                                           &t->rec);
        if (t->status != NGX_SKIP_REC_ERROR && lk->cache) {
            ngx_skip_cache_put(lk->cache, NGX_SKIP_CACHE_TRACK, t->id.data,
                               t->id.len, lk->gen, t->status, &t->rec);
        }
    }

    if (lk->fetch_taste && k < n) {
        ngx_skip_lookup_take_taste(lk, replies[k++]);
    }

    if (lk->fetch_session && k < n) {
        lk->session_status = ngx_skip_lookup_decode_session(lk,
                                                            replies[k++]);
    }

    lk->source = NGX_SKIP_SRC_REDIS;
    lk->handler(lk);
}


void
ngx_skip_lookup_take_taste(ngx_skip_lookup_t *lk, redisReply *reply)
{
    lk->taste_status = ngx_skip_lookup_decode_taste(lk, reply);

    if (lk->taste_status != NGX_SKIP_REC_ERROR && lk->cache) {
        /* with the user entry just stored or found fresh */
        ngx_skip_cache_put_taste(lk->cache, lk->user_id.data,
                                 lk->user_id.len, lk->gen,
                                 lk->taste_status, lk->taste_n, &lk->taste);
    }
}


/*
 * The fields of an HMGET reply (an array, its length checked by the
 * caller) -> vals/lens, NULL for an absent field; NGX_ERROR when an element
 * is neither a string nor nil.
 */
static ngx_int_t
ngx_skip_lookup_fields(redisReply *reply, const char **vals, size_t *lens)
{
    ngx_uint_t   i;
    redisReply  *f;

    for (i = 0; i < reply->elements; i++) {
        f = reply->element[i];

        if (f->type == REDIS_REPLY_STRING) {
            vals[i] = f->str;
            lens[i] = f->len;

        } else if (f->type == REDIS_REPLY_NIL) {
            vals[i] = NULL;
            lens[i] = 0;

        } else {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * One HMGET reply -> SK_REC_OK / SK_REC_MISSING / SK_REC_MALFORMED, or
 * NGX_SKIP_REC_ERROR for a reply that is not an HMGET answer at all.
 */
ngx_int_t
ngx_skip_lookup_decode(ngx_skip_lookup_t *lk, redisReply *reply,
    ngx_uint_t kind, ngx_str_t *id, void *rec)
{
    char         err[256], key[SK_KEY_MAX];
    size_t       lens[SK_REC_NFETCH];
    ngx_int_t    rc;
    ngx_log_t   *log;
    ngx_uint_t   nfields;
    const char  *vals[SK_REC_NFETCH];

    log = lk->connection->log;

    nfields = SK_REC_NFETCH;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != nfields) {
        if (reply->type == REDIS_REPLY_ERROR) {
            /* Redis may echo what it was sent: no control bytes */
            (void) sk_log_safe(err, sizeof(err), reply->str, reply->len);

            ngx_skip_warn(log, 0, "skip: Redis error: %s", err);

        } else {
            ngx_skip_warn(log, 0, "skip: unexpected Redis reply of type %d "
                          "to HMGET", reply->type);
        }

        return NGX_SKIP_REC_ERROR;
    }

    if (ngx_skip_lookup_fields(reply, vals, lens) != NGX_OK) {
        return NGX_SKIP_REC_ERROR;
    }

    err[0] = '\0';

    if (kind == NGX_SKIP_CACHE_USER) {
        rc = sk_user_rec_unpack(rec, vals, lens, err, sizeof(err));

    } else {
        rc = sk_track_rec_unpack(rec, vals, lens, err, sizeof(err));
    }

    if (rc == SK_REC_MALFORMED) {
        /* the key, so that an operator can look at the record */
        if (((kind == NGX_SKIP_CACHE_USER) ? sk_key_user : sk_key_track)
                (key, sizeof(key), (const char *) lk->prefix, lk->snap,
                 (const char *) id->data, id->len)
            == 0)
        {
            key[0] = '\0';
        }

        ngx_skip_warn(log, 0, "skip: malformed %s record %s: %s",
                      kind == NGX_SKIP_CACHE_USER ? "user" : "track", key,
                      err);
    }

    return rc;
}


/* The GET of the taste -> SK_REC_OK / SK_REC_MALFORMED / ERROR. */
ngx_int_t
ngx_skip_lookup_decode_taste(ngx_skip_lookup_t *lk, redisReply *reply)
{
    char       err[256], key[SK_KEY_MAX];
    ngx_int_t  rc;

    if (reply->type == REDIS_REPLY_NIL) {
        /* no key: no history, or not loaded (ngx_skip_lookup_taste) */
        return sk_taste_decode(&lk->taste, NULL, 0, &lk->taste_n, err,
                               sizeof(err));
    }

    if (reply->type != REDIS_REPLY_STRING) {
        if (reply->type == REDIS_REPLY_ERROR) {
            /* e.g. WRONGTYPE: a key someone wrote by hand */
            (void) sk_log_safe(err, sizeof(err), reply->str, reply->len);

            ngx_skip_warn(lk->connection->log, 0, "skip: Redis error to GET "
                          "of the taste: %s (its features abstain)", err);

        } else {
            ngx_skip_warn(lk->connection->log, 0, "skip: unexpected Redis "
                          "reply of type %d to GET of the taste",
                          reply->type);
        }

        return NGX_SKIP_REC_ERROR;
    }

    err[0] = '\0';

    rc = sk_taste_decode(&lk->taste, reply->str, reply->len, &lk->taste_n,
                         err, sizeof(err));

    if (rc == SK_REC_MALFORMED) {
        if (sk_key_taste(key, sizeof(key), (const char *) lk->prefix,
                         lk->snap, (const char *) lk->user_id.data,
                         lk->user_id.len)
            == 0)
        {
            key[0] = '\0';
        }

        ngx_skip_warn(lk->connection->log, 0, "skip: malformed taste %s: %s "
                      "(its features abstain)", key, err);
    }

    return rc;
}


/* The session's HMGET -> SK_REC_OK / SK_REC_MALFORMED / ERROR. */
static ngx_int_t
ngx_skip_lookup_decode_session(ngx_skip_lookup_t *lk, redisReply *reply)
{
    char         err[256], key[SK_KEY_MAX];
    size_t       lens[SK_SESS_NFETCH];
    ngx_int_t    rc;
    const char  *vals[SK_SESS_NFETCH];

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != SK_SESS_NFETCH)
    {
        if (reply->type == REDIS_REPLY_ERROR) {
            /* e.g. WRONGTYPE: a key someone wrote by hand */
            (void) sk_log_safe(err, sizeof(err), reply->str, reply->len);

            ngx_skip_warn(lk->connection->log, 0, "skip: Redis error to "
                          "HMGET of the session: %s (its features abstain)",
                          err);

        } else {
            ngx_skip_warn(lk->connection->log, 0, "skip: unexpected Redis "
                          "reply of type %d to HMGET of the session",
                          reply->type);
        }

        return NGX_SKIP_REC_ERROR;
    }

    if (ngx_skip_lookup_fields(reply, vals, lens) != NGX_OK) {
        return NGX_SKIP_REC_ERROR;
    }

    err[0] = '\0';

    rc = sk_session_decode(&lk->session, vals, lens, err, sizeof(err));

    if (rc == SK_REC_MALFORMED) {
        if (sk_key_session(key, sizeof(key), (const char *) lk->prefix,
                           (const char *) lk->session_id.data,
                           lk->session_id.len)
            == 0)
        {
            key[0] = '\0';
        }

        ngx_skip_warn(lk->connection->log, 0, "skip: malformed session %s: "
                      "%s (its features abstain)", key, err);
    }

    return rc;
}


const sk_session *
ngx_skip_lookup_session(ngx_skip_lookup_t *lk)
{
    if (lk->session_status != SK_REC_OK) {
        return NULL;
    }

    return &lk->session;
}


void
ngx_skip_lookup_session_expect(ngx_skip_lookup_t *lk, ngx_str_t *track,
    double expect)
{
    u_char                 key[SK_KEY_MAX], field[2 + SK_ID_MAX];
    u_char                 val[SK_SESS_REALMAX], ttl[NGX_INT_T_LEN];
    size_t                 hlens[4], elens[3];
    const char            *hargv[4], *eargv[3];
    ngx_skip_redis_cmd_t  *cmd;
    ngx_skip_redis_argv_t  cmds[2];

    /*
     * Only right after Redis answered this lookup: a Redis that timed out
     * or that the breaker keeps away must not collect writes nobody waits
     * for (the expectation is then unknown, which the events script
     * handles).
     */
    if (lk->session_id.len == 0 || lk->redis == NULL || lk->cluster
        || lk->source != NGX_SKIP_SRC_REDIS
        || !sk_id_valid((const char *) track->data, track->len)
        || !isfinite(expect))
    {
        return;
    }

    hlens[1] = sk_key_session((char *) key, sizeof(key),
                              (const char *) lk->prefix,
                              (const char *) lk->session_id.data,
                              lk->session_id.len);
    if (hlens[1] == 0) {
        return;
    }

    /* "%.17g": the events script reads back exactly this double */
    hargv[0] = "HSET";
    hlens[0] = 4;
    hargv[1] = (const char *) key;
    hargv[2] = (const char *) field;
    hlens[2] = ngx_sprintf(field, "e:%V", track) - field;
    hargv[3] = (const char *) val;
    hlens[3] = snprintf((char *) val, sizeof(val), "%.17g", expect);

    /*
     * A hash with a labelled track has its TTL from the events script,
     * which renews it with every event (HSET keeps it); a new one, or one
     * not read, gets it here: it expires as the open-play markers do.
     */
    eargv[0] = "EXPIRE";
    elens[0] = 6;
    eargv[1] = (const char *) key;
    elens[1] = hlens[1];
    eargv[2] = (const char *) ttl;
    elens[2] = ngx_sprintf(ttl, "%d", SK_OPEN_PLAY_TTL) - ttl;

    cmds[0].argc = 4;
    cmds[0].argv = hargv;
    cmds[0].lens = hlens;
    cmds[1].argc = 3;
    cmds[1].argv = eargv;
    cmds[1].lens = elens;

    /*
     * Nobody waits for the answer (the request goes on now).  Formatted
     * into the output buffer at once and sent with the worker's next
     * write to Redis, at the end of this event loop iteration: long before
     * the player can have this answer and post the track's Play.
     */
    cmd = ngx_skip_redis_send(lk->redis, cmds,
                              (lk->session_status == SK_REC_OK
                               && lk->session.plays + lk->session.skips > 0)
                              ? 1 : 2,
                              NULL, NULL);

    if (cmd == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, lk->connection->log, 0,
                       "skip: session expectation not sent");
    }
}


const sk_taste *
ngx_skip_lookup_taste(ngx_skip_lookup_t *lk)
{
    if (!lk->want_taste
        || !sk_taste_usable((int) lk->taste_status, lk->taste_n,
                            lk->user.plays, lk->user.skips))
    {
        return NULL;
    }

    return &lk->taste;
}


static void
ngx_skip_lookup_deadline(ngx_event_t *ev)
{
    ngx_skip_lookup_t  *lk;

    lk = (ngx_skip_lookup_t *)
             ((u_char *) ev - offsetof(ngx_skip_lookup_t, deadline));

    if (lk->cluster) {
        ngx_skip_lookup_cluster_deadline(lk);
        return;
    }

    if (lk->cmd) {
        ngx_skip_redis_detach(lk->cmd);
        lk->cmd = NULL;
    }

    lk->source = NGX_SKIP_SRC_TIMEOUT;

    /* a Redis that stopped answering altogether is dropped from here */
    if (lk->redis) {
        ngx_skip_redis_breaker_result(lk->redis, 1);
        ngx_skip_redis_check(lk->redis);
    }

    lk->handler(lk);
}


ngx_uint_t
ngx_skip_lookup_source(ngx_skip_lookup_t *lk, ngx_uint_t i)
{
    ngx_skip_lookup_track_t  *t;

    t = &lk->tracks[i];

    if (lk->source == NGX_SKIP_SRC_BADID || t->status == NGX_SKIP_REC_BADID) {
        return NGX_SKIP_SRC_BADID;
    }

    if (lk->user_status == NGX_SKIP_REC_ERROR
        || t->status == NGX_SKIP_REC_ERROR)
    {
        return NGX_SKIP_SRC_ERROR;
    }

    /* one missing or malformed record decides, even without the other */
    if (lk->user_status == SK_REC_MISSING || t->status == SK_REC_MISSING) {
        return NGX_SKIP_SRC_MISSING;
    }

    if (lk->user_status == SK_REC_MALFORMED
        || t->status == SK_REC_MALFORMED)
    {
        return NGX_SKIP_SRC_MALFORMED;
    }

    /* a record the lookup did not get: how the lookup ended says why */
    if (lk->user_status == NGX_SKIP_REC_NONE
        || t->status == NGX_SKIP_REC_NONE)
    {
        return lk->source;
    }

    return (lk->want_user || t->want) ? NGX_SKIP_SRC_REDIS
                                      : NGX_SKIP_SRC_CACHE;
}


ngx_msec_int_t
ngx_skip_lookup_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_int_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
