/*
 * Record encoding and decoding (see records.h).  Decoding is strict: the
 * module falls back rather than score a vector built from a half-read
 * record, and the error says which field was wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "genres.h"
#include "records.h"
#include "records_int.h"

const char *const sk_user_fields[SK_USER_NFIELDS] = {
    "fav", "premium", "plays", "skips", "fav_plays", "fav_skips"
};

const char *const sk_track_fields[SK_TRACK_NFIELDS] = {
    "genres", "n_genres", "plays", "skips", "popularity", "duration_ms",
    "explicit", "year", "danceability", "energy", "key", "mode",
    "loudness", "speechiness", "acousticness", "instrumentalness",
    "liveness", "valence", "tempo", "time_signature", "storage",
    "daily_cost", "fan_plays", "fan_skips"
};

static int
log_unsafe(unsigned char c)
{
    return c < 0x20 || c >= 0x7f;
}

size_t
sk_log_safe(char *dst, size_t size, const char *src, size_t len)
{
    size_t i, n;

    if (size == 0) {
        return 0;
    }
    n = len < size - 1 ? len : size - 1;
    for (i = 0; i < n; i++) {
        dst[i] = (log_unsafe((unsigned char) src[i]) || src[i] == '"')
                 ? '?' : src[i];
    }
    dst[n] = '\0';
    return n;
}

void
sk_log_scrub(char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (log_unsafe((unsigned char) s[i])) {
            s[i] = '?';
        }
    }
}

int
sk_rec_bad_field(char *err, size_t errlen, const char *field, const char *v,
    size_t len, const char *why)
{
    char    shown[41];

    if (err && errlen) {
        if (v == NULL) {
            snprintf(err, errlen, "field \"%s\": %s", field, why);
        } else {
            /*
             * The value comes from Redis and the module logs this line:
             * control bytes and quotes would let it forge log lines.
             */
            sk_log_safe(shown, sizeof(shown), v, len);
            snprintf(err, errlen, "field \"%s\": %s: \"%s\"", field, why,
                     shown);
        }
    }
    return SK_REC_MALFORMED;
}

/* Parse a finite double that fills the whole value (no blank before it,
 * no NUL or anything else after it). */
int
sk_rec_parse_double(const char *v, size_t len, double *out)
{
    char   buf[64], *end;
    double d;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    errno = 0;
    d = strtod(buf, &end);
    if (end != buf + len || isspace((unsigned char) buf[0]) || errno == ERANGE
        || !isfinite(d))
    {
        return -1;
    }
    *out = d;
    return 0;
}

static int
all_missing(const char *const *vals, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (vals[i] != NULL) {
            return 0;
        }
    }
    return 1;
}

/*
 * The range of every numeric field: one table for the readable and the
 * stored form, so both accept and refuse the same records.  The genre
 * lists and storage are checked by name, not by range.
 */
const sk_rec_range sk_user_ranges[SK_USER_NFIELDS] = {
    [U_PREMIUM]   = { 0, 1, 1 },
    [U_PLAYS]     = { 0, 1e12, 0 },
    [U_SKIPS]     = { 0, 1e12, 0 },
    [U_FAV_PLAYS] = { 0, 1e12, 0 },
    [U_FAV_SKIPS] = { 0, 1e12, 0 },
};

const sk_rec_range sk_track_ranges[SK_TRACK_NFIELDS] = {
    [T_NGENRES]      = { 0, 1000, 1 },
    [T_PLAYS]        = { 0, 1e12, 0 },
    [T_SKIPS]        = { 0, 1e12, 0 },
    [T_POPULARITY]   = { 0, 100, 0 },
    [T_DURATION]     = { 0, 1e9, 0 },
    [T_EXPLICIT]     = { 0, 1, 1 },
    [T_YEAR]         = { 0, 3000, 1 },
    [T_DANCE]        = { 0, 1, 0 },
    [T_ENERGY]       = { 0, 1, 0 },
    [T_KEY]          = { -1, 11, 1 },
    [T_MODE]         = { -1, 1, 1 },
    [T_LOUDNESS]     = { -100, 100, 0 },
    [T_SPEECH]       = { 0, 1, 0 },
    [T_ACOUSTIC]     = { 0, 1, 0 },
    [T_INSTRUMENTAL] = { 0, 1, 0 },
    [T_LIVENESS]     = { 0, 1, 0 },
    [T_VALENCE]      = { 0, 1, 0 },
    [T_TEMPO]        = { 0, 1000, 0 },
    [T_TIMESIG]      = { -1, 16, 1 },
    [T_STORAGE]      = { 0, 2, 1 },
    [T_COST]         = { 0, 1e9, 0 },
    [T_FAN_PLAYS]    = { 0, 1e12, 0 },
    [T_FAN_SKIPS]    = { 0, 1e12, 0 },
};

