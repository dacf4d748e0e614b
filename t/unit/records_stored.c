/*
 * The stored form of the records (records_stored.c): packed and unpacked
 * bit-exact, and accepting exactly what the readable decoder accepts, field
 * by field at the edges of every range, so the module and skipctl never
 * disagree about a record.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "core/records.h"

static char   sv[SK_TRACK_NSTORED][SK_REC_VALMAX];
static size_t sl[SK_TRACK_NSTORED];

static double
rnd(void)
{
    return (double) rand() / RAND_MAX;
}

static void
random_track(sk_track_rec *t)
{
    memset(t, 0, sizeof(*t));
    t->genres = ((uint64_t) rand() << 20 ^ (uint64_t) rand())
                & (((uint64_t) 1 << 50) - 1);
    t->n_genres = rand() % 12;
    t->plays = rand() % 5000;
    t->skips = rand() % 5000;
    t->popularity = rand() % 101;
    t->duration_ms = 30000 + rand() % 400000;
    t->explicit_ = rand() % 2;
    t->year = rand() % 2 ? 1950 + rand() % 75 : 0;
    t->danceability = (float) rnd();
    t->energy = (float) rnd();
    t->key = rand() % 13 - 1;
    t->mode = rand() % 3 - 1;
    t->loudness = -60 * rnd();
    t->speechiness = rnd();
    t->acousticness = rnd();
    t->instrumentalness = rnd();
    t->liveness = rnd();
    t->valence = rnd();
    t->tempo = 250 * rnd();
    t->time_signature = rand() % 7 - 1;
    t->storage = rand() % 3;
    t->daily_cost = rnd() / 7;
    t->fan_plays = t->plays * rnd();
    t->fan_skips = floor(t->skips * rnd());
}

/* The module's view: the first SK_REC_NFETCH stored values. */
static int
unpack_track(sk_track_rec *t, char *err)
{
    const char *v[SK_REC_NFETCH];
    int         i;

    for (i = 0; i < SK_REC_NFETCH; i++) {
        v[i] = sv[i];
    }
    return sk_track_rec_unpack(t, v, sl, err, 256);
}

