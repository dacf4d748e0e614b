/*
 * ngx_skip Prometheus metrics: counters in a shared memory zone, served in
 * the Prometheus text format by the `skip_metrics` location handler.  The
 * module (ngx_skip_module.c) and the events module call this API.
 *
 * Configuration (the module's command table points at the two handlers):
 *
 *     skip_zone NAME SIZE;    http{} only; optional.  Without it, the first
 *                             `skip_metrics` declares the zone "skip" 1m.
 *     skip_metrics;           location; GET/HEAD, text/plain; version=0.0.4
 *
 * Counting is a no-op while no zone exists (no `skip_metrics` and no
 * `skip_zone` anywhere: nobody could read the numbers).  Every counting
 * function is lock-free (one or two atomic adds into the calling worker's
 * own cache-line aligned shard, summed at scrape time), callable from any
 * worker at any time, and silently ignores out-of-range arguments.
 *
 * Counters survive `nginx -s reload` as long as the zone keeps its name and
 * size; per-model counters follow the model *name*, so reordering, adding
 * or removing skip_model lines on reload does not mix the arms up.
 */

#ifndef _NGX_SKIP_PROM_H_INCLUDED_
#define _NGX_SKIP_PROM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* models registered per configuration, the built-in "naive" (index 0) too */
#define NGX_HTTP_SKIP_METRICS_MAX_MODELS  16

/* longest model name; a label value, so kept short */
#define NGX_HTTP_SKIP_METRICS_NAME_LEN    63


/* decision and actual outcome: the skip_decisions/outcomes label values */
#define NGX_HTTP_SKIP_METRICS_PLAY        0
#define NGX_HTTP_SKIP_METRICS_SKIP        1


/*
 * Where the features for a decision came from, or why there were none:
 * the `result` label of skip_redis_lookups_total and the `reason` label of
 * skip_fallbacks_total.  Keep ngx_http_skip_metrics_results[] in
 * ngx_skip_prom.c in the same order when adding a value.
 */
typedef enum {
    NGX_HTTP_SKIP_METRICS_OK = 0,          /* "ok": Redis answered, usable */
    NGX_HTTP_SKIP_METRICS_MISSING,         /* "missing": no record */
    NGX_HTTP_SKIP_METRICS_MALFORMED,       /* "malformed": unparsable record */
    NGX_HTTP_SKIP_METRICS_TIMEOUT,         /* "timeout": deadline passed */
    NGX_HTTP_SKIP_METRICS_ERROR,           /* "error": Redis error reply */
    NGX_HTTP_SKIP_METRICS_DISCONNECTED,    /* "disconnected": no connection */
    NGX_HTTP_SKIP_METRICS_BADID,           /* "badid": invalid user/track id */
    NGX_HTTP_SKIP_METRICS_OFF,             /* "off": no skip_redis */
    NGX_HTTP_SKIP_METRICS_NOMODEL,         /* "nomodel": arm names no model */
    NGX_HTTP_SKIP_METRICS_BREAKER,         /* "breaker": circuit breaker open */
    NGX_HTTP_SKIP_METRICS_NRESULTS
} ngx_http_skip_metrics_result_e;


/* skip_events_total{result} */
typedef enum {
    NGX_HTTP_SKIP_METRICS_ACCEPTED = 0,    /* stored, acknowledged 2xx */
    NGX_HTTP_SKIP_METRICS_REJECTED,        /* bad event: 400 */
    NGX_HTTP_SKIP_METRICS_UNAVAILABLE,     /* Redis down: 503, client keeps */
    NGX_HTTP_SKIP_METRICS_FUTURE,          /* dated beyond max_skew: 400 */
    NGX_HTTP_SKIP_METRICS_NEVENTS
} ngx_http_skip_metrics_event_e;