int
sk_rec_range_bad(const sk_rec_range *r, const char *field, double d,
    const char *v, size_t len, char *err, size_t errlen)
{
    char  why[80], shown[32];

    if (sk_rec_in_range(r, d)) {
        return 0;
    }
    snprintf(why, sizeof(why), "not %s in [%g, %g]",
             r->integer ? "an integer" : "a number", r->lo, r->hi);
    if (v == NULL) {
        /* a value of the binary form: show the number itself */
        snprintf(shown, sizeof(shown), "%.17g", d);
        v = shown;
        len = strlen(shown);
    }
    return sk_rec_bad_field(err, errlen, field, v, len, why);
}

#define NEED(i, names)                                                       \
    if (vals[i] == NULL)                                                     \
        return sk_rec_bad_field(err, errlen, names[i], NULL, 0, "missing")

/* A numeric field: parse, then the range of its table. */
#define NUM(i, names, ranges, dst)                                           \
    do {                                                                     \
        double  d_;                                                          \
        NEED(i, names);                                                      \
        if (sk_rec_parse_double(vals[i], lens[i], &d_) != 0) {               \
            d_ = NAN;                                                        \
        }                                                                    \
        if (sk_rec_range_bad(&(ranges)[i], names[i], d_, vals[i], lens[i],   \
                             err, errlen))                                   \
            return SK_REC_MALFORMED;                                         \
        (dst) = d_;                                                          \
    } while (0)

int
sk_user_rec_decode(sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    const char *const *f = sk_user_fields;

    memset(u, 0, sizeof(*u));
    if (all_missing(vals, SK_USER_NFIELDS)) {
        return SK_REC_MISSING;
    }
    NEED(U_FAV, f);
    if (sk_genre_mask_parse(vals[U_FAV], lens[U_FAV], &u->fav, NULL) != 0) {
        return sk_rec_bad_field(err, errlen, f[U_FAV], vals[U_FAV],
                                lens[U_FAV], "not a comma-separated genre "
                                "list");
    }
    NUM(U_PREMIUM, f, sk_user_ranges, u->premium);
    NUM(U_PLAYS, f, sk_user_ranges, u->plays);
    NUM(U_SKIPS, f, sk_user_ranges, u->skips);
    NUM(U_FAV_PLAYS, f, sk_user_ranges, u->fav_plays);
    NUM(U_FAV_SKIPS, f, sk_user_ranges, u->fav_skips);
    return sk_user_rec_check_subsets(u, vals, lens, err, errlen);
}

/* fav_* and fan_* count subsets of the totals: else the rates built on
 * them leave [0, 1].  vals may be NULL (the value is then the number). */
int
sk_user_rec_check_subsets(const sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    const char *const *f = sk_user_fields;

    if (u->fav_plays > u->plays) {
        return sk_rec_bad_field(err, errlen, f[U_FAV_PLAYS],
                                vals ? vals[U_FAV_PLAYS] : NULL,
                                vals ? lens[U_FAV_PLAYS] : 0,
                                "more than plays");
    }
    if (u->fav_skips > u->skips) {
        return sk_rec_bad_field(err, errlen, f[U_FAV_SKIPS],
                                vals ? vals[U_FAV_SKIPS] : NULL,
                                vals ? lens[U_FAV_SKIPS] : 0,
                                "more than skips");
    }
    return SK_REC_OK;
}

