/*
 * The admission frequency sketch (docs/admission.md): per cached object (a
 * track, or one slice of it) decayed request counts at two half-lives and
 * the time of its previous request, in ONE flat block of memory that the
 * simulator and the trainer malloc and the nginx module places in a shared
 * memory zone (skip_admit_zone), so that every worker sees one count.
 *
 * Layout: a header, then SK_SKETCH_WINDOWS x SK_SKETCH_ROWS rows of
 * `width` 32-bit cells (count-min sketches), then `width` 64-bit
 * last-seen slots.  Everything is a function of the block's size, so the
 * same size gives the same sketch anywhere.
 *
 * Decay without a sweep: a cell packs the epoch of its last update (now /
 * half-life, 12 bits) with its count (20 bits); reading or updating it
 * first halves the count once per epoch passed.  So an update is O(1): a
 * few cells, never the whole table.
 *
 * Concurrency: cells and slots are updated with relaxed atomic
 * compare-and-swap / exchange (GCC builtins), no lock.  Workers never wait
 * for each other; two racing updates of one cell both land (the loser of a
 * CAS retries on the fresh value).  A reader can see a count that another
 * worker is about to raise: admission is a heuristic, one request of skew
 * is harmless, and no ordering between cells is needed.  With one worker
 * (or one thread) the sketch is deterministic given the request order,
 * which is what lets `skipctl simulate` reproduce nginx's decisions.
 */
#ifndef SKIP_ADMIT_SKETCH_H
#define SKIP_ADMIT_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

#define SK_SKETCH_ROWS       4
#define SK_SKETCH_WINDOWS    2
#define SK_SKETCH_SHORT_S    3600      /* half-life of count_short */
#define SK_SKETCH_LONG_S     86400     /* half-life of count_long */
#define SK_SKETCH_MIN_WIDTH  64
#define SK_SKETCH_DEFAULT    (16 * 1024 * 1024)   /* bytes */

/* Bytes of a sketch of `width` cells per row. */
size_t sk_sketch_bytes(uint32_t width);

/* The width (a power of two) a block of `bytes` holds; 0 when too small. */
uint32_t sk_sketch_width_for(size_t bytes);

/* Format a block: 0, or -1 when it is too small for the smallest sketch. */
int sk_sketch_init(void *mem, size_t bytes);

/* 1 when mem holds a sketch formatted for exactly this many bytes. */
int sk_sketch_valid(const void *mem, size_t bytes);

/* The object key of slice `slice` (0 for a whole track) of a track id. */
uint64_t sk_sketch_key(const char *track_id, size_t len, uint32_t slice);

/*
 * One request for object `key` at now_s (seconds since the epoch): fills
 * in->count_short, count_long and since_s as they were before it, then
 * counts it.  Lock-free; O(SK_SKETCH_ROWS x SK_SKETCH_WINDOWS).
 */
void sk_sketch_observe(void *mem, uint64_t key, int64_t now_s,
    sk_admit_in *in);

/* Requests observed since the block was formatted. */
uint64_t sk_sketch_requests(const void *mem);

#endif
