/*
 * ngx_skip: live evaluation memory (see ngx_skip_recent.h).
 *
 * A fixed-size table in its own shared memory zone "skip_recent": a
 * prediction is made in whichever worker got the track request, and its
 * outcome arrives later in whichever worker got the events POST.
 *
 * Table.  Buckets of 4 slots of 16 bytes (one cache line per bucket).  A
 * slot holds a 64-bit hash of "user\ntrack" (two independent 32-bit
 * hashes; a false match needs a 64-bit collision among the pairs of one
 * bucket within the TTL), the expiry second, the arm and the decision.
 * Remember overwrites the pair's slot, else takes a free or expired one,
 * else evicts the one closest to expiry: the table never grows and never
 * fails; an evicted or expired prediction is simply not evaluated.  At
 * 1 MB that is ~64,000 slots, i.e. ~70 predictions/s sustained over the
 * default 15 min TTL before evictions start; size the zone for the
 * request rate (skip_events_recent).
 *
 * Locking.  The slab pool's own mutex (ngx_shmtx) around one bucket's
 * reads and writes: a few dozen instructions, no system call, so
 * contention is negligible.  It is the same lock limit_req and friends
 * use, and the master force-unlocks it when a worker dies holding it,
 * which a hand-rolled spinlock or seqlock in shared memory would not get.
 *
 * Reloads keep the zone (same name and size): predictions made before a
 * reload are still matched after it.  The arm is stored as the metrics
 * index of the configuration that predicted; a reload that reorders the
 * skip_model lines could, for at most one TTL, count such a prediction
 * under the arm that now has its index.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_skip_recent.h"


#define NGX_SKIP_RECENT_WAYS  4


typedef struct {
    uint64_t                    key;        /* 0: free */
    uint32_t                    expires;    /* ngx_time() seconds */
    uint16_t                    model;
    uint8_t                     predicted_skip;
    uint8_t                     unused;
} ngx_skip_recent_slot_t;


typedef struct {
    ngx_uint_t                  nbuckets;
    ngx_skip_recent_slot_t     *slots;      /* nbuckets * WAYS */
} ngx_skip_recent_shctx_t;


typedef struct {
    ngx_slab_pool_t            *shpool;
    ngx_skip_recent_shctx_t    *sh;
    time_t                      ttl;
} ngx_skip_recent_ctx_t;


static ngx_int_t ngx_skip_recent_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static uint64_t ngx_skip_recent_key(ngx_str_t *user, ngx_str_t *track);


/* the table of this worker's configuration (ngx_skip_recent_init_process) */
static ngx_skip_recent_ctx_t  *ngx_skip_recent;

static ngx_str_t  ngx_skip_recent_name = ngx_string("skip_recent");


ngx_int_t
ngx_skip_recent_add_zone(ngx_conf_t *cf, void *tag, size_t size, time_t ttl)
{
    ngx_shm_zone_t         *shm_zone;
    ngx_skip_recent_ctx_t  *ctx;

    shm_zone = ngx_shared_memory_add(cf, &ngx_skip_recent_name, size, tag);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data) {
        /* declared already in this configuration */
        return NGX_OK;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_skip_recent_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->ttl = ttl;

    shm_zone->init = ngx_skip_recent_init_zone;
    shm_zone->data = ctx;

    return NGX_OK;
}


static ngx_int_t
ngx_skip_recent_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_skip_recent_ctx_t  *octx = data;

    size_t                  avail;
    ngx_uint_t              n;
    ngx_skip_recent_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /* reload with the same size: keep the predictions */
        ctx->shpool = octx->shpool;
        ctx->sh = octx->sh;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_skip_recent_shctx_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    /* what the slab allocator can give in one piece, minus its overhead */
    avail = shm_zone->shm.size - shm_zone->shm.size / 8 - 8 * ngx_pagesize;
    n = avail / (NGX_SKIP_RECENT_WAYS * sizeof(ngx_skip_recent_slot_t));

    for ( ;; ) {
        if (n < 16) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "zone \"%V\" is too small", &shm_zone->shm.name);
            return NGX_ERROR;
        }

        ctx->sh->slots = ngx_slab_calloc(ctx->shpool,
                                         n * NGX_SKIP_RECENT_WAYS
                                         * sizeof(ngx_skip_recent_slot_t));
        if (ctx->sh->slots) {
            break;
        }

        n -= n / 8;
    }

    ctx->sh->nbuckets = n;

    /* quiet: a full slab must not log "ngx_slab_alloc() failed" later */
    ctx->shpool->log_nomem = 0;

    return NGX_OK;
}


