/*
 * Per-listener taste history (core/taste.h) built from labelled plays, with
 * the same counting rules as sk_history_add: a play counts once under each
 * user genre of its track's artist, once under the local hour of its
 * request, once under its artist.
 *
 * Counts are kept per fold of training sessions plus a total, so that the
 * trainer can give a training row the taste of the other folds only (out of
 * fold, as for the records: never its own label) and a test row the whole
 * training window (every training session started before every test
 * session: earlier events only).
 *
 * Memory: users x (folds + 1) x 74 x 2 counts for genres and hours (15 MB
 * at --scale 1), and one 8-byte key plus (folds + 1) x 2 16-bit counts per
 * (user, artist) pair that has history, in an open-addressing table that
 * grows (~1.5 M pairs, ~90 MB at --scale 1).  Built only for plans that
 * use taste features.
 */
#ifndef SKIP_TASTE_HIST_H
#define SKIP_TASTE_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "../core/taste.h"

#define SK_TASTE_SLOTS (SK_N_GENRES + SK_HOURS)   /* genres, then hours */

typedef struct {
    int        nf;          /* folds (>= 1); slot nf holds the total */
    size_t     n_users;
    uint32_t  *gh;          /* [user][nf + 1][SK_TASTE_SLOTS][2] */
    uint64_t  *keys;        /* (user + 1) << 32 | artist; 0 = empty */
    uint16_t  *ac;          /* [slot][nf + 1][2], saturating */
    size_t     cap, used;
} sk_taste_hist;

/* Zero counts for n_users users and folds folds (0 = one).  -1: memory. */
int sk_taste_hist_init(sk_taste_hist *th, size_t n_users, int folds);
void sk_taste_hist_free(sk_taste_hist *th);

/*
 * Count one labelled play (label 1 play, 0 skip) of user in fold (0 when
 * there are no folds).  artist: the track's artist index or UINT32_MAX
 * (none); genres: the artist's user-genre bits; hour: 0..23 or -1.
 * -1: out of memory growing the artist table.
 */
int sk_taste_hist_add(sk_taste_hist *th, uint32_t user, uint32_t artist,
    uint64_t genres, int hour, int fold, int label);

/*
 * The taste a request for a track of (artist, genres) at hour needs: the
 * total counts, minus fold except (-1: none).  Fills the genres in genres,
 * the hours hour - 3 .. hour + 3 and the artist (what the features read);
 * every other entry is 0.
 */
void sk_taste_hist_get(const sk_taste_hist *th, uint32_t user,
    uint32_t artist, uint64_t genres, int hour, int except, sk_taste *out);

/*
 * The total counts of user, [slot][0] plays, [slot][1] skips over the
 * SK_TASTE_SLOTS genre and hour slots (what `skipctl features load`
 * stores, taste_stored.h), or NULL for an unknown user.
 */
const uint32_t *sk_taste_hist_totals(const sk_taste_hist *th, uint32_t user);

#endif
