/*
 * ngx_skip: skip-aware caching for nginx.
 *
 * This file is nginx glue only: directives, configuration, the preaccess
 * phase handler, the variables and the header filter that starts
 * prefetches.  The feature, model and Redis-record code is plain C in
 * src/core/, shared with skipctl; the other nginx parts are in
 * src/nginx/: the Redis connection (ngx_skip_redis.c), the record cache
 * (ngx_skip_cache.c), the lookup shared with the prediction API (cache,
 * breaker, one pipelined round trip, deadline: ngx_skip_lookup.c), the
 * prefetch jobs and their ledger (ngx_skip_prefetch.c, ngx_skip_ledger.c),
 * the Prometheus counters and the skip_zone / skip_metrics directives
 * (ngx_skip_prom.c).
 *
 * Per client request, in a location with "skip_predict on":
 *
 *   preaccess: evaluate skip_user / skip_track / skip_use_model, take what
 *   the per-worker record cache has, send one pipelined HMGET per missing
 *   record on the worker's Redis connection, arm the deadline, return
 *   NGX_AGAIN;
 *   reply or deadline: decode, score, store the result in the request
 *   context, wake the request (post + run posted requests, as njs does);
 *   preaccess again: NGX_DECLINED, the request goes on;
 *   later: $skip_* variables report the stored result.
 *
 * Nothing here fails a request: every problem becomes the configured
 * fallback decision, and $skip_source says why.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "src/core/keys.h"
#include "src/core/model.h"
#include "src/core/records.h"
#include "src/core/session_live.h"
#include "src/nginx/ngx_skip_cache.h"
#include "src/nginx/ngx_skip_conf.h"
#include "src/nginx/ngx_skip_directives.h"
#include "src/nginx/ngx_skip_events.h"
#include "src/nginx/ngx_skip_ledger.h"
#include "src/nginx/ngx_skip_lookup.h"
#include "src/nginx/ngx_skip_module.h"
#include "src/nginx/ngx_skip_prefetch.h"
#include "src/nginx/ngx_skip_prom.h"
#include "src/nginx/ngx_skip_recent.h"
#include "src/nginx/ngx_skip_redis.h"


#define NGX_HTTP_SKIP_WAITING  1
#define NGX_HTTP_SKIP_DONE     2


typedef struct {
    ngx_http_request_t        *request;     /* NULL: not decided yet */
    ngx_uint_t                 admit;
    double                     score;
} ngx_http_skip_admit_memo_t;


typedef struct {
    ngx_http_request_t        *request;
    ngx_uint_t                 state;

    ngx_http_skip_model_t     *model;
    double                     threshold;
    ngx_uint_t                 fallback;
    sk_context                 skctx;

    /* the player's session counts (skip_session_counts), if it sent them */
    ngx_int_t                  session_counts[3];
    ngx_uint_t                 have_counts;

    /* the records of the user and the one track (src/ngx_skip_lookup.h) */
    ngx_skip_lookup_t          lk;
    ngx_skip_lookup_track_t    track;

    /* the result */
    ngx_http_skip_result_t     res;
    ngx_uint_t                 prefetch_checked;

    /*
     * Admission decisions, each (sub)request counted and scored once
     * however often $skip_admit is read: the main request's, and the
     * last subrequest's (slice subrequests run one after another).
     */
    ngx_http_skip_admit_memo_t admit_main;
    ngx_http_skip_admit_memo_t admit_sub;
} ngx_http_skip_ctx_t;


static ngx_int_t ngx_http_skip_handler(ngx_http_request_t *r);
static void ngx_http_skip_start(ngx_http_request_t *r,
    ngx_http_skip_ctx_t *ctx, ngx_http_skip_loc_conf_t *slcf);
static ngx_int_t ngx_http_skip_header_filter(ngx_http_request_t *r);
static void ngx_http_skip_prefetch(ngx_http_request_t *r,
    ngx_http_skip_ctx_t *ctx, ngx_http_skip_loc_conf_t *slcf);
static void ngx_http_skip_looked_up(ngx_skip_lookup_t *lk);
static void ngx_http_skip_finish(ngx_http_skip_ctx_t *ctx);
static void ngx_http_skip_count(ngx_http_skip_model_t *m,
    ngx_skip_lookup_t *lk, ngx_uint_t latency, ngx_http_skip_result_t *res);
static void ngx_http_skip_wake(ngx_http_skip_ctx_t *ctx);
static void ngx_http_skip_cleanup(void *data);
static ngx_http_skip_ctx_t *ngx_http_skip_get_ctx(ngx_http_request_t *r);

static ngx_int_t ngx_http_skip_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_skip_admit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_skip_admit_memo_t *ngx_http_skip_admit(
    ngx_http_request_t *r, ngx_http_skip_loc_conf_t *slcf);

static ngx_int_t ngx_http_skip_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_skip_init(ngx_conf_t *cf);
static void *ngx_http_skip_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_skip_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_skip_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_skip_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static void ngx_http_skip_prefetch_sweep(ngx_event_t *ev);
static ngx_uint_t ngx_http_skip_models_read_taste(
    ngx_http_skip_main_conf_t *smcf);
