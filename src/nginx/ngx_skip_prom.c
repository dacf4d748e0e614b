/*
 * The Prometheus counters of the module; the module and its handlers call
 * this API.
 *
 * Counters live in one shared memory zone as a fixed block of ngx_atomic_t,
 * no mutex: each worker adds into its own shard (ngx_worker modulo the
 * shard count, each shard cache-line aligned) so workers never write the
 * same cache line; the metrics handler sums the shards.  Adds stay atomic
 * because during a reload an exiting worker and its replacement share a
 * shard.
 *
 * Per-model counters sit in name-keyed slots: the master binds every model
 * of a new configuration to the slot that already carries its name, so
 * counters follow the model, not its position among the skip_model lines.
 */

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


typedef struct {
    ngx_str_t                       name;
    ngx_uint_t                      lookup;   /* lookup result: always shown */
} ngx_http_skip_metrics_result_t;


static ngx_http_skip_metrics_ctx_t *ngx_http_skip_metrics_conf_ctx(
    ngx_conf_t *cf);
static void ngx_http_skip_metrics_cleanup_conf(void *data);
static ngx_http_skip_metrics_ctx_t *ngx_http_skip_metrics_current(void);
static void ngx_http_skip_metrics_cleanup_run(void *data);
static ngx_http_skip_metrics_shard_t *ngx_http_skip_metrics_shard(void);
static char *ngx_http_skip_metrics_add_zone(ngx_conf_t *cf,
    ngx_http_skip_metrics_ctx_t *ctx, ngx_str_t *name, size_t size);
static ngx_int_t ngx_http_skip_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_skip_metrics_bind(ngx_http_skip_metrics_ctx_t *ctx);
static ngx_int_t ngx_http_skip_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_skip_metrics_not_allowed(ngx_http_request_t *r);
static size_t ngx_http_skip_metrics_size(ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_render(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_render_prefetch(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_escape(u_char *p, u_char *end,
    ngx_str_t *s);
static ngx_atomic_uint_t ngx_http_skip_metrics_sum(
    ngx_http_skip_metrics_shm_t *sh, size_t offset);


/* the zone tag: private, so no other zone's data is ever handed to our
 * init on reload (nginx matches old zones by name, tag and size) */
static ngx_uint_t  ngx_http_skip_metrics_tag;

/* the context of the configuration being read (master, config time) */
static ngx_http_skip_metrics_ctx_t  *ngx_http_skip_metrics_cur_conf;

/* the context of ngx_cycle, looked up once per process and cycle */
static ngx_cycle_t                  *ngx_http_skip_metrics_run_cycle;
static ngx_http_skip_metrics_ctx_t  *ngx_http_skip_metrics_run;


static ngx_str_t  ngx_http_skip_metrics_naive = ngx_string("naive");
static ngx_str_t  ngx_http_skip_metrics_builtin = ngx_string("builtin");

static ngx_str_t  ngx_http_skip_metrics_decisions[] = {
    ngx_string("play"),
    ngx_string("skip")
};

/* in the order of ngx_http_skip_metrics_result_e */
static ngx_http_skip_metrics_result_t  ngx_http_skip_metrics_results[] = {
    { ngx_string("ok"), 1 },
    { ngx_string("missing"), 1 },
    { ngx_string("malformed"), 1 },
    { ngx_string("timeout"), 1 },
    { ngx_string("error"), 1 },
    { ngx_string("disconnected"), 1 },
    { ngx_string("badid"), 0 },
    { ngx_string("off"), 0 },
    { ngx_string("nomodel"), 0 },
    { ngx_string("breaker"), 1 }
};

static ngx_str_t  ngx_http_skip_metrics_events[] = {
    ngx_string("accepted"),
    ngx_string("rejected"),
    ngx_string("unavailable"),
    ngx_string("future")
};

static ngx_str_t  ngx_http_skip_metrics_cache_results[] = {
    ngx_string("hit"),
    ngx_string("miss"),
    ngx_string("expired")
};

static ngx_str_t  ngx_http_skip_metrics_pf_kinds[] = {
    ngx_string("track"),
    ngx_string("next")
};

static ngx_str_t  ngx_http_skip_metrics_pf_results[] = {
    ngx_string("started"),
    ngx_string("fetched"),
    ngx_string("cached"),
    ngx_string("deduplicated"),
    ngx_string("refused"),
    ngx_string("full"),
    ngx_string("failed")
};

static ngx_str_t  ngx_http_skip_metrics_cmcd_results[] = {
    ngx_string("ok"),
    ngx_string("invalid"),
    ngx_string("unusable")
};

/* upper bounds in microseconds, and as the `le` label */
static ngx_uint_t  ngx_http_skip_metrics_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000
};

static char  *ngx_http_skip_metrics_le[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "+Inf"
};


/* --- configuration ------------------------------------------------------ */


char *
ngx_http_skip_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    size_t                        min;
    ssize_t                       size;
    ngx_str_t                    *value, *name;
    ngx_uint_t                    i;
    ngx_list_part_t              *part;
    ngx_shm_zone_t               *zone;
    ngx_http_skip_metrics_ctx_t  *ctx;

    value = cf->args->elts;
    name = &value[1];

    ctx = ngx_http_skip_metrics_conf_ctx(cf);
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ctx->shm_zone && !ctx->implicit) {
        return "is duplicate";
    }

    if (name->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "empty zone name");
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    /* the counters plus room for the slab allocator's own pages */
    min = sizeof(ngx_http_skip_metrics_shm_t) + 8 * ngx_pagesize;

    if ((size_t) size < min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small, at least %uzk needed",
                           name, (min + 1023) / 1024);
        return NGX_CONF_ERROR;
    }

    if (!ctx->implicit) {
        return ngx_http_skip_metrics_add_zone(cf, ctx, name, size);
    }

    /*
     * A skip_metrics before this line has declared the default zone.
     * nginx cannot take a declared zone back; it is ours, and nothing is
     * allocated before the configuration is read, so give it the name
     * and size asked for here, after the check ngx_shared_memory_add()
     * would have made.
     */

    part = &cf->cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (&zone[i] != ctx->shm_zone
            && zone[i].shm.name.len == name->len
            && ngx_strncmp(zone[i].shm.name.data, name->data, name->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the shared memory zone \"%V\" is "
                               "already declared for a different use",
                               name);
            return NGX_CONF_ERROR;
        }
    }

    ctx->shm_zone->shm.name = *name;
    ctx->shm_zone->shm.size = size;
    ctx->implicit = 0;

    return NGX_CONF_OK;
}


