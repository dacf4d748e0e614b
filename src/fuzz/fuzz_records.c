/*
 * libFuzzer target for the record decoders (records.c) and the feature
 * code they feed (featurize.c), run briefly by t/32-fuzz-records.t.  The
 * module decodes whatever Redis holds, so a crash here kills a worker.
 *
 * Input: byte 0 bit 0 picks the record (0 user, 1 track), bit 1 the field
 * separator (0 '\n', 1 '\0', so that values can hold either byte), bits
 * 2..6 a field to answer as nil (0 none, k: field k - 1), bit 7 the form:
 * 0 readable, 1 stored (records_stored.c).
 * The rest is the values, in the order of sk_user_fields / sk_track_fields
 * (stored: sk_user_stored / sk_track_stored, "b" first);
 * the fields the input does not reach are nil (byte 0 alone: the record
 * does not exist), bytes after the last field are ignored.
 *
 * Each value goes to the decoder in a heap buffer of exactly its length,
 * without a terminating NUL, as (pointer, length) like a hiredis reply:
 * ASan then reports any read past a value.  Checked:
 *
 *   - the decoder returns OK, MISSING or MALFORMED, the same each time and
 *     with any error buffer; MALFORMED leaves a NUL-terminated message that
 *     starts with the field's name (the module logs it with %s);
 *   - OK: every double is finite, the flags, enumerations and counts are
 *     within their ranges, and encoding then decoding again gives the same
 *     record, doubles bit for bit (the encoder's promise: going through
 *     Redis changes no score);
 *   - stored form: what the module unpacks (the first SK_REC_NFETCH
 *     values) and what skipctl reads (all of them, through the readable
 *     decoder, with the genre text made to agree with "b") are the same
 *     answer and, when OK, the same record bit for bit;
 *   - OK: with the "seed" and "full" plans, several priors and a fixed
 *     record of the other kind, sk_features_raw gives finite values for
 *     every hour and several session positions, and none of them comes
 *     from the NaN fallback except the session features of an unknown
 *     position (a valid record must not need it).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       src/fuzz_records.c src/records.c src/featurize.c src/genres.c \
 *       -lm -o fuzz_records
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/featurize.h"
#include "../core/genres.h"
#include "../core/records.h"

#define NFIELDS_MAX  SK_TRACK_NFIELDS

/*
 * Marks a raw value that came from the NaN fallback of sk_features_raw
 * (plan->mean): no feature of a decoded record can be this far below 0.
 */
#define FALLBACK  -7777.25

/* Records as `skipctl features load` writes them (user 101 of a dataset
 * from `skipctl gen`, one of its tracks), and empty ones. */
static const char *const user_vals[SK_USER_NFIELDS] = {
    "europop,folk rock,modern rock", "0", "32", "189", "2", "6"
};

static const char *const user_new_vals[SK_USER_NFIELDS] = {
    "", "1", "0", "0", "0", "0"
};

static const char *const track_vals[SK_TRACK_NFIELDS] = {
    "mpb,singer-songwriter", "3", "8", "10", "53", "230483", "0", "1922",
    "0.5830000042915344", "0.8989999890327454", "2", "-1",
    "-7.247000217437744", "0.1111999973654747", "0.4832000136375427",
    "0.000610999995842576", "0.3050000071525574", "0.671999990940094",
    "97.26599884033203", "4", "slow", "0.011524150148034096", "0", "0"
};

static const char *const track_new_vals[SK_TRACK_NFIELDS] = {
    "", "0", "0", "0", "0", "0", "1", "0", "0", "0", "-1", "-1", "0", "0",
    "0", "0", "0", "0", "0", "-1", "fast", "0", "0", "0"
};

/*
 * Priors a manifest may hold (the model loader takes any rate in (0, 1) and
 * any weight >= 0): the trainer's defaults first, down to a weight of
 * 1e-300 (a record whose fav_* / fan_* counts exceed its totals, which
 * would divide by the weight alone, is refused by the decoder).
 */
static const sk_priors priors[] = {
    { 0.4, 20.0, 10.0 },
    { 0.4, 0.0, 0.0 },
    { 1e-6, 0.0, 1e6 },
    { 0.999999, 1e6, 0.0 },
    { 0.05, 1e-3, 1e-3 },
    { 0.4, 1e-300, 1e-300 }
};

static const int positions[] = { -1, 0, 5, 100000 };

static sk_feature_plan  plans[2];
static int              session_feature[2][SK_MAX_FEATURES];
static sk_user_rec      users[2];
static sk_track_rec     tracks[2];
static int              ready;