static ngx_int_t ngx_http_skip_init_process(ngx_cycle_t *cycle);
static void ngx_http_skip_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_skip_fallbacks[] = {
    { ngx_string("play"), NGX_HTTP_SKIP_PLAY },
    { ngx_string("skip"), NGX_HTTP_SKIP_SKIP },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_skip_commands[] = {

    { ngx_string("skip_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_skip_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_redis_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, redis_password),
      NULL },

    { ngx_string("skip_redis_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, redis_db),
      NULL },

    { ngx_string("skip_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, redis_prefix),
      NULL },

    { ngx_string("skip_redis_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, redis_connect_timeout),
      &ngx_http_skip_conf_msec_positive },

    { ngx_string("skip_redis_breaker"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
      ngx_http_skip_breaker,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, timeout),
      &ngx_http_skip_conf_msec_positive },

    { ngx_string("skip_record_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_skip_record_cache,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_skip_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_skip_zone_conf,
      0,
      0,
      NULL },

    { ngx_string("skip_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_skip_metrics_conf,
      0,
      0,
      NULL },

    { ngx_string("skip_admit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_skip_admit_zone_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, admit),
      NULL },

    { ngx_string("skip_admit_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_skip_admit_model_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, admit),
      NULL },

    { ngx_string("skip_admit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, admit),
      NULL },

    { ngx_string("skip_admit_range"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, admit_range),
      NULL },

    { ngx_string("skip_admit_time"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, admit_time),
      NULL },

    { ngx_string("skip_predict"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, predict),
      NULL },

    { ngx_string("skip_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, user),
      NULL },

    { ngx_string("skip_track"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, track),
      NULL },

    { ngx_string("skip_use_model"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, use_model),
      NULL },

    { ngx_string("skip_hour"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, hour),
      NULL },

    { ngx_string("skip_position"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, position),
      NULL },

    { ngx_string("skip_session"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, session),
      NULL },

    { ngx_string("skip_session_counts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE3,
      ngx_http_skip_session_counts_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, session_counts),
      NULL },

    { ngx_string("skip_prefetch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, prefetch.uri),
      NULL },

    { ngx_string("skip_prefetch_slice"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, prefetch.slice),
      NULL },

    { ngx_string("skip_prefetch_ahead"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_skip_prefetch_ahead,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, prefetch.ahead),
      NULL },

    { ngx_string("skip_prefetch_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_skip_threshold,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, prefetch.threshold),
      NULL },

    { ngx_string("skip_prefetch_next"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, prefetch.next),
      NULL },

    { ngx_string("skip_prefetch_inflight"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_skip_main_conf_t, prefetch_inflight),
      NULL },

    { ngx_string("skip_prefetch_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_skip_prefetch_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_threshold"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_skip_threshold,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, threshold),
      NULL },

    { ngx_string("skip_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_loc_conf_t, fallback),
      &ngx_http_skip_fallbacks },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_skip_module_ctx = {
    ngx_http_skip_add_variables,           /* preconfiguration */
    ngx_http_skip_init,                    /* postconfiguration */

    ngx_http_skip_create_main_conf,        /* create main configuration */
    ngx_http_skip_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_skip_create_loc_conf,         /* create location configuration */
    ngx_http_skip_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_skip_module = {
    NGX_MODULE_V1,
    &ngx_http_skip_module_ctx,             /* module context */
    ngx_http_skip_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_skip_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_skip_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


/* Variables: data is what they report. */
#define NGX_HTTP_SKIP_VAR_DECISION  0
#define NGX_HTTP_SKIP_VAR_SCORE     1
#define NGX_HTTP_SKIP_VAR_EXACT     2
#define NGX_HTTP_SKIP_VAR_BYPASS    3
#define NGX_HTTP_SKIP_VAR_MODEL     4
#define NGX_HTTP_SKIP_VAR_SOURCE    5


static ngx_http_variable_t  ngx_http_skip_vars[] = {

    { ngx_string("skip_decision"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_DECISION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_score"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_SCORE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_score_exact"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_EXACT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_bypass"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_BYPASS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_model"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_MODEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_source"), NULL, ngx_http_skip_variable,
      NGX_HTTP_SKIP_VAR_SOURCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_admit"), NULL, ngx_http_skip_admit_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_admit_score"), NULL, ngx_http_skip_admit_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_no_admit"), NULL, ngx_http_skip_admit_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* ---- the phase handler ------------------------------------------------ */


static ngx_int_t
ngx_http_skip_handler(ngx_http_request_t *r)
{
    ngx_http_cleanup_t        *cln;
    ngx_http_skip_ctx_t       *ctx;
    ngx_http_skip_loc_conf_t  *slcf;

    /*
     * One prediction per client request: subrequests (slice, SSI, mirror)
     * report the main request's result through the variables.
     */
    if (r != r->main) {
        return NGX_DECLINED;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_module);

    if (!slcf->predict) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_skip_get_ctx(r);

    if (ctx) {
        /* woken up, or run again after an internal redirect */
        if (ctx->state == NGX_HTTP_SKIP_WAITING) {
            return NGX_AGAIN;
        }

        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_skip_ctx_t));
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    /*
     * The cleanup detaches a pending lookup and deletes the deadline when
     * the request goes away early (client reset, HTTP/2 stream reset),
     * and it is how the context is found again after an internal
     * redirect zeroed r->ctx.
     */
    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_skip_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_http_skip_module);

    ngx_http_skip_start(r, ctx, slcf);

    if (ctx->state == NGX_HTTP_SKIP_DONE) {
        return NGX_DECLINED;
    }

    /* notice a client that goes away while we wait (as limit_req does) */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    return NGX_AGAIN;
}


static void
ngx_http_skip_start(ngx_http_request_t *r, ngx_http_skip_ctx_t *ctx,
    ngx_http_skip_loc_conf_t *slcf)
{
    ngx_skip_lookup_t  *lk;

    ctx->model = ngx_http_skip_choose_model(r, slcf);
    ctx->threshold = slcf->threshold >= 0 ? slcf->threshold / 1000000.0
                                           : ctx->model->model.threshold;
    ctx->fallback = slcf->fallback;
    ctx->skctx.hour = ngx_http_skip_hour(r, slcf);
    ctx->skctx.position = ngx_http_skip_position(r, slcf);

    lk = &ctx->lk;
    ngx_http_skip_lookup_init(r, lk, slcf);
    lk->want_taste = (ctx->model->inputs & SK_INPUT_TASTE) != 0;

    if (ctx->model->inputs & SK_INPUT_SESSION) {
        /* the hash in the same round trip; the player's counts now */
        ngx_http_skip_session_id(r, slcf, &lk->session_id);
        ctx->have_counts = (ngx_http_skip_session_counts(r, slcf,
                                                         ctx->session_counts)
                            == NGX_OK);
    }

    lk->handler = ngx_http_skip_looked_up;
    lk->data = ctx;
    lk->tracks = &ctx->track;
    lk->ntracks = 1;

    if (slcf->user == NULL
        || ngx_http_complex_value(r, slcf->user, &lk->user_id) != NGX_OK)
    {
        ngx_str_null(&lk->user_id);
    }

    if (slcf->track == NULL
        || ngx_http_complex_value(r, slcf->track, &ctx->track.id) != NGX_OK)
    {
        ngx_str_null(&ctx->track.id);
    }

    if (ngx_skip_lookup_start(lk) == NGX_AGAIN) {
        ctx->state = NGX_HTTP_SKIP_WAITING;
        return;
    }

    ngx_http_skip_finish(ctx);
}


void
ngx_http_skip_lookup_init(ngx_http_request_t *r, ngx_skip_lookup_t *lk,
    ngx_http_skip_loc_conf_t *slcf)
{
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_skip_module);

    lk->redis = smcf->redis;
    lk->cluster = smcf->cluster;
    lk->pool = r->pool;
    lk->cache = smcf->cache;
    lk->prefix = smcf->redis_prefix.data;
    lk->timeout = slcf->timeout;
    lk->connection = r->connection;
}


ngx_http_skip_model_t *
ngx_http_skip_choose_model(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf)
{
    char                        safe[128];
    ngx_str_t                   name;
    ngx_uint_t                  i;
    ngx_http_skip_model_t      *m;
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_skip_module);
    m = smcf->models.elts;

    if (slcf->use_model == NULL) {
        /* the first skip_model of the configuration, else "naive" */
        return &m[0];
    }

    if (ngx_http_complex_value(r, slcf->use_model, &name) == NGX_OK) {
        for (i = 0; i < smcf->models.nelts; i++) {
            if (m[i].name.len == name.len
                && ngx_strncmp(m[i].name.data, name.data, name.len) == 0)
            {
                return &m[i];
            }
        }

        /* the value may come from the client: no control bytes */
        (void) sk_log_safe(safe, sizeof(safe), (const char *) name.data,
                           name.len);

        ngx_skip_warn(r->connection->log, 0, "skip_use_model: no model "
                      "named \"%s\", using \"%V\"", safe, &m[0].name);
    }

    return &m[0];
}


/*
 * Prefetch (src/ngx_skip_prefetch.h), decided when the listener's answer
 * starts: its Content-Range tells how large the track is and which slice
 * the player asked for.  Once per client request.
 */
static ngx_int_t
ngx_http_skip_header_filter(ngx_http_request_t *r)
{
    ngx_http_skip_ctx_t       *ctx;
    ngx_http_skip_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_module);

    if (slcf->admit) {
        /*
         * Every answer counts in the admission sketch, cache hits too:
         * proxy_no_cache, which reads $skip_admit, is only evaluated for
         * answers from the origin (after this filter ran).
         */
        (void) ngx_http_skip_admit(r, slcf);
    }

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    if (slcf->prefetch.uri == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_skip_get_ctx(r);

    if (ctx && ctx->state == NGX_HTTP_SKIP_DONE && !ctx->prefetch_checked) {
        ctx->prefetch_checked = 1;
        ngx_http_skip_prefetch(r, ctx, slcf);
    }

    return ngx_http_next_header_filter(r);
}


static void
ngx_http_skip_prefetch(ngx_http_request_t *r, ngx_http_skip_ctx_t *ctx,
    ngx_http_skip_loc_conf_t *slcf)
{
    off_t                     end;
    double                    threshold;
    ngx_int_t                 slot;
    ngx_uint_t                status;
    ngx_skip_prefetch_want_t  want;

    ngx_memzero(&want, sizeof(ngx_skip_prefetch_want_t));

    slot = ngx_http_skip_metrics_slot(ctx->model->metrics);

    /* out of range: the counting calls ignore it */
    want.arm = (slot == NGX_ERROR) ? (ngx_uint_t) -1 : (ngx_uint_t) slot;
    want.path = r->uri;
    want.total = -1;

    status = r->headers_out.status;

    if (status == NGX_HTTP_OK || status == NGX_HTTP_PARTIAL_CONTENT) {
        ngx_skip_prefetch_client_range(r, &want.start, &end);
        want.total = ngx_skip_prefetch_total(r);

        /* what was prefetched before and is asked for now was worth it */
        ngx_skip_prefetch_served(r, &slcf->prefetch, &want, end);

        /*
         * Its own threshold: a wasted prefetch costs bytes, a wrong label
         * costs nothing by itself.  Without a score (fallback), the
         * fallback decision says.
         */
        if (ctx->res.scored) {
            threshold = slcf->prefetch.threshold >= 0
                        ? slcf->prefetch.threshold / 1000000.0
                        : ctx->threshold;
            want.track = (ctx->res.score >= threshold);

        } else {
            want.track = (ctx->res.decision == NGX_HTTP_SKIP_PLAY);
        }
    }

    if (slcf->prefetch.next) {
        /* read (and counted) on every request; used on "skip" only */
        ngx_skip_prefetch_cmcd(r, &want.next);

        if (ctx->res.decision != NGX_HTTP_SKIP_SKIP) {
            ngx_str_null(&want.next);
        }
    }

    ngx_skip_prefetch_start(r, &slcf->prefetch, &want);
}


/*
 * The play's position in its listening session, as the player sends it
 * (skip_position), or -1: unknown, and the model then scores the average
 * position.  A value that is not a whole number is unknown, not an error:
 * prediction never fails a request.
 */
ngx_int_t
ngx_http_skip_position(ngx_http_request_t *r, ngx_http_skip_loc_conf_t *slcf)
{
    ngx_str_t  v;
    ngx_int_t  n;

    if (slcf->position == NULL
        || ngx_http_complex_value(r, slcf->position, &v) != NGX_OK
        || v.len == 0)
    {
        return -1;
    }

    n = ngx_atoi(v.data, v.len);

    if (n == NGX_ERROR) {
        return -1;
    }

    /* featurize.c caps it too; this keeps it inside an int */
    return n > SK_POSITION_MAX ? SK_POSITION_MAX : n;
}


/* The request's local hour 0..23, or what skip_hour says (-1 unknown). */
ngx_int_t
ngx_http_skip_hour(ngx_http_request_t *r, ngx_http_skip_loc_conf_t *slcf)
{
    time_t      t;
    ngx_str_t   v;
    ngx_int_t   h;
    ngx_time_t *tp;

    if (slcf->hour) {
        if (ngx_http_complex_value(r, slcf->hour, &v) != NGX_OK
            || v.len == 0)
        {
            return -1;
        }

        h = ngx_atoi(v.data, v.len);

        return (h >= 0 && h <= 23) ? h : -1;
    }

    /*
     * nginx's cached time carries the local UTC offset (minutes), so no
     * localtime() call, which may stat /etc/localtime, per request.
     */
    tp = ngx_timeofday();
    t = tp->sec + tp->gmtoff * 60;

    return (ngx_int_t) ((t / 3600) % 24);
}


/* ---- reply, deadline, result ------------------------------------------- */


/* The lookup came back (reply, lost connection or deadline). */
static void
ngx_http_skip_looked_up(ngx_skip_lookup_t *lk)
{
    ngx_http_skip_ctx_t *ctx = lk->data;

    ngx_http_skip_finish(ctx);
    ngx_http_skip_wake(ctx);
}


static void
ngx_http_skip_finish(ngx_http_skip_ctx_t *ctx)
{
    sk_session          merged;
    ngx_skip_lookup_t  *lk;
    const sk_session   *sess;

    ctx->state = NGX_HTTP_SKIP_DONE;
    lk = &ctx->lk;

    /* the player's counts win over a hash a Skip in flight left stale */
    sess = ngx_skip_lookup_session(lk);

    if (ctx->have_counts) {
        sk_session_merge(&merged, sess, (int) ctx->session_counts[0],
                         (int) ctx->session_counts[1],
                         (int) ctx->session_counts[2]);
        sess = &merged;
    }

    ngx_http_skip_decide(ctx->model, ctx->threshold, ctx->fallback,
                         &ctx->skctx, sess, lk, 0, 1, &ctx->res);

    /*
     * What this session's residual will measure the track's outcome
     * against, from the records just scored and the model's priors (the
     * trainer's expectation): left in the session's hash for its first
     * event (docs/taste-features.md).
     */
    if (ctx->res.scored && lk->session_id.len
        && (ctx->model->inputs & SK_INPUT_SESSION))
    {
        ngx_skip_lookup_session_expect(lk, &ctx->track.id,
                          sk_session_expect(&ctx->model->model.plan.priors,
                                            &lk->user, &ctx->track.rec));
    }
}


/* Score when both records are there, else the fallback; count it. */
void
ngx_http_skip_decide(ngx_http_skip_model_t *m, double threshold,
    ngx_uint_t fallback, sk_context *skctx, const sk_session *sess,
    ngx_skip_lookup_t *lk, ngx_uint_t i, ngx_uint_t latency,
    ngx_http_skip_result_t *res)
{
    ngx_int_t                 slot;
    ngx_uint_t                source;
    ngx_skip_lookup_track_t  *t;

    t = &lk->tracks[i];
    source = ngx_skip_lookup_source(lk, i);

    res->source = source;
    res->scored = 0;

    if (source == NGX_SKIP_SRC_REDIS || source == NGX_SKIP_SRC_CACHE) {
        res->score = sk_model_score_ext(&m->model, &lk->user, &t->rec, skctx,
                                        ngx_skip_lookup_taste(lk), sess);
        res->scored = 1;
        res->decision = res->score >= threshold ? NGX_HTTP_SKIP_PLAY
                                                : NGX_HTTP_SKIP_SKIP;

        /*
         * Live evaluation: the listener's play/skip event for this pair
         * (skip_events, maybe in another worker) is counted against this
         * prediction.  A no-op without skip_events_recent.
         */
        slot = ngx_http_skip_metrics_slot(m->metrics);

        if (slot != NGX_ERROR) {
            ngx_skip_recent_remember(&lk->user_id, &t->id, (ngx_uint_t) slot,
                                     res->decision == NGX_HTTP_SKIP_SKIP);
        }

    } else {
        res->decision = fallback;
    }

    ngx_http_skip_count(m, lk, latency, res);
}


/* The metrics of one prediction (src/ngx_skip_prom.h). */
static void
ngx_http_skip_count(ngx_http_skip_model_t *m, ngx_skip_lookup_t *lk,
    ngx_uint_t latency, ngx_http_skip_result_t *res)
{
    ngx_uint_t  result;

    static ngx_uint_t  results[] = {
        NGX_HTTP_SKIP_METRICS_OK,              /* redis */
        NGX_HTTP_SKIP_METRICS_OK,              /* cache */
        NGX_HTTP_SKIP_METRICS_TIMEOUT,
        NGX_HTTP_SKIP_METRICS_ERROR,
        NGX_HTTP_SKIP_METRICS_DISCONNECTED,
        NGX_HTTP_SKIP_METRICS_MISSING,
        NGX_HTTP_SKIP_METRICS_MALFORMED,
        NGX_HTTP_SKIP_METRICS_BADID,
        NGX_HTTP_SKIP_METRICS_BREAKER
    };

    result = results[res->source];

    /*
     * Every prediction that wanted records is a lookup, answered by Redis
     * or by the record cache; only round trips have a latency.
     */
    if (result != NGX_HTTP_SKIP_METRICS_BADID) {
        ngx_http_skip_metrics_lookup(result,
                                     (!latency || lk->sent_usec < 0) ? -1
                                     : ngx_skip_lookup_usec()
                                       - lk->sent_usec);
    }

    if (!res->scored) {
        ngx_http_skip_metrics_fallback(result);
    }

    ngx_http_skip_metrics_decision(m->metrics,
                                   res->decision == NGX_HTTP_SKIP_PLAY
                                   ? NGX_HTTP_SKIP_METRICS_PLAY
                                   : NGX_HTTP_SKIP_METRICS_SKIP);
}


/* Resume a request that returned NGX_AGAIN (the njs way). */
static void
ngx_http_skip_wake(ngx_http_skip_ctx_t *ctx)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_core_run_phases(r);
        return;
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_skip_cleanup(void *data)
{
    ngx_http_skip_ctx_t *ctx = data;

    ngx_skip_lookup_cancel(&ctx->lk);
}


/*
 * The context of the main request.  An internal redirect (error_page,
 * try_files, named locations) zeroes r->ctx; the cleanup registered with
 * the context survives it, so look there (as realip does) rather than ask
 * Redis a second time.
 */
static ngx_http_skip_ctx_t *
ngx_http_skip_get_ctx(ngx_http_request_t *r)
{
    ngx_http_cleanup_t   *cln;
    ngx_http_skip_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_skip_module);

    if (ctx == NULL && (r->internal || r->filter_finalize)) {
        for (cln = r->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_skip_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_skip_module);
                break;
            }
        }
    }

    return ctx;
}


/* ---- variables ---------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char               *p;
    ngx_str_t            *s;
    ngx_http_skip_ctx_t  *ctx;

    ctx = ngx_http_skip_get_ctx(r);

    if (ctx == NULL || ctx->state != NGX_HTTP_SKIP_DONE) {
        if (data == NGX_HTTP_SKIP_VAR_SOURCE && ctx == NULL) {
            v->len = sizeof("off") - 1;
            v->data = (u_char *) "off";
            v->valid = 1;
            v->no_cacheable = 0;
            v->not_found = 0;
            return NGX_OK;
        }

        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    switch (data) {

    case NGX_HTTP_SKIP_VAR_DECISION:
        if (ctx->res.decision == NGX_HTTP_SKIP_PLAY) {
            v->len = sizeof("play") - 1;
            v->data = (u_char *) "play";

        } else {
            v->len = sizeof("skip") - 1;
            v->data = (u_char *) "skip";
        }

        return NGX_OK;

    case NGX_HTTP_SKIP_VAR_BYPASS:
        /* proxy_cache_bypass / proxy_no_cache: non-empty and not "0" */
        if (ctx->res.decision == NGX_HTTP_SKIP_SKIP) {
            v->len = 1;
            v->data = (u_char *) "1";

        } else {
            v->len = 0;
            v->data = (u_char *) "";
        }

        return NGX_OK;

    case NGX_HTTP_SKIP_VAR_SCORE:
    case NGX_HTTP_SKIP_VAR_EXACT:
        if (!ctx->res.scored) {
            v->not_found = 1;
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, 32);
        if (p == NULL) {
            return NGX_ERROR;
        }

        /* nginx's %f does not round; snprintf does, and knows %.17g */
        v->len = snprintf((char *) p, 32,
                          data == NGX_HTTP_SKIP_VAR_SCORE ? "%.4f" : "%.17g",
                          ctx->res.score);
        v->data = p;

        return NGX_OK;

    case NGX_HTTP_SKIP_VAR_MODEL:
        v->len = ctx->model->label.len;
        v->data = ctx->model->label.data;

        return NGX_OK;

    default: /* NGX_HTTP_SKIP_VAR_SOURCE */
        s = &ngx_skip_sources[ctx->res.source];
        v->len = s->len;
        v->data = s->data;

        return NGX_OK;
    }
}


static ngx_int_t
ngx_http_skip_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_skip_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return ngx_skip_prefetch_add_variables(cf);
}


/* ---- cache admission (src/nginx/ngx_skip_admit.h) ----------------------- */


/*
 * The admission decision of this (sub)request, made once: the object is
 * the main request's track and the slice skip_admit_range names; the
 * inputs are what its prediction looked up.  NULL without a finished
 * prediction: the caller then admits (fail open, counted).
 */
static ngx_http_skip_admit_memo_t *
ngx_http_skip_admit(ngx_http_request_t *r, ngx_http_skip_loc_conf_t *slcf)
{
    ngx_int_t                    n;
    ngx_str_t                    v;
    ngx_http_skip_ctx_t         *ctx;
    ngx_skip_admit_req_t         ar;
    ngx_http_skip_admit_memo_t  *memo;
    ngx_http_skip_main_conf_t   *smcf;

    ctx = ngx_http_skip_get_ctx(r);

    if (ctx == NULL || ctx->state != NGX_HTTP_SKIP_DONE) {
        ngx_http_skip_metrics_admit(NGX_HTTP_SKIP_METRICS_ADMIT_OPEN);
        return NULL;
    }

    memo = (r == r->main) ? &ctx->admit_main : &ctx->admit_sub;

    if (memo->request == r) {
        return memo;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_skip_module);

    ngx_memzero(&ar, sizeof(ngx_skip_admit_req_t));

    ar.track_id = ctx->track.id;
    ar.now = ngx_time();
    ar.hour = ctx->skctx.hour;
    ar.p_play = NAN;

    if (slcf->admit_range
        && ngx_http_complex_value(r, slcf->admit_range, &v) == NGX_OK)
    {
        ar.slice = ngx_skip_admit_slice(&smcf->admit, &v);
    }

    if (slcf->admit_time
        && ngx_http_complex_value(r, slcf->admit_time, &v) == NGX_OK
        && v.len)
    {
        /* a replayed request's own time; a bad value is the clock's */
        n = ngx_atoi(v.data, v.len);

        if (n != NGX_ERROR) {
            ar.now = (time_t) n;
        }
    }

    if (ctx->res.scored) {
        ar.user = &ctx->lk.user;
        ar.track = &ctx->track.rec;
        ar.p_play = ctx->res.score;
    }

    memo->admit = ngx_skip_admit_decide(&smcf->admit, &ar, &memo->score);
    memo->request = r;

    return memo;
}


static ngx_int_t
ngx_http_skip_admit_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                      *p;
    ngx_http_skip_loc_conf_t    *slcf;
    ngx_http_skip_admit_memo_t  *memo;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_module);

    memo = slcf->admit ? ngx_http_skip_admit(r, slcf) : NULL;

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (data == 1) {
        /* $skip_admit_score: P(worth caching), empty when it failed open */
        if (memo == NULL || memo->score != memo->score) {
            v->len = 0;
            v->data = (u_char *) "";
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, 32);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = snprintf((char *) p, 32, "%.17g", memo->score);
        v->data = p;

        return NGX_OK;
    }

    /*
     * $skip_admit: "1" admit, "" do not; $skip_no_admit the negation, for
     * proxy_no_cache (which stores nothing when a value is non-empty and
     * not "0").  Failing open admits.
     */
    if ((memo == NULL || memo->admit) == (data == 0)) {
        v->len = 1;
        v->data = (u_char *) "1";

    } else {
        v->len = 0;
        v->data = (u_char *) "";
    }

    return NGX_OK;
}


/* ---- configuration ------------------------------------------------------ */


static ngx_int_t
ngx_http_skip_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_skip_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_skip_header_filter;

    return NGX_OK;
}


static void *
ngx_http_skip_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->naive = NULL;
     *     smcf->redis_url = NULL;
     *     smcf->redis_password = { 0, NULL };
     *     smcf->redis_prefix = { 0, NULL };
     *     smcf->redis_conf = { 0 };
     *     smcf->redis = NULL;
     *     smcf->redis_cluster = 0;
     *     smcf->redis_seeds = NULL;
     *     smcf->redis_read_replicas = 0;
     *     smcf->cluster_conf = { 0 };
     *     smcf->cluster = NULL;
     *     smcf->cache = NULL;
     */

    if (ngx_array_init(&smcf->models, cf->pool, 4,
                       sizeof(ngx_http_skip_model_t))
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_skip_model_cleanup;
    cln->data = smcf;

    smcf->redis_db = NGX_CONF_UNSET;
    smcf->redis_connect_timeout = NGX_CONF_UNSET_MSEC;
    smcf->breaker = NGX_CONF_UNSET;
    smcf->cache_size = NGX_CONF_UNSET;
    smcf->cache_ttl = NGX_CONF_UNSET_MSEC;
    smcf->cache_track_ttl = NGX_CONF_UNSET_MSEC;
    smcf->prefetch_inflight = NGX_CONF_UNSET;

    return smcf;
}


static char *
ngx_http_skip_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    u_char                 *p;
    ngx_http_skip_model_t  *m;

    ngx_conf_init_value(smcf->redis_db, 0);
    ngx_conf_init_msec_value(smcf->redis_connect_timeout, 1000);

    if (smcf->breaker == NGX_CONF_UNSET) {
        /* on by default: a stalled Redis must not cost every deadline */
        smcf->breaker = 5;
        smcf->breaker_open = 1000;
        smcf->breaker_max = 10000;
        smcf->breaker_quiet = 250;
    }
    ngx_conf_init_value(smcf->cache_size, 4096);
    ngx_conf_init_msec_value(smcf->cache_ttl, 2000);
    ngx_conf_init_msec_value(smcf->cache_track_ttl, smcf->cache_ttl);
    ngx_conf_init_value(smcf->prefetch_inflight, 64);

    if (smcf->prefetch_inflight < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_prefetch_inflight must be at least 1");
        return NGX_CONF_ERROR;
    }

    if (ngx_skip_admit_check(cf, &smcf->admit) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (smcf->redis_db < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_redis_db must not be negative");
        return NGX_CONF_ERROR;
    }

    if (smcf->redis_prefix.data == NULL) {
        ngx_str_set(&smcf->redis_prefix, SK_DEFAULT_PREFIX);
    }

    if (!sk_prefix_valid((const char *) smcf->redis_prefix.data,
                         smcf->redis_prefix.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_redis_prefix \"%V\": 1..%d characters of "
                           "[A-Za-z0-9_.-]", &smcf->redis_prefix,
                           SK_PREFIX_MAX);
        return NGX_CONF_ERROR;
    }

    /* the key builders want a C string */
    p = ngx_pnalloc(cf->pool, smcf->redis_prefix.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, smcf->redis_prefix.data, smcf->redis_prefix.len);
    p[smcf->redis_prefix.len] = '\0';
    smcf->redis_prefix.data = p;

    /* the built-in model comes last: the first skip_model is the default */
    m = ngx_array_push(&smcf->models);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(m, sizeof(ngx_http_skip_model_t));
    sk_model_naive(&m->model);
    ngx_str_set(&m->name, "naive");
    m->metrics = 0;         /* ngx_skip_prom's built-in index */
    m->label.data = ngx_pnalloc(cf->pool, 128);
    if (m->label.data == NULL) {
        return NGX_CONF_ERROR;
    }

    m->label.len = ngx_sprintf(m->label.data, "%s@%s", m->model.name,
                               m->model.version)
                   - m->label.data;

    if (smcf->redis_url) {
        smcf->redis_conf.addr = smcf->redis_url->addrs[0];
        smcf->redis_conf.password = smcf->redis_password;
        smcf->redis_conf.db = smcf->redis_db;
        smcf->redis_conf.prefix = smcf->redis_prefix.data;
        smcf->redis_conf.connect_timeout = smcf->redis_connect_timeout;
        smcf->redis_conf.refresh = 1000;
        smcf->redis_conf.breaker_threshold = smcf->breaker;
        smcf->redis_conf.breaker_open = smcf->breaker_open;
        smcf->redis_conf.breaker_max = smcf->breaker_max;
        smcf->redis_conf.breaker_quiet = smcf->breaker_quiet;
    }

    if (smcf->redis_cluster) {
        if (smcf->redis_db != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_redis_db %i: a Redis Cluster has only "
                               "database 0", smcf->redis_db);
            return NGX_CONF_ERROR;
        }

        smcf->cluster_conf.seeds = smcf->redis_seeds;
        smcf->cluster_conf.read_replicas = smcf->redis_read_replicas;
        smcf->cluster_conf.node = smcf->redis_conf;
        smcf->cluster_conf.refresh = 1000;

        /* skip_events: a connection per primary for events and WAIT */
        smcf->cluster_conf.events = ngx_http_skip_events_used(cf);
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_skip_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_skip_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->predict = NGX_CONF_UNSET;
    conf->user = NGX_CONF_UNSET_PTR;
    conf->track = NGX_CONF_UNSET_PTR;
    conf->use_model = NGX_CONF_UNSET_PTR;
    conf->hour = NGX_CONF_UNSET_PTR;
    conf->position = NGX_CONF_UNSET_PTR;
    conf->session = NGX_CONF_UNSET_PTR;
    conf->session_counts = NGX_CONF_UNSET_PTR;
    conf->prefetch.uri = NGX_CONF_UNSET_PTR;
    conf->prefetch.slice = NGX_CONF_UNSET_SIZE;
    conf->prefetch.ahead = NGX_CONF_UNSET;
    conf->prefetch.threshold = NGX_CONF_UNSET;
    conf->prefetch.next = NGX_CONF_UNSET_UINT;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->threshold = NGX_CONF_UNSET;
    conf->fallback = NGX_CONF_UNSET_UINT;
    conf->admit = NGX_CONF_UNSET;
    conf->admit_range = NGX_CONF_UNSET_PTR;
    conf->admit_time = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_skip_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_skip_loc_conf_t *prev = parent;
    ngx_http_skip_loc_conf_t *conf = child;

    ngx_uint_t                  i;
    ngx_http_skip_model_t      *m;
    ngx_http_skip_main_conf_t  *smcf;

    ngx_conf_merge_value(conf->predict, prev->predict, 0);
    ngx_conf_merge_ptr_value(conf->user, prev->user, NULL);
    ngx_conf_merge_ptr_value(conf->track, prev->track, NULL);
    ngx_conf_merge_ptr_value(conf->use_model, prev->use_model, NULL);
    ngx_conf_merge_ptr_value(conf->hour, prev->hour, NULL);
    ngx_conf_merge_ptr_value(conf->position, prev->position, NULL);
    ngx_conf_merge_ptr_value(conf->session, prev->session, NULL);
    ngx_conf_merge_ptr_value(conf->session_counts, prev->session_counts,
                             NULL);
    ngx_conf_merge_ptr_value(conf->prefetch.uri, prev->prefetch.uri, NULL);
    ngx_conf_merge_size_value(conf->prefetch.slice, prev->prefetch.slice, 0);
    ngx_conf_merge_value(conf->prefetch.ahead, prev->prefetch.ahead,
                         NGX_SKIP_PREFETCH_ALL);
    ngx_conf_merge_value(conf->prefetch.threshold, prev->prefetch.threshold,
                         -1);
    ngx_conf_merge_uint_value(conf->prefetch.next, prev->prefetch.next, 1);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 20);
    ngx_conf_merge_value(conf->threshold, prev->threshold, -1);
    ngx_conf_merge_uint_value(conf->fallback, prev->fallback,
                              NGX_HTTP_SKIP_PLAY);
    ngx_conf_merge_value(conf->admit, prev->admit, 0);
    ngx_conf_merge_ptr_value(conf->admit_range, prev->admit_range, NULL);
    ngx_conf_merge_ptr_value(conf->admit_time, prev->admit_time, NULL);

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_skip_module);

    if (conf->admit && !smcf->admit.loaded) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"skip_admit\" is on, but there is no "
                           "\"skip_admit_model\" and \"skip_admit_zone\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    /*
     * A constant skip_use_model (no variables) is known now: one naming
     * no model would fall back to the default on every request, quietly.
     */
    if (conf->use_model && conf->use_model->lengths == NULL) {
        m = smcf->models.elts;

        for (i = 0; i < smcf->models.nelts; i++) {
            if (m[i].name.len == conf->use_model->value.len
                && ngx_strncmp(m[i].name.data, conf->use_model->value.data,
                               m[i].name.len)
                   == 0)
            {
                break;
            }
        }

        if (i == smcf->models.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"skip_use_model\" "
                               "directive, no \"skip_model\" is named so "
                               "(nor is the built-in \"naive\")",
                               &conf->use_model->value);
            return NGX_CONF_ERROR;
        }
    }

    if (conf->predict) {

        if (smcf->redis_url == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"skip_predict\" is on, but there is no "
                               "\"skip_redis\" in the http block");
            return NGX_CONF_ERROR;
        }

        if (conf->user == NULL || conf->track == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"skip_predict\" is on, but \"skip_user\" or "
                               "\"skip_track\" is not set");
            return NGX_CONF_ERROR;
        }
    }

    if (conf->prefetch.uri && conf->prefetch.next > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_prefetch_next %ui: at most 64 slices",
                           conf->prefetch.next);
        return NGX_CONF_ERROR;
    }

    if (conf->predict && conf->prefetch.uri) {
        /* the ledger that keeps workers from fetching a slice twice */
        smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_skip_module);

        if (!smcf->prefetch_zone) {
            if (ngx_skip_ledger_add_zone(cf, &ngx_http_skip_module,
                                         NGX_SKIP_LEDGER_DEFAULT_SIZE,
                                         NGX_SKIP_LEDGER_DEFAULT_WINDOW)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            smcf->prefetch_zone = 1;
        }
    }

    return NGX_CONF_OK;
}


