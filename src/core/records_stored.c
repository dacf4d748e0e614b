/*
 * The stored form of the records (records.h, "The stored form"): what
 * `skipctl features load` writes, what the module fetches per request.
 *
 * Why a binary part: the readable form was 24 + 6 text fields per request,
 * each looked up by Redis and parsed by the worker (strtod and a reply
 * object per field), which made a lookup cost more worker and Redis CPU
 * than the rest of the request (bench/serving.sh).  The static part never
 * changes between loads, so it is packed once; the four counters per
 * record stay text because the events script updates them in place.
 *
 * "b" layout, all little-endian, whatever the host:
 *   user   [0] = SK_REC_FORMAT, [1] = 'u', [2..10) favourite genre mask,
 *          [10] premium (0 or 1)                                 11 bytes
 *   track  [0] = SK_REC_FORMAT, [1] = 't', [2..10) genre mask, then the
 *          IEEE doubles of track_packed[] below, 8 bytes each   162 bytes
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "genres.h"
#include "records.h"
#include "records_int.h"

const char *const sk_user_stored[SK_USER_NSTORED] = {
    "b", "plays", "skips", "fav_plays", "fav_skips", "fav"
};

const char *const sk_track_stored[SK_TRACK_NSTORED] = {
    "b", "plays", "skips", "fan_plays", "fan_skips", "genres"
};

/* Stored field indexes (the counters are in the same order for both). */
enum { S_BIN, S_PLAYS, S_SKIPS, S_SUB_PLAYS, S_SUB_SKIPS, S_GENRES };

#define USER_BIN_LEN   11
#define TRACK_NPACKED  19
#define TRACK_BIN_LEN  (10 + 8 * TRACK_NPACKED)

/* The track fields packed as doubles, in this order (T_* of records_int.h) */
static const int track_packed[TRACK_NPACKED] = {
    T_NGENRES, T_POPULARITY, T_DURATION, T_EXPLICIT, T_YEAR, T_DANCE,
    T_ENERGY, T_KEY, T_MODE, T_LOUDNESS, T_SPEECH, T_ACOUSTIC,
    T_INSTRUMENTAL, T_LIVENESS, T_VALENCE, T_TEMPO, T_TIMESIG, T_STORAGE,
    T_COST
};

static void
put_u64(unsigned char *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char) (v >> (8 * i));
    }
}

static uint64_t
get_u64(const unsigned char *p)
{
    uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the stored order already: one load (the byte loop below cost the
     * module ~1,300 instructions a track record, callgrind) */
    memcpy(&v, p, sizeof(v));
#else
    int      i;

    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
#endif
    return v;
}

static void
put_f64(unsigned char *p, double d)
{
    uint64_t v;

    memcpy(&v, &d, sizeof(v));
    put_u64(p, v);
}

static double
get_f64(const unsigned char *p)
{
    uint64_t v = get_u64(p);
    double   d;

    memcpy(&d, &v, sizeof(d));
    return d;
}

/* The packed doubles of a track, in track_packed[] order. */
static void
track_to_packed(const sk_track_rec *t, double *d)
{
    d[0] = t->n_genres;
    d[1] = t->popularity;
    d[2] = t->duration_ms;
    d[3] = t->explicit_ ? 1 : 0;
    d[4] = t->year;
    d[5] = t->danceability;
    d[6] = t->energy;
    d[7] = t->key;
    d[8] = t->mode;
    d[9] = t->loudness;
    d[10] = t->speechiness;
    d[11] = t->acousticness;
    d[12] = t->instrumentalness;
    d[13] = t->liveness;
    d[14] = t->valence;
    d[15] = t->tempo;
    d[16] = t->time_signature;
    d[17] = t->storage;
    d[18] = t->daily_cost;
}

static void
packed_to_track(const double *d, sk_track_rec *t)
{
    t->n_genres = (int) d[0];
    t->popularity = d[1];
    t->duration_ms = d[2];
    t->explicit_ = (int) d[3];
    t->year = (int) d[4];
    t->danceability = d[5];
    t->energy = d[6];
    t->key = (int) d[7];
    t->mode = (int) d[8];
    t->loudness = d[9];
    t->speechiness = d[10];
    t->acousticness = d[11];
    t->instrumentalness = d[12];
    t->liveness = d[13];
    t->valence = d[14];
    t->tempo = d[15];
    t->time_signature = (int) d[16];
    t->storage = (int) d[17];
    t->daily_cost = d[18];
}

