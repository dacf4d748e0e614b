/*
 * History -> records: the user and track records (records.h) built from the
 * dataset's tables and a window of labelled plays.  The trainer builds them
 * from its training window; `skipctl features load` builds them from all
 * sessions and writes them to Redis; the module reads them back.  So a
 * record means the same thing offline and online.
 *
 *   sk_history h;
 *   sk_history_init(&h, &ds);              static facts, zero counts
 *   sk_history_add(&h, user, track, label, +1)    for every labelled play
 *   ... h.users[i] / h.tracks[j] are the records of ds.users[i] / tracks[j]
 *
 * or in one call for all sessions of a dataset directory:
 *   sk_history_build(&h, &ds, dir, opts, err, errlen)
 *
 * Static facts: a missing number in the files becomes 0 (popularity, audio
 * features, duration, cost), an unknown year 0, unknown key / mode /
 * time_signature -1, an unknown storage class "slow", an unknown premium 0.
 */
#ifndef SKIP_HISTORY_H
#define SKIP_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/dataset.h"
#include "labels.h"
#include "../core/records.h"

typedef struct {
    const sk_dataset *ds;
    sk_user_rec      *users;     /* ds->n_users records */
    sk_track_rec     *tracks;    /* ds->n_tracks records */
    double            plays;     /* totals over everything added */
    double            skips;
} sk_history;

/* Records with the static facts and zero counts.  -1: out of memory. */
int sk_history_init(sk_history *h, const sk_dataset *ds);
void sk_history_free(sk_history *h);

/* Count one labelled play (weight +1), or take one back (-1). */
void sk_history_add(sk_history *h, uint32_t user, uint32_t track, int label,
    double weight);

/* Add every row whose split is which (-1: every row). */
void sk_history_add_rows(sk_history *h, const sk_labelled *rows, size_t n,
    int which);

/* Share of skips among everything added (0.4 when empty). */
double sk_history_skip_rate(const sk_history *h);

/*
 * The records of user / track in `all` with the counts of `part` taken out:
 * out-of-fold history for training rows (trainer.c), so that no training
 * row's features contain its own label.  (Leaving out only the row itself
 * is not enough: two rates of the same track with different denominators
 * would then differ by an amount that reveals the row's label.)
 */
void sk_history_minus(const sk_history *all, const sk_history *part,
    uint32_t user, uint32_t track, sk_user_rec *u, sk_track_rec *t);

/*
 * Counts only, 16 bytes a user or a track: what one fold of training
 * sessions adds to the history.  The trainer keeps one per fold for the
 * out-of-fold records; full records per fold (static facts included, ~200
 * bytes a track) cost 1.5 GB at --scale 10 for nothing.
 */
typedef struct {
    uint32_t  plays, skips, fav_plays, fav_skips;   /* fav: user side */
} sk_counts4;                                        /* fan: track side */

typedef struct {
    sk_counts4  *users;      /* ds->n_users */
    sk_counts4  *tracks;     /* ds->n_tracks */
} sk_fold_counts;

/* Zero counts for ds.  -1: out of memory. */
int sk_fold_counts_init(sk_fold_counts *c, const sk_dataset *ds);
void sk_fold_counts_free(sk_fold_counts *c);

/* Count one labelled play (same rules as sk_history_add). */
void sk_fold_counts_add(sk_fold_counts *c, const sk_history *h,
    uint32_t user, uint32_t track, int label);

/* sk_history_minus with a fold's counts. */
void sk_history_minus_counts(const sk_history *all, const sk_fold_counts *part,
    uint32_t user, uint32_t track, sk_user_rec *u, sk_track_rec *t);

/* Labels of every session in DIR, all added.  0, or -1 with err. */
int sk_history_build(sk_history *h, const sk_dataset *ds, const char *dir,
    const sk_read_opts *opts, char *err, size_t errlen);

#endif
