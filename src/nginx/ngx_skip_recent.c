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
#include "ngx_skip_shtable.h"


#define NGX_SKIP_RECENT_WAYS  4


typedef struct {
    uint64_t                    key;        /* 0: free */
    uint32_t                    expires;    /* ngx_time() seconds */
    uint16_t                    model;
    uint8_t                     predicted_skip;
    uint8_t                     unused;
} ngx_skip_recent_slot_t;


static uint64_t ngx_skip_recent_key(ngx_str_t *user, ngx_str_t *track);


/* the table of this worker's configuration (ngx_skip_recent_init_process) */
static ngx_skip_shtable_t  *ngx_skip_recent;

static ngx_str_t  ngx_skip_recent_name = ngx_string("skip_recent");


ngx_int_t
ngx_skip_recent_add_zone(ngx_conf_t *cf, void *tag, size_t size, time_t ttl)
{
    return ngx_skip_shtable_add(cf, &ngx_skip_recent_name, tag, size,
                                NGX_SKIP_RECENT_WAYS
                                * sizeof(ngx_skip_recent_slot_t), ttl)
           ? NGX_OK : NGX_ERROR;
}


void
ngx_skip_recent_init_process(ngx_cycle_t *cycle, void *tag)
{
    ngx_skip_recent = ngx_skip_shtable_find(cycle, &ngx_skip_recent_name,
                                            tag);
}


static uint64_t
ngx_skip_recent_key(ngx_str_t *user, ngx_str_t *track)
{
    u_char  buf[2 * 64 + 2];
    size_t  len;

    len = ngx_min(user->len, 64);
    ngx_memcpy(buf, user->data, len);
    buf[len++] = '\n';
    ngx_memcpy(buf + len, track->data, ngx_min(track->len, 64));
    len += ngx_min(track->len, 64);

    return ngx_skip_shtable_key(buf, len);
}


void
ngx_skip_recent_remember(ngx_str_t *user, ngx_str_t *track, ngx_uint_t model,
    ngx_uint_t predicted_skip)
{
    uint32_t                 now;
    uint64_t                 key;
    ngx_uint_t               i;
    ngx_skip_shtable_t      *ctx;
    ngx_skip_recent_slot_t  *b, *s, *victim;

    ctx = ngx_skip_recent;

    if (ctx == NULL || user->len == 0 || track->len == 0) {
        return;
    }

    key = ngx_skip_recent_key(user, track);
    now = (uint32_t) ngx_time();
    b = ngx_skip_shtable_bucket(ctx, key);

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
    ngx_skip_shtable_t      *ctx;
    ngx_skip_recent_slot_t  *b;

    ctx = ngx_skip_recent;

    if (ctx == NULL || user->len == 0 || track->len == 0) {
        return NGX_DECLINED;
    }

    key = ngx_skip_recent_key(user, track);
    now = (uint32_t) ngx_time();
    b = ngx_skip_shtable_bucket(ctx, key);

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