static void
pack_counters(char vals[][SK_REC_VALMAX], size_t *lens, double plays,
    double skips, double sub_plays, double sub_skips)
{
    const double  c[4] = { plays, skips, sub_plays, sub_skips };
    int           i;

    for (i = 0; i < 4; i++) {
        sk_rec_fmt_double(vals[S_PLAYS + i], SK_REC_VALMAX, c[i]);
        lens[S_PLAYS + i] = strlen(vals[S_PLAYS + i]);
    }
}

void
sk_user_rec_pack(const sk_user_rec *u, char vals[][SK_REC_VALMAX],
    size_t *lens)
{
    unsigned char *b = (unsigned char *) vals[S_BIN];

    b[0] = SK_REC_FORMAT;
    b[1] = 'u';
    put_u64(b + 2, u->fav);
    b[10] = u->premium ? 1 : 0;
    lens[S_BIN] = USER_BIN_LEN;
    pack_counters(vals, lens, u->plays, u->skips, u->fav_plays,
                  u->fav_skips);
    lens[S_GENRES] = sk_genre_mask_format(u->fav, vals[S_GENRES],
                                          SK_REC_VALMAX);
}

void
sk_track_rec_pack(const sk_track_rec *t, char vals[][SK_REC_VALMAX],
    size_t *lens)
{
    unsigned char *b = (unsigned char *) vals[S_BIN];
    double         d[TRACK_NPACKED];
    int            i;

    b[0] = SK_REC_FORMAT;
    b[1] = 't';
    put_u64(b + 2, t->genres);
    track_to_packed(t, d);
    for (i = 0; i < TRACK_NPACKED; i++) {
        put_f64(b + 10 + 8 * i, d[i]);
    }
    lens[S_BIN] = TRACK_BIN_LEN;
    pack_counters(vals, lens, t->plays, t->skips, t->fan_plays,
                  t->fan_skips);
    lens[S_GENRES] = sk_genre_mask_format(t->genres, vals[S_GENRES],
                                          SK_REC_VALMAX);
}

/*
 * A counter as written by sk_rec_fmt_double or the events script: nearly
 * always a small whole number, read without strtod (up to 15 digits is
 * exact in a double); anything else goes through the general parser.
 */
static int
counter_parse(const char *v, size_t len, double *out)
{
    size_t   i;
    uint64_t n = 0;

    if (len == 0 || len > 15) {
        return sk_rec_parse_double(v, len, out);
    }
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return sk_rec_parse_double(v, len, out);
        }
        n = n * 10 + (uint64_t) (v[i] - '0');
    }
    *out = (double) n;
    return 0;
}

/* The four counters: stored index S_PLAYS + i is readable field fi[i]. */
static int
unpack_counters(const char *const *vals, const size_t *lens,
    const char *const *names, const sk_rec_range *ranges, const int *fi,
    double *c, char *err, size_t errlen)
{
    int  i;

    for (i = 0; i < 4; i++) {
        const char *v = vals[S_PLAYS + i];
        size_t      len = lens[S_PLAYS + i];

        if (v == NULL) {
            return sk_rec_bad_field(err, errlen, names[fi[i]], NULL, 0,
                                    "missing");
        }
        if (counter_parse(v, len, &c[i]) != 0) {
            c[i] = NAN;
        }
        if (!sk_rec_in_range(&ranges[fi[i]], c[i])
            && sk_rec_range_bad(&ranges[fi[i]], names[fi[i]], c[i], v, len,
                                err, errlen))
        {
            return SK_REC_MALFORMED;
        }
    }
    return SK_REC_OK;
}

static int
bin_problem(const char *v, size_t len, size_t want, char kind, char *err,
    size_t errlen)
{
    if (v == NULL) {
        /* a record of the readable form only: written before format 2 */
        return sk_rec_bad_field(err, errlen, "b", NULL, 0, "missing (a "
                                "record of format 1, written by an older "
                                "skipctl: load the snapshot again)");
    }
    if (len != want || (unsigned char) v[0] != SK_REC_FORMAT
        || v[1] != kind)
    {
        char why[96];

        snprintf(why, sizeof(why), "not a format %d %s record (%zu bytes, "
                 "want %zu)", SK_REC_FORMAT, kind == 'u' ? "user" : "track",
                 len, want);
        return sk_rec_bad_field(err, errlen, "b", NULL, 0, why);
    }
    return 0;
}

