/*
 * ngx_skip: "fetch the records of one user and of these tracks, with the
 * record cache, the circuit breaker and a deadline, and call me back".
 *
 * Shared by the track-request phase handler (ngx_skip_module.c: one user,
 * one track) and the prediction API (ngx_skip_api.c: one user, up to
 * skip_api_max_tracks tracks).  Whatever is not in the per-worker record
 * cache leaves in ONE pipelined send on the worker's Redis connection (one
 * HMGET per record), so a batch costs one round trip, not one per track.
 *
 * The lookup never fails: it ends with a source (NGX_SKIP_SRC_*) saying
 * where the records came from or why there are none, and the caller turns
 * that into scores or fallback decisions.
 *
 *   lk = ngx_pcalloc(r->pool, ...); fill the "caller" part;
 *   rc = ngx_skip_lookup_start(lk);
 *       NGX_OK:    done now (cache, bad id, Redis down...), no callback;
 *       NGX_AGAIN: lk->handler(lk) runs exactly once later (reply, lost
 *                  connection or deadline), unless cancelled first.
 *   ngx_skip_lookup_cancel(lk): the caller is going away (request
 *       cleanup): detach the pending command, delete the deadline.
 *   ngx_skip_lookup_source(lk, i): what track i's prediction rests on.
 *
 * The handler may free the memory lk lives in (finalize its request): the
 * lookup does not touch lk after calling it.
 */

#ifndef _NGX_SKIP_LOOKUP_H_INCLUDED_
#define _NGX_SKIP_LOOKUP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "../core/keys.h"
#include "../core/records.h"
#include "../core/session_live.h"
#include "../core/taste.h"
#include "ngx_skip_cache.h"
#include "ngx_skip_cluster.h"
#include "ngx_skip_redis.h"


/* Values of $skip_source and of the API's "source", in metrics order. */
typedef enum {
    NGX_SKIP_SRC_REDIS = 0,
    NGX_SKIP_SRC_CACHE,
    NGX_SKIP_SRC_TIMEOUT,
    NGX_SKIP_SRC_ERROR,
    NGX_SKIP_SRC_DISCONNECTED,
    NGX_SKIP_SRC_MISSING,
    NGX_SKIP_SRC_MALFORMED,
    NGX_SKIP_SRC_BADID,
    NGX_SKIP_SRC_BREAKER
} ngx_skip_source_e;

extern ngx_str_t  ngx_skip_sources[];


/* Record statuses beyond SK_REC_OK / _MISSING / _MALFORMED (0, -1, -2). */
#define NGX_SKIP_REC_ERROR   -100    /* the reply was no HMGET answer */
#define NGX_SKIP_REC_BADID   -101    /* invalid id: never looked up */
#define NGX_SKIP_REC_NONE    -102    /* not fetched (the lookup failed) */

/*
 * Most tracks one lookup takes (the API's skip_api_max_tracks bound): the
 * pipeline also carries the user's HMGET and the taste's GET (a track
 * request's lookup, one track, adds the session's HMGET).
 */
#define NGX_SKIP_LOOKUP_MAX_TRACKS  (NGX_SKIP_REDIS_MAXCMDS - 2)


typedef struct ngx_skip_lookup_s  ngx_skip_lookup_t;

typedef void (*ngx_skip_lookup_handler_pt)(ngx_skip_lookup_t *lk);


typedef struct {
    ngx_str_t                   id;
    ngx_int_t                   status;      /* SK_REC_* / NGX_SKIP_REC_* */
    ngx_uint_t                  want;        /* asked Redis for it */
    sk_track_rec                rec;
} ngx_skip_lookup_track_t;


struct ngx_skip_lookup_s {
    /* set by the caller */
    ngx_skip_redis_t           *redis;       /* NULL: no connection */
    ngx_skip_cluster_t         *cluster;     /* instead: a Redis Cluster */
    ngx_pool_t                 *pool;        /* the caller's (cluster) */
    ngx_skip_cache_t           *cache;       /* NULL: no record cache */
    u_char                     *prefix;      /* NUL-terminated */
    ngx_msec_t                  timeout;
    ngx_connection_t           *connection;  /* the client's (timer, log) */
    ngx_skip_lookup_handler_pt  handler;
    void                       *data;

