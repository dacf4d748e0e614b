/*
 * Cache simulation (skipctl simulate, docs/simulate.md): replay a request
 * trace through ONE shared cache of a fixed byte capacity under an
 * admission and eviction policy, and count what an operator pays for:
 * hits, bytes served from the cache, bytes fetched from the origin and
 * bytes written into the cache (disk writes).
 *
 * A trace is a list of requests in time order, each for one whole object
 * (a track) of a known size, carrying the skip model's decision and the
 * true outcome.  Objects are dense ids 0..n_objects-1, so every per-object
 * table is a plain array: O(1) without hashing.
 *
 * Policies (all with the same capacity; every LRU one is a doubly linked
 * list threaded through per-object arrays):
 *
 *   lru           admit every miss, evict the least recently used: nginx
 *                 proxy_cache's default.
 *   min-uses-2    admit on the 2nd request of an object within `inactive`
 *                 of the previous one (proxy_cache_min_uses 2; an evicted
 *                 object starts counting again, as nginx drops its node).
 *   tinylfu       TinyLFU admission: a count-min sketch of recent request
 *                 frequencies, halved every 10 x (cache entries) requests;
 *                 a miss that needs room is admitted only when its
 *                 estimated frequency beats that of every LRU victim it
 *                 would evict.
 *   skip          proxy_cache_bypass + proxy_no_cache $skip_bypass (the
 *                 project's first example configuration).  A
 *                 "skip" request neither reads nor writes the cache (it is
 *                 a miss even when the track is cached); a "play" request
 *                 behaves as in lru.
 *   skip-nocache  proxy_no_cache $skip_bypass alone (conf/nginx-skip.conf
 *                 since this simulation showed the above): a "skip" request is
 *                 served from the cache when the track is there, and not
 *                 stored when it is not.
 *   skip+tinylfu  skip-nocache, then TinyLFU admission for "play" misses.
 *   skip+min-uses-2  skip-nocache and proxy_cache_min_uses 2: what stock
 *                 nginx can combine (every request counts a use; a "play"
 *                 miss is stored from the 2nd use on).
 *   oracle-skip   skip with the true outcome in place of the model's
 *                 decision: what a perfect skip predictor would give.
 *   oracle-nocache  skip-nocache with the true outcome.
 *   learned       learned admission (admit_model.h): a miss is stored
 *                 when the admission model's decision for the request,
 *                 precomputed in t->admit, says so; LRU eviction.
 *   belady        offline ceiling: on a miss, bypass an object never
 *                 requested again; otherwise make room by evicting the
 *                 objects requested farthest in the future, but only those
 *                 requested after the newcomer, else bypass it.  Exact for
 *                 equal sizes (Belady's MIN with bypass); with variable
 *                 sizes the optimum is NP-hard and this is the standard
 *                 farthest-next-use heuristic.
 */
#ifndef SKIP_CACHESIM_H
#define SKIP_CACHESIM_H

#include <stddef.h>
#include <stdint.h>

#define SK_SIM_NEVER  UINT32_MAX    /* "no next request", "no object" */

/* Request flags. */
#define SK_SIM_PREDICT_PLAY  0x01   /* the model says play */
#define SK_SIM_PLAYED        0x02   /* the listener did play it in full */

typedef struct {
    size_t     n;            /* requests, in time order (< SK_SIM_NEVER) */
    uint32_t   n_objects;
    uint32_t  *obj;          /* [n] object of each request */
    int64_t   *ts_ms;        /* [n] request time, non-decreasing */
    uint8_t   *flags;        /* [n] SK_SIM_PREDICT_PLAY | SK_SIM_PLAYED */
    float     *listened;     /* [n] share of the object listened, 0..1
                                (1 for plays; prefetch economics) */
    double    *p_play;       /* [n] the model's P(play) for the request
                                (0 unless set; the prefetch curve) */
    uint64_t  *size;         /* [n_objects] bytes, > 0 */
    uint32_t  *next;         /* [n] index of the next request for the
                                same object, or SK_SIM_NEVER: set by
                                sk_trace_finish */

    /* Slice traces only (sk_trace_slices; NULL for whole tracks): */
    uint32_t  *obj_track;    /* [n_objects] the whole-track object */
    uint32_t  *obj_slice;    /* [n_objects] slice index, 0 first */
    uint32_t  *parent;       /* [n] the whole-track request (the listen) */

    /* The learned admission policy's decisions (sk_trace_admit_alloc;
     * NULL until set): 1 = admit this request if it misses. */
    uint8_t   *admit;
} sk_trace;

/* Allocate a trace for n requests and n_objects objects (arrays zeroed,
 * listened set to 1, p_play 0).  0, or -1 when out of memory or n is too large. */
int sk_trace_init(sk_trace *t, size_t n, uint32_t n_objects);

