/*
 * ngx_skip: what ngx_skip_module.c shares with the prediction API
 * (src/ngx_skip_api.c, a second module in the same .so): the
 * configuration of ngx_http_skip_module, model choice, the request-time
 * inputs, and the one function that turns looked-up records into a
 * decision (score or fallback), counted in the metrics, so that a track
 * request and an API answer for the same records are the same numbers.
 */

#ifndef _NGX_SKIP_MODULE_H_INCLUDED_
#define _NGX_SKIP_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/model.h"
#include "../core/records.h"
#include "ngx_skip_admit.h"
#include "ngx_skip_cache.h"
#include "ngx_skip_cluster.h"
#include "ngx_skip_lookup.h"
#include "ngx_skip_prefetch.h"
#include "ngx_skip_redis.h"


#define NGX_HTTP_SKIP_PLAY  1
#define NGX_HTTP_SKIP_SKIP  0


typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  label;       /* "name@version" */
    ngx_uint_t                 metrics;     /* index for ngx_skip_prom */
    sk_model                   model;
    unsigned                   inputs;      /* SK_INPUT_* the model reads */
} ngx_http_skip_model_t;


typedef struct {
    ngx_array_t                models;      /* ngx_http_skip_model_t */
    ngx_http_skip_model_t     *naive;

    ngx_url_t                 *redis_url;   /* NULL: no skip_redis */
    ngx_str_t                  redis_password;
    ngx_int_t                  redis_db;
    ngx_str_t                  redis_prefix;
    ngx_msec_t                 redis_connect_timeout;
    ngx_int_t                  breaker;     /* threshold; 0: off */
    ngx_msec_t                 breaker_open;
    ngx_msec_t                 breaker_max;
    ngx_msec_t                 breaker_quiet;
    ngx_skip_redis_conf_t      redis_conf;

    /* skip_redis ... cluster [read=replica] */
    ngx_uint_t                 redis_cluster;
    ngx_array_t               *redis_seeds;    /* ngx_addr_t */
    ngx_uint_t                 redis_read_replicas;
    ngx_skip_cluster_conf_t    cluster_conf;

    ngx_int_t                  cache_size;  /* 0: off */
    ngx_msec_t                 cache_ttl;
    ngx_msec_t                 cache_track_ttl;  /* track=, else cache_ttl */

    ngx_int_t                  prefetch_inflight;   /* per worker */
    ngx_uint_t                 prefetch_zone;       /* declared */
    ngx_event_t                prefetch_sweep;      /* worker 0 */

    ngx_skip_admit_conf_t      admit;       /* skip_admit_zone, _model */

    /* per worker, from init_process */
    ngx_skip_redis_t          *redis;
    ngx_skip_cluster_t        *cluster;
    ngx_skip_cache_t          *cache;
} ngx_http_skip_main_conf_t;


/* skip_session_counts: the player's view of its session. */
typedef struct {
    ngx_http_complex_value_t   plays;
    ngx_http_complex_value_t   skips;
    ngx_http_complex_value_t   prev;
} ngx_http_skip_session_counts_t;


typedef struct {
    ngx_flag_t                 predict;
    ngx_http_complex_value_t  *user;
    ngx_http_complex_value_t  *track;
    ngx_http_complex_value_t  *use_model;
    ngx_http_complex_value_t  *hour;
    ngx_http_complex_value_t  *position;   /* plays before, in the session */
    ngx_http_complex_value_t  *session;    /* the listening session's id */
    ngx_http_skip_session_counts_t  *session_counts;
    ngx_skip_prefetch_conf_t   prefetch;
    ngx_msec_t                 timeout;
    ngx_int_t                  threshold;   /* millionths; -1: the model's */
    ngx_uint_t                 fallback;
    ngx_flag_t                 admit;       /* skip_admit */
    ngx_http_complex_value_t  *admit_range; /* the (sub)request's Range */
    ngx_http_complex_value_t  *admit_time;  /* seconds; default now */
} ngx_http_skip_loc_conf_t;


typedef struct {
    ngx_uint_t                 source;      /* NGX_SKIP_SRC_* */
    ngx_uint_t                 decision;    /* NGX_HTTP_SKIP_PLAY / _SKIP */
    ngx_uint_t                 scored;      /* score is P(play) */
    double                     score;
} ngx_http_skip_result_t;


/* skip_use_model's choice for this request (the first model by default). */
ngx_http_skip_model_t *ngx_http_skip_choose_model(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf);

/* skip_hour (else the local hour) and skip_position; -1: unknown. */
ngx_int_t ngx_http_skip_hour(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf);
ngx_int_t ngx_http_skip_position(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf);

/*
 * The request's session (src/nginx/ngx_skip_session.c): skip_session's
 * id when valid, else empty (an invalid one is logged at info); and the
 * player's counts from skip_session_counts: NGX_OK with counts[0..2] =
 * plays, skips, previous outcome (1 play, 0 skip, -1 none), NGX_DECLINED
 * when not configured, not sent or not valid (logged at info).
 */
void ngx_http_skip_session_id(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf, ngx_str_t *id);
ngx_int_t ngx_http_skip_session_counts(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf, ngx_int_t *counts);

/* The worker's Redis connection, record cache, prefix into a lookup. */
void ngx_http_skip_lookup_init(ngx_http_request_t *r, ngx_skip_lookup_t *lk,
    ngx_http_skip_loc_conf_t *slcf);

/*
 * Track i of a finished lookup: score it with model m when both records
 * are there, else the fallback; remember it for live evaluation and count
 * it.  latency: count the lookup's round-trip time with this prediction
 * (once per lookup; other predictions of a batch pass 0).  sess: the
 * session context, or NULL (unknown: its features abstain).
 */
void ngx_http_skip_decide(ngx_http_skip_model_t *m, double threshold,
    ngx_uint_t fallback, sk_context *skctx, const sk_session *sess,
    ngx_skip_lookup_t *lk, ngx_uint_t i, ngx_uint_t latency,
    ngx_http_skip_result_t *res);


extern ngx_module_t  ngx_http_skip_module;


#endif /* _NGX_SKIP_MODULE_H_INCLUDED_ */
