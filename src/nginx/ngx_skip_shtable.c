/*
 * ngx_skip: shared-memory tables of buckets (see ngx_skip_shtable.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_skip_shtable.h"


static ngx_int_t ngx_skip_shtable_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_skip_shtable_t *
ngx_skip_shtable_add(ngx_conf_t *cf, ngx_str_t *name, void *tag, size_t size,
    size_t bucket_size, time_t ttl)
{
    ngx_shm_zone_t      *shm_zone;
    ngx_skip_shtable_t  *t;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data) {
        /* declared already in this configuration */
        return shm_zone->data;
    }

    t = ngx_pcalloc(cf->pool, sizeof(ngx_skip_shtable_t));
    if (t == NULL) {
        return NULL;
    }

    t->bucket_size = bucket_size;
    t->ttl = ttl;

    shm_zone->init = ngx_skip_shtable_init_zone;
    shm_zone->data = t;

    return t;
}


static ngx_int_t
ngx_skip_shtable_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_skip_shtable_t  *ot = data;

    size_t               avail;
    ngx_uint_t           n;
    ngx_skip_shtable_t  *t;

    t = shm_zone->data;

    if (ot) {
        /* reload with the same size: keep the entries */
        t->shpool = ot->shpool;
        t->sh = ot->sh;
        return NGX_OK;
    }

    t->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        t->sh = t->shpool->data;
        return NGX_OK;
    }

    t->sh = ngx_slab_calloc(t->shpool, sizeof(ngx_skip_shtable_sh_t));
    if (t->sh == NULL) {
        return NGX_ERROR;
    }

    t->shpool->data = t->sh;

    /* what the slab allocator can give in one piece, minus its overhead */
    avail = shm_zone->shm.size - shm_zone->shm.size / 8 - 8 * ngx_pagesize;
    n = avail / t->bucket_size;

    for ( ;; ) {
        if (n < 16) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "zone \"%V\" is too small", &shm_zone->shm.name);
            return NGX_ERROR;
        }

        t->sh->buckets = ngx_slab_calloc(t->shpool, n * t->bucket_size);
        if (t->sh->buckets) {
            break;
        }

        n -= n / 8;
    }

    t->sh->nbuckets = n;

    /* quiet: a full slab must not log "ngx_slab_alloc() failed" later */
    t->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_skip_shtable_t *
ngx_skip_shtable_find(ngx_cycle_t *cycle, ngx_str_t *name, void *tag)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_shm_zone_t   *zone;

    /*
     * Looked up in the worker's own cycle rather than remembered at
     * configuration time: a reload that drops the zone must not leave a
     * pointer into the previous configuration's pool.
     */
    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag == tag
            && zone[i].shm.name.len == name->len
            && ngx_strncmp(zone[i].shm.name.data, name->data, name->len) == 0)
        {
            return zone[i].data;
        }
    }
}


uint64_t
ngx_skip_shtable_key(u_char *data, size_t len)
{
    uint64_t  key;

    key = ((uint64_t) ngx_murmur_hash2(data, len) << 32)
          | ngx_crc32_long(data, len);

    return key ? key : 1;
}
