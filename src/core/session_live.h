/*
 * The session context (taste.h sk_session) as a server gets it live
 * (docs/taste-features.md, "Session context"): plain C shared by the nginx
 * module, `skipctl predict` and the unit tests, so that all of them read
 * the same strings into the same doubles.
 *
 * Two sources:
 *
 *   the hash <prefix>:sess:<session> (keys.h), kept by the events script
 *   (store_scripts.h) with the trainer's rules (src/data/session_ctx.c):
 *
 *     p   tracks of the session labelled "played" so far (decimal)
 *     s   ... labelled "skipped"
 *     l   the last labelled track's outcome: 1 played, 0 skipped
 *     k   that track's id
 *     r   sum over the labelled tracks of (skipped - expected P(skip)),
 *         "%.17g", or "unknown" once a track's expectation was missing
 *     e   the last labelled track's expected P(skip), or "unknown"
 *     e:<track>  the expected P(skip) the module computed when it served
 *         <track> in this session, waiting for the track's first event
 *         (which moves it into r and e)
 *
 *   and the player's own counts (skip_session_counts: plays, skips and the
 *   previous outcome), which a Skip in flight cannot make stale.
 */
#ifndef SKIP_SESSION_LIVE_H
#define SKIP_SESSION_LIVE_H

#include <stddef.h>

#include "taste.h"

/* The fields the module fetches, in HMGET order. */
#define SK_SESS_NFETCH  5
extern const char *const sk_session_fields[SK_SESS_NFETCH];  /* p s l r e */

/* What "r" and "e" hold when the expectation was not known. */
#define SK_SESS_UNKNOWN  "unknown"

/* Longest count the hash and the player may give (9 digits). */
#define SK_SESS_COUNT_MAX  999999999

/* Longest "%.17g" of a double, with the NUL. */
#define SK_SESS_REALMAX  32

/*
 * An HMGET reply (vals[i] NULL: field absent) -> *out.  No field at all:
 * a session without a labelled track yet (0 plays, 0 skips, no previous
 * track, resid 0), as the trainer sees a session's first play.  SK_REC_OK,
 * or SK_REC_MALFORMED with err naming the field and its text (control
 * bytes as '?'); *out is then unknown (plays = skips = -1).
 */
int sk_session_decode(sk_session *out, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);

/* The unknown session (every session feature abstains). */
void sk_session_unknown(sk_session *out);

/*
 * A count of the player's (0..SK_SESS_COUNT_MAX, decimal, no sign) -> its
 * value, or -1.
 */
int sk_session_count(const char *s, size_t len);

/* "play" -> 1, "skip" -> 0, "none" -> -1 (the first track); else -2. */
int sk_session_prev(const char *s, size_t len);

/*
 * 1 when parsed counts and a previous outcome fit together: a previous
 * track exactly when a track was counted (plays + skips > 0).
 */
int sk_session_counts_ok(int plays, int skips, int prev);

/*
 * A real as the hash and `skipctl predict` write it (strtod's syntax, the
 * whole text, finite), or SK_SESS_UNKNOWN -> NaN.  0, or -1 when it is
 * neither.
 */
int sk_session_real(const char *s, size_t len, double *v);

/*
 * The player's counts (plays, skips >= 0; prev 1/0/-1) over the hash's
 * context (hash NULL: none read, or unknown): the counts are the player's;
 * the residual and the previous expectation are the hash's when both
 * count the same tracks (a Skip still in flight then only turned a play of
 * the hash into a skip: resid + (skips - hash skips)), else unknown (NaN;
 * the features that read them take 0), except for a first track (nothing
 * labelled: 0).
 */
void sk_session_merge(sk_session *out, const sk_session *hash, int plays,
    int skips, int prev);

#endif
