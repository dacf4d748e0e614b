/*
 * What a request needs besides the user and track records and sk_context
 * for the "taste" and "session" features (docs/taste-features.md):
 *
 *   sk_taste    the listener's own labelled history by genre, by local hour
 *               and for this track's artist (counts, like the records');
 *   sk_session  the outcomes earlier in this listening session.
 *
 * Kept out of records.h on purpose: the records' Redis encoding is the
 * module's wire format, and these have none yet.  The trainer fills them
 * from earlier events (src/data/taste_hist.h, src/data/session_ctx.h); a
 * caller without them passes NULL, and every feature that needs them is
 * then unknown (NaN -> the training mean -> standardised 0, as an unsent
 * session position is): the model scores as if it had been trained
 * without them.
 */
#ifndef SKIP_TASTE_H
#define SKIP_TASTE_H

#include "genres.h"

#define SK_HOURS 24

typedef struct {
    float   genre[SK_N_GENRES][2];  /* [g][0] plays, [g][1] skips of tracks
                                       whose artist carries user genre g */
    float   hour[SK_HOURS][2];      /* by the local hour of the request */
    float   artist[2];              /* of this track's artist; artist[0]
                                       < 0: unknown (the module's case,
                                       taste_stored.h), the artist
                                       features then abstain */
} sk_taste;

typedef struct {
    int     plays;      /* tracks of the session played in full before this
                           request; -1 unknown */
    int     skips;      /* ... and skipped; -1 unknown */
    int     prev;       /* the previous track: 1 played, 0 skipped, -1 none
                           (the first request of the session) */
    double  prev_expect;    /* the previous track's expected P(skip) (as
                               for resid), 0 when there is none */
    double  resid;      /* sum over those plays of (skipped - expected
                           P(skip)), the expectation from the user's and the
                           track's smoothed rates as they stood: how much
                           more than usual this session skips */
} sk_session;

/* Inputs a feature plan needs beyond the records and sk_context. */
#define SK_INPUT_TASTE    1u
#define SK_INPUT_SESSION  2u

#endif