/* Compute next[] (Belady's future knowledge) once the requests are
 * filled.  0, or -1 when out of memory. */
int sk_trace_finish(sk_trace *t);

/* Bytes of the distinct objects requested, and of all requests. */
uint64_t sk_trace_unique_bytes(const sk_trace *t);
uint64_t sk_trace_requested_bytes(const sk_trace *t);

void sk_trace_free(sk_trace *t);

/*
 * The slice trace of a whole-track trace w (nginx `slice`, slice > 0
 * bytes): the cached objects are the tracks' slices, object (track o,
 * slice j) of min(slice, size - j x slice) bytes.  A full play requests
 * every slice of its track, a skipped one the slices up to the one holding
 * its skip point (listened share; the first one at least), all at the
 * listen's time, in slice order.  Flags and P(play) are the listen's.
 * s is finished (next[] set).  0, or -1 when out of memory or too large.
 */
int sk_trace_slices(const sk_trace *w, uint64_t slice, sk_trace *s);

/* Slices requested by request i of a whole-track trace (at least 1). */
uint32_t sk_trace_slices_requested(const sk_trace *w, size_t i,
    uint64_t slice);

/* Allocate t->admit (zeroed).  0, or -1 when out of memory. */
int sk_trace_admit_alloc(sk_trace *t);


typedef enum {
    SK_POL_LRU = 0,
    SK_POL_MIN_USES,
    SK_POL_TINYLFU,
    SK_POL_SKIP,
    SK_POL_SKIP_NOCACHE,
    SK_POL_SKIP_TINYLFU,
    SK_POL_SKIP_MIN_USES,
    SK_POL_ORACLE_SKIP,
    SK_POL_ORACLE_NOCACHE,
    SK_POL_BELADY,
    SK_POL_LEARNED,
    SK_N_POLICIES
} sk_policy;

/* "lru", "min-uses-2", ...; sk_policy_parse: the policy, or -1. */
const char *sk_policy_name(sk_policy p);
int sk_policy_parse(const char *s, size_t len);
/* One line saying what the policy does (for --help and reports). */
const char *sk_policy_summary(sk_policy p);

typedef struct {
    uint64_t  capacity;      /* bytes, > 0 */
    int64_t   inactive_ms;   /* min-uses: longest gap between two uses */
    unsigned  min_uses;      /* min-uses: requests before storing (2) */
    uint64_t  mean_size;     /* tinylfu: mean object size, to size the
                                sketch (0: the trace's mean) */
} sk_sim_config;

/* Defaults: inactive 1 h, min_uses 2, mean_size 0 (capacity unset). */
void sk_sim_config_default(sk_sim_config *c);

typedef struct {
    uint64_t  requests, hits;
    uint64_t  bytes;          /* requested */
    uint64_t  hit_bytes;      /* served from the cache */
    uint64_t  origin_bytes;   /* fetched from the origin: bytes - hit_bytes */
    uint64_t  written_bytes;  /* stored into the cache */
    uint64_t  admissions, evictions;
    uint64_t  not_stored;     /* misses served from the origin and not
                                 stored (refused, skip, too large) */
    uint64_t  skip_decisions; /* requests decided "skip" (skip policies) */
    uint64_t  too_large;      /* misses for objects above the capacity */
} sk_sim_result;

/* What one request did. */
typedef enum {
    SK_SIM_HIT = 0,
    SK_SIM_STORED,            /* miss, fetched and stored */
    SK_SIM_NOT_STORED         /* miss, fetched and not stored */
} sk_sim_outcome;

typedef struct sk_cachesim sk_cachesim;

/* A cache for trace t (which must outlive it), empty.  NULL: no memory. */
sk_cachesim *sk_cachesim_new(const sk_trace *t, sk_policy p,
    const sk_sim_config *cfg);

/* Replay the next request of the trace: its sk_sim_outcome, or -1 when
 * the trace is done. */
int sk_cachesim_step(sk_cachesim *c);

/* Replay the rest of the trace. */
void sk_cachesim_run(sk_cachesim *c);

int sk_cachesim_cached(const sk_cachesim *c, uint32_t obj);
uint64_t sk_cachesim_used(const sk_cachesim *c);
const sk_sim_result *sk_cachesim_result(const sk_cachesim *c);
void sk_cachesim_free(sk_cachesim *c);

/* The whole trace through a fresh cache.  0, or -1 when out of memory. */
int sk_simulate(const sk_trace *t, sk_policy p, const sk_sim_config *cfg,
    sk_sim_result *r);