static int
mask_problem(uint64_t mask, const char *field, char *err, size_t errlen)
{
    if (mask >> SK_N_GENRES) {
        return sk_rec_bad_field(err, errlen, field, NULL, 0, "genre bits "
                                "beyond the 50 genres in \"b\"");
    }
    return 0;
}

/* The static part of a user: fav and premium. */
static int
user_bin(sk_user_rec *u, const char *v, size_t len, char *err, size_t errlen)
{
    const unsigned char *b = (const unsigned char *) v;

    if (bin_problem(v, len, USER_BIN_LEN, 'u', err, errlen)) {
        return SK_REC_MALFORMED;
    }
    u->fav = get_u64(b + 2);
    if (mask_problem(u->fav, sk_user_fields[U_FAV], err, errlen)) {
        return SK_REC_MALFORMED;
    }
    if (sk_rec_range_bad(&sk_user_ranges[U_PREMIUM],
                         sk_user_fields[U_PREMIUM], b[10], NULL, 0, err,
                         errlen))
    {
        return SK_REC_MALFORMED;
    }
    u->premium = b[10];
    return SK_REC_OK;
}

/* The static part of a track: everything but the four counters. */
static int
track_bin(sk_track_rec *t, const char *v, size_t len, char *err,
    size_t errlen)
{
    const unsigned char *b = (const unsigned char *) v;
    double               d[TRACK_NPACKED];
    int                  i, fi;

    if (bin_problem(v, len, TRACK_BIN_LEN, 't', err, errlen)) {
        return SK_REC_MALFORMED;
    }
    t->genres = get_u64(b + 2);
    if (mask_problem(t->genres, sk_track_fields[T_GENRES], err, errlen)) {
        return SK_REC_MALFORMED;
    }
    for (i = 0; i < TRACK_NPACKED; i++) {
        fi = track_packed[i];
        d[i] = get_f64(b + 10 + 8 * i);
        /* NaN and infinities fail the range test too */
        if (!sk_rec_in_range(&sk_track_ranges[fi], d[i])
            && sk_rec_range_bad(&sk_track_ranges[fi], sk_track_fields[fi],
                                d[i], NULL, 0, err, errlen))
        {
            return SK_REC_MALFORMED;
        }
    }
    packed_to_track(d, t);
    return SK_REC_OK;
}

static int
all_nil(const char *const *vals, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (vals[i] != NULL) {
            return 0;
        }
    }
    return 1;
}

int
sk_user_rec_unpack(sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    static const int  fi[4] = { U_PLAYS, U_SKIPS, U_FAV_PLAYS, U_FAV_SKIPS };
    double            c[4];

    memset(u, 0, sizeof(*u));
    if (all_nil(vals, SK_REC_NFETCH)) {
        return SK_REC_MISSING;
    }
    if (user_bin(u, vals[S_BIN], lens[S_BIN], err, errlen) != SK_REC_OK
        || unpack_counters(vals, lens, sk_user_fields, sk_user_ranges, fi, c,
                           err, errlen) != SK_REC_OK)
    {
        return SK_REC_MALFORMED;
    }
    u->plays = c[0];
    u->skips = c[1];
    u->fav_plays = c[2];
    u->fav_skips = c[3];
    return sk_user_rec_check_subsets(u, NULL, NULL, err, errlen);
}

int
sk_track_rec_unpack(sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    static const int  fi[4] = { T_PLAYS, T_SKIPS, T_FAN_PLAYS, T_FAN_SKIPS };
    double            c[4];

    memset(t, 0, sizeof(*t));
    if (all_nil(vals, SK_REC_NFETCH)) {
        return SK_REC_MISSING;
    }
    if (track_bin(t, vals[S_BIN], lens[S_BIN], err, errlen) != SK_REC_OK
        || unpack_counters(vals, lens, sk_track_fields, sk_track_ranges, fi,
                           c, err, errlen) != SK_REC_OK)
    {
        return SK_REC_MALFORMED;
    }
    t->plays = c[0];
    t->skips = c[1];
    t->fan_plays = c[2];
    t->fan_skips = c[3];
    return sk_track_rec_check_subsets(t, NULL, NULL, err, errlen);
}