/* skipctl's view: stored -> readable fields -> readable decoder. */
static int
readable_track(sk_track_rec *t, char *err)
{
    char        out[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    int         present[SK_TRACK_NFIELDS], i, rc;
    const char *v[SK_TRACK_NSTORED], *p[SK_TRACK_NFIELDS];
    size_t      l[SK_TRACK_NFIELDS];

    for (i = 0; i < SK_TRACK_NSTORED; i++) {
        v[i] = sv[i];
    }
    rc = sk_track_rec_stored_fields(v, sl, out, present, err, 256);
    if (rc != SK_REC_OK) {
        return rc;
    }
    for (i = 0; i < SK_TRACK_NFIELDS; i++) {
        p[i] = present[i] ? out[i] : NULL;
        l[i] = present[i] ? strlen(out[i]) : 0;
    }
    return sk_track_rec_decode(t, p, l, err, 256);
}

/* One field of a packed track set to d: do both views agree? */
static int
edge(sk_track_rec *base, size_t off, int is_int, double d)
{
    sk_track_rec  t = *base, a, b;
    char          err[256];
    int           ra, rb;

    if (is_int) {
        *(int *) ((char *) &t + off) = (int) d;
    } else {
        *(double *) ((char *) &t + off) = d;
    }
    sk_track_rec_pack(&t, sv, sl);
    ra = unpack_track(&a, err);
    rb = readable_track(&b, err);
    return ra == rb && (ra != SK_REC_OK || memcmp(&a, &b, sizeof(a)) == 0);
}

int
main(void)
{
    sk_track_rec  t, t2;
    sk_user_rec   u, u2;
    char          err[256], uvals[SK_USER_NSTORED][SK_REC_VALMAX];
    size_t        ul[SK_USER_NSTORED];
    const char   *v[SK_TRACK_NSTORED];
    int           i, exact = 1, agree = 1;

    srand(7);
    for (i = 0; i < 2000; i++) {
        random_track(&t);
        sk_track_rec_pack(&t, sv, sl);
        if (unpack_track(&t2, err) != SK_REC_OK
            || memcmp(&t, &t2, sizeof(t)) != 0)
        {
            diag("track %d: %s", i, err);
            exact = 0;
        }
        if (readable_track(&t2, err) != SK_REC_OK
            || memcmp(&t, &t2, sizeof(t)) != 0)
        {
            diag("track %d (readable): %s", i, err);
            agree = 0;
        }
    }
    ok(exact, "2000 random tracks: pack -> unpack is bit-exact");
    ok(agree, "... and the readable form decodes to the same record");
    is_int((int) sl[0], 162, "b of a track is 162 bytes");

    /* every range edge: the packed and the readable form agree */
    random_track(&t);
    t.fan_plays = t.fan_skips = 0;
#define EDGES(field, is_int, lo, hi)                                         \
    do {                                                                     \
        size_t off_ = offsetof(sk_track_rec, field);                         \
        ok(edge(&t, off_, is_int, lo) && edge(&t, off_, is_int, hi)          \
           && edge(&t, off_, is_int, (lo) - 1)                               \
           && edge(&t, off_, is_int, (hi) + 1)                               \
           && (is_int || (edge(&t, off_, 0, NAN)                             \
                          && edge(&t, off_, 0, INFINITY)                     \
                          && edge(&t, off_, 0, (lo) - 1e-9)                  \
                          && edge(&t, off_, 0, (hi) + 1e-9))),               \
           "edges of " #field ": packed and readable agree");                \
    } while (0)
    EDGES(n_genres, 1, 0, 1000);
    EDGES(popularity, 0, 0, 100);
    EDGES(duration_ms, 0, 0, 1e9);
    EDGES(explicit_, 1, 0, 1);
    EDGES(year, 1, 0, 3000);
    EDGES(danceability, 0, 0, 1);
    EDGES(energy, 0, 0, 1);
    EDGES(key, 1, -1, 11);
    EDGES(mode, 1, -1, 1);
    EDGES(loudness, 0, -100, 100);
    EDGES(speechiness, 0, 0, 1);
    EDGES(acousticness, 0, 0, 1);
    EDGES(instrumentalness, 0, 0, 1);
    EDGES(liveness, 0, 0, 1);
    EDGES(valence, 0, 0, 1);
    EDGES(tempo, 0, 0, 1000);
    EDGES(time_signature, 1, -1, 16);
    EDGES(storage, 1, 0, 2);
    EDGES(daily_cost, 0, 0, 1e9);

    /* an out-of-range packed value names its field */
    t.popularity = 250;
    sk_track_rec_pack(&t, sv, sl);
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "popularity 250 refused");
    ok(strstr(err, "\"popularity\"") && strstr(err, "250"),
       "... naming field and value: %s", err);
    t.popularity = 50;

    /* counters: text, fast path and general path give the same doubles */
    sk_track_rec_pack(&t, sv, sl);
    strcpy(sv[1], "1e3");
    sl[1] = 3;
    is_int(unpack_track(&t2, err), SK_REC_OK, "counter 1e3 accepted");
    ok(t2.plays == 1000, "... as 1000");
    strcpy(sv[1], "0.30000000000000004");
    sl[1] = strlen(sv[1]);
    unpack_track(&t2, err);
    ok(t2.plays == 0.1 + 0.2, "a fractional counter is exact");
    strcpy(sv[1], "12x");
    sl[1] = 3;
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "counter 12x refused");
    ok(strstr(err, "\"plays\"") != NULL, "... naming plays: %s", err);
    strcpy(sv[1], "-1");
    sl[1] = 2;
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "negative counter refused");
    sk_track_rec_pack(&t, sv, sl);
    t.fan_plays = t.plays + 1;
    sk_track_rec_pack(&t, sv, sl);
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "fan_plays > plays refused");
    t.fan_plays = 0;

    /* b: missing, short, wrong kind, genre bits beyond 50 */
    sk_track_rec_pack(&t, sv, sl);
    for (i = 0; i < SK_REC_NFETCH; i++) {
        v[i] = i == 0 ? NULL : sv[i];
    }
    is_int(sk_track_rec_unpack(&t2, v, sl, err, sizeof(err)),
           SK_REC_MALFORMED, "no b: malformed");
    ok(strstr(err, "format 1") != NULL, "... says it is an old record: %s",
       err);
    for (i = 0; i < SK_REC_NFETCH; i++) {
        v[i] = NULL;
    }
    is_int(sk_track_rec_unpack(&t2, v, sl, err, sizeof(err)), SK_REC_MISSING,
           "nothing at all: missing");
    sl[0] = 100;
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "a short b: malformed");
    sl[0] = 162;
    sv[0][1] = 'u';
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED, "a user's b: malformed");
    sv[0][1] = 't';
    sv[0][9] = (char) 0x80;
    is_int(unpack_track(&t2, err), SK_REC_MALFORMED,
           "genre bits beyond 50: malformed");

    /* users */
    memset(&u, 0, sizeof(u));
    u.fav = ((uint64_t) 1 << 42) | 1;
    u.premium = 1;
    u.plays = 40;
    u.skips = 7;
    u.fav_plays = 12;
    u.fav_skips = 2;
    sk_user_rec_pack(&u, uvals, ul);
    for (i = 0; i < SK_REC_NFETCH; i++) {
        v[i] = uvals[i];
    }
    is_int(sk_user_rec_unpack(&u2, v, ul, err, sizeof(err)), SK_REC_OK,
           "user unpacks");
    ok(memcmp(&u, &u2, sizeof(u)) == 0, "user pack -> unpack is bit-exact");
    is_int((int) ul[0], 11, "b of a user is 11 bytes");
    is_str(uvals[5], "adult standards,rock", "fav stored as text too");
    uvals[0][10] = 2;
    is_int(sk_user_rec_unpack(&u2, v, ul, err, sizeof(err)), SK_REC_MALFORMED,
           "premium 2 refused");
    ok(strstr(err, "\"premium\"") != NULL, "... naming premium: %s", err);

    return done_testing();
}