/* Copy values into exactly-sized heap buffers; src[i] NULL stays nil. */
static void
to_heap(const char *const *src, const size_t *len, int n, char **dst)
{
    int i;

    for (i = 0; i < n; i++) {
        dst[i] = NULL;
        if (src[i] == NULL) {
            continue;
        }
        dst[i] = malloc(len[i]);
        if (dst[i] == NULL && len[i] == 0) {
            /* malloc(0) may return NULL: that would read as nil. */
            dst[i] = malloc(1);
        }
        if (dst[i] == NULL) {
            abort();
        }
        if (len[i]) {
            memcpy(dst[i], src[i], len[i]);
        }
    }
}

static void
free_heap(char **v, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        free(v[i]);
    }
}

static int
decode(int track, void *rec, char **vals, const size_t *lens, char *err,
    size_t errlen)
{
    const char *const *v = (const char *const *) vals;

    return track ? sk_track_rec_decode(rec, v, lens, err, errlen)
                 : sk_user_rec_decode(rec, v, lens, err, errlen);
}

/* Decode constant NUL-terminated values (the fixed records); must be OK. */
static void
decode_const(int track, void *rec, const char *const *src)
{
    int     i, n = track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS;
    char   *vals[NFIELDS_MAX], err[256];
    size_t  lens[NFIELDS_MAX];

    for (i = 0; i < n; i++) {
        lens[i] = strlen(src[i]);
    }
    to_heap(src, lens, n, vals);
    if (decode(track, rec, vals, lens, err, sizeof(err)) != SK_REC_OK) {
        abort();
    }
    free_heap(vals, n);
}

static void
init(void)
{
    static const char *const sets[2] = { "seed", "full" };
    const char *const       *names;
    const char              *name;
    char                     err[256];
    int                      s, i, n;

    for (s = 0; s < 2; s++) {
        names = sk_feature_set(sets[s], &n);
        if (names == NULL
            || sk_feature_plan_init(&plans[s], names, n, err, sizeof(err))
               != 0)
        {
            abort();
        }
        for (i = 0; i < n; i++) {
            plans[s].mean[i] = FALLBACK;
            name = sk_feature_name(plans[s].id[i]);
            session_feature[s][i] = strncmp(name, "session_", 8) == 0;
        }
    }
    decode_const(0, &users[0], user_vals);
    decode_const(0, &users[1], user_new_vals);
    decode_const(1, &tracks[0], track_vals);
    decode_const(1, &tracks[1], track_new_vals);
    ready = 1;
}

/* Same bits, so -0 differs from 0 and the encoder must keep the sign. */
static int
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof(double)) == 0;
}

static int
user_valid(const sk_user_rec *u)
{
    const double *d[] = { &u->plays, &u->skips, &u->fav_plays,
                          &u->fav_skips };
    size_t        i;

    if (u->fav >> SK_N_GENRES || (u->premium != 0 && u->premium != 1)) {
        return 0;
    }
    for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        if (!isfinite(*d[i]) || *d[i] < 0) {
            return 0;
        }
    }
    return 1;
}

static int
same_user(const sk_user_rec *a, const sk_user_rec *b)
{
    return a->fav == b->fav && a->premium == b->premium
           && same_double(a->plays, b->plays)
           && same_double(a->skips, b->skips)
           && same_double(a->fav_plays, b->fav_plays)
           && same_double(a->fav_skips, b->fav_skips);
}

static int
track_valid(const sk_track_rec *t)
{
    const double *d[] = {
        &t->plays, &t->skips, &t->popularity, &t->duration_ms,
        &t->danceability, &t->energy, &t->loudness, &t->speechiness,
        &t->acousticness, &t->instrumentalness, &t->liveness, &t->valence,
        &t->tempo, &t->daily_cost, &t->fan_plays, &t->fan_skips
    };
    size_t        i;

    for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        if (!isfinite(*d[i])) {
            return 0;
        }
    }
    return !(t->genres >> SK_N_GENRES)
           && t->n_genres >= 0 && t->n_genres <= 1000
           && (t->explicit_ == 0 || t->explicit_ == 1)
           && t->year >= 0 && t->year <= 3000
           && t->key >= -1 && t->key <= 11
           && t->mode >= -1 && t->mode <= 1
           && t->time_signature >= -1 && t->time_signature <= 16
           && t->storage >= SK_STORAGE_SLOW && t->storage <= SK_STORAGE_FAST
           && t->popularity >= 0 && t->popularity <= 100
           && t->loudness >= -100 && t->loudness <= 100;
}