int
sk_track_rec_check_subsets(const sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    const char *const *f = sk_track_fields;

    if (t->fan_plays > t->plays) {
        return sk_rec_bad_field(err, errlen, f[T_FAN_PLAYS],
                                vals ? vals[T_FAN_PLAYS] : NULL,
                                vals ? lens[T_FAN_PLAYS] : 0,
                                "more than plays");
    }
    if (t->fan_skips > t->skips) {
        return sk_rec_bad_field(err, errlen, f[T_FAN_SKIPS],
                                vals ? vals[T_FAN_SKIPS] : NULL,
                                vals ? lens[T_FAN_SKIPS] : 0,
                                "more than skips");
    }
    return SK_REC_OK;
}

int
sk_track_rec_decode(sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    const char *const   *f = sk_track_fields;
    const sk_rec_range  *r = sk_track_ranges;

    memset(t, 0, sizeof(*t));
    if (all_missing(vals, SK_TRACK_NFIELDS)) {
        return SK_REC_MISSING;
    }
    NEED(T_GENRES, f);
    if (sk_genre_mask_parse(vals[T_GENRES], lens[T_GENRES], &t->genres, NULL)
        != 0)
    {
        return sk_rec_bad_field(err, errlen, f[T_GENRES], vals[T_GENRES],
                                lens[T_GENRES], "not a comma-separated genre "
                                "list");
    }
    NUM(T_NGENRES, f, r, t->n_genres);
    NUM(T_PLAYS, f, r, t->plays);
    NUM(T_SKIPS, f, r, t->skips);
    NUM(T_POPULARITY, f, r, t->popularity);
    NUM(T_DURATION, f, r, t->duration_ms);
    NUM(T_EXPLICIT, f, r, t->explicit_);
    NUM(T_YEAR, f, r, t->year);
    NUM(T_DANCE, f, r, t->danceability);
    NUM(T_ENERGY, f, r, t->energy);
    NUM(T_KEY, f, r, t->key);
    NUM(T_MODE, f, r, t->mode);
    NUM(T_LOUDNESS, f, r, t->loudness);
    NUM(T_SPEECH, f, r, t->speechiness);
    NUM(T_ACOUSTIC, f, r, t->acousticness);
    NUM(T_INSTRUMENTAL, f, r, t->instrumentalness);
    NUM(T_LIVENESS, f, r, t->liveness);
    NUM(T_VALENCE, f, r, t->valence);
    NUM(T_TEMPO, f, r, t->tempo);
    NUM(T_TIMESIG, f, r, t->time_signature);
    NEED(T_STORAGE, f);
    t->storage = sk_storage_parse(vals[T_STORAGE], lens[T_STORAGE]);
    if (t->storage < 0) {
        return sk_rec_bad_field(err, errlen, f[T_STORAGE], vals[T_STORAGE],
                                lens[T_STORAGE], "not slow, medium or fast");
    }
    NUM(T_COST, f, r, t->daily_cost);
    NUM(T_FAN_PLAYS, f, r, t->fan_plays);
    NUM(T_FAN_SKIPS, f, r, t->fan_skips);
    return sk_track_rec_check_subsets(t, vals, lens, err, errlen);
}

/*
 * Shortest decimal form that strtod reads back to the same double.
 *
 * Integral values (counts, durations) are written as plain integers, never
 * "1e+06".  Otherwise %.15g already IS the shortest form whenever that has
 * at most 15 significant digits (%g drops the trailing zeros), so only 15,
 * 16 and 17 need trying: at most 3 snprintf/strtod pairs instead of 12,
 * which made encoding the tracks' float-derived audio features (16-17
 * digits) the cost of a whole `features load`.
 */
void
sk_rec_fmt_double(char *buf, size_t size, double d)
{
    int prec;

    if (d == (double) (long long) d && d > -1e15 && d < 1e15) {
        snprintf(buf, size, "%lld", (long long) d);
        if (strcmp(buf, "0") == 0 && signbit(d)) {
            snprintf(buf, size, "-0");
        }
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d) {
            return;
        }
    }
}