char *
ngx_http_skip_metrics_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                         *rv;
    ngx_str_t                     name = ngx_string("skip");
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_conf_ctx(cf);
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ctx->shm_zone == NULL) {
        rv = ngx_http_skip_metrics_add_zone(cf, ctx, &name,
                                          NGX_HTTP_SKIP_METRICS_DEFAULT_SIZE);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        ctx->implicit = 1;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_skip_metrics_handler;

    return NGX_CONF_OK;
}


ngx_shm_zone_t *
ngx_http_skip_metrics_zone(ngx_conf_t *cf)
{
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_cur_conf;

    if (ctx == NULL || ctx->cycle != cf->cycle) {
        return NULL;
    }

    return ctx->shm_zone;
}


ngx_int_t
ngx_http_skip_metrics_model(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *version)
{
    ngx_uint_t                      i;
    ngx_str_t                       v;
    ngx_http_skip_metrics_ctx_t    *ctx;
    ngx_http_skip_metrics_model_t  *m;

    ctx = ngx_http_skip_metrics_conf_ctx(cf);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (name->len == 0 || name->len > NGX_HTTP_SKIP_METRICS_NAME_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "model name \"%V\" is empty or longer than %d "
                           "characters", name, NGX_HTTP_SKIP_METRICS_NAME_LEN);
        return NGX_ERROR;
    }

    v.len = 0;
    v.data = NULL;

    if (version && version->len) {
        v.len = version->len;
        v.data = ngx_pstrdup(cf->pool, version);
        if (v.data == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        if (m->name.len == name->len
            && ngx_strncmp(m->name.data, name->data, name->len) == 0)
        {
            if (version) {
                m->version = v;
            }

            return i;
        }
    }

    if (ctx->nmodels == NGX_HTTP_SKIP_METRICS_MAX_MODELS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many models for metrics: at most %d, "
                           "\"naive\" included",
                           NGX_HTTP_SKIP_METRICS_MAX_MODELS);
        return NGX_ERROR;
    }

    m = &ctx->models[ctx->nmodels];

    m->name.len = name->len;
    m->name.data = ngx_pstrdup(cf->pool, name);
    if (m->name.data == NULL) {
        return NGX_ERROR;
    }

    m->version = v;

    return ctx->nmodels++;
}


