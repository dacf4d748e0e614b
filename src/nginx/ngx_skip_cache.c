/*
 * ngx_skip: the per-worker record cache (see ngx_skip_cache.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_skip_cache.h"


#define NGX_SKIP_CACHE_WAYS  8


ngx_skip_cache_t *
ngx_skip_cache_create(ngx_uint_t size, ngx_msec_t ttl, ngx_msec_t track_ttl,
    ngx_log_t *log)
{
    ngx_uint_t         sets;
    ngx_skip_cache_t  *cache;

    sets = 1;
    while (sets * NGX_SKIP_CACHE_WAYS < size) {
        sets *= 2;
    }

    cache = ngx_calloc(sizeof(ngx_skip_cache_t), log);
    if (cache == NULL) {
        return NULL;
    }

    cache->entries = ngx_calloc(sets * NGX_SKIP_CACHE_WAYS
                                * sizeof(ngx_skip_cache_entry_t), log);
    if (cache->entries == NULL) {
        ngx_free(cache);
        return NULL;
    }

    cache->tags = ngx_calloc(sets * NGX_SKIP_CACHE_WAYS * sizeof(uint32_t),
                             log);
    if (cache->tags == NULL) {
        ngx_free(cache->entries);
        ngx_free(cache);
        return NULL;
    }

    cache->mask = sets - 1;
    cache->ttl[NGX_SKIP_CACHE_USER] = ttl;
    cache->ttl[NGX_SKIP_CACHE_TRACK] = track_ttl;

    return cache;
}


ngx_int_t
ngx_skip_cache_enable_taste(ngx_skip_cache_t *cache, ngx_log_t *log)
{
    if (cache->tastes == NULL) {
        cache->tastes = ngx_calloc((cache->mask + 1) * NGX_SKIP_CACHE_WAYS
                                   * sizeof(ngx_skip_cache_taste_t), log);
    }

    return cache->tastes ? NGX_OK : NGX_ERROR;
}


ngx_skip_cache_taste_t *
ngx_skip_cache_taste(ngx_skip_cache_t *cache, ngx_skip_cache_entry_t *e)
{
    if (cache->tastes == NULL || !e->taste) {
        return NULL;
    }

    return &cache->tastes[e - cache->entries];
}


void
ngx_skip_cache_put_taste(ngx_skip_cache_t *cache, u_char *id, size_t len,
    ngx_uint_t gen, ngx_int_t status, size_t n, const sk_taste *taste)
{
    ngx_skip_cache_taste_t  *ct;
    ngx_skip_cache_entry_t  *e;

    if (cache->tastes == NULL) {
        return;
    }

    e = ngx_skip_cache_get(cache, NGX_SKIP_CACHE_USER, id, len, gen);
    if (e == NULL) {
        return;
    }

    ct = &cache->tastes[e - cache->entries];
    ct->status = status;
    ct->n = n;
    ct->taste = *taste;
    e->taste = 1;
}


void
ngx_skip_cache_destroy(ngx_skip_cache_t *cache)
{
    ngx_free(cache->tastes);
    ngx_free(cache->tags);
    ngx_free(cache->entries);
    ngx_free(cache);
}


/*
 * The first slot of the id's set, and its tag: a 32-bit digest of the
 * hash, never 0 (an empty slot's).  A lookup compares the set's tags, one
 * cache line, and reads an entry (264 bytes) only when its tag matches:
 * comparing the entries' ids themselves touched a line of every entry of
 * the set, in a table larger than the CPU's caches (perf: the largest cost
 * of a request whose records were all cached).
 */
static ngx_uint_t
ngx_skip_cache_slot(ngx_skip_cache_t *cache, ngx_uint_t kind, u_char *id,
    size_t len, uint32_t *tag)
{
    uint64_t  hash;

    hash = (uint64_t) ngx_hash_key(id, len) * 2 + kind;

    *tag = ((uint32_t) (hash >> 32) ^ (uint32_t) (hash >> 7)) | 1;

    return (hash & cache->mask) * NGX_SKIP_CACHE_WAYS;
}


static ngx_int_t
ngx_skip_cache_fresh(ngx_skip_cache_entry_t *e, ngx_uint_t gen)
{
    return e->len != 0 && e->gen == gen
           && (ngx_msec_int_t) (e->expires - ngx_current_msec) > 0;
}


ngx_skip_cache_entry_t *
ngx_skip_cache_get(ngx_skip_cache_t *cache, ngx_uint_t kind, u_char *id,
    size_t len, ngx_uint_t gen)
{
    uint32_t                 tag, *tags;
    ngx_uint_t               i, first;
    ngx_skip_cache_entry_t  *e;

    if (len == 0 || len > SK_ID_MAX) {
        return NULL;
    }

    first = ngx_skip_cache_slot(cache, kind, id, len, &tag);
    tags = &cache->tags[first];

    for (i = 0; i < NGX_SKIP_CACHE_WAYS; i++) {
        if (tags[i] != tag) {
            continue;
        }

        e = &cache->entries[first + i];

        if (e->len == len && e->kind == kind
            && ngx_memcmp(e->id, id, len) == 0)
        {
            return ngx_skip_cache_fresh(e, gen) ? e : NULL;
        }
    }

    return NULL;
}


void
ngx_skip_cache_put(ngx_skip_cache_t *cache, ngx_uint_t kind, u_char *id,
    size_t len, ngx_uint_t gen, ngx_int_t status, const void *rec)
{
    uint32_t                 tag;
    ngx_uint_t               i, first;
    ngx_skip_cache_entry_t  *e, *victim;

    if (len == 0 || len > SK_ID_MAX) {
        return;
    }

    first = ngx_skip_cache_slot(cache, kind, id, len, &tag);
    e = &cache->entries[first];
    victim = e;

    for (i = 0; i < NGX_SKIP_CACHE_WAYS; i++, e++) {
        if (cache->tags[first + i] == tag && e->len == len
            && e->kind == kind && ngx_memcmp(e->id, id, len) == 0)
        {
            victim = e;
            break;
        }

        if (!ngx_skip_cache_fresh(e, gen)) {
            victim = e;
            continue;
        }

        if (ngx_skip_cache_fresh(victim, gen)
            && (ngx_msec_int_t) (e->expires - victim->expires) < 0)
        {
            victim = e;
        }
    }

    victim->expires = ngx_current_msec + cache->ttl[kind];
    victim->gen = gen;
    victim->status = status;
    victim->kind = (u_char) kind;
    victim->taste = 0;              /* a new user record: refetch it */
    victim->len = (u_char) len;
    ngx_memcpy(victim->id, id, len);
    cache->tags[victim - cache->entries] = tag;

    if (status == SK_REC_OK) {
        if (kind == NGX_SKIP_CACHE_USER) {
            victim->rec.user = *(const sk_user_rec *) rec;

        } else {
            victim->rec.track = *(const sk_track_rec *) rec;
        }
    }
}