void
sk_user_rec_encode(const sk_user_rec *u, char vals[][SK_REC_VALMAX])
{
    sk_genre_mask_format(u->fav, vals[U_FAV], SK_REC_VALMAX);
    snprintf(vals[U_PREMIUM], SK_REC_VALMAX, "%d", u->premium ? 1 : 0);
    sk_rec_fmt_double(vals[U_PLAYS], SK_REC_VALMAX, u->plays);
    sk_rec_fmt_double(vals[U_SKIPS], SK_REC_VALMAX, u->skips);
    sk_rec_fmt_double(vals[U_FAV_PLAYS], SK_REC_VALMAX, u->fav_plays);
    sk_rec_fmt_double(vals[U_FAV_SKIPS], SK_REC_VALMAX, u->fav_skips);
}

void
sk_track_rec_encode(const sk_track_rec *t, char vals[][SK_REC_VALMAX])
{
    sk_genre_mask_format(t->genres, vals[T_GENRES], SK_REC_VALMAX);
    snprintf(vals[T_NGENRES], SK_REC_VALMAX, "%d", t->n_genres);
    sk_rec_fmt_double(vals[T_PLAYS], SK_REC_VALMAX, t->plays);
    sk_rec_fmt_double(vals[T_SKIPS], SK_REC_VALMAX, t->skips);
    sk_rec_fmt_double(vals[T_POPULARITY], SK_REC_VALMAX, t->popularity);
    sk_rec_fmt_double(vals[T_DURATION], SK_REC_VALMAX, t->duration_ms);
    snprintf(vals[T_EXPLICIT], SK_REC_VALMAX, "%d", t->explicit_ ? 1 : 0);
    snprintf(vals[T_YEAR], SK_REC_VALMAX, "%d", t->year);
    sk_rec_fmt_double(vals[T_DANCE], SK_REC_VALMAX, t->danceability);
    sk_rec_fmt_double(vals[T_ENERGY], SK_REC_VALMAX, t->energy);
    snprintf(vals[T_KEY], SK_REC_VALMAX, "%d", t->key);
    snprintf(vals[T_MODE], SK_REC_VALMAX, "%d", t->mode);
    sk_rec_fmt_double(vals[T_LOUDNESS], SK_REC_VALMAX, t->loudness);
    sk_rec_fmt_double(vals[T_SPEECH], SK_REC_VALMAX, t->speechiness);
    sk_rec_fmt_double(vals[T_ACOUSTIC], SK_REC_VALMAX, t->acousticness);
    sk_rec_fmt_double(vals[T_INSTRUMENTAL], SK_REC_VALMAX, t->instrumentalness);
    sk_rec_fmt_double(vals[T_LIVENESS], SK_REC_VALMAX, t->liveness);
    sk_rec_fmt_double(vals[T_VALENCE], SK_REC_VALMAX, t->valence);
    sk_rec_fmt_double(vals[T_TEMPO], SK_REC_VALMAX, t->tempo);
    snprintf(vals[T_TIMESIG], SK_REC_VALMAX, "%d", t->time_signature);
    snprintf(vals[T_STORAGE], SK_REC_VALMAX, "%s",
             sk_storage_name(t->storage));
    sk_rec_fmt_double(vals[T_COST], SK_REC_VALMAX, t->daily_cost);
    sk_rec_fmt_double(vals[T_FAN_PLAYS], SK_REC_VALMAX, t->fan_plays);
    sk_rec_fmt_double(vals[T_FAN_SKIPS], SK_REC_VALMAX, t->fan_skips);
}

int
sk_storage_parse(const char *s, size_t len)
{
    static const char *const names[] = { "slow", "medium", "fast" };
    int i;

    for (i = 0; i < 3; i++) {
        if (len == strlen(names[i]) && strncasecmp(s, names[i], len) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
sk_storage_name(int storage)
{
    switch (storage) {
    case SK_STORAGE_MEDIUM: return "medium";
    case SK_STORAGE_FAST:   return "fast";
    default:                return "slow";
    }
}