/*
 * The context of the configuration being read, created on first use with
 * the built-in "naive" model.  The static pointer is reset by a cleanup
 * of the cycle pool, so a configuration that failed to load and was freed
 * is never used again.
 */

static ngx_http_skip_metrics_ctx_t *
ngx_http_skip_metrics_conf_ctx(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t           *cln;
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_cur_conf;

    if (ctx && ctx->cycle == cf->cycle) {
        return ctx;
    }

    ctx = ngx_pcalloc(cf->cycle->pool, sizeof(ngx_http_skip_metrics_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->cycle->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_skip_metrics_cleanup_conf;
    cln->data = ctx;

    /*
     * set by ngx_pcalloc():
     *
     *     ctx->shm_zone = NULL;
     *     ctx->sh = NULL;
     *     ctx->implicit = 0;
     */

    ctx->cycle = cf->cycle;
    ctx->models[0].name = ngx_http_skip_metrics_naive;
    ctx->models[0].version = ngx_http_skip_metrics_builtin;
    ctx->nmodels = 1;

    ngx_http_skip_metrics_cur_conf = ctx;

    return ctx;
}


static void
ngx_http_skip_metrics_cleanup_conf(void *data)
{
    if (ngx_http_skip_metrics_cur_conf == data) {
        ngx_http_skip_metrics_cur_conf = NULL;
    }
}


static char *
ngx_http_skip_metrics_add_zone(ngx_conf_t *cf,
    ngx_http_skip_metrics_ctx_t *ctx, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size,
                                     &ngx_http_skip_metrics_tag);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_skip_metrics_init_zone;
    shm_zone->data = ctx;

    ctx->shm_zone = shm_zone;

    return NGX_CONF_OK;
}


/* --- the zone ----------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_skip_metrics_ctx_t  *octx = data;

    ngx_slab_pool_t              *shpool;
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* reload, same name and size: the memory and its counters stay */
        ctx->sh = octx->sh;
        ngx_http_skip_metrics_bind(ctx);
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = shpool->data;
        ngx_http_skip_metrics_bind(ctx);
        return NGX_OK;
    }

    ctx->sh = ngx_slab_alloc(shpool, sizeof(ngx_http_skip_metrics_shm_t));
    if (ctx->sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "skip_zone \"%V\" is too small for the metrics",
                      &shm_zone->shm.name);
        return NGX_ERROR;
    }

    ngx_memzero(ctx->sh, sizeof(ngx_http_skip_metrics_shm_t));

    shpool->data = ctx->sh;

    ngx_http_skip_metrics_bind(ctx);

    return NGX_OK;
}


/*
 * Give every model of the configuration its slot: the one that carries its
 * name, else a free one, else one that no model of this configuration uses
 * (its counters are reset; workers of the previous configuration may add a
 * few more counts there while they exit).  Runs in the master only, before
 * workers of this configuration exist, so the slot names need no lock.
 */

static void
ngx_http_skip_metrics_bind(ngx_http_skip_metrics_ctx_t *ctx)
{
    ngx_uint_t                      i, s, w, d, a;
    ngx_uint_t                      taken[NGX_HTTP_SKIP_METRICS_SLOTS];
    ngx_http_skip_metrics_arm_t    *arm;
    ngx_http_skip_metrics_slot_t   *slot;
    ngx_http_skip_metrics_model_t  *m;

    slot = ctx->sh->slots;

    ngx_memzero(taken, sizeof(taken));

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];
        m->slot = NGX_HTTP_SKIP_METRICS_SLOTS;

        for (s = 0; s < NGX_HTTP_SKIP_METRICS_SLOTS; s++) {
            if (slot[s].len == m->name.len
                && ngx_memcmp(slot[s].data, m->name.data, m->name.len) == 0)
            {
                m->slot = s;
                taken[s] = 1;
                break;
            }
        }
    }

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        if (m->slot != NGX_HTTP_SKIP_METRICS_SLOTS) {
            continue;
        }

        for (s = 0; s < NGX_HTTP_SKIP_METRICS_SLOTS; s++) {
            if (slot[s].len == 0) {
                break;
            }
        }

        if (s == NGX_HTTP_SKIP_METRICS_SLOTS) {

            /* at most MAX_MODELS are taken of twice as many slots */

            for (s = 0; taken[s]; s++) { /* void */ }

            for (w = 0; w < NGX_HTTP_SKIP_METRICS_SHARDS; w++) {
                arm = &ctx->sh->shards[w].s.arms[s];

                for (d = 0; d < 2; d++) {
                    arm->decisions[d] = 0;

                    for (a = 0; a < 2; a++) {
                        arm->outcomes[d][a] = 0;
                    }
                }
            }
        }

        ngx_memcpy(slot[s].data, m->name.data, m->name.len);
        slot[s].len = m->name.len;

        m->slot = s;
        taken[s] = 1;
    }
}


