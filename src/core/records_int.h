/*
 * What records.c shares with records_stored.c (the readable and the stored
 * form of one record): field indexes, the number parser and formatter, and
 * the error message of a bad field.  Not for use outside src/core/records*.
 */
#ifndef SKIP_RECORDS_INT_H
#define SKIP_RECORDS_INT_H

#include <math.h>
#include <stddef.h>

#include "records.h"

/* Field indexes, in the order of sk_user_fields / sk_track_fields. */
enum { U_FAV, U_PREMIUM, U_PLAYS, U_SKIPS, U_FAV_PLAYS, U_FAV_SKIPS };
enum {
    T_GENRES, T_NGENRES, T_PLAYS, T_SKIPS, T_POPULARITY, T_DURATION,
    T_EXPLICIT, T_YEAR, T_DANCE, T_ENERGY, T_KEY, T_MODE, T_LOUDNESS,
    T_SPEECH, T_ACOUSTIC, T_INSTRUMENTAL, T_LIVENESS, T_VALENCE, T_TEMPO,
    T_TIMESIG, T_STORAGE, T_COST, T_FAN_PLAYS, T_FAN_SKIPS
};

/* The accepted range of a numeric field (integer: also whole). */
typedef struct {
    double  lo, hi;
    int     integer;
} sk_rec_range;

extern const sk_rec_range sk_user_ranges[];    /* by U_* */
extern const sk_rec_range sk_track_ranges[];   /* by T_* */

/* d is in range (the test of sk_rec_range_bad, inline for the module's
 * per-request unpacking; subnormals are out: strtod refuses them). */
static inline int
sk_rec_in_range(const sk_rec_range *r, double d)
{
    return d >= r->lo && d <= r->hi && (!r->integer || d == floor(d))
           && fpclassify(d) != FP_SUBNORMAL;
}

/* 0 if d is in range; else SK_REC_MALFORMED with err naming the field and
 * showing v[0..len) (or d itself when v is NULL). */
int sk_rec_range_bad(const sk_rec_range *r, const char *field, double d,
    const char *v, size_t len, char *err, size_t errlen);

/* The subset rules (fav_plays <= plays, ...); vals may be NULL. */
int sk_user_rec_check_subsets(const sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);
int sk_track_rec_check_subsets(const sk_track_rec *t,
    const char *const *vals, const size_t *lens, char *err, size_t errlen);

/* SK_REC_MALFORMED, with err = 'field "F": why: "value"' (value made safe
 * to log; v == NULL leaves it out). */
int sk_rec_bad_field(char *err, size_t errlen, const char *field,
    const char *v, size_t len, const char *why);

/* A finite double that fills the whole value: 0, else -1. */
int sk_rec_parse_double(const char *v, size_t len, double *out);

/* The shortest decimal form that reads back to the same double. */
void sk_rec_fmt_double(char *buf, size_t size, double d);

#endif
