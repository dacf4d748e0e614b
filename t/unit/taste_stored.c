/*
 * The taste's stored form (core/taste_stored.h): field names and values as
 * the loader writes them decode back to the same counts, what does not
 * parse is refused naming the field, the "usable" rule, the artist
 * features abstaining when the artist is unknown, and the events script's
 * genre list matching genres.c (the script names taste fields by index).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/featurize.h"
#include "core/genres.h"
#include "core/records.h"
#include "core/store_scripts.h"
#include "core/taste_stored.h"
#include "tap.h"

static void
test_roundtrip(void)
{
    uint32_t    counts[SK_TASTE_NFIELDS * 2];
    char        buf[SK_TASTE_TEXTMAX], name[SK_TASTE_NAMEMAX];
    sk_taste    t;
    char        err[256];
    size_t      len, n;
    int         i, same = 1;

    ok(sk_taste_field(0, name) == 2 && strcmp(name, "g0") == 0
       && sk_taste_field(49, name) == 3 && strcmp(name, "g49") == 0
       && sk_taste_field(50, name) == 3 && strcmp(name, "h00") == 0
       && sk_taste_field(73, name) == 3 && strcmp(name, "h23") == 0,
       "entry names g0..g49, h00..h23");

    for (i = 0; i < SK_TASTE_NFIELDS; i++) {
        counts[2 * i] = (uint32_t) i * 3;
        counts[2 * i + 1] = (uint32_t) i + 1;
    }
    counts[0] = 4294967295u;
    len = sk_taste_encode(counts, buf, sizeof(buf));
    ok(len > 0 && strncmp(buf, "g0=4294967295:1,g1=3:2,", 23) == 0
       && strstr(buf, ",h23=219:74") == buf + len - 11,
       "encoded in slot order, plays:skips");
    ok(sk_taste_decode(&t, buf, len, &n, err, sizeof(err)) == SK_REC_OK
       && n == SK_TASTE_NFIELDS, "all 74 entries decode (%s)", err);
    for (i = 1; i < SK_N_GENRES; i++) {
        same &= t.genre[i][0] == i * 3 && t.genre[i][1] == i + 1;
    }
    for (i = 0; i < SK_HOURS; i++) {
        int s = SK_N_GENRES + i;

        same &= t.hour[i][0] == s * 3 && t.hour[i][1] == s + 1;
    }
    ok(same && t.genre[0][0] == 4294967295.0f, "... to the same counts");
    ok(t.artist[0] < 0, "... with the artist unknown");

    memset(counts, 0, sizeof(counts));
    ok(sk_taste_encode(counts, buf, sizeof(buf)) == 0 && buf[0] == '\0',
       "no history: nothing to store");
    counts[2 * 7 + 1] = 2;
    counts[2 * (SK_N_GENRES + 9)] = 1;
    len = sk_taste_encode(counts, buf, sizeof(buf));
    ok(strcmp(buf, "g7=0:2,h09=1:0") == 0, "only what has history: %s",
       buf);
    ok(sk_taste_decode(&t, NULL, 0, &n, err, sizeof(err)) == SK_REC_OK
       && n == 0 && t.genre[3][0] == 0 && t.hour[5][1] == 0,
       "no key: all zeros");
}

static void
bad(const char *val, const char *want)
{
    sk_taste    t;
    char        err[256] = "";
    size_t      n;
    int         rc;

    rc = sk_taste_decode(&t, val, strlen(val), &n, err, sizeof(err));
    ok(rc == SK_REC_MALFORMED && strstr(err, want) != NULL
       && t.genre[1][0] == 0, "refused: %s", err);
}

static void
test_malformed(void)
{
    bad("g1=5:5,g50=1:1", "entry 2 \"g50=1:1\": not g0..g49 or h00..h23");
    bad("h24=1:1", "\"h24=1:1\"");
    bad("h7=1:1", "\"h7=1:1\"");
    bad("g07=1:1", "\"g07=1:1\"");
    bad("x1=1:1", "\"x1=1:1\"");
    bad("g7=many:few", "\"g7=many:few\"");
    bad("g7=3", "\"g7=3\"");
    bad("g7=-1:2", "\"g7=-1:2\"");
    bad("g7=1:99999999999", "\"g7=1:99999999999\"");
    bad("h03=1:2\n", "\"h03=1:2?\"");
    bad("g1=1:2,", "entry 2 \"\"");
    bad("g1=1:2,g1=3:4", "entry 2 \"g1=3:4\": repeated");
    bad("g1=1:2 ,g2=1:1", "entry 1");
}

static void
test_usable(void)
{
    ok(sk_taste_usable(SK_REC_OK, 3, 10, 5), "fields: usable");
    ok(sk_taste_usable(SK_REC_OK, 0, 0, 0), "no fields, no history: usable");
    ok(!sk_taste_usable(SK_REC_OK, 0, 10, 5),
       "no fields but a user with history: not loaded, abstain");
    ok(!sk_taste_usable(SK_REC_MALFORMED, 3, 10, 5), "malformed: abstain");
    ok(!sk_taste_usable(-102, 0, 0, 0), "not fetched: abstain");
}

static void
test_artist_abstains(void)
{
    static const char *const names[] = {
        "taste_genre_delta", "taste_artist_delta", "taste_artist_log_n"
    };
    sk_feature_plan plan;
    sk_user_rec     u;
    sk_track_rec    t;
    sk_context      c = { 12, -1, NULL };
    sk_taste        taste;
    double          raw[3];
    char            err[256];

    memset(&u, 0, sizeof(u));
    memset(&t, 0, sizeof(t));
    u.plays = 30;
    u.skips = 20;
    t.genres = 1u << 4;
    ok(sk_feature_plan_init(&plan, names, 3, err, sizeof(err)) == 0,
       "plan of taste features");
    plan.mean[0] = 100;
    plan.mean[1] = 101;
    plan.mean[2] = 102;
    memset(&taste, 0, sizeof(taste));
    taste.genre[4][1] = 9;
    taste.artist[0] = -1;
    sk_features_raw_ext(&plan, &u, &t, &c, &taste, NULL, raw);
    ok(raw[0] != 100 && raw[1] == 101 && raw[2] == 102,
       "artist unknown: its two features take the training mean, the "
       "genre one does not (%g %g %g)", raw[0], raw[1], raw[2]);
    taste.artist[0] = 0;
    sk_features_raw_ext(&plan, &u, &t, &c, &taste, NULL, raw);
    ok(raw[1] == 0 && raw[2] == 0, "artist known without history: 0, 0");
}

static void
test_script_genres(void)
{
    char   want[2048];
    size_t off = 0;
    int    i;

    for (i = 0; i < SK_N_GENRES; i++) {
        off += (size_t) snprintf(want + off, sizeof(want) - off, "%s%s",
                                 i ? "|" : "", sk_genre_name(i));
    }
    ok(strcmp(want, sk_script_genres) == 0,
       "the events script's genre list is genres.c's, in index order");
    ok(strstr(sk_script_event, sk_script_genres) != NULL
       && strstr(sk_script_handover, sk_script_genres) != NULL,
       "... and both counting scripts carry it");
}

int
main(void)
{
    test_roundtrip();
    test_malformed();
    test_usable();
    test_artist_abstains();
    test_script_genres();
    return done_testing();
}
