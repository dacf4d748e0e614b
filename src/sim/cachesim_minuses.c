/*
 * proxy_cache_min_uses N with proxy_cache_path ... inactive=T, as nginx
 * counts it: the first request of a key creates a node in the keys zone
 * with uses = 1, each later request adds one and refreshes the node, and
 * the response is stored once uses reaches N.  A node not accessed for T
 * is removed by the cache manager, so the count starts again; so does it
 * when the cached file is evicted (the node goes with it, see
 * sk_sim_evicted).  The keys zone itself is assumed large enough.
 */
#include <stdlib.h>

#include "cachesim_int.h"

int
sk_minuses_init(sk_cachesim *c)
{
    size_t n = c->t->n_objects ? c->t->n_objects : 1;

    c->uses = calloc(n, sizeof(*c->uses));
    c->last_ms = calloc(n, sizeof(*c->last_ms));
    return c->uses && c->last_ms ? 0 : -1;
}

uint32_t
sk_minuses_seen(sk_cachesim *c, size_t i)
{
    uint32_t  o = c->t->obj[i];
    int64_t   now = c->t->ts_ms[i];

    if (c->uses[o] == 0 || now - c->last_ms[o] > c->cfg.inactive_ms) {
        c->uses[o] = 1;                 /* a new node */
    } else if (c->uses[o] < UINT32_MAX) {
        c->uses[o]++;
    }
    c->last_ms[o] = now;
    return c->uses[o];
}
