/*
 * From a dataset and a model to a cache simulation trace (cachesim.h): the
 * held-out labelled plays of the trainer's own split (sk_prepare), in
 * request-time order across all test sessions, each one request for the
 * whole track.  Each request carries the model's P(play) and decision,
 * scored exactly as `skipctl eval` scores the row (sk_row_inputs +
 * sk_model_score: the training window's records, as the module would read
 * them from Redis), and the true outcome.
 *
 * Object size = duration_ms x bitrate (constant bitrate, no container
 * overhead); a track without a duration gets the median duration of the
 * dataset's tracks.
 *
 * Listened share of a skipped play (prefetch economics): listened.h, the
 * rule skipctl replay --player shares; the assumed ones are counted.
 */
#ifndef SKIP_CACHESIM_REPLAY_H
#define SKIP_CACHESIM_REPLAY_H

#include "cachesim.h"
#include "../data/listened.h"
#include "../train/trainer.h"

typedef struct {
    double   bitrate_kbps;      /* object size per second of audio */
    size_t   limit;             /* first N requests only; 0: all */
    int      skip_times;        /* 1: read Skip times from sessions.jsonl */
    double   train_tail;        /* 0: the held-out (test) plays; > 0: the
                                   training plays of the last train_tail
                                   share of training sessions instead (the
                                   admission model's training window) */
    const sk_history *hist;     /* records to score with instead of the
                                   trainer's (sk_row_inputs); NULL: those */
} sk_replay_opts;

typedef struct {
    sk_trace   trace;
    uint32_t  *track_of;        /* [n_objects] index in p->ds.tracks */
    uint32_t  *row_of;          /* [n requests] index in p->labels.rows */
    size_t     test_rows;       /* held-out rows (before the limit) */
    int64_t    first_ms, last_ms;   /* request times replayed */
    long       no_duration;     /* objects sized by the median duration */
    int64_t    median_ms;       /* that median */
    uint64_t   plays, skips;    /* true outcomes replayed */
    uint64_t   predicted_skips; /* the model's "skip" decisions */
    uint64_t   correct;         /* decisions equal to the outcome */
    long       listened_from_events;   /* skips with a Skip event time */
    long       listened_assumed;       /* skips given SK_ASSUMED_LISTENED */
} sk_replay;

/*
 * Build the trace of p's test rows scored by m.  p must come from
 * sk_prepare (its dir is read again for the Skip times).  0, or -1 with
 * err.  Free with sk_replay_free even after a failure.
 */
int sk_replay_build(sk_replay *rp, const sk_prepared *p, const sk_model *m,
    const sk_replay_opts *o, char *err, size_t errlen);
void sk_replay_free(sk_replay *rp);

#endif
