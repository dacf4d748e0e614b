/*
 * TinyLFU admission (Einziger, Friedman, Manes: "TinyLFU: A Highly
 * Efficient Cache Admission Policy", 2017), without the window cache and
 * the doorkeeper: a count-min sketch estimates how often each object was
 * requested recently, and a miss that needs room is stored only when it is
 * more frequent than every LRU victim it would push out.  One-hit wonders
 * thus never displace popular tracks, which LRU lets them do.
 *
 * The sketch has 4 rows of 4-bit saturating counters (stored in bytes for
 * simplicity), each row at least 4 counters per cache entry; every 10 x
 * (cache entries) increments all counters are halved so that the counts
 * follow changing popularity ("reset" in the paper).  Entries = capacity /
 * the trace's mean object size, at most the number of objects.
 */
#include <stdlib.h>

#include "cachesim_int.h"

#define SK_CMS_SAMPLE_FACTOR  10

static const uint64_t row_seed[SK_CMS_ROWS] = {
    0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL,
    0x94d049bb133111ebULL, 0x2545f4914f6cdd1dULL
};

/* splitmix64's finaliser: a good 64-bit mix of a small integer key. */
static uint64_t
mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static size_t
slot(const sk_cms *s, int row, uint32_t key)
{
    return (size_t) row * ((size_t) s->mask + 1)
           + (size_t) (mix(key + row_seed[row]) & s->mask);
}

int
sk_cms_init(sk_cms *s, uint64_t entries)
{
    uint64_t width = 16;

    if (entries < 1) {
        entries = 1;
    }
    while (width < 4 * entries && width < (1ULL << 30)) {
        width <<= 1;
    }
    s->mask = (uint32_t) (width - 1);
    s->added = 0;
    s->sample = SK_CMS_SAMPLE_FACTOR * entries;
    s->cnt = calloc(SK_CMS_ROWS * width, 1);
    return s->cnt ? 0 : -1;
}

void
sk_cms_free(sk_cms *s)
{
    free(s->cnt);
    s->cnt = NULL;
}

static void
halve(sk_cms *s)
{
    size_t i, n = SK_CMS_ROWS * ((size_t) s->mask + 1);

    for (i = 0; i < n; i++) {
        s->cnt[i] >>= 1;
    }
    s->added /= 2;
}

void
sk_cms_add(sk_cms *s, uint32_t key)
{
    int r;

    for (r = 0; r < SK_CMS_ROWS; r++) {
        uint8_t *p = &s->cnt[slot(s, r, key)];

        if (*p < SK_CMS_MAX) {
            (*p)++;
        }
    }
    if (++s->added >= s->sample) {
        halve(s);
    }
}

unsigned
sk_cms_estimate(const sk_cms *s, uint32_t key)
{
    unsigned min = SK_CMS_MAX;
    int      r;

    for (r = 0; r < SK_CMS_ROWS; r++) {
        unsigned v = s->cnt[slot(s, r, key)];

        if (v < min) {
            min = v;
        }
    }
    return min;
}

/* Mean size of the distinct objects requested (0 for an empty trace). */
static uint64_t
mean_object_size(const sk_trace *t)
{
    uint8_t  *seen = calloc(t->n_objects ? t->n_objects : 1, 1);
    uint64_t  sum = 0, n = 0;
    size_t    i;

    if (seen == NULL) {
        return 0;
    }
    for (i = 0; i < t->n; i++) {
        if (!seen[t->obj[i]]) {
            seen[t->obj[i]] = 1;
            sum += t->size[t->obj[i]];
            n++;
        }
    }
    free(seen);
    return n ? sum / n : 0;
}

int
sk_tinylfu_init(sk_cachesim *c)
{
    uint64_t mean = c->cfg.mean_size ? c->cfg.mean_size
                                     : mean_object_size(c->t);
    uint64_t entries;

    if (mean == 0) {
        mean = 1;
    }
    /* A cache never holds more objects than the trace has: this bounds
     * the sketch for absurdly large capacities. */
    entries = c->cfg.capacity / mean;
    if (entries > c->t->n_objects) {
        entries = c->t->n_objects;
    }
    if (sk_cms_init(&c->cms, entries) != 0) {
        return -1;
    }
    c->has_cms = 1;
    return 0;
}

int
sk_tinylfu_admit(sk_cachesim *c, uint32_t obj)
{
    uint64_t  need = c->t->size[obj];
    uint64_t  room = c->cfg.capacity - c->used;
    unsigned  f = sk_cms_estimate(&c->cms, obj);
    uint32_t  v;

    for (v = sk_lru_oldest(c); room < need && v != SK_SIM_NEVER;
         v = sk_lru_newer(c, v))
    {
        if (sk_cms_estimate(&c->cms, v) >= f) {
            return 0;
        }
        room += c->t->size[v];
    }
    return room >= need;
}