/* skip_track_cache_total{result}: the per-worker track record cache */
typedef enum {
    NGX_HTTP_SKIP_METRICS_HIT = 0,
    NGX_HTTP_SKIP_METRICS_MISS,
    NGX_HTTP_SKIP_METRICS_EXPIRED,
    NGX_HTTP_SKIP_METRICS_NCACHE
} ngx_http_skip_metrics_cache_e;


/* skip_prefetches_total{arm,kind,result}: what prefetch did per slice */
typedef enum {
    NGX_HTTP_SKIP_METRICS_PF_TRACK = 0,    /* "track": later slices */
    NGX_HTTP_SKIP_METRICS_PF_NEXT,         /* "next": the CMCD nor object */
    NGX_HTTP_SKIP_METRICS_PF_NKINDS
} ngx_http_skip_metrics_pf_kind_e;

typedef enum {
    NGX_HTTP_SKIP_METRICS_PF_STARTED = 0,  /* subrequest sent */
    NGX_HTTP_SKIP_METRICS_PF_FETCHED,      /* cached from the origin */
    NGX_HTTP_SKIP_METRICS_PF_CACHED,       /* the cache had it: no fetch */
    NGX_HTTP_SKIP_METRICS_PF_DEDUPLICATED, /* in flight or done elsewhere */
    NGX_HTTP_SKIP_METRICS_PF_REFUSED,      /* per-worker cap reached */
    NGX_HTTP_SKIP_METRICS_PF_FULL,         /* prefetch ledger full */
    NGX_HTTP_SKIP_METRICS_PF_FAILED,       /* error, or not a slice answer */
    NGX_HTTP_SKIP_METRICS_PF_NRESULTS
} ngx_http_skip_metrics_pf_result_e;

/* skip_prefetch_*_bytes_total{arm} */
typedef enum {
    NGX_HTTP_SKIP_METRICS_PF_BYTES = 0,    /* taken from the origin */
    NGX_HTTP_SKIP_METRICS_PF_SERVED,       /* later asked for by a listener */
    NGX_HTTP_SKIP_METRICS_PF_WASTED,       /* not asked for within window */
    NGX_HTTP_SKIP_METRICS_PF_NBYTES
} ngx_http_skip_metrics_pf_bytes_e;

/* skip_cmcd_total{result}: requests carrying CMCD */
typedef enum {
    NGX_HTTP_SKIP_METRICS_CMCD_OK = 0,     /* parsed (nor used or not) */
    NGX_HTTP_SKIP_METRICS_CMCD_INVALID,    /* broke the grammar: ignored */
    NGX_HTTP_SKIP_METRICS_CMCD_UNUSABLE,   /* nor refused (other host, ..) */
    NGX_HTTP_SKIP_METRICS_NCMCD
} ngx_http_skip_metrics_cmcd_e;


/* skip_redis_cluster_total{event}: what the cluster client ran into */
typedef enum {
    NGX_HTTP_SKIP_METRICS_CL_MOVED = 0,    /* -MOVED: the slot moved */
    NGX_HTTP_SKIP_METRICS_CL_ASK,          /* -ASK: a slot migrating */
    NGX_HTTP_SKIP_METRICS_CL_UNAVAILABLE,  /* a key's node down: fell back */
    NGX_HTTP_SKIP_METRICS_CL_MAP,          /* a slot map taken */
    NGX_HTTP_SKIP_METRICS_CL_MAP_ERROR,    /* a slot map refused */
    NGX_HTTP_SKIP_METRICS_NCLUSTER
} ngx_http_skip_metrics_cluster_e;


/* directive handlers: `skip_zone NAME SIZE;` and `skip_metrics;` */
typedef enum {
    NGX_HTTP_SKIP_METRICS_ADMIT_YES = 0,   /* "admit": model says store */
    NGX_HTTP_SKIP_METRICS_ADMIT_NO,        /* "refuse": model says do not */
    NGX_HTTP_SKIP_METRICS_ADMIT_OPEN,      /* "failopen": no inputs, admit */
    NGX_HTTP_SKIP_METRICS_NADMIT
} ngx_http_skip_metrics_admit_e;