void
ngx_skip_recent_init_process(ngx_cycle_t *cycle, void *tag)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    /*
     * Looked up in the worker's own cycle rather than remembered at
     * configuration time: a reload that drops the zone must not leave a
     * pointer into the previous configuration's pool.
     */
    ngx_skip_recent = NULL;

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

        if (zone[i].tag == tag
            && zone[i].shm.name.len == ngx_skip_recent_name.len
            && ngx_strncmp(zone[i].shm.name.data, ngx_skip_recent_name.data,
                           ngx_skip_recent_name.len) == 0)
        {
            ngx_skip_recent = zone[i].data;
            break;
        }
    }
}


static uint64_t
ngx_skip_recent_key(ngx_str_t *user, ngx_str_t *track)
{
    u_char     buf[2 * 64 + 2];
    size_t     len;
    uint32_t   h1, h2;
    uint64_t   key;

    len = ngx_min(user->len, 64);
    ngx_memcpy(buf, user->data, len);
    buf[len++] = '\n';
    ngx_memcpy(buf + len, track->data, ngx_min(track->len, 64));
    len += ngx_min(track->len, 64);

    h1 = ngx_murmur_hash2(buf, len);
    h2 = ngx_crc32_long(buf, len);

    key = ((uint64_t) h1 << 32) | h2;

    return key ? key : 1;
}


void
ngx_skip_recent_remember(ngx_str_t *user, ngx_str_t *track, ngx_uint_t model,
    ngx_uint_t predicted_skip)
{
    uint32_t                 now;
    uint64_t                 key;
    ngx_uint_t               i;
    ngx_skip_recent_ctx_t   *ctx;
    ngx_skip_recent_slot_t  *b, *s, *victim;

    ctx = ngx_skip_recent;

    if (ctx == NULL || user->len == 0 || track->len == 0) {
        return;
    }

    key = ngx_skip_recent_key(user, track);
    now = (uint32_t) ngx_time();
    b = &ctx->sh->slots[(key % ctx->sh->nbuckets) * NGX_SKIP_RECENT_WAYS];

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /* the pair's own slot, else a free or expired one, else the oldest */
    s = NULL;
    victim = &b[0];

    for (i = 0; i < NGX_SKIP_RECENT_WAYS; i++) {
        if (b[i].key == key) {
            s = &b[i];
            break;
        }

        if (s == NULL
            && (b[i].key == 0 || (int32_t) (b[i].expires - now) < 0))
        {
            s = &b[i];
        }

        if ((int32_t) (b[i].expires - victim->expires) < 0) {
            victim = &b[i];
        }
    }

    if (s == NULL) {
        s = victim;
    }

    s->key = key;
    s->expires = now + (uint32_t) ctx->ttl;
    s->model = (uint16_t) model;
    s->predicted_skip = predicted_skip ? 1 : 0;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


ngx_int_t
ngx_skip_recent_consume(ngx_str_t *user, ngx_str_t *track, ngx_uint_t *model,
    ngx_uint_t *predicted_skip)
{
    uint32_t                 now;
    uint64_t                 key;
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_skip_recent_ctx_t   *ctx;
    ngx_skip_recent_slot_t  *b;

    ctx = ngx_skip_recent;

    if (ctx == NULL || user->len == 0 || track->len == 0) {
        return NGX_DECLINED;
    }

    key = ngx_skip_recent_key(user, track);
    now = (uint32_t) ngx_time();
    b = &ctx->sh->slots[(key % ctx->sh->nbuckets) * NGX_SKIP_RECENT_WAYS];

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < NGX_SKIP_RECENT_WAYS; i++) {
        if (b[i].key != key) {
            continue;
        }

        if ((int32_t) (b[i].expires - now) >= 0) {
            *model = b[i].model;
            *predicted_skip = b[i].predicted_skip;
            rc = NGX_OK;
        }

        b[i].key = 0;
        break;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}
