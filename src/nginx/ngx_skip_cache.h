/*
 * ngx_skip: a small per-worker cache of decoded user and track records.
 *
 * Why: one Redis round trip per request caps one worker at roughly half of
 * what plain nginx serves (DESIGN.md, "Known costs").  Track popularity is
 * Zipf-shaped and a listener's requests come in bursts (range and slice
 * requests of one track, seeks, the next track), so a short-lived cache
 * keeps most requests off Redis while bounding how stale a record can be.
 *
 * Bounded: a fixed table allocated once per worker, 8-way set associative,
 * with a tag per slot kept apart from the entries (a lookup reads one line
 * of tags); a full set evicts its entry that expires first.  Entries carry the
 * snapshot generation, so a snapshot switch invalidates them all at once.
 * Records Redis does not have (or that do not decode) are cached too, with
 * their status, so a missing id costs one round trip per TTL, not one per
 * request.
 */

#ifndef _NGX_SKIP_CACHE_H_INCLUDED_
#define _NGX_SKIP_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "../core/keys.h"
#include "../core/records.h"
#include "../core/taste.h"


#define NGX_SKIP_CACHE_USER   0
#define NGX_SKIP_CACHE_TRACK  1


typedef struct {
    ngx_msec_t     expires;
    ngx_uint_t     gen;            /* snapshot generation */
    ngx_int_t      status;         /* SK_REC_OK / _MISSING / _MALFORMED */
    u_char         kind;
    u_char         taste;          /* a user's: its taste is cached too */
    u_char         len;            /* 0: empty slot */
    u_char         id[SK_ID_MAX];
    union {
        sk_user_rec   user;
        sk_track_rec  track;
    } rec;
} ngx_skip_cache_entry_t;


/*
 * The listener's taste (docs/taste-features.md) of a cached user entry, in
 * an array beside the entries, allocated only when a model reads it: 600
 * bytes an entry that models without taste need not pay.  It lives and
 * expires with its user entry.
 */
typedef struct {
    ngx_int_t      status;         /* SK_REC_OK / SK_REC_MALFORMED */
    size_t         n;              /* entries of the stored value */
    sk_taste       taste;
} ngx_skip_cache_taste_t;


typedef struct {
    ngx_skip_cache_entry_t  *entries;
    uint32_t                *tags;       /* per entry: its id's digest,
                                            0 empty (ngx_skip_cache.c) */
    ngx_skip_cache_taste_t  *tastes;     /* NULL: tastes not cached */
    ngx_uint_t               mask;       /* number of sets - 1 */
    ngx_msec_t               ttl[2];     /* by NGX_SKIP_CACHE_USER/TRACK */
} ngx_skip_cache_t;


/*
 * size entries (rounded up to a power of two, >= 8), users kept for ttl,
 * tracks for track_ttl; NULL on ENOMEM.
 */
ngx_skip_cache_t *ngx_skip_cache_create(ngx_uint_t size, ngx_msec_t ttl,
    ngx_msec_t track_ttl, ngx_log_t *log);
void ngx_skip_cache_destroy(ngx_skip_cache_t *cache);

/* A fresh entry of this generation, or NULL. */
ngx_skip_cache_entry_t *ngx_skip_cache_get(ngx_skip_cache_t *cache,
    ngx_uint_t kind, u_char *id, size_t len, ngx_uint_t gen);

/* Cache tastes too (per worker, when a model reads them).  NGX_ERROR: no
 * memory, tastes are then fetched every time (slower, not wrong). */
ngx_int_t ngx_skip_cache_enable_taste(ngx_skip_cache_t *cache,
    ngx_log_t *log);

/* The taste cached with the fresh user entry e, or NULL. */
ngx_skip_cache_taste_t *ngx_skip_cache_taste(ngx_skip_cache_t *cache,
    ngx_skip_cache_entry_t *e);

/* Attach a taste to the fresh user entry of id (none: nothing cached). */
void ngx_skip_cache_put_taste(ngx_skip_cache_t *cache, u_char *id,
    size_t len, ngx_uint_t gen, ngx_int_t status, size_t n,
    const sk_taste *taste);

/* Store a record (rec may be NULL unless status is SK_REC_OK). */
void ngx_skip_cache_put(ngx_skip_cache_t *cache, ngx_uint_t kind, u_char *id,
    size_t len, ngx_uint_t gen, ngx_int_t status, const void *rec);


#endif /* _NGX_SKIP_CACHE_H_INCLUDED_ */