/*
 * Prefetch economics, independent of caching: on each request a player
 * either fetches the whole track ahead ("prefetch") or streams only what
 * is listened.  A prefetched track that is then skipped wastes the bytes
 * after the skip point; a played track that was not prefetched was
 * streamed without a buffer ahead (the latency risk prefetch removes).
 *
 * With slices (nginx `slice`, slice > 0 bytes) the track is fetched in
 * slices: the listener requests the slices up to its skip point (all of
 * them for a full play; at least the first), and a prefetch warms the
 * slices after the first.  Waste is then the prefetched slices nobody
 * requested.  slice 0: the whole track is one object, streaming fetches
 * exactly the bytes heard and waste is the bytes after the skip point.
 */
typedef enum {
    SK_PF_NEVER = 0,          /* stream everything */
    SK_PF_ALWAYS,             /* prefetch every track */
    SK_PF_MODEL,              /* prefetch when the model says play */
    SK_PF_ORACLE,             /* prefetch exactly the tracks played */
    SK_N_PREFETCH
} sk_prefetch_policy;

typedef struct {
    uint64_t  requests, plays, skips;
    double    fetched_bytes;      /* what the player fetched */
    double    listened_bytes;     /* what was listened (the same for all) */
    double    requested_bytes;    /* of the slices the listeners requested
                                     (= listened_bytes without slices) */
    double    wasted_bytes;       /* prefetched and never requested */
    uint64_t  plays_prefetched, skips_prefetched;
} sk_prefetch_result;

const char *sk_prefetch_name(sk_prefetch_policy p);
/* Whole tracks (slice 0). */
void sk_prefetch_eval(const sk_trace *t, sk_prefetch_policy p,
    sk_prefetch_result *r);
/* slice: bytes per slice, 0 for whole tracks. */
void sk_prefetch_eval_sliced(const sk_trace *t, sk_prefetch_policy p,
    uint64_t slice, sk_prefetch_result *r);

/*
 * The prefetch threshold curve (skip_prefetch_threshold): prefetch a
 * request when its P(play) >= T, for each T given.  Coverage is the share
 * of the full plays' prefetchable bytes (after their first slice; the
 * whole track without slices) that were prefetched: the bytes a listener
 * who plays to the end finds already fetched.  Waste is compared with
 * T = 0, which prefetches every request (prefetch-always).
 */
typedef struct {
    double    threshold;
    uint64_t  prefetched;         /* requests prefetched */
    uint64_t  plays_prefetched, skips_prefetched;
    double    covered_bytes;      /* prefetchable bytes of full plays
                                     prefetched */
    double    wasted_bytes;       /* prefetched, never requested */
    double    fetched_bytes;      /* requested + wasted: the origin's bytes
                                     without a shared cache */
    double    coverage;           /* covered / base play_prefetchable
                                     (NAN when that is 0) */
    double    waste_share;        /* wasted / base always_wasted (0 when
                                     prefetching everything wastes 0) */
} sk_pf_point;

typedef struct {
    uint64_t      slice;          /* bytes; 0 whole tracks */
    uint64_t      requests, plays, skips;
    double        listened_bytes, requested_bytes;
    double        play_prefetchable_bytes;  /* coverage's denominator */
    double        always_wasted_bytes;      /* prefetch-always's waste */
    size_t        n;
    sk_pf_point  *pt;             /* [n] in the order of the thresholds */
} sk_pf_curve;

/* The curve of t at n thresholds, ascending.  O(requests x log n + n).
 * 0, or -1 when out of memory or the thresholds are not ascending. */
int sk_pf_curve_build(sk_pf_curve *c, const sk_trace *t, uint64_t slice,
    const double *thresholds, size_t n);

/*
 * The point to configure for a waste budget (a share of prefetch-always's
 * waste): the greatest coverage among the points whose waste_share is at
 * most budget, ties to the least waste, then to the first point.  Its
 * index, or -1 when no point meets the budget.
 */
long sk_pf_curve_choose(const sk_pf_curve *c, double budget);

/*
 * Thresholds for a curve: 0, step, 2 step .. 1 (each rounded to 1e-9, so
 * that 10 x 0.05 is 0.5; 1 always included) and the n_extra given, in
 * [0, 1], sorted, without repeats.  Their number, at most max (the grid
 * is cut short to leave room for the extra ones).
 */
size_t sk_pf_thresholds(double step, const double *extra, size_t n_extra,
    double *out, size_t max);

/*
 * The skip_prefetch_threshold for a waste budget: sk_pf_curve_choose on
 * the thresholds 0, 0.001 .. 1 and the n_extra given (the printed curve's,
 * so that its choice is never worse than one of them).  0 with *best set,
 * 1 when no threshold meets the budget, -1 when out of memory.
 */
#define SK_PF_FINE_STEP  0.001

int sk_pf_threshold_for_budget(const sk_trace *t, uint64_t slice,
    double budget, const double *extra, size_t n_extra, double *best);

void sk_pf_curve_free(sk_pf_curve *c);

#endif