/*
 * The context of the running configuration.  A worker never changes
 * cycles, so the lookup runs once per process; a cleanup of the cycle pool
 * forgets it where cycles do change (single process mode).
 */

static ngx_http_skip_metrics_ctx_t *
ngx_http_skip_metrics_current(void)
{
    ngx_uint_t                    i;
    ngx_cycle_t                  *cycle;
    ngx_list_part_t              *part;
    ngx_shm_zone_t               *zone;
    ngx_pool_cleanup_t           *cln;
    ngx_http_skip_metrics_ctx_t  *ctx;

    cycle = (ngx_cycle_t *) ngx_cycle;

    if (ngx_http_skip_metrics_run_cycle == cycle) {
        return ngx_http_skip_metrics_run;
    }

    ctx = NULL;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == &ngx_http_skip_metrics_tag) {
            ctx = zone[i].data;
            break;
        }
    }

    if (ctx && ctx->sh == NULL) {
        ctx = NULL;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return ctx;
    }

    cln->handler = ngx_http_skip_metrics_cleanup_run;
    cln->data = cycle;

    ngx_http_skip_metrics_run_cycle = cycle;
    ngx_http_skip_metrics_run = ctx;

    return ctx;
}


static void
ngx_http_skip_metrics_cleanup_run(void *data)
{
    if (ngx_http_skip_metrics_run_cycle == data) {
        ngx_http_skip_metrics_run_cycle = NULL;
        ngx_http_skip_metrics_run = NULL;
    }
}


static ngx_http_skip_metrics_shard_t *
ngx_http_skip_metrics_shard(void)
{
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_current();
    if (ctx == NULL) {
        return NULL;
    }

    return &ctx->sh->shards[ngx_worker % NGX_HTTP_SKIP_METRICS_SHARDS].s;
}


/* --- counting ----------------------------------------------------------- */


ngx_int_t
ngx_http_skip_metrics_model_index(ngx_str_t *name)
{
    ngx_uint_t                    i;
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_current();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->nmodels; i++) {
        if (ctx->models[i].name.len == name->len
            && ngx_strncmp(ctx->models[i].name.data, name->data, name->len)
               == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


/*
 * Add n to element i of one of this worker's counter arrays (the array at
 * offset in a shard, nelts long); out-of-range i and "no zone" are no-ops.
 */
static void
ngx_http_skip_metrics_add(size_t offset, ngx_uint_t i, ngx_uint_t nelts,
    ngx_atomic_int_t n)
{
    ngx_atomic_t                   *a;
    ngx_http_skip_metrics_shard_t  *sd;

    if (i >= nelts) {
        return;
    }

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    a = (ngx_atomic_t *) ((u_char *) sd + offset);

    (void) ngx_atomic_fetch_add(&a[i], n);
}


void
ngx_http_skip_metrics_decision(ngx_uint_t model, ngx_uint_t decision)
{
    ngx_http_skip_metrics_ctx_t    *ctx;
    ngx_http_skip_metrics_shard_t  *sd;

    ctx = ngx_http_skip_metrics_current();

    if (ctx == NULL || model >= ctx->nmodels || decision > 1) {
        return;
    }

    sd = &ctx->sh->shards[ngx_worker % NGX_HTTP_SKIP_METRICS_SHARDS].s;

    (void) ngx_atomic_fetch_add(
                      &sd->arms[ctx->models[model].slot].decisions[decision],
                      1);
}


ngx_int_t
ngx_http_skip_metrics_slot(ngx_uint_t model)
{
    ngx_http_skip_metrics_ctx_t  *ctx;

    ctx = ngx_http_skip_metrics_current();

    if (ctx == NULL || model >= ctx->nmodels
        || ctx->models[model].slot >= NGX_HTTP_SKIP_METRICS_SLOTS)
    {
        return NGX_ERROR;
    }

    return ctx->models[model].slot;
}


void
ngx_http_skip_metrics_outcome(ngx_uint_t slot, ngx_uint_t predicted,
    ngx_uint_t actual)
{
    ngx_http_skip_metrics_arm_t    *arm;
    ngx_http_skip_metrics_ctx_t    *ctx;
    ngx_http_skip_metrics_shard_t  *sd;

    ctx = ngx_http_skip_metrics_current();

    if (ctx == NULL || slot >= NGX_HTTP_SKIP_METRICS_SLOTS || predicted > 1
        || actual > 1)
    {
        return;
    }

    sd = &ctx->sh->shards[ngx_worker % NGX_HTTP_SKIP_METRICS_SHARDS].s;
    arm = &sd->arms[slot];

    (void) ngx_atomic_fetch_add(&arm->outcomes[predicted][actual], 1);
}


void
ngx_http_skip_metrics_prefetch(ngx_uint_t slot, ngx_uint_t kind,
    ngx_uint_t result)
{
    ngx_http_skip_metrics_shard_t  *sd;

    if (slot >= NGX_HTTP_SKIP_METRICS_SLOTS
        || kind >= NGX_HTTP_SKIP_METRICS_PF_NKINDS
        || result >= NGX_HTTP_SKIP_METRICS_PF_NRESULTS)
    {
        return;
    }

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sd->arms[slot].prefetches[kind][result], 1);
}


void
ngx_http_skip_metrics_prefetch_bytes(ngx_uint_t slot, ngx_uint_t which,
    size_t bytes)
{
    ngx_http_skip_metrics_shard_t  *sd;

    if (slot >= NGX_HTTP_SKIP_METRICS_SLOTS
        || which >= NGX_HTTP_SKIP_METRICS_PF_NBYTES)
    {
        return;
    }

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sd->arms[slot].pf_bytes[which],
                                (ngx_atomic_int_t) bytes);
}


