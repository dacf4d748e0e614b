/*
 * ngx_skip: a fixed-size hash table of buckets in its own shared memory
 * zone, the storage under the prediction memory (ngx_skip_recent.c) and
 * the prefetch ledger (ngx_skip_ledger.c).  This file owns what they have
 * in common: declaring the zone, sizing the table to it at zone
 * initialization (kept across reloads of the same size), finding the
 * zone of a worker's configuration, and the 64-bit key of a name.  What a
 * slot holds, and the locking of a bucket (the slab pool's mutex), are the
 * users' own.
 */

#ifndef _NGX_SKIP_SHTABLE_H_INCLUDED_
#define _NGX_SKIP_SHTABLE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* in shared memory */
typedef struct {
    ngx_uint_t                  nbuckets;
    ngx_uint_t                  cursor;     /* the user's: e.g. a sweep */
    u_char                     *buckets;    /* nbuckets * bucket_size */
} ngx_skip_shtable_sh_t;


/* per configuration, in the cycle pool */
typedef struct {
    ngx_slab_pool_t            *shpool;
    ngx_skip_shtable_sh_t      *sh;
    size_t                      bucket_size;
    time_t                      ttl;        /* the user's: entry lifetime */
} ngx_skip_shtable_t;


/*
 * Configuration time: declare the zone `name` of `size` bytes with buckets
 * of bucket_size bytes (zeroed: a zero slot is free).  The first call of
 * a configuration wins (its size and ttl); later ones return the same
 * table.  NULL on error.
 */
ngx_skip_shtable_t *ngx_skip_shtable_add(ngx_conf_t *cf, ngx_str_t *name,
    void *tag, size_t size, size_t bucket_size, time_t ttl);

/* init_process: the table of the worker's configuration, or NULL */
ngx_skip_shtable_t *ngx_skip_shtable_find(ngx_cycle_t *cycle,
    ngx_str_t *name, void *tag);

/* A name's key: two independent 32-bit hashes, never 0 (0 marks free). */
uint64_t ngx_skip_shtable_key(u_char *data, size_t len);

/* The bucket a key lives in (lock the slab pool's mutex to use it). */
#define ngx_skip_shtable_bucket(t, key)                                      \
    ((void *) ((t)->sh->buckets                                               \
               + ((key) % (t)->sh->nbuckets) * (t)->bucket_size))


#endif /* _NGX_SKIP_SHTABLE_H_INCLUDED_ */
