/*
 * The listener's taste (taste.h) in Redis: what `skipctl features load`
 * writes, the events script updates and the module fetches with GET in
 * the same pipelined round trip as the two records
 * (docs/taste-features.md).
 *
 *   <prefix>:<snap>:ut:<user>   string "g0=12:24,g7=3:0,h09=5:2": one
 *                               entry per slot with history, in slot
 *                               order; "g<i>" (i = the user genre's index,
 *                               genres.h) or "h<hh>" (local hour 00..23),
 *                               "<plays>:<skips>" in decimal.  Absent for a
 *                               listener without any history.
 *
 * Why one string and not a hash of 74 fields: the module's client library
 * makes a reply object per bulk string, and for a hash of ~60 fields that
 * cost ~15 us of worker CPU per request (measured), ten times the decoding
 * itself; one string is one object.  The events script rewrites the whole
 * value (under 1 KB) in Lua instead of HSET-ing fields.
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

/* Longest value: every slot "h23=4294967295:4294967295," and the NUL. */
#define SK_TASTE_TEXTMAX  (SK_TASTE_NFIELDS * 26 + 1)

/*
 * counts ([slot][0] plays, [slot][1] skips over the SK_TASTE_NFIELDS
 * slots, taste_hist.h) -> the stored value in buf (SK_TASTE_TEXTMAX
 * bytes); its length, 0 when no slot has history (store nothing).
 */
size_t sk_taste_encode(const uint32_t *counts, char *buf, size_t size);

/*
 * A stored value (s NULL: no key) -> taste: every count 0 but those given,
 * artist unknown (artist[0] = -1); *nentries entries.  SK_REC_OK, or
 * SK_REC_MALFORMED with err naming the entry (an unknown name, a repeated
 * one, a count that does not parse); taste is then zeros and must not be
 * used.
 */
int sk_taste_decode(sk_taste *taste, const char *s, size_t len,
    size_t *nentries, char *err, size_t errlen);

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
