/*
 * Session context of labelled plays (core/taste.h sk_session): for every
 * labelled play, the outcomes of the plays of the same session requested
 * before it, what a player knows when it asks for the next track (a skipped
 * track's Skip comes at the next request, a full play ends before it).
 * Computed from earlier plays of the session only, in request order (the
 * labelled plays' position: time, ties by track).
 */
#ifndef SKIP_SESSION_CTX_H
#define SKIP_SESSION_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"
#include "../core/taste.h"

typedef struct {
    uint16_t  plays;        /* earlier plays of the session played in full */
    uint16_t  skips;        /* ... skipped (both saturate) */
    int8_t    prev;         /* previous play 1 played, 0 skipped, -1 none;
                               -2: unknown (positions not usable) */
    float     resid;        /* sum of (skipped - expect) over them */
    float     prev_expect;  /* expect of the previous play (0: none) */
} sk_sess_row;

/*
 * One sk_sess_row per row (same order).  Rows must be finished labels
 * (sorted by session, numbered).  expect[i] (may be NULL: 0) is row i's
 * expected P(skip) as known before it was played.  Returns NULL when out
 * of memory.
 */
sk_sess_row *sk_session_ctx_build(const sk_labelled *rows, size_t n,
    const float *expect);

/* The sk_session of one row (unknown: plays = skips = -1). */
void sk_session_of(const sk_sess_row *s, sk_session *out);

#endif
