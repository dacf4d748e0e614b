/* The admission frequency sketch (see admit_sketch.h). */
#include <string.h>

#include "admit_sketch.h"

#define SK_SKETCH_MAGIC     0x534b4331u      /* "SKC1" */
#define SK_CELL_BITS        20
#define SK_CELL_MAX         ((1u << SK_CELL_BITS) - 1)
#define SK_EPOCH_MASK       0xfffu
#define SK_SKETCH_SKEW      2u         /* epochs a request may lag by */

typedef struct {
    uint32_t  magic;
    uint32_t  width;
    uint64_t  bytes;
    uint64_t  requests;
    uint64_t  pad[5];             /* 64 bytes: cells start aligned */
} sk_sketch_hdr;

static const uint32_t half_life[SK_SKETCH_WINDOWS] = {
    SK_SKETCH_SHORT_S, SK_SKETCH_LONG_S
};

static const uint64_t row_seed[SK_SKETCH_ROWS] = {
    0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL,
    0x94d049bb133111ebULL, 0x2545f4914f6cdd1dULL
};

static uint64_t
mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

size_t
sk_sketch_bytes(uint32_t width)
{
    return sizeof(sk_sketch_hdr)
           + (size_t) width * SK_SKETCH_ROWS * SK_SKETCH_WINDOWS
             * sizeof(uint32_t)
           + (size_t) width * sizeof(uint64_t);
}

uint32_t
sk_sketch_width_for(size_t bytes)
{
    uint32_t w = SK_SKETCH_MIN_WIDTH;

    if (bytes < sk_sketch_bytes(w)) {
        return 0;
    }
    while (w < (1u << 30) && sk_sketch_bytes(w * 2) <= bytes) {
        w *= 2;
    }
    return w;
}

int
sk_sketch_init(void *mem, size_t bytes)
{
    sk_sketch_hdr *h = mem;
    uint32_t       w = sk_sketch_width_for(bytes);

    if (w == 0) {
        return -1;
    }
    memset(mem, 0, sk_sketch_bytes(w));
    h->width = w;
    h->bytes = bytes;
    h->magic = SK_SKETCH_MAGIC;
    return 0;
}

int
sk_sketch_valid(const void *mem, size_t bytes)
{
    const sk_sketch_hdr *h = mem;

    return h->magic == SK_SKETCH_MAGIC && h->bytes == bytes
           && h->width == sk_sketch_width_for(bytes);
}

uint64_t
sk_sketch_key(const char *track_id, size_t len, uint32_t slice)
{
    uint64_t h = 1469598103934665603ULL;
    size_t   i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) track_id[i];
        h *= 1099511628211ULL;
    }
    return mix(h ^ ((uint64_t) (slice + 1) * 0x9e3779b97f4a7c15ULL));
}

/*
 * Epochs a cell is ahead of e (1 or 2: a request stamped a little earlier
 * than the cell's last update, e.g. by another worker that read the clock
 * first), else 0.  An empty cell is never ahead: its epoch means nothing.
 */
static uint32_t
ahead(uint32_t cell, uint32_t e)
{
    uint32_t a = ((cell >> SK_CELL_BITS) - e) & SK_EPOCH_MASK;

    return (cell & SK_CELL_MAX) && a <= SK_SKETCH_SKEW ? a : 0;
}

/* A cell's count at epoch e: halved once per epoch since its last update
 * (not at all for an update from a slightly earlier epoch). */
static uint32_t
decayed(uint32_t cell, uint32_t e)
{
    uint32_t d = (e - (cell >> SK_CELL_BITS)) & SK_EPOCH_MASK;
    uint32_t c = cell & SK_CELL_MAX;

    if (c == 0 || ahead(cell, e)) {
        return c;
    }
    return d >= SK_CELL_BITS ? 0 : c >> d;
}

static uint32_t
newer_epoch(uint32_t cell, uint32_t e)
{
    return ahead(cell, e) ? cell >> SK_CELL_BITS : e;
}

void
sk_sketch_observe(void *mem, uint64_t key, int64_t now_s, sk_admit_in *in)
{
    sk_sketch_hdr *h = mem;
    uint32_t      *cells = (uint32_t *) (h + 1);
    uint64_t      *last, tag, old, val;
    uint32_t       w = h->width, mask = w - 1, now;
    int            k, r;

    now = now_s < 0 ? 0 : (now_s > UINT32_MAX ? UINT32_MAX
                                               : (uint32_t) now_s);
    for (k = 0; k < SK_SKETCH_WINDOWS; k++) {
        uint32_t e = (now / half_life[k]) & SK_EPOCH_MASK;
        uint32_t min = SK_CELL_MAX;

        for (r = 0; r < SK_SKETCH_ROWS; r++) {
            uint32_t *p = &cells[((size_t) k * SK_SKETCH_ROWS + r) * w
                                 + (mix(key + row_seed[r]) & mask)];
            uint32_t  cur = __atomic_load_n(p, __ATOMIC_RELAXED), c, nv;

            do {
                c = decayed(cur, e);
                nv = (newer_epoch(cur, e) << SK_CELL_BITS)
                     | (c < SK_CELL_MAX ? c + 1 : c);
            } while (!__atomic_compare_exchange_n(p, &cur, nv, 1,
                                                  __ATOMIC_RELAXED,
                                                  __ATOMIC_RELAXED));
            if (c < min) {
                min = c;
            }
        }
        if (k == 0) {
            in->count_short = min;
        } else {
            in->count_long = min;
        }
    }

    last = (uint64_t *) (cells + (size_t) w * SK_SKETCH_ROWS
                                 * SK_SKETCH_WINDOWS);
    tag = (key >> 32) | 1;          /* never 0: 0 is an empty slot */
    val = (tag << 32) | now;
    old = __atomic_exchange_n(&last[key & mask], val, __ATOMIC_RELAXED);
    if ((old >> 32) == tag) {
        uint32_t then = (uint32_t) old;

        in->since_s = now >= then ? (double) (now - then) : 0.0;
    } else {
        in->since_s = -1;
    }
    __atomic_fetch_add(&h->requests, 1, __ATOMIC_RELAXED);
}

uint64_t
sk_sketch_requests(const void *mem)
{
    const sk_sketch_hdr *h = mem;

    return __atomic_load_n(&h->requests, __ATOMIC_RELAXED);
}
