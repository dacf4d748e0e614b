/*
 * Learned cache admission over a replayed trace (docs/admission.md): the
 * walk that turns each request of a cache trace into the admission model's
 * inputs, through the same sketch (core/admit_sketch.h) and the same
 * features (core/featurize.h) as the nginx module, and what is built on
 * it: the learned policy's decisions (t->admit), a per-request dump for
 * the parity test with nginx, Belady labels and the trainer.
 */
#ifndef SKIP_ADMIT_H
#define SKIP_ADMIT_H

#include <stdio.h>

#include "cachesim.h"
#include "cachesim_replay.h"
#include "../core/model.h"
#include "../train/trainer.h"

typedef struct {
    const sk_prepared  *p;
    const sk_replay    *rp;         /* the listens (row_of, track_of) */
    const sk_trace     *t;          /* the cache trace: rp->trace, or its
                                       slices (t->parent set) */
    double              slice_bytes;    /* 0: whole tracks */
    double              bitrate_kbps;
    size_t              sketch_bytes;
    const sk_history   *hist;       /* the records of the requests; NULL:
                                       the trainer's (sk_row_inputs) */
} sk_admit_src;

/* Per request: its index in t, the records and the context (with
 * ctx->admit filled), and the listen's labelled row. */
typedef int (*sk_admit_fn)(void *arg, size_t i, const sk_user_rec *u,
    const sk_track_rec *tr, const sk_context *ctx, const sk_labelled *row);

/*
 * Walk t in order through a fresh sketch of s->sketch_bytes, calling fn
 * for every request (fn returning non-zero stops the walk).  0, or -1 with
 * err (out of memory, a sketch too small, or fn's failure).
 */
int sk_admit_walk(const sk_admit_src *s, sk_admit_fn fn, void *arg,
    char *err, size_t errlen);

/*
 * The learned policy's decisions: t->admit[i] = admission model am scores
 * request i at or above its threshold.  Also counts them.  s->t must be
 * writable through t.  0, or -1 with err.
 */
int sk_admit_decide(const sk_admit_src *s, sk_trace *t, const sk_model *am,
    uint64_t *admitted, char *err, size_t errlen);

/*
 * One line per request of t, what nginx is asked and decides (the parity
 * test replays it): user id, track id, slice index, request time (s),
 * hour, session position, P(play) and the decision, tab separated.
 */
int sk_admit_dump(const sk_admit_src *s, const sk_model *am, FILE *out,
    char *err, size_t errlen);

/*
 * Belady labels at capacity bytes: y[i] = 1 when Belady with bypass holds
 * request i's object until its next request (admitting it now would pay).
 * y has t->n entries.  Returns the number of positives, or -1 (no memory).
 */
long sk_admit_labels(const sk_trace *t, uint64_t capacity, uint8_t *y);

/*
 * Reuse-distance labels: y[i] = 1 when the object is requested again
 * within `horizon` bytes of requests (all objects') after request i: what
 * an LRU cache that keeps objects that long would hit.  Positives, or -1.
 */
long sk_admit_labels_reuse(const sk_trace *t, double horizon, uint8_t *y);

#endif