char *ngx_http_skip_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_skip_metrics_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the metrics zone of the configuration being read, NULL if none (yet) */
ngx_shm_zone_t *ngx_http_skip_metrics_zone(ngx_conf_t *cf);

/*
 * Configuration time: register a model (skip_model NAME ...) with its
 * version for skip_model_info; returns the index to pass to decision() and
 * outcome(), or NGX_ERROR (message logged) when there are too many models
 * or the name is too long.  "naive" is index 0 without registration;
 * registering it, or any name twice, returns the existing index and
 * replaces the version.  `version` may be NULL (keeps the old one).
 */
ngx_int_t ngx_http_skip_metrics_model(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *version);

/* run time: the index of a model name in the current configuration, or
 * NGX_ERROR (unknown name, e.g. a prediction made before a reload, or no
 * metrics zone) */
ngx_int_t ngx_http_skip_metrics_model_index(ngx_str_t *name);

/*
 * run time: the zone slot of a model index of the current configuration,
 * or NGX_ERROR.  A slot belongs to a model *name* for as long as the zone
 * lives, across reloads that reorder, add or drop skip_model lines: what a
 * prediction remembered for a later outcome must carry (ngx_skip_recent).
 */
ngx_int_t ngx_http_skip_metrics_slot(ngx_uint_t model);

/* counting, from any worker; outcome takes the slot of the prediction */
void ngx_http_skip_metrics_decision(ngx_uint_t model, ngx_uint_t decision);
void ngx_http_skip_metrics_outcome(ngx_uint_t slot, ngx_uint_t predicted,
    ngx_uint_t actual);

/*
 * One Redis lookup: counted in skip_redis_lookups_total{result}; its
 * latency goes into the skip_redis_lookup_seconds histogram when
 * latency_usec >= 0 (pass -1 when no round trip happened, e.g.
 * DISCONNECTED).
 */
void ngx_http_skip_metrics_lookup(ngx_uint_t result, ngx_int_t latency_usec);

void ngx_http_skip_metrics_event(ngx_uint_t result, ngx_uint_t n);
void ngx_http_skip_metrics_track_cache(ngx_uint_t result);
void ngx_http_skip_metrics_fallback(ngx_uint_t reason);

/*
 * Prefetch, by the metrics slot of the arm whose decision caused it
 * (ngx_http_skip_metrics_slot(), stable across reloads): the ledger counts
 * served and wasted bytes long after the request, maybe after a reload.
 */
void ngx_http_skip_metrics_prefetch(ngx_uint_t slot, ngx_uint_t kind,
    ngx_uint_t result, ngx_uint_t n);
void ngx_http_skip_metrics_prefetch_bytes(ngx_uint_t slot, ngx_uint_t which,
    size_t bytes);
void ngx_http_skip_metrics_cmcd(ngx_uint_t result);
void ngx_http_skip_metrics_admit(ngx_uint_t result);
void ngx_http_skip_metrics_cluster(ngx_uint_t event, ngx_uint_t n);

/*
 * The calling worker's Redis connection went up (1) or down (0).
 * skip_redis_connected is the number of worker slots whose connection is
 * up: call with 1 on connect, 0 on disconnect and in exit_process.  A slot
 * remembers the pid that set it, so an exiting old-generation worker does
 * not clear the flag its replacement (same slot) has just set.
 */
void ngx_http_skip_metrics_redis_connected(ngx_uint_t up);

/* A worker's Redis circuit breaker opened: skip_redis_breaker_trips_total. */
void ngx_http_skip_metrics_breaker_trip(void);

/*
 * The persistence check of the calling worker's connection: 2 durable
 * (appendonly yes + appendfsync always), 1 not durable or unverifiable.
 * skip_redis_durable is 1 when every live worker that checked said 2, 0
 * when one said 1, absent before any check.
 */
void ngx_http_skip_metrics_redis_durable(ngx_uint_t state);


#endif /* _NGX_SKIP_PROM_H_INCLUDED_ */