/* Copy a stored text value to a readable field (nil: absent). */
static void
copy_text(const char *v, size_t len, char *out, int *present)
{
    if (v == NULL) {
        out[0] = '\0';
        *present = 0;
        return;
    }
    if (len >= SK_REC_VALMAX) {
        len = SK_REC_VALMAX - 1;
    }
    memcpy(out, v, len);
    out[len] = '\0';
    /* a NUL inside would cut the value short and hide what the module
     * refuses: shown as '?', which no number or genre name contains */
    while (strlen(out) < len) {
        out[strlen(out)] = '?';
    }
    *present = 1;
}

/* The readable text of a genre list must name what "b" holds. */
static int
genres_agree(const char *field, const char *text, uint64_t mask, char *err,
    size_t errlen)
{
    uint64_t  m;

    if (sk_genre_mask_parse(text, strlen(text), &m, NULL) == 0 && m != mask) {
        return sk_rec_bad_field(err, errlen, field, text, strlen(text),
                                "names other genres than \"b\" holds (changed "
                                "by hand? use skipctl features set)");
    }
    return 0;
}

int
sk_user_rec_stored_fields(const char *const *vals, const size_t *lens,
    char out[][SK_REC_VALMAX], int *present, char *err, size_t errlen)
{
    static const int  fi[4] = { U_PLAYS, U_SKIPS, U_FAV_PLAYS, U_FAV_SKIPS };
    sk_user_rec       u;
    int               i;

    for (i = 0; i < SK_USER_NFIELDS; i++) {
        out[i][0] = '\0';
        present[i] = 0;
    }
    if (all_nil(vals, SK_USER_NSTORED)) {
        return SK_REC_MISSING;
    }
    for (i = 0; i < 4; i++) {
        copy_text(vals[S_PLAYS + i], lens[S_PLAYS + i], out[fi[i]],
                  &present[fi[i]]);
    }
    copy_text(vals[S_GENRES], lens[S_GENRES], out[U_FAV], &present[U_FAV]);
    memset(&u, 0, sizeof(u));
    if (user_bin(&u, vals[S_BIN], lens[S_BIN], err, errlen) != SK_REC_OK) {
        return SK_REC_MALFORMED;
    }
    snprintf(out[U_PREMIUM], SK_REC_VALMAX, "%d", u.premium);
    present[U_PREMIUM] = 1;
    if (present[U_FAV]
        && genres_agree(sk_user_fields[U_FAV], out[U_FAV], u.fav, err,
                        errlen))
    {
        return SK_REC_MALFORMED;
    }
    return SK_REC_OK;
}

int
sk_track_rec_stored_fields(const char *const *vals, const size_t *lens,
    char out[][SK_REC_VALMAX], int *present, char *err, size_t errlen)
{
    static const int  fi[4] = { T_PLAYS, T_SKIPS, T_FAN_PLAYS, T_FAN_SKIPS };
    sk_track_rec      t;
    char              all[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    int               i;

    for (i = 0; i < SK_TRACK_NFIELDS; i++) {
        out[i][0] = '\0';
        present[i] = 0;
    }
    if (all_nil(vals, SK_TRACK_NSTORED)) {
        return SK_REC_MISSING;
    }
    for (i = 0; i < 4; i++) {
        copy_text(vals[S_PLAYS + i], lens[S_PLAYS + i], out[fi[i]],
                  &present[fi[i]]);
    }
    copy_text(vals[S_GENRES], lens[S_GENRES], out[T_GENRES],
              &present[T_GENRES]);
    memset(&t, 0, sizeof(t));
    if (track_bin(&t, vals[S_BIN], lens[S_BIN], err, errlen) != SK_REC_OK) {
        return SK_REC_MALFORMED;
    }
    /* the packed fields in their readable form, as the encoder writes it */
    sk_track_rec_encode(&t, all);
    for (i = 0; i < TRACK_NPACKED; i++) {
        memcpy(out[track_packed[i]], all[track_packed[i]], SK_REC_VALMAX);
        present[track_packed[i]] = 1;
    }
    if (present[T_GENRES]
        && genres_agree(sk_track_fields[T_GENRES], out[T_GENRES], t.genres,
                        err, errlen))
    {
        return SK_REC_MALFORMED;
    }
    return SK_REC_OK;
}