    ngx_str_t                   user_id;
    ngx_skip_lookup_track_t    *tracks;
    ngx_uint_t                  ntracks;
    ngx_uint_t                  want_taste;  /* the model reads sk_taste:
                                                fetch it (GET, in the same
                                                send) unless cached */
    ngx_str_t                   session_id;  /* valid (sk_id_valid), or
                                                empty: no session hash */

    /* results */
    ngx_uint_t                  source;      /* NGX_SKIP_SRC_* */
    ngx_int_t                   user_status;
    ngx_uint_t                  want_user;
    sk_user_rec                 user;
    ngx_msec_int_t              sent_usec;   /* -1: no round trip */
    ngx_int_t                   taste_status;  /* SK_REC_* / NGX_SKIP_REC_* */
    size_t                      taste_n;     /* entries the value had */
    sk_taste                    taste;
    ngx_int_t                   session_status;  /* SK_REC_* / _REC_* */
    sk_session                  session;     /* from the hash */

    /* private */
    ngx_uint_t                  fetch_taste;  /* not from the cache */
    ngx_uint_t                  fetch_session;
    ngx_skip_redis_cmd_t       *cmd;

    /* private, on a cluster (ngx_skip_lookup_cluster.c) */
    void                       *parts;       /* sent, one per node */
    ngx_uint_t                  pending;     /* parts not answered yet */
    ngx_uint_t                  failure;     /* NGX_SKIP_SRC_* of a key
                                                not answered, or REDIS */
    u_char                     *keys;        /* SK_KEY_MAX per record */
    size_t                     *key_lens;
    ngx_event_t                 deadline;
    ngx_uint_t                  gen;         /* snapshot generation */
    char                        snap[SK_SNAP_MAX + 1];
};


ngx_int_t ngx_skip_lookup_start(ngx_skip_lookup_t *lk);
void ngx_skip_lookup_cancel(ngx_skip_lookup_t *lk);

/*
 * What the prediction of track i rests on: REDIS or CACHE when both
 * records are there (REDIS when either came over the wire this time), else
 * why not (BADID, MISSING, MALFORMED, ERROR, or the lookup's own TIMEOUT,
 * DISCONNECTED, BREAKER).
 */
ngx_uint_t ngx_skip_lookup_source(ngx_skip_lookup_t *lk, ngx_uint_t i);

/*
 * The listener's taste to score with (docs/taste-features.md), or NULL:
 * not wanted, not fetched (the round trip failed), malformed, or absent
 * although the user record has history.  NULL makes the taste features
 * abstain; it never fails a prediction.
 */
const sk_taste *ngx_skip_lookup_taste(ngx_skip_lookup_t *lk);

/*
 * The session context the hash <prefix>:sess:<session> gave
 * (docs/taste-features.md), or NULL: no session named, not fetched (the
 * round trip failed, a Redis Cluster), malformed.  NULL makes the session
 * features abstain unless the player sent its counts.
 */
const sk_session *ngx_skip_lookup_session(ngx_skip_lookup_t *lk);

/*
 * Leave the expected P(skip) of track for the session's events script
 * (HSET <prefix>:sess:<session> e:<track>, and its TTL unless the events
 * script keeps it already), without waiting
 * for the answer: the track's first event moves it into the residual.  A
 * no-op without a session, on a cluster, unless Redis answered this
 * lookup, or when Redis cannot take it.
 */
void ngx_skip_lookup_session_expect(ngx_skip_lookup_t *lk, ngx_str_t *track,
    double expect);

/* A monotonic clock in microseconds, for lookup latencies only. */
ngx_msec_int_t ngx_skip_lookup_usec(void);


#endif /* _NGX_SKIP_LOOKUP_H_INCLUDED_ */
