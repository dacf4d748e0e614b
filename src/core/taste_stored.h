/*
 * The listener's taste (taste.h) in Redis: what `skipctl features load`
 * writes, the events script updates and the module fetches with HGETALL
 * in the same pipelined round trip as the two records
 * (docs/taste-features.md).
 *
 *   <prefix>:<snap>:ut:<user>   hash; field "g<i>" (i = the user genre's
 *                               index, genres.h) or "h<hh>" (local hour
 *                               00..23), value "<plays>:<skips>" (decimal
 *                               counts).  A field exists only where the
 *                               listener has history, so the hash of a
 *                               listener without any is absent.
 *
 * The artist counts are not stored (yet): the track records do not carry
 * the artist.  A decoded taste therefore has artist[0] = -1, "unknown",
 * and the two artist features abstain (featurize.c) in the module and in
 * `skipctl predict` alike.
 */
#ifndef SKIP_TASTE_STORED_H
#define SKIP_TASTE_STORED_H

#include <stddef.h>
#include <stdint.h>

#include "taste.h"

#define SK_TASTE_NFIELDS  (SK_N_GENRES + SK_HOURS)
#define SK_TASTE_NAMEMAX  4      /* "g49", "h23" and the NUL */
#define SK_TASTE_VALMAX   24     /* "4294967295:4294967295" and the NUL */

/* Field name of slot i (genres first, then hours); its length. */
size_t sk_taste_field(int slot, char name[SK_TASTE_NAMEMAX]);

/* "<plays>:<skips>" of two counts; its length. */
size_t sk_taste_value(uint32_t plays, uint32_t skips,
    char val[SK_TASTE_VALMAX]);

/*
 * An HGETALL reply's n field/value pairs -> taste: every count 0 but those
 * given, artist unknown (artist[0] = -1).  SK_REC_OK, or SK_REC_MALFORMED
 * with err naming the field and its value (an unknown field name, a count
 * that does not parse); taste is then all unknown-free zeros and must not
 * be used.
 */
int sk_taste_decode(sk_taste *taste, const char *const *names,
    const size_t *nlens, const char *const *vals, const size_t *vlens,
    size_t n, char *err, size_t errlen);

/*
 * Whether a fetched taste may be scored with: it decoded (rc SK_REC_OK)
 * and either has fields or belongs to a listener without any labelled
 * play (whose hash is absent by design: all counts 0).  An empty hash of a
 * listener with history means no taste was loaded (an older snapshot, a
 * lost key): unknown, the features abstain rather than read "no history".
 */
int sk_taste_usable(int rc, size_t nfields, double user_plays,
    double user_skips);

#endif