void
ngx_http_skip_metrics_cmcd(ngx_uint_t result)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t, cmcd),
                              result, NGX_HTTP_SKIP_METRICS_NCMCD, 1);
}


void
ngx_http_skip_metrics_lookup(ngx_uint_t result, ngx_int_t latency_usec)
{
    ngx_uint_t                      b;
    ngx_http_skip_metrics_shard_t  *sd;

    if (result >= NGX_HTTP_SKIP_METRICS_NRESULTS) {
        return;
    }

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sd->lookups[result], 1);

    if (latency_usec < 0) {
        return;
    }

    /* `le`: a bucket counts observations up to and including its bound */

    for (b = 0; b < NGX_HTTP_SKIP_METRICS_BOUNDS; b++) {
        if ((ngx_uint_t) latency_usec <= ngx_http_skip_metrics_bounds[b]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&sd->buckets[b], 1);
    (void) ngx_atomic_fetch_add(&sd->latency_usec, latency_usec);
}


void
ngx_http_skip_metrics_event(ngx_uint_t result, ngx_uint_t n)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t, events),
                              result, NGX_HTTP_SKIP_METRICS_NEVENTS, n);
}


void
ngx_http_skip_metrics_track_cache(ngx_uint_t result)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t, cache),
                              result, NGX_HTTP_SKIP_METRICS_NCACHE, 1);
}


void
ngx_http_skip_metrics_fallback(ngx_uint_t reason)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t,
                                       fallbacks),
                              reason, NGX_HTTP_SKIP_METRICS_NRESULTS, 1);
}


void
ngx_http_skip_metrics_redis_connected(ngx_uint_t up)
{
    ngx_atomic_uint_t               mine;
    ngx_http_skip_metrics_shard_t  *sd;

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    mine = (ngx_atomic_uint_t) ngx_pid << 1;

    if (up) {
        sd->connected = mine | 1;
        return;
    }

    /* clear only our own "up": the slot may belong to a newer worker now */
    (void) ngx_atomic_cmp_set(&sd->connected, mine | 1, mine);
}


void
ngx_http_skip_metrics_breaker_trip(void)
{
    ngx_http_skip_metrics_shard_t  *sd;

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sd->breaker_trips, 1);
}


void
ngx_http_skip_metrics_redis_durable(ngx_uint_t state)
{
    ngx_http_skip_metrics_shard_t  *sd;

    sd = ngx_http_skip_metrics_shard();
    if (sd == NULL) {
        return;
    }

    sd->durable = ((ngx_atomic_uint_t) ngx_pid << 2) | (state & 3);
}


/* --- the Prometheus handler --------------------------------------------- */


