/*
 * ngx_skip: the prefetch ledger (see ngx_skip_ledger.h).
 *
 * Table.  A fixed array of buckets of 4 slots in its own shared memory
 * zone "skip_prefetch" (ngx_skip_shtable.c, as ngx_skip_recent.c): a slot holds a
 * 64-bit hash of "path\nslice" (murmur2 and crc32 of it), its state
 * (in flight or done), the second it expires, the bytes the prefetch took
 * from the origin, the arm's metrics slot and whether a listener has asked
 * for it.  A claim takes the slice's own slot if it is free or expired,
 * else a free or expired slot of the bucket; a bucket of four live slices
 * refuses the claim (the caller counts it): a live entry is never evicted,
 * because evicting one would let the same slice be prefetched twice and
 * would lose its served/wasted accounting.  At the default 1 MB that is
 * ~40,000 slices within the 10-minute window, ~70 slices/s sustained.
 *
 * Locking.  The slab pool's mutex around one bucket's reads and writes, as
 * ngx_skip_recent.c does and for the same reasons (the master unlocks it
 * for a worker that dies holding it).  The sweep takes it once per bucket.
 *
 * Waste.  A done slice that no listener asked for by the time its window
 * ends is counted as wasted when the sweep frees it (within a few seconds
 * of the end).  A slot freed any other way is never counted twice: the
 * count happens under the lock, with the freeing.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_skip_ledger.h"
#include "ngx_skip_prom.h"
#include "ngx_skip_shtable.h"


#define NGX_SKIP_LEDGER_WAYS  4

#define NGX_SKIP_LEDGER_FREE      0
#define NGX_SKIP_LEDGER_INFLIGHT  1
#define NGX_SKIP_LEDGER_DONE      2


typedef struct {
    uint64_t                    key;
    uint32_t                    expires;    /* ngx_time() seconds */
    uint32_t                    bytes;      /* from the origin */
    uint16_t                    arm;        /* metrics slot */
    uint8_t                     state;
    uint8_t                     served;
} ngx_skip_ledger_slot_t;


static ngx_skip_ledger_slot_t *ngx_skip_ledger_bucket(ngx_str_t *path,
    ngx_uint_t slice, uint64_t *key);
static void ngx_skip_ledger_expire(ngx_skip_ledger_slot_t *s, uint32_t now);


/* the table of this worker's configuration; ttl is the window */
static ngx_skip_shtable_t  *ngx_skip_ledger;

static ngx_str_t  ngx_skip_ledger_name = ngx_string("skip_prefetch");


ngx_int_t
ngx_skip_ledger_add_zone(ngx_conf_t *cf, void *tag, size_t size,
    time_t window)
{
    return ngx_skip_shtable_add(cf, &ngx_skip_ledger_name, tag, size,
                                NGX_SKIP_LEDGER_WAYS
                                * sizeof(ngx_skip_ledger_slot_t), window)
           ? NGX_OK : NGX_ERROR;
}


void
ngx_skip_ledger_init_process(ngx_cycle_t *cycle, void *tag)
{
    ngx_skip_ledger = ngx_skip_shtable_find(cycle, &ngx_skip_ledger_name,
                                            tag);
}


static ngx_skip_ledger_slot_t *
ngx_skip_ledger_bucket(ngx_str_t *path, ngx_uint_t slice, uint64_t *key)
{
    u_char  buf[512 + NGX_INT_T_LEN + 1], *p;

    p = ngx_cpymem(buf, path->data, ngx_min(path->len, 512));
    *p++ = '\n';
    p = ngx_sprintf(p, "%ui", slice);

    *key = ngx_skip_shtable_key(buf, p - buf);

    return ngx_skip_shtable_bucket(ngx_skip_ledger, *key);
}


/* Free an expired slot, counting an unserved done slice as wasted. */
static void
ngx_skip_ledger_expire(ngx_skip_ledger_slot_t *s, uint32_t now)
{
    if (s->state == NGX_SKIP_LEDGER_FREE
        || (int32_t) (s->expires - now) >= 0)
    {
        return;
    }

    if (s->state == NGX_SKIP_LEDGER_DONE && !s->served && s->bytes) {
        ngx_http_skip_metrics_prefetch_bytes(s->arm,
                                             NGX_HTTP_SKIP_METRICS_PF_WASTED,
                                             s->bytes);
    }

    s->state = NGX_SKIP_LEDGER_FREE;
    s->key = 0;
}


ngx_int_t
ngx_skip_ledger_claim(ngx_str_t *path, ngx_uint_t slice, ngx_uint_t arm)
{
    uint32_t                 now;
    uint64_t                 key;
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_skip_ledger_slot_t  *b, *s;

    if (ngx_skip_ledger == NULL) {
        return NGX_OK;
    }

    b = ngx_skip_ledger_bucket(path, slice, &key);
    now = (uint32_t) ngx_time();
    s = NULL;
    rc = NGX_OK;

    ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

    for (i = 0; i < NGX_SKIP_LEDGER_WAYS; i++) {
        ngx_skip_ledger_expire(&b[i], now);

        if (b[i].state != NGX_SKIP_LEDGER_FREE && b[i].key == key) {
            rc = NGX_BUSY;
            break;
        }

        if (s == NULL && b[i].state == NGX_SKIP_LEDGER_FREE) {
            s = &b[i];
        }
    }

    if (rc == NGX_OK) {
        if (s == NULL) {
            rc = NGX_DECLINED;

        } else {
            s->key = key;
            s->state = NGX_SKIP_LEDGER_INFLIGHT;
            s->expires = now + NGX_SKIP_LEDGER_INFLIGHT_TTL;
            s->bytes = 0;
            s->arm = (uint16_t) arm;
            s->served = 0;
        }
    }

    ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);

    return rc;
}