static int
same_track(const sk_track_rec *a, const sk_track_rec *b)
{
    return a->genres == b->genres && a->n_genres == b->n_genres
           && same_double(a->plays, b->plays)
           && same_double(a->skips, b->skips)
           && same_double(a->popularity, b->popularity)
           && same_double(a->duration_ms, b->duration_ms)
           && a->explicit_ == b->explicit_ && a->year == b->year
           && same_double(a->danceability, b->danceability)
           && same_double(a->energy, b->energy)
           && a->key == b->key && a->mode == b->mode
           && same_double(a->loudness, b->loudness)
           && same_double(a->speechiness, b->speechiness)
           && same_double(a->acousticness, b->acousticness)
           && same_double(a->instrumentalness, b->instrumentalness)
           && same_double(a->liveness, b->liveness)
           && same_double(a->valence, b->valence)
           && same_double(a->tempo, b->tempo)
           && a->time_signature == b->time_signature
           && a->storage == b->storage
           && same_double(a->daily_cost, b->daily_cost)
           && same_double(a->fan_plays, b->fan_plays)
           && same_double(a->fan_skips, b->fan_skips);
}

/* The message must be a C string that starts with `field "<name>"`. */
static void
check_err(const char *err, size_t errlen, const char *const *fields, int n)
{
    size_t  flen;
    int     i;

    if (memchr(err, '\0', errlen) == NULL) {
        abort();
    }
    if (strncmp(err, "field \"", 7) != 0) {
        abort();
    }
    /* the packed part of the stored form is a field of its own */
    if (strncmp(err + 7, "b\"", 2) == 0) {
        return;
    }
    for (i = 0; i < n; i++) {
        flen = strlen(fields[i]);
        if (strncmp(err + 7, fields[i], flen) == 0 && err[7 + flen] == '"') {
            return;
        }
    }
    abort();
}

/* Encode, decode the encoded strings, compare with the first decode. */
static void
check_round_trip(int track, const sk_user_rec *u, const sk_track_rec *t)
{
    static char   enc[NFIELDS_MAX][SK_REC_VALMAX];
    const char   *src[NFIELDS_MAX];
    char         *vals[NFIELDS_MAX], err[256];
    size_t        lens[NFIELDS_MAX];
    sk_user_rec   u2;
    sk_track_rec  t2;
    int           i, n = track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS;

    if (track) {
        sk_track_rec_encode(t, enc);
    } else {
        sk_user_rec_encode(u, enc);
    }
    for (i = 0; i < n; i++) {
        src[i] = enc[i];
        lens[i] = strlen(enc[i]);
    }
    to_heap(src, lens, n, vals);
    if (decode(track, track ? (void *) &t2 : (void *) &u2, vals, lens, err,
               sizeof(err)) != SK_REC_OK)
    {
        abort();
    }
    free_heap(vals, n);
    if (track ? !same_track(t, &t2) : !same_user(u, &u2)) {
        abort();
    }
}

static void
check_features(const sk_user_rec *u, const sk_track_rec *t)
{
    double      out[SK_MAX_FEATURES];
    sk_context  ctx = { -1, -1, NULL };
    size_t      p, k;
    int         s, i;

    for (s = 0; s < 2; s++) {
        for (p = 0; p < sizeof(priors) / sizeof(priors[0]); p++) {
            plans[s].priors = priors[p];
            for (ctx.hour = -1; ctx.hour <= 23; ctx.hour++) {
                for (k = 0; k < sizeof(positions) / sizeof(positions[0]);
                     k++)
                {
                    ctx.position = positions[k];
                    sk_features_raw(&plans[s], u, t, &ctx, out);
                    for (i = 0; i < plans[s].n; i++) {
                        if (!isfinite(out[i])) {
                            abort();
                        }
                        if (out[i] == FALLBACK
                            && !(session_feature[s][i] && ctx.position < 0))
                        {
                            abort();
                        }
                    }
                }
            }
        }
    }
}

/*
 * The stored form, read the module's way (unpack) and skipctl's way
 * (stored -> readable fields -> readable decoder).  The genre text is not
 * what the module reads, so it is set to the list "b" holds, when "b"
 * unpacks: the two must then give the same answer and the same record.
 */
