/*
 * Joining logged predictions with the listens that followed them, and the
 * per-arm confusion matrices of skipctl abreport.
 *
 * A listen is one (session, track) of a user in the events: skipped when
 * any Skip event is among its events (the original project's label rule),
 * played in full otherwise; its time is its earliest Play/Skip event.  This
 * holds for both ways of reporting a listen: the Pozytywka way (Play at the
 * start, then a Skip if skipped) and one outcome event per listen (what
 * skipctl replay posts).
 *
 * The join: predictions and listens of the same (user, track) are taken in
 * time order, and each prediction made at time t gets the earliest listen
 * not yet joined whose time lies in [t - before, t + after].  Each listen
 * joins at most one prediction.  A listen earlier than every prediction's
 * window is left alone, so a stale outcome never answers a newer request.
 */
#ifndef SKIP_ABJOIN_H
#define SKIP_ABJOIN_H

#include <stddef.h>
#include <stdint.h>

#define SK_AB_TRACK  64

typedef struct {
    int64_t  user_id;
    int64_t  time_ms;
    char     track[SK_AB_TRACK + 1];
    int      arm;              /* index in the caller's arm table */
    int      decision;         /* 1 play, 0 skip (SK_DECIDE_*) */
    int      actual;           /* set by the join: 1 play, 0 skip, -1 none */
    long     order;            /* input position, to restore the order */
} sk_ab_pred;

typedef struct {
    int64_t  user_id;
    int64_t  session_id;
    int64_t  time_ms;
    char     track[SK_AB_TRACK + 1];
    int      skipped;          /* 1 Skip, 0 Play (per event; per listen
                                  after sk_ab_listens) */
} sk_ab_listen;

/*
 * Fold Play/Skip events (one sk_ab_listen each, skipped = 1 for a Skip) into
 * listens in place: sorts ev and merges each (user, track, session) run.
 * Returns the number of listens now at the front of ev.
 */
size_t sk_ab_listens(sk_ab_listen *ev, size_t n);

/*
 * Join (see above): sets pred[i].actual.  Sorts both arrays by (user,
 * track, time); listens must come from sk_ab_listens.  Returns the number
 * of predictions joined.
 */
size_t sk_ab_join(sk_ab_pred *pred, size_t np, sk_ab_listen *lis, size_t nl,
    int64_t before_ms, int64_t after_ms);

/* Confusion matrix: cm[predicted][actual], index 1 = play, 0 = skip. */
typedef struct {
    long  cm[2][2];
} sk_ab_counts;

typedef struct {
    long    k, n;              /* successes, trials */
    double  p, lo, hi;         /* k/n (0 when n = 0) and Wilson 95 % CI */
} sk_ab_rate;

typedef struct {
    sk_ab_rate  accuracy;
    sk_ab_rate  precision[2];  /* [class]: of predicted class, how many were */
    sk_ab_rate  recall[2];     /* [class]: of actual class, how many found */
    sk_ab_rate  play_share;    /* actual plays / joined: the always-play
                                  baseline accuracy */
} sk_ab_metrics;

void sk_ab_metrics_compute(const sk_ab_counts *c, sk_ab_metrics *m);

#endif