static ngx_int_t
ngx_http_skip_metrics_handler(ngx_http_request_t *r)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_chain_t                     out;
    ngx_http_skip_metrics_ctx_t    *ctx;
    ngx_http_skip_metrics_shard_t  *sd;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_skip_metrics_not_allowed(r);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_skip_metrics_current();
    if (ctx == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "skip_metrics: no metrics zone");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sd = &ctx->sh->shards[ngx_worker % NGX_HTTP_SKIP_METRICS_SHARDS].s;
    (void) ngx_atomic_fetch_add(&sd->scrapes, 1);

    len = ngx_http_skip_metrics_size(ctx);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_skip_metrics_render(b->pos, b->end, ctx);

    if (b->last == b->end) {
        /* the size estimate leaves room; a full buffer means truncation */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "skip_metrics: output truncated at %uz bytes", len);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* 405 with the Allow header an error page would drop */

static ngx_int_t
ngx_http_skip_metrics_not_allowed(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    ngx_str_set(&h->value, "GET, HEAD");

    r->headers_out.status = NGX_HTTP_NOT_ALLOWED;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* an upper bound of the rendered size: 128 bytes a line plus labels */

static size_t
ngx_http_skip_metrics_size(ngx_http_skip_metrics_ctx_t *ctx)
{
    size_t      len;
    ngx_uint_t  i;

    len = 128 * (2 * 11                                /* HELP, TYPE */
                 + 2 * NGX_HTTP_SKIP_METRICS_NRESULTS
                 + NGX_HTTP_SKIP_METRICS_BUCKETS + 2
                 + NGX_HTTP_SKIP_METRICS_NEVENTS
                 + NGX_HTTP_SKIP_METRICS_NCACHE + 4
                 + NGX_HTTP_SKIP_METRICS_NCMCD + 4 * 2)
          + 1;

    for (i = 0; i < ctx->nmodels; i++) {
        /*
         * 2 decisions, 4 outcomes, 1 info line, the prefetch results and
         * 3 byte counters; escaping doubles a name at most
         */
        len += (7 + NGX_HTTP_SKIP_METRICS_PF_NKINDS
                    * NGX_HTTP_SKIP_METRICS_PF_NRESULTS
                + NGX_HTTP_SKIP_METRICS_PF_NBYTES)
               * (128 + 2 * ctx->models[i].name.len)
               + 2 * ctx->models[i].version.len;
    }

    return len;
}


#define ngx_http_skip_metrics_field(field)                                    \
    offsetof(ngx_http_skip_metrics_shard_t, field)


static u_char *
ngx_http_skip_metrics_render(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx)
{
    ngx_uint_t                      i, d, a;
    ngx_atomic_uint_t               v, c, cum;
    ngx_http_skip_metrics_shm_t    *sh;
    ngx_http_skip_metrics_model_t  *m;

    sh = ctx->sh;

    p = ngx_slprintf(p, end,
                 "# HELP skip_decisions_total Decisions made, by A/B arm "
                 "(model name) and decision.\n"
                 "# TYPE skip_decisions_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (d = 0; d < 2; d++) {
            v = ngx_http_skip_metrics_sum(sh,
                    ngx_http_skip_metrics_field(arms[m->slot].decisions[d]));

            p = ngx_slprintf(p, end, "skip_decisions_total{arm=\"");
            p = ngx_http_skip_metrics_escape(p, end, &m->name);
            p = ngx_slprintf(p, end, "\",decision=\"%V\"} %uA\n",
                             &ngx_http_skip_metrics_decisions[d], v);
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_outcomes_total Predictions joined with the "
                 "listener's Play/Skip, by arm, prediction and outcome.\n"
                 "# TYPE skip_outcomes_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (d = 0; d < 2; d++) {
            for (a = 0; a < 2; a++) {
                v = ngx_http_skip_metrics_sum(sh,
                        ngx_http_skip_metrics_field(
                            arms[m->slot].outcomes[d][a]));

                p = ngx_slprintf(p, end, "skip_outcomes_total{arm=\"");
                p = ngx_http_skip_metrics_escape(p, end, &m->name);
                p = ngx_slprintf(p, end,
                                 "\",predicted=\"%V\",actual=\"%V\"} %uA\n",
                                 &ngx_http_skip_metrics_decisions[d],
                                 &ngx_http_skip_metrics_decisions[a], v);
            }
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_lookups_total Redis feature lookups, "
                 "by result.\n"
                 "# TYPE skip_redis_lookups_total counter\n");

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_NRESULTS; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(lookups[i]));

        /* results that are no lookup result only if counted anyway */
        if (v || ngx_http_skip_metrics_results[i].lookup) {
            p = ngx_slprintf(p, end,
                             "skip_redis_lookups_total{result=\"%V\"} %uA\n",
                             &ngx_http_skip_metrics_results[i].name, v);
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_lookup_seconds Redis feature lookup "
                 "latency.\n"
                 "# TYPE skip_redis_lookup_seconds histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_BUCKETS; i++) {
        cum += ngx_http_skip_metrics_sum(sh,
                                   ngx_http_skip_metrics_field(buckets[i]));

        p = ngx_slprintf(p, end,
                         "skip_redis_lookup_seconds_bucket{le=\"%s\"} %uA\n",
                         ngx_http_skip_metrics_le[i], cum);
    }

    v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(latency_usec));

    /* _count is the +Inf bucket by construction, as the format requires */
    p = ngx_slprintf(p, end,
                     "skip_redis_lookup_seconds_sum %uA.%06uA\n"
                     "skip_redis_lookup_seconds_count %uA\n",
                     v / 1000000, v % 1000000, cum);

    p = ngx_slprintf(p, end,
                 "# HELP skip_fallbacks_total Decisions taken by "
                 "skip_fallback instead of a model, by reason.\n"
                 "# TYPE skip_fallbacks_total counter\n");

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_NRESULTS; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(fallbacks[i]));

        /* "ok" is no reason to fall back: shown only if counted anyway */
        if (v || i != NGX_HTTP_SKIP_METRICS_OK) {
            p = ngx_slprintf(p, end,
                             "skip_fallbacks_total{reason=\"%V\"} %uA\n",
                             &ngx_http_skip_metrics_results[i].name, v);
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_events_total Play/skip events received, "
                 "by result.\n"
                 "# TYPE skip_events_total counter\n");

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_NEVENTS; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(events[i]));

        p = ngx_slprintf(p, end, "skip_events_total{result=\"%V\"} %uA\n",
                         &ngx_http_skip_metrics_events[i], v);
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_track_cache_total Track record cache lookups "
                 "in the workers, by result.\n"
                 "# TYPE skip_track_cache_total counter\n");

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_NCACHE; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(cache[i]));

        p = ngx_slprintf(p, end,
                         "skip_track_cache_total{result=\"%V\"} %uA\n",
                         &ngx_http_skip_metrics_cache_results[i], v);
    }

    p = ngx_http_skip_metrics_render_prefetch(p, end, ctx);

    v = 0;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_SHARDS; i++) {
        c = sh->shards[i].s.connected;

        /* a worker that died without saying so (crash) does not count */
        if ((c & 1)
            && (kill((ngx_pid_t) (c >> 1), 0) == 0 || ngx_errno == NGX_EPERM))
        {
            v++;
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_connected Worker processes (slots) whose "
                 "Redis connection is up.\n"
                 "# TYPE skip_redis_connected gauge\n"
                 "skip_redis_connected %uA\n", v);

    v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(breaker_trips));

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_breaker_trips_total Times a worker's "
                 "Redis circuit breaker opened (skip_redis_breaker).\n"
                 "# TYPE skip_redis_breaker_trips_total counter\n"
                 "skip_redis_breaker_trips_total %uA\n", v);

    /* durable: every live worker that checked found appendfsync always */
    v = 2;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_SHARDS; i++) {
        c = sh->shards[i].s.durable;

        if ((c & 3)
            && (kill((ngx_pid_t) (c >> 2), 0) == 0 || ngx_errno == NGX_EPERM))
        {
            v = ngx_min(v, (c & 3) - 1);
        }
    }

    if (v < 2) {
        p = ngx_slprintf(p, end,
                 "# HELP skip_redis_durable 1: Redis fsyncs each write "
                 "before replying (appendfsync always).\n"
                 "# TYPE skip_redis_durable gauge\n"
                 "skip_redis_durable %uA\n", v);
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_model_info Models loaded, by name and version.\n"
                 "# TYPE skip_model_info gauge\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        p = ngx_slprintf(p, end, "skip_model_info{name=\"");
        p = ngx_http_skip_metrics_escape(p, end, &m->name);
        p = ngx_slprintf(p, end, "\",version=\"");
        p = ngx_http_skip_metrics_escape(p, end, &m->version);
        p = ngx_slprintf(p, end, "\"} 1\n");
    }

    v = ngx_http_skip_metrics_sum(sh, ngx_http_skip_metrics_field(scrapes));

    p = ngx_slprintf(p, end,
                 "# HELP skip_metrics_scrapes_total Requests served by "
                 "skip_metrics.\n"
                 "# TYPE skip_metrics_scrapes_total counter\n"
                 "skip_metrics_scrapes_total %uA\n", v);

    return p;
}


