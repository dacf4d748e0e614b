/*
 * Belady's MIN with bypass: the offline ceiling every online policy is
 * measured against.  It knows each request's next request for the same
 * object (sk_trace_finish).  On a miss:
 *
 *   - an object never requested again is not stored (bypass);
 *   - otherwise room is made by evicting the cached objects whose next
 *     request is farthest away, but only objects needed later than the
 *     newcomer; when those do not free enough bytes the newcomer is
 *     bypassed instead and nothing is evicted.
 *
 * With equal sizes this is optimal for the hit ratio.  With variable sizes
 * the optimum is NP-hard; this is the usual farthest-next-use heuristic,
 * so it is a (very good) ceiling estimate, not a proven bound.
 *
 * Cached objects sit in an indexed binary max-heap keyed by (next request,
 * object id): hits update a key in O(log n), evictions pop the maximum.
 */
#include <stdlib.h>

#include "cachesim_int.h"

static int
above(const sk_cachesim *c, uint32_t a, uint32_t b)
{
    return c->key[a] > c->key[b] || (c->key[a] == c->key[b] && a > b);
}

static void
place(sk_cachesim *c, uint32_t at, uint32_t obj)
{
    c->heap[at] = obj;
    c->pos[obj] = at;
}

static void
sift_up(sk_cachesim *c, uint32_t at)
{
    uint32_t obj = c->heap[at];

    while (at > 0) {
        uint32_t up = (at - 1) / 2;

        if (!above(c, obj, c->heap[up])) {
            break;
        }
        place(c, at, c->heap[up]);
        at = up;
    }
    place(c, at, obj);
}

static void
sift_down(sk_cachesim *c, uint32_t at)
{
    uint32_t obj = c->heap[at];

    for ( ;; ) {
        uint32_t l = 2 * at + 1, r = l + 1, big;

        if (l >= c->heap_n) {
            break;
        }
        big = (r < c->heap_n && above(c, c->heap[r], c->heap[l])) ? r : l;
        if (!above(c, c->heap[big], obj)) {
            break;
        }
        place(c, at, c->heap[big]);
        at = big;
    }
    place(c, at, obj);
}

static void
push(sk_cachesim *c, uint32_t obj)
{
    place(c, c->heap_n++, obj);
    sift_up(c, c->heap_n - 1);
}

static uint32_t
pop(sk_cachesim *c)
{
    uint32_t top = c->heap[0];

    if (--c->heap_n > 0) {
        place(c, 0, c->heap[c->heap_n]);
        sift_down(c, 0);
    }
    return top;
}

int
sk_belady_init(sk_cachesim *c)
{
    size_t n = c->t->n_objects ? c->t->n_objects : 1;

    c->heap = malloc(n * sizeof(*c->heap));
    c->pos = malloc(n * sizeof(*c->pos));
    c->key = malloc(n * sizeof(*c->key));
    c->victims = malloc(n * sizeof(*c->victims));
    c->heap_n = 0;
    return c->heap && c->pos && c->key && c->victims ? 0 : -1;
}

sk_sim_outcome
sk_belady_request(sk_cachesim *c, size_t i)
{
    const sk_trace  *t = c->t;
    uint32_t         o = t->obj[i], later = t->next[i], n = 0, k;
    uint64_t         size = t->size[o], room;

    if (c->in[o]) {
        c->key[o] = later;              /* only ever moves further away */
        sift_up(c, c->pos[o]);
        return sk_sim_hit(c, size);
    }
    if (size > c->cfg.capacity) {
        c->r.too_large++;
        return sk_sim_not_stored(c, size);
    }
    if (later == SK_SIM_NEVER) {
        return sk_sim_not_stored(c, size);
    }
    room = c->cfg.capacity - c->used;
    while (room < size && c->heap_n > 0 && c->key[c->heap[0]] > later) {
        c->victims[n] = pop(c);
        room += t->size[c->victims[n++]];
    }
    if (room < size) {
        /* Everything that would have to go is needed sooner: keep it. */
        for (k = 0; k < n; k++) {
            push(c, c->victims[k]);
        }
        return sk_sim_not_stored(c, size);
    }
    for (k = 0; k < n; k++) {
        sk_sim_evicted(c, c->victims[k]);
    }
    c->key[o] = later;
    push(c, o);
    return sk_sim_stored(c, o);
}
