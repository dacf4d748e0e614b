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

/* Field indexes, in the order of the lists above. */
enum { U_FAV, U_PREMIUM, U_PLAYS, U_SKIPS, U_FAV_PLAYS, U_FAV_SKIPS };
enum {
    T_GENRES, T_NGENRES, T_PLAYS, T_SKIPS, T_POPULARITY, T_DURATION,
    T_EXPLICIT, T_YEAR, T_DANCE, T_ENERGY, T_KEY, T_MODE, T_LOUDNESS,
    T_SPEECH, T_ACOUSTIC, T_INSTRUMENTAL, T_LIVENESS, T_VALENCE, T_TEMPO,
    T_TIMESIG, T_STORAGE, T_COST, T_FAN_PLAYS, T_FAN_SKIPS
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

static int
bad_field(char *err, size_t errlen, const char *field, const char *v,
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
static int
parse_double(const char *v, size_t len, double *out)
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
parse_int(const char *v, size_t len, long lo, long hi, int *out)
{
    char  buf[32], *end;
    long  n;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    errno = 0;
    n = strtol(buf, &end, 10);
    if (end != buf + len || isspace((unsigned char) buf[0]) || errno == ERANGE
        || n < lo || n > hi)
    {
        return -1;
    }
    *out = (int) n;
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

#define NEED(i, names)                                                       \
    if (vals[i] == NULL)                                                     \
        return bad_field(err, errlen, names[i], NULL, 0, "missing")

#define DBL(i, names, dst, lo, hi)                                           \
    do {                                                                     \
        NEED(i, names);                                                      \
        if (parse_double(vals[i], lens[i], &(dst)) != 0                      \
            || (dst) < (lo) || (dst) > (hi))                                 \
            return bad_field(err, errlen, names[i], vals[i], lens[i],        \
                             "not a number in [" #lo ", " #hi "]");          \
    } while (0)

#define INT(i, names, dst, lo, hi)                                           \
    do {                                                                     \
        NEED(i, names);                                                      \
        if (parse_int(vals[i], lens[i], lo, hi, &(dst)) != 0)                \
            return bad_field(err, errlen, names[i], vals[i], lens[i],        \
                             "not an integer in [" #lo ", " #hi "]");        \
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
        return bad_field(err, errlen, f[U_FAV], vals[U_FAV], lens[U_FAV],
                         "not a comma-separated genre list");
    }
    INT(U_PREMIUM, f, u->premium, 0, 1);
    DBL(U_PLAYS, f, u->plays, 0, 1e12);
    DBL(U_SKIPS, f, u->skips, 0, 1e12);
    DBL(U_FAV_PLAYS, f, u->fav_plays, 0, 1e12);
    DBL(U_FAV_SKIPS, f, u->fav_skips, 0, 1e12);
    /* subsets of the totals: else the rates built on them leave [0, 1] */
    if (u->fav_plays > u->plays) {
        return bad_field(err, errlen, f[U_FAV_PLAYS], vals[U_FAV_PLAYS],
                         lens[U_FAV_PLAYS], "more than plays");
    }
    if (u->fav_skips > u->skips) {
        return bad_field(err, errlen, f[U_FAV_SKIPS], vals[U_FAV_SKIPS],
                         lens[U_FAV_SKIPS], "more than skips");
    }
    return SK_REC_OK;
}

int
sk_track_rec_decode(sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    const char *const *f = sk_track_fields;

    memset(t, 0, sizeof(*t));
    if (all_missing(vals, SK_TRACK_NFIELDS)) {
        return SK_REC_MISSING;
    }
    NEED(T_GENRES, f);
    if (sk_genre_mask_parse(vals[T_GENRES], lens[T_GENRES], &t->genres, NULL)
        != 0)
    {
        return bad_field(err, errlen, f[T_GENRES], vals[T_GENRES],
                         lens[T_GENRES], "not a comma-separated genre list");
    }
    INT(T_NGENRES, f, t->n_genres, 0, 1000);
    DBL(T_PLAYS, f, t->plays, 0, 1e12);
    DBL(T_SKIPS, f, t->skips, 0, 1e12);
    DBL(T_POPULARITY, f, t->popularity, 0, 100);
    DBL(T_DURATION, f, t->duration_ms, 0, 1e9);
    INT(T_EXPLICIT, f, t->explicit_, 0, 1);
    INT(T_YEAR, f, t->year, 0, 3000);
    DBL(T_DANCE, f, t->danceability, 0, 1);
    DBL(T_ENERGY, f, t->energy, 0, 1);
    INT(T_KEY, f, t->key, -1, 11);
    INT(T_MODE, f, t->mode, -1, 1);
    DBL(T_LOUDNESS, f, t->loudness, -100, 100);
    DBL(T_SPEECH, f, t->speechiness, 0, 1);
    DBL(T_ACOUSTIC, f, t->acousticness, 0, 1);
    DBL(T_INSTRUMENTAL, f, t->instrumentalness, 0, 1);
    DBL(T_LIVENESS, f, t->liveness, 0, 1);
    DBL(T_VALENCE, f, t->valence, 0, 1);
    DBL(T_TEMPO, f, t->tempo, 0, 1000);
    INT(T_TIMESIG, f, t->time_signature, -1, 16);
    NEED(T_STORAGE, f);
    t->storage = sk_storage_parse(vals[T_STORAGE], lens[T_STORAGE]);
    if (t->storage < 0) {
        return bad_field(err, errlen, f[T_STORAGE], vals[T_STORAGE],
                         lens[T_STORAGE], "not slow, medium or fast");
    }
    DBL(T_COST, f, t->daily_cost, 0, 1e9);
    DBL(T_FAN_PLAYS, f, t->fan_plays, 0, 1e12);
    DBL(T_FAN_SKIPS, f, t->fan_skips, 0, 1e12);
    if (t->fan_plays > t->plays) {
        return bad_field(err, errlen, f[T_FAN_PLAYS], vals[T_FAN_PLAYS],
                         lens[T_FAN_PLAYS], "more than plays");
    }
    if (t->fan_skips > t->skips) {
        return bad_field(err, errlen, f[T_FAN_SKIPS], vals[T_FAN_SKIPS],
                         lens[T_FAN_SKIPS], "more than skips");
    }
    return SK_REC_OK;
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
static void
fmt_double(char *buf, size_t size, double d)
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
    fmt_double(vals[U_PLAYS], SK_REC_VALMAX, u->plays);
    fmt_double(vals[U_SKIPS], SK_REC_VALMAX, u->skips);
    fmt_double(vals[U_FAV_PLAYS], SK_REC_VALMAX, u->fav_plays);
    fmt_double(vals[U_FAV_SKIPS], SK_REC_VALMAX, u->fav_skips);
}

void
sk_track_rec_encode(const sk_track_rec *t, char vals[][SK_REC_VALMAX])
{
    sk_genre_mask_format(t->genres, vals[T_GENRES], SK_REC_VALMAX);
    snprintf(vals[T_NGENRES], SK_REC_VALMAX, "%d", t->n_genres);
    fmt_double(vals[T_PLAYS], SK_REC_VALMAX, t->plays);
    fmt_double(vals[T_SKIPS], SK_REC_VALMAX, t->skips);
    fmt_double(vals[T_POPULARITY], SK_REC_VALMAX, t->popularity);
    fmt_double(vals[T_DURATION], SK_REC_VALMAX, t->duration_ms);
    snprintf(vals[T_EXPLICIT], SK_REC_VALMAX, "%d", t->explicit_ ? 1 : 0);
    snprintf(vals[T_YEAR], SK_REC_VALMAX, "%d", t->year);
    fmt_double(vals[T_DANCE], SK_REC_VALMAX, t->danceability);
    fmt_double(vals[T_ENERGY], SK_REC_VALMAX, t->energy);
    snprintf(vals[T_KEY], SK_REC_VALMAX, "%d", t->key);
    snprintf(vals[T_MODE], SK_REC_VALMAX, "%d", t->mode);
    fmt_double(vals[T_LOUDNESS], SK_REC_VALMAX, t->loudness);
    fmt_double(vals[T_SPEECH], SK_REC_VALMAX, t->speechiness);
    fmt_double(vals[T_ACOUSTIC], SK_REC_VALMAX, t->acousticness);
    fmt_double(vals[T_INSTRUMENTAL], SK_REC_VALMAX, t->instrumentalness);
    fmt_double(vals[T_LIVENESS], SK_REC_VALMAX, t->liveness);
    fmt_double(vals[T_VALENCE], SK_REC_VALMAX, t->valence);
    fmt_double(vals[T_TEMPO], SK_REC_VALMAX, t->tempo);
    snprintf(vals[T_TIMESIG], SK_REC_VALMAX, "%d", t->time_signature);
    snprintf(vals[T_STORAGE], SK_REC_VALMAX, "%s",
             sk_storage_name(t->storage));
    fmt_double(vals[T_COST], SK_REC_VALMAX, t->daily_cost);
    fmt_double(vals[T_FAN_PLAYS], SK_REC_VALMAX, t->fan_plays);
    fmt_double(vals[T_FAN_SKIPS], SK_REC_VALMAX, t->fan_skips);
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
