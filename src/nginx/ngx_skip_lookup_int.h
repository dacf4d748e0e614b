/*
 * ngx_skip: what the lookup's files share (ngx_skip_lookup.c, the single
 * connection and the common checks; ngx_skip_lookup_cluster.c, the same
 * round trip spread over the nodes of a Redis Cluster).
 */

#ifndef _NGX_SKIP_LOOKUP_INT_H_INCLUDED_
#define _NGX_SKIP_LOOKUP_INT_H_INCLUDED_


#include "ngx_skip_lookup.h"


/*
 * Storage for one "HMGET key field..." command: the first SK_REC_NFETCH
 * fields of the stored form (records.h), the packed static part and the
 * four counters.
 */
typedef struct {
    const char                 *argv[SK_REC_NFETCH + 2];
    size_t                      lens[SK_REC_NFETCH + 2];
    u_char                      key[SK_KEY_MAX];
} ngx_skip_lookup_hmget_t;


void ngx_skip_lookup_hmget(ngx_skip_redis_argv_t *cmd,
    ngx_skip_lookup_hmget_t *h, size_t key_len, const char *const *fields,
    ngx_uint_t nfields);

/*
 * One HMGET reply -> SK_REC_OK / SK_REC_MISSING / SK_REC_MALFORMED, or
 * NGX_SKIP_REC_ERROR for a reply that is not an HMGET answer at all.
 */
ngx_int_t ngx_skip_lookup_decode(ngx_skip_lookup_t *lk, redisReply *reply,
    ngx_uint_t kind, ngx_str_t *id, void *rec);

/*
 * The taste's GET reply: decoded into lk->taste / taste_status (and
 * cached with the user entry); decode_taste only decodes.
 */
void ngx_skip_lookup_take_taste(ngx_skip_lookup_t *lk, redisReply *reply);
ngx_int_t ngx_skip_lookup_decode_taste(ngx_skip_lookup_t *lk,
    redisReply *reply);

/*
 * On a cluster: NGX_AGAIN when commands left (the caller arms the
 * deadline; lk->handler runs once all parts answered or at the deadline),
 * NGX_OK with lk->source set when no node could be asked.
 */
ngx_int_t ngx_skip_lookup_cluster_start(ngx_skip_lookup_t *lk);
void ngx_skip_lookup_cluster_deadline(ngx_skip_lookup_t *lk);
void ngx_skip_lookup_cluster_detach(ngx_skip_lookup_t *lk);


#endif /* _NGX_SKIP_LOOKUP_INT_H_INCLUDED_ */