static int
stored_agree(int track, void *rec, char **vals, const size_t *lens,
    char *err, size_t errlen)
{
    char          out[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    char          gtext[SK_REC_VALMAX];
    const char   *sv[SK_TRACK_NSTORED], *p[SK_TRACK_NFIELDS];
    size_t        sl[SK_TRACK_NSTORED], l[SK_TRACK_NFIELDS];
    int           present[SK_TRACK_NFIELDS], i, rc, rc2, nf, ns;
    sk_user_rec   u2;
    sk_track_rec  t2;

    ns = track ? SK_TRACK_NSTORED : SK_USER_NSTORED;
    nf = track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS;
    for (i = 0; i < ns; i++) {
        sv[i] = vals[i];
        sl[i] = lens[i];
    }
    rc = track ? sk_track_rec_unpack(rec, sv, sl, err, errlen)
               : sk_user_rec_unpack(rec, sv, sl, err, errlen);
    if (rc != SK_REC_OK && rc != SK_REC_MISSING && rc != SK_REC_MALFORMED) {
        abort();
    }
    if (rc == SK_REC_MALFORMED) {
        check_err(err, errlen, track ? sk_track_fields : sk_user_fields, nf);
    }
    if (rc == SK_REC_OK) {
        sk_genre_mask_format(track ? ((sk_track_rec *) rec)->genres
                                   : ((sk_user_rec *) rec)->fav,
                             gtext, sizeof(gtext));
        sv[ns - 1] = gtext;
        sl[ns - 1] = strlen(gtext);
    }
    rc2 = track ? sk_track_rec_stored_fields(sv, sl, out, present, NULL, 0)
                : sk_user_rec_stored_fields(sv, sl, out, present, NULL, 0);
    if (rc2 == SK_REC_OK) {
        for (i = 0; i < nf; i++) {
            p[i] = present[i] ? out[i] : NULL;
            l[i] = present[i] ? strlen(out[i]) : 0;
        }
        rc2 = track ? sk_track_rec_decode(&t2, p, l, NULL, 0)
                    : sk_user_rec_decode(&u2, p, l, NULL, 0);
    }
    /* MISSING needs every stored field nil, unpack only the fetched ones */
    if (rc == SK_REC_MISSING) {
        return rc;
    }
    if ((rc == SK_REC_OK) != (rc2 == SK_REC_OK)) {
        abort();
    }
    if (rc == SK_REC_OK
        && (track ? !same_track(rec, &t2) : !same_user(rec, &u2)))
    {
        abort();
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char   *src[NFIELDS_MAX];
    const char   *s, *sep;
    char         *vals[NFIELDS_MAX], *small;
    char          err[256], sepc;
    size_t        lens[NFIELDS_MAX], off, smalllen;
    sk_user_rec   u;
    sk_track_rec  t;
    void         *rec;
    int           track, nil, n, i, rc, stored;

    if (!ready) {
        init();
    }
    if (size < 1) {
        return 0;
    }
    track = data[0] & 1;
    sepc = (data[0] & 2) ? '\0' : '\n';
    nil = ((data[0] >> 2) & 31) - 1;
    stored = data[0] >> 7;
    n = stored ? (track ? SK_TRACK_NSTORED : SK_USER_NSTORED)
               : (track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS);
    rec = track ? (void *) &t : (void *) &u;

    /* off: where field i starts, past the end once the fields run out. */
    s = (const char *) data;
    off = size > 1 ? 1 : size + 1;
    for (i = 0; i < n; i++) {
        src[i] = NULL;
        lens[i] = 0;
        if (off > size) {
            continue;
        }
        sep = memchr(s + off, sepc, size - off);
        src[i] = s + off;
        lens[i] = (sep ? (size_t) (sep - s) : size) - off;
        off += lens[i] + 1;
    }
    if (nil >= 0 && nil < n) {
        src[nil] = NULL;
        lens[nil] = 0;
    }
    to_heap(src, lens, n, vals);

    /* The module's 256-byte buffer, filled so that a missing NUL shows. */
    memset(err, 'x', sizeof(err));
    if (stored) {
        rc = stored_agree(track, rec, vals, lens, err, sizeof(err));
        free_heap(vals, n);
        goto checked;
    }
    rc = decode(track, rec, vals, lens, err, sizeof(err));
    if (rc != SK_REC_OK && rc != SK_REC_MISSING && rc != SK_REC_MALFORMED) {
        abort();
    }

    /* Any error buffer, even none, gives the same answer. */
    smalllen = 1 + size % 24;
    small = malloc(smalllen);
    if (small == NULL) {
        abort();
    }
    memset(small, 'x', smalllen);
    if (decode(track, rec, vals, lens, small, smalllen) != rc
        || decode(track, rec, vals, lens, NULL, 0) != rc)
    {
        abort();
    }
    if (rc == SK_REC_MALFORMED) {
        check_err(err, sizeof(err),
                  track ? sk_track_fields : sk_user_fields, n);
        if (memchr(small, '\0', smalllen) == NULL) {
            abort();
        }
    }
    free(small);
    free_heap(vals, n);

checked:

    if (rc != SK_REC_OK) {
        return 0;
    }
    if (track ? !track_valid(&t) : !user_valid(&u)) {
        abort();
    }
    check_round_trip(track, &u, &t);
    for (i = 0; i < 2; i++) {
        if (track) {
            check_features(&users[i], &t);
        } else {
            check_features(&u, &tracks[i]);
        }
    }
    return 0;
}
