/*
 * The LRU list of the cache simulator: a circular doubly linked list
 * threaded through two per-object arrays (objects are dense ids), with a
 * sentinel at index n_objects.  Every operation is O(1); eviction walks from
 * the old end.
 */
#include <stdlib.h>

#include "cachesim_int.h"

int
sk_lru_init(sk_cachesim *c)
{
    uint32_t s = c->t->n_objects;

    c->prev = malloc(((size_t) s + 1) * sizeof(*c->prev));
    c->next = malloc(((size_t) s + 1) * sizeof(*c->next));
    if (c->prev == NULL || c->next == NULL) {
        return -1;
    }
    c->prev[s] = s;
    c->next[s] = s;
    return 0;
}

void
sk_lru_push(sk_cachesim *c, uint32_t obj)
{
    uint32_t s = c->t->n_objects, head = c->next[s];

    c->prev[obj] = s;
    c->next[obj] = head;
    c->prev[head] = obj;
    c->next[s] = obj;
}

void
sk_lru_remove(sk_cachesim *c, uint32_t obj)
{
    c->next[c->prev[obj]] = c->next[obj];
    c->prev[c->next[obj]] = c->prev[obj];
}

void
sk_lru_touch(sk_cachesim *c, uint32_t obj)
{
    sk_lru_remove(c, obj);
    sk_lru_push(c, obj);
}

uint32_t
sk_lru_oldest(const sk_cachesim *c)
{
    uint32_t s = c->t->n_objects;

    return c->prev[s] == s ? SK_SIM_NEVER : c->prev[s];
}

uint32_t
sk_lru_newer(const sk_cachesim *c, uint32_t obj)
{
    uint32_t s = c->t->n_objects;

    return c->prev[obj] == s ? SK_SIM_NEVER : c->prev[obj];
}

void
sk_lru_make_room(sk_cachesim *c, uint64_t size)
{
    uint32_t v;

    while (c->used + size > c->cfg.capacity
           && (v = sk_lru_oldest(c)) != SK_SIM_NEVER)
    {
        sk_lru_remove(c, v);
        sk_sim_evicted(c, v);
    }
}