/* prefetch: per arm, kind and result; bytes per arm; CMCD */

static u_char *
ngx_http_skip_metrics_render_prefetch(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx)
{
    ngx_uint_t                      i, k, r;
    ngx_atomic_uint_t               v;
    ngx_http_skip_metrics_shm_t    *sh;
    ngx_http_skip_metrics_model_t  *m;

    static const char  *bytes[][2] = {
        { "skip_prefetch_bytes_total",
          "Bytes prefetched from the origin into the cache, by the arm "
          "whose decision caused the prefetch." },
        { "skip_prefetch_served_bytes_total",
          "Prefetched bytes that a listener asked for later." },
        { "skip_prefetch_wasted_bytes_total",
          "Prefetched bytes that no listener asked for within the "
          "prefetch window (skip_prefetch_zone)." }
    };

    sh = ctx->sh;

    p = ngx_slprintf(p, end,
                 "# HELP skip_prefetches_total Slice prefetches, by arm, "
                 "kind (track: later slices of the track; next: the player's "
                 "CMCD next object) and result.\n"
                 "# TYPE skip_prefetches_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (k = 0; k < NGX_HTTP_SKIP_METRICS_PF_NKINDS; k++) {
            for (r = 0; r < NGX_HTTP_SKIP_METRICS_PF_NRESULTS; r++) {
                v = ngx_http_skip_metrics_sum(sh,
                        ngx_http_skip_metrics_field(
                            arms[m->slot].prefetches[k][r]));

                p = ngx_slprintf(p, end, "skip_prefetches_total{arm=\"");
                p = ngx_http_skip_metrics_escape(p, end, &m->name);
                p = ngx_slprintf(p, end, "\",kind=\"%V\",result=\"%V\"} "
                                 "%uA\n",
                                 &ngx_http_skip_metrics_pf_kinds[k],
                                 &ngx_http_skip_metrics_pf_results[r], v);
            }
        }
    }

    for (k = 0; k < NGX_HTTP_SKIP_METRICS_PF_NBYTES; k++) {
        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                         bytes[k][0], bytes[k][1], bytes[k][0]);

        for (i = 0; i < ctx->nmodels; i++) {
            m = &ctx->models[i];

            v = ngx_http_skip_metrics_sum(sh,
                    ngx_http_skip_metrics_field(arms[m->slot].pf_bytes[k]));

            p = ngx_slprintf(p, end, "%s{arm=\"", bytes[k][0]);
            p = ngx_http_skip_metrics_escape(p, end, &m->name);
            p = ngx_slprintf(p, end, "\"} %uA\n", v);
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_cmcd_total Requests carrying CMCD (CTA-5004) "
                 "data, by result.\n"
                 "# TYPE skip_cmcd_total counter\n");

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_NCMCD; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                      ngx_http_skip_metrics_field(cmcd[i]));

        p = ngx_slprintf(p, end, "skip_cmcd_total{result=\"%V\"} %uA\n",
                         &ngx_http_skip_metrics_cmcd_results[i], v);
    }

    return p;
}


/* a label value: backslash, double quote and newline escaped */

static u_char *
ngx_http_skip_metrics_escape(u_char *p, u_char *end, ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    for (i = 0; i < s->len && p < end; i++) {
        c = s->data[i];

        if (c == '\\' || c == '"' || c == '\n') {
            if (end - p < 2) {
                return end;
            }

            *p++ = '\\';
            *p++ = (c == '\n') ? 'n' : c;
            continue;
        }

        *p++ = c;
    }

    return p;
}


/* one counter summed over the worker shards */

static ngx_atomic_uint_t
ngx_http_skip_metrics_sum(ngx_http_skip_metrics_shm_t *sh, size_t offset)
{
    ngx_uint_t         w;
    ngx_atomic_uint_t  v;

    v = 0;

    for (w = 0; w < NGX_HTTP_SKIP_METRICS_SHARDS; w++) {
        v += *(ngx_atomic_t *) ((u_char *) &sh->shards[w].s + offset);
    }

    return v;
}