ngx_uint_t
ngx_skip_ledger_known(ngx_str_t *path, ngx_uint_t slice)
{
    uint32_t                 now;
    uint64_t                 key;
    ngx_uint_t               i, known;
    ngx_skip_ledger_slot_t  *b;

    if (ngx_skip_ledger == NULL) {
        return 0;
    }

    b = ngx_skip_ledger_bucket(path, slice, &key);
    now = (uint32_t) ngx_time();
    known = 0;

    ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

    for (i = 0; i < NGX_SKIP_LEDGER_WAYS; i++) {
        if (b[i].key == key && b[i].state != NGX_SKIP_LEDGER_FREE
            && (int32_t) (b[i].expires - now) >= 0)
        {
            known = 1;
            break;
        }
    }

    ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);

    return known;
}


void
ngx_skip_ledger_done(ngx_str_t *path, ngx_uint_t slice, size_t bytes)
{
    uint64_t                 key;
    ngx_uint_t               i;
    ngx_skip_ledger_slot_t  *b;

    if (ngx_skip_ledger == NULL) {
        return;
    }

    b = ngx_skip_ledger_bucket(path, slice, &key);

    ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

    for (i = 0; i < NGX_SKIP_LEDGER_WAYS; i++) {
        if (b[i].key == key && b[i].state == NGX_SKIP_LEDGER_INFLIGHT) {
            b[i].state = NGX_SKIP_LEDGER_DONE;
            b[i].bytes = (uint32_t) ngx_min(bytes, 0xffffffff);
            b[i].expires = (uint32_t) ngx_time()
                           + (uint32_t) ngx_skip_ledger->ttl;
            break;
        }
    }

    ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);
}


void
ngx_skip_ledger_release(ngx_str_t *path, ngx_uint_t slice)
{
    uint64_t                 key;
    ngx_uint_t               i;
    ngx_skip_ledger_slot_t  *b;

    if (ngx_skip_ledger == NULL) {
        return;
    }

    b = ngx_skip_ledger_bucket(path, slice, &key);

    ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

    for (i = 0; i < NGX_SKIP_LEDGER_WAYS; i++) {
        if (b[i].key == key && b[i].state == NGX_SKIP_LEDGER_INFLIGHT) {
            b[i].state = NGX_SKIP_LEDGER_FREE;
            b[i].key = 0;
            break;
        }
    }

    ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);
}


void
ngx_skip_ledger_served(ngx_str_t *path, ngx_uint_t slice)
{
    uint32_t                 now, bytes;
    uint64_t                 key;
    ngx_uint_t               i, arm;
    ngx_skip_ledger_slot_t  *b;

    if (ngx_skip_ledger == NULL) {
        return;
    }

    b = ngx_skip_ledger_bucket(path, slice, &key);
    now = (uint32_t) ngx_time();
    bytes = 0;
    arm = 0;

    ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

    for (i = 0; i < NGX_SKIP_LEDGER_WAYS; i++) {
        if (b[i].key == key && b[i].state == NGX_SKIP_LEDGER_DONE
            && !b[i].served && (int32_t) (b[i].expires - now) >= 0)
        {
            b[i].served = 1;
            bytes = b[i].bytes;
            arm = b[i].arm;
            break;
        }
    }

    ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);

    if (bytes) {
        ngx_http_skip_metrics_prefetch_bytes(arm,
                                             NGX_HTTP_SKIP_METRICS_PF_SERVED,
                                             bytes);
    }
}


void
ngx_skip_ledger_sweep(void)
{
    uint32_t                 now;
    ngx_uint_t               n, i, w, bucket;
    ngx_skip_ledger_slot_t  *b;
    ngx_skip_shtable_sh_t   *sh;

    if (ngx_skip_ledger == NULL) {
        return;
    }

    sh = ngx_skip_ledger->sh;
    now = (uint32_t) ngx_time();
    n = sh->nbuckets / NGX_SKIP_LEDGER_SWEEP_PARTS + 1;

    for (i = 0; i < n; i++) {
        ngx_shmtx_lock(&ngx_skip_ledger->shpool->mutex);

        bucket = sh->cursor;
        sh->cursor = (bucket + 1) % sh->nbuckets;
        b = (ngx_skip_ledger_slot_t *)
                (sh->buckets + bucket * ngx_skip_ledger->bucket_size);

        for (w = 0; w < NGX_SKIP_LEDGER_WAYS; w++) {
            ngx_skip_ledger_expire(&b[w], now);
        }

        ngx_shmtx_unlock(&ngx_skip_ledger->shpool->mutex);
    }
}
