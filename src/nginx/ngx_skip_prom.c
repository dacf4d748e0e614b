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
 *
 * This file: the configuration, the zone and the counting.  The skip_metrics
 * handler and the text it serves are ngx_skip_prom_text.c; the layout of
 * the zone both read is ngx_skip_prom_int.h.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_skip_prom.h"
#include "ngx_skip_prom_int.h"


static ngx_http_skip_metrics_ctx_t *ngx_http_skip_metrics_conf_ctx(
    ngx_conf_t *cf);
static void ngx_http_skip_metrics_cleanup_conf(void *data);
static void ngx_http_skip_metrics_cleanup_run(void *data);
static char *ngx_http_skip_metrics_add_zone(ngx_conf_t *cf,
    ngx_http_skip_metrics_ctx_t *ctx, ngx_str_t *name, size_t size);
static ngx_int_t ngx_http_skip_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_skip_metrics_bind(ngx_http_skip_metrics_ctx_t *ctx);


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

/* upper bounds in microseconds, and as the `le` label */
static ngx_uint_t  ngx_http_skip_metrics_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000
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

ngx_http_skip_metrics_ctx_t *
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


ngx_http_skip_metrics_shard_t *
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
    ngx_uint_t result, ngx_uint_t n)
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

    (void) ngx_atomic_fetch_add(&sd->arms[slot].prefetches[kind][result],
                                (ngx_atomic_int_t) n);
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
ngx_http_skip_metrics_admit(ngx_uint_t result)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t, admit),
                              result, NGX_HTTP_SKIP_METRICS_NADMIT, 1);
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
ngx_http_skip_metrics_cluster(ngx_uint_t event, ngx_uint_t n)
{
    ngx_http_skip_metrics_add(offsetof(ngx_http_skip_metrics_shard_t,
                                       cluster),
                              event, NGX_HTTP_SKIP_METRICS_NCLUSTER, n);
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