/* ---- worker life --------------------------------------------------------- */


/*
 * For the skip_events handler (src/ngx_skip_events.c, declared there):
 * the calling worker's Redis connection, NULL without skip_redis or before
 * init_process, and the key prefix (NUL-terminated).
 */
ngx_skip_redis_t *ngx_http_skip_worker_redis(ngx_http_request_t *r,
    ngx_str_t *prefix);


ngx_skip_redis_t *
ngx_http_skip_worker_redis(ngx_http_request_t *r, ngx_str_t *prefix)
{
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_skip_module);

    if (prefix) {
        *prefix = smcf->redis_prefix;
    }

    return smcf->redis;
}


ngx_skip_cluster_t *
ngx_http_skip_worker_cluster(ngx_http_request_t *r,
    ngx_msec_t *connect_timeout)
{
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_skip_module);

    *connect_timeout = smcf->redis_connect_timeout;

    return smcf->cluster;
}


/* Whether a skip_model reads the listener's taste (then cache tastes). */
static ngx_uint_t
ngx_http_skip_models_read_taste(ngx_http_skip_main_conf_t *smcf)
{
    ngx_uint_t              i;
    ngx_http_skip_model_t  *m;

    m = smcf->models.elts;

    for (i = 0; i < smcf->models.nelts; i++) {
        if (m[i].inputs & SK_INPUT_TASTE) {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_skip_init_process(ngx_cycle_t *cycle)
{
    ngx_http_skip_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_skip_module);

    if (smcf == NULL || smcf->redis_url == NULL) {
        return NGX_OK;
    }

    if (smcf->cache_size > 0) {
        smcf->cache = ngx_skip_cache_create(smcf->cache_size, smcf->cache_ttl,
                                            smcf->cache_track_ttl, cycle->log);
        /* no cache is slower, not wrong */

        if (smcf->cache && ngx_http_skip_models_read_taste(smcf)) {
            (void) ngx_skip_cache_enable_taste(smcf->cache, cycle->log);
        }
    }

    /* NULL (no memory) means every lookup falls back: still not fatal */
    if (smcf->redis_cluster) {
        smcf->cluster = ngx_skip_cluster_create(cycle, &smcf->cluster_conf);

    } else {
        smcf->redis = ngx_skip_redis_create(cycle, &smcf->redis_conf);
    }

    ngx_skip_prefetch_init_process(smcf->prefetch_inflight);
    ngx_skip_ledger_init_process(cycle, &ngx_http_skip_module);

    if (smcf->prefetch_zone && ngx_worker == 0) {
        /* one worker counts the waste of expired prefetches */
        smcf->prefetch_sweep.handler = ngx_http_skip_prefetch_sweep;
        smcf->prefetch_sweep.data = smcf;
        smcf->prefetch_sweep.log = cycle->log;
        smcf->prefetch_sweep.cancelable = 1;

        ngx_add_timer(&smcf->prefetch_sweep, 1000);
    }

    return NGX_OK;
}


static void
ngx_http_skip_prefetch_sweep(ngx_event_t *ev)
{
    ngx_skip_ledger_sweep();

    if (!ngx_exiting) {
        ngx_add_timer(ev, 1000 / NGX_SKIP_LEDGER_SWEEP_PARTS * 4);
    }
}


static void
ngx_http_skip_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_skip_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_skip_module);

    if (smcf == NULL) {
        return;
    }

    if (smcf->redis) {
        ngx_skip_redis_destroy(smcf->redis);
        smcf->redis = NULL;
    }

    if (smcf->cluster) {
        ngx_skip_cluster_destroy(smcf->cluster);
        smcf->cluster = NULL;
    }

    if (smcf->cache) {
        ngx_skip_cache_destroy(smcf->cache);
        smcf->cache = NULL;
    }
}
