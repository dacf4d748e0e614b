/*
 * ngx_skip metrics, private: the layout of the counters' shared memory
 * zone and the per-configuration context, shared by the counting side
 * (ngx_skip_prom.c) and the Prometheus text handler (ngx_skip_prom_text.c).
 * Nothing else includes this file: the API is ngx_skip_prom.h.
 */

#ifndef _NGX_SKIP_PROM_INT_H_INCLUDED_
#define _NGX_SKIP_PROM_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_skip_prom.h"


#define NGX_HTTP_SKIP_METRICS_CACHE_LINE  128

/* twice the models one configuration may have: reloads that rename
 * models find a free slot before an old one has to be recycled */
#define NGX_HTTP_SKIP_METRICS_SLOTS  (2 * NGX_HTTP_SKIP_METRICS_MAX_MODELS)

/* worker shards; more workers than this share shards (still correct) */
#define NGX_HTTP_SKIP_METRICS_SHARDS      32

/* latency bucket bounds (microseconds), then +Inf */
#define NGX_HTTP_SKIP_METRICS_BOUNDS      10
#define NGX_HTTP_SKIP_METRICS_BUCKETS     (NGX_HTTP_SKIP_METRICS_BOUNDS + 1)

#define NGX_HTTP_SKIP_METRICS_DEFAULT_SIZE  (1024 * 1024)


typedef struct {
    ngx_atomic_t                    decisions[2];
    ngx_atomic_t                    outcomes[2][2];  /* [predicted][actual] */
    ngx_atomic_t                    prefetches[NGX_HTTP_SKIP_METRICS_PF_NKINDS]
                                             [NGX_HTTP_SKIP_METRICS_PF_NRESULTS];
    ngx_atomic_t                    pf_bytes[NGX_HTTP_SKIP_METRICS_PF_NBYTES];
} ngx_http_skip_metrics_arm_t;


typedef struct {
    ngx_http_skip_metrics_arm_t     arms[NGX_HTTP_SKIP_METRICS_SLOTS];
    ngx_atomic_t                    lookups[NGX_HTTP_SKIP_METRICS_NRESULTS];
    ngx_atomic_t                    fallbacks[NGX_HTTP_SKIP_METRICS_NRESULTS];
    ngx_atomic_t                    buckets[NGX_HTTP_SKIP_METRICS_BUCKETS];
    ngx_atomic_t                    latency_usec;
    ngx_atomic_t                    events[NGX_HTTP_SKIP_METRICS_NEVENTS];
    ngx_atomic_t                    cache[NGX_HTTP_SKIP_METRICS_NCACHE];
    ngx_atomic_t                    cmcd[NGX_HTTP_SKIP_METRICS_NCMCD];
    ngx_atomic_t                    admit[NGX_HTTP_SKIP_METRICS_NADMIT];
    ngx_atomic_t                    cluster[NGX_HTTP_SKIP_METRICS_NCLUSTER];
    ngx_atomic_t                    scrapes;
    ngx_atomic_t                    breaker_trips;

    /* pid << 1 | up, so that only the pid that set "up" clears it */
    ngx_atomic_t                    connected;

    /* pid << 2 | 0 unchecked, 1 not durable, 2 durable */
    ngx_atomic_t                    durable;
} ngx_http_skip_metrics_shard_t;


typedef union {
    ngx_http_skip_metrics_shard_t   s;
    u_char                          pad[ngx_align(
                                        sizeof(ngx_http_skip_metrics_shard_t),
                                        NGX_HTTP_SKIP_METRICS_CACHE_LINE)];
} ngx_http_skip_metrics_padded_t;


typedef struct {
    size_t                          len;          /* 0: free */
    u_char                          data[NGX_HTTP_SKIP_METRICS_NAME_LEN];
} ngx_http_skip_metrics_slot_t;


/* the zone's content; first, so that shards start page aligned */
typedef struct {
    ngx_http_skip_metrics_padded_t  shards[NGX_HTTP_SKIP_METRICS_SHARDS];

    /* written by the master only, at zone initialization */
    ngx_http_skip_metrics_slot_t    slots[NGX_HTTP_SKIP_METRICS_SLOTS];
} ngx_http_skip_metrics_shm_t;


typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       version;
    ngx_uint_t                      slot;
} ngx_http_skip_metrics_model_t;


/* one per configuration (cycle), in the cycle pool */
typedef struct {
    ngx_cycle_t                    *cycle;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_skip_metrics_shm_t    *sh;
    ngx_uint_t                      nmodels;
    ngx_http_skip_metrics_model_t   models[NGX_HTTP_SKIP_METRICS_MAX_MODELS];

    /* the zone was declared by skip_metrics, not by skip_zone */
    unsigned                        implicit:1;
} ngx_http_skip_metrics_ctx_t;


/* the context of the configuration the calling worker runs, or NULL */
ngx_http_skip_metrics_ctx_t *ngx_http_skip_metrics_current(void);

/* the calling worker's shard of the counters, or NULL without a zone */
ngx_http_skip_metrics_shard_t *ngx_http_skip_metrics_shard(void);

/* the skip_metrics location's content handler */
ngx_int_t ngx_http_skip_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_SKIP_PROM_INT_H_INCLUDED_ */
