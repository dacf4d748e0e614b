/*
 * Inside the cache simulator (cachesim.h): the cache state shared by the
 * driver (cachesim.c) and the policy parts, each in its own file:
 *
 *   cachesim_lru.c      the LRU list every policy but belady evicts from
 *   cachesim_minuses.c  proxy_cache_min_uses counting
 *   cachesim_tinylfu.c  count-min sketch and TinyLFU admission
 *   cachesim_belady.c   Belady's MIN with bypass (its own store: a heap)
 */
#ifndef SKIP_CACHESIM_INT_H
#define SKIP_CACHESIM_INT_H

#include "cachesim.h"

/* Count-min sketch of 4-bit counters (kept in bytes), 4 rows. */
#define SK_CMS_ROWS  4
#define SK_CMS_MAX   15

typedef struct {
    uint8_t   *cnt;           /* SK_CMS_ROWS x (mask + 1) */
    uint32_t   mask;          /* row width - 1 (a power of two) */
    uint64_t   added;         /* increments since the last halving */
    uint64_t   sample;        /* halve every counter after this many */
} sk_cms;

struct sk_cachesim {
    const sk_trace  *t;
    sk_policy        policy;
    sk_sim_config    cfg;
    size_t           i;           /* next request of the trace */
    uint64_t         used;        /* bytes stored */
    sk_sim_result    r;
    uint8_t         *in;          /* [n_objects] 1 = cached */

    /* LRU list: prev/next over objects, sentinel at index n_objects;
     * next[sentinel] is the most, prev[sentinel] the least recently used */
    uint32_t        *prev, *next;

    /* min-uses: uses of the object's keys-zone node and its last access */
    uint32_t        *uses;
    int64_t         *last_ms;

    /* TinyLFU */
    sk_cms           cms;
    int              has_cms;

    /* belady: max-heap of cached objects keyed by their next request */
    uint32_t        *heap;        /* [n_objects] objects */
    uint32_t        *pos;         /* [n_objects] index in heap */
    uint32_t        *key;         /* [n_objects] next request index */
    uint32_t         heap_n;
    uint32_t        *victims;     /* [n_objects] scratch */
};

/* ---- accounting (the driver's; every policy reports through these) --- */

static inline sk_sim_outcome
sk_sim_hit(sk_cachesim *c, uint64_t size)
{
    c->r.hits++;
    c->r.hit_bytes += size;
    return SK_SIM_HIT;
}

static inline sk_sim_outcome
sk_sim_not_stored(sk_cachesim *c, uint64_t size)
{
    c->r.not_stored++;
    c->r.origin_bytes += size;
    return SK_SIM_NOT_STORED;
}

/* A miss that is stored: the caller has made room and links the object. */
static inline sk_sim_outcome
sk_sim_stored(sk_cachesim *c, uint32_t obj)
{
    uint64_t size = c->t->size[obj];

    c->in[obj] = 1;
    c->used += size;
    c->r.admissions++;
    c->r.written_bytes += size;
    c->r.origin_bytes += size;
    return SK_SIM_STORED;
}

/* An object leaves the cache (the caller unlinks it). */
static inline void
sk_sim_evicted(sk_cachesim *c, uint32_t obj)
{
    c->in[obj] = 0;
    c->used -= c->t->size[obj];
    c->r.evictions++;
    if (c->uses) {
        c->uses[obj] = 0;       /* nginx drops the node with the file */
    }
}

/* ---- LRU list (cachesim_lru.c) ---------------------------------------- */

int sk_lru_init(sk_cachesim *c);
void sk_lru_push(sk_cachesim *c, uint32_t obj);     /* as most recent */
void sk_lru_touch(sk_cachesim *c, uint32_t obj);    /* to most recent */
void sk_lru_remove(sk_cachesim *c, uint32_t obj);
/* Least recently used object, or SK_SIM_NEVER when empty. */
uint32_t sk_lru_oldest(const sk_cachesim *c);
/* The next more recent object than obj, or SK_SIM_NEVER. */
uint32_t sk_lru_newer(const sk_cachesim *c, uint32_t obj);
/* Evict from the old end until size more bytes fit. */
void sk_lru_make_room(sk_cachesim *c, uint64_t size);

/* ---- min-uses (cachesim_minuses.c) ------------------------------------ */

int sk_minuses_init(sk_cachesim *c);
/* Count request i in its object's node; returns the node's uses. */
uint32_t sk_minuses_seen(sk_cachesim *c, size_t i);

/* ---- TinyLFU (cachesim_tinylfu.c) ------------------------------------- */

/* A sketch for a cache of about `entries` objects. */
int sk_cms_init(sk_cms *s, uint64_t entries);
void sk_cms_add(sk_cms *s, uint32_t key);
unsigned sk_cms_estimate(const sk_cms *s, uint32_t key);
void sk_cms_free(sk_cms *s);

int sk_tinylfu_init(sk_cachesim *c);
/* 1 when obj (a miss) may replace the LRU victims it needs room from. */
int sk_tinylfu_admit(sk_cachesim *c, uint32_t obj);

/* ---- Belady (cachesim_belady.c) --------------------------------------- */

int sk_belady_init(sk_cachesim *c);
sk_sim_outcome sk_belady_request(sk_cachesim *c, size_t i);

/* Prefetch economics of request i (cachesim_prefetch.c), in whole bytes:
 * heard (rounded), requested by the listener (whole slices up to the skip point;
 * heard when slice is 0), prefetchable (after the first slice; the whole
 * track when slice is 0) and wasted if it is prefetched (prefetchable
 * bytes never requested). */
typedef struct {
    double  size, heard, requested, prefetchable, waste;
} sk_pf_bytes;

void sk_pf_request_bytes(const sk_trace *t, size_t i, uint64_t slice,
    sk_pf_bytes *b);

#endif
