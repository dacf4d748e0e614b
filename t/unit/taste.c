/*
 * The taste and session inputs (core/taste.h): the session context counts
 * earlier plays of the session only (no later event leaks in, proved by
 * flipping every later label), the taste history's out-of-fold counts, and
 * the features' "unknown" behaviour (NULL -> the training mean, so the
 * feature standardises to 0 and the model scores as without it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/featurize.h"
#include "core/model.h"
#include "data/session_ctx.h"
#include "data/taste_hist.h"
#include "tap.h"

#define NSESS 40
#define MAXL  12

/* Rows as sk_labels_finish leaves them: by (session, track), numbered. */
static size_t
make_rows(sk_labelled *rows, unsigned seed, const int *flip_from)
{
    size_t n = 0;
    int    s, k;

    srand(seed);
    for (s = 0; s < NSESS; s++) {
        int L = 1 + s % MAXL, perm[MAXL];

        for (k = 0; k < L; k++) {
            perm[k] = k;
        }
        for (k = L - 1; k > 0; k--) {      /* track order != request order */
            int j = rand() % (k + 1), t = perm[k];

            perm[k] = perm[j];
            perm[j] = t;
        }
        for (k = 0; k < L; k++) {
            sk_labelled *r = &rows[n++];

            memset(r, 0, sizeof(*r));
            r->session_id = 1000 + s;
            r->track = (uint32_t) k;
            r->position = (uint16_t) perm[k];
            r->ts_ms = 60000LL * perm[k];
            r->label = (int8_t) ((rand() >> 3) & 1);
        }
    }
    /* Flip every label at or after flip_from[s] (request order). */
    if (flip_from) {
        size_t i;

        for (i = 0; i < n; i++) {
            int s2 = (int) (rows[i].session_id - 1000);

            if (rows[i].position >= flip_from[s2]) {
                rows[i].label = !rows[i].label;
            }
        }
    }
    return n;
}

static void
test_session_ctx(void)
{
    static sk_labelled a[NSESS * MAXL], b[NSESS * MAXL];
    sk_sess_row *ca, *cb;
    size_t       n, i, j;
    int          flip[NSESS], s, brute = 1, nolate = 1, sees = 1;
    sk_session   x;

    n = make_rows(a, 7, NULL);
    ca = sk_session_ctx_build(a, n, NULL);
    ok(ca != NULL, "session context built");
    /* Brute force: the plays requested before, counted directly. */
    for (i = 0; i < n; i++) {
        int plays = 0, skips = 0, prev = -1;

        for (j = 0; j < n; j++) {
            if (a[j].session_id != a[i].session_id
                || a[j].position >= a[i].position)
            {
                continue;
            }
            plays += a[j].label;
            skips += !a[j].label;
            if (a[j].position + 1 == a[i].position) {
                prev = a[j].label;
            }
        }
        brute &= ca[i].plays == plays && ca[i].skips == skips
                 && ca[i].prev == prev;
    }
    ok(brute, "each play sees exactly the outcomes requested before it");

    /* Flip every label from position k on: plays up to k must not move,
     * for every session and every k. */
    for (s = 0; s < NSESS; s++) {
        flip[s] = s % (1 + s % MAXL);
    }
    n = make_rows(b, 7, flip);
    cb = sk_session_ctx_build(b, n, NULL);
    for (i = 0; i < n; i++) {
        int k = flip[a[i].session_id - 1000];
        int same = memcmp(&ca[i], &cb[i], sizeof(ca[i])) == 0;

        if (a[i].position <= k) {
            nolate &= same;
        } else {
            sees &= !same;
        }
    }
    ok(nolate, "no later event leaks in: flipping every label from a "
       "position on leaves the plays up to it unchanged");
    ok(sees, "(and the plays after it do see the change)");
    free(cb);

    sk_session_of(&ca[0], &x);
    ok(x.plays >= 0 && x.skips >= 0, "known context");
    sk_session_of(NULL, &x);
    ok(x.plays == -1 && x.skips == -1, "NULL: unknown");

    /* A duplicated position (a saturated counter): the session is unknown. */
    n = make_rows(b, 7, NULL);
    b[2].position = b[1].position;      /* session 1001: rows 1 and 2 */
    free(ca);
    ca = sk_session_ctx_build(b, n, NULL);
    sk_session_of(&ca[1], &x);
    ok(ca[1].prev == -2 && x.plays == -1, "unusable positions: unknown");
    free(ca);
}

static void
test_taste_hist(void)
{
    sk_taste_hist th;
    sk_taste      t;
    uint32_t      u, a;
    int           okc = 1;

    ok(sk_taste_hist_init(&th, 3, 5) == 0, "taste history for 3 users");
    /* user 1: fold 0 plays genre 2 at hour 10 (artist 7) twice, fold 3
     * skips it once. */
    sk_taste_hist_add(&th, 1, 7, 1u << 2, 10, 0, 1);
    sk_taste_hist_add(&th, 1, 7, 1u << 2, 10, 0, 1);
    sk_taste_hist_add(&th, 1, 7, (1u << 2) | (1u << 5), 11, 3, 0);
    sk_taste_hist_get(&th, 1, 7, (1u << 2) | (1u << 5), 10, -1, &t);
    ok(t.genre[2][0] == 2 && t.genre[2][1] == 1 && t.genre[5][1] == 1,
       "genre counts, totals");
    ok(t.hour[10][0] == 2 && t.hour[11][1] == 1 && t.hour[9][0] == 0,
       "hour counts (the hour and its neighbours)");
    ok(t.artist[0] == 2 && t.artist[1] == 1, "artist counts");
    sk_taste_hist_get(&th, 1, 7, 1u << 2, 10, 0, &t);
    ok(t.genre[2][0] == 0 && t.genre[2][1] == 1 && t.artist[0] == 0,
       "out of fold 0: fold 0's plays taken out");
    sk_taste_hist_get(&th, 1, 7, 1u << 2, 10, 3, &t);
    ok(t.genre[2][0] == 2 && t.genre[2][1] == 0 && t.artist[1] == 0,
       "out of fold 3");
    sk_taste_hist_get(&th, 0, 7, 1u << 2, 10, -1, &t);
    ok(t.genre[2][0] == 0 && t.artist[0] == 0, "another user has none");
    sk_taste_hist_get(&th, 1, 7, 1u << 2, -1, -1, &t);
    ok(t.hour[10][0] == 0, "unknown hour: no hour counts");

    /* Growth: many (user, artist) pairs keep their counts. */
    for (a = 0; a < 100000; a++) {
        if (sk_taste_hist_add(&th, a % 3, a, 0, -1, (int) (a % 5),
                              (int) (a & 1)) != 0)
        {
            okc = 0;
        }
    }
    for (a = 0; a < 100000 && okc; a += 997) {
        u = a % 3;
        sk_taste_hist_get(&th, u, a, 0, -1, -1, &t);
        okc &= t.artist[a & 1 ? 0 : 1] == 1 && t.artist[a & 1 ? 1 : 0] == 0;
    }
    ok(okc, "100,000 pairs: the table grows and keeps every count");
    ok(th.used >= 100000, "... %zu pairs", th.used);
    sk_taste_hist_free(&th);
}

static void
test_features(void)
{
    const char *const *names;
    sk_feature_plan    plan;
    sk_user_rec        u;
    sk_track_rec       t;
    sk_context         c = { 10, 3, NULL };
    sk_taste           taste;
    sk_session         sess = { -1, -1, -1, 0, 0 };
    double             raw[SK_MAX_FEATURES], raw2[SK_MAX_FEATURES];
    char               err[256];
    int                n, i, nan_ok = 1, zero = 1, full_n;

    names = sk_feature_set("taste+session", &n);
    ok(names != NULL && sk_feature_plan_init(&plan, names, n, err,
                                             sizeof(err)) == 0,
       "the taste+session set is servable by this build");
    sk_feature_set("full", &full_n);
    ok(n == full_n + 12, "taste+session = full + 9 taste + 3 session");
    ok(sk_feature_plan_inputs(&plan) == (SK_INPUT_TASTE | SK_INPUT_SESSION),
       "it needs both inputs");
    for (i = 0; i < n; i++) {
        plan.mean[i] = 100 + i;         /* recognisable training means */
    }
    memset(&u, 0, sizeof(u));
    memset(&t, 0, sizeof(t));
    u.plays = 30;
    u.skips = 20;
    t.genres = 1u << 4;
    sk_features_raw_ext(&plan, &u, &t, &c, NULL, NULL, raw);
    for (i = full_n; i < n; i++) {
        nan_ok &= raw[i] == plan.mean[i];
    }
    ok(nan_ok, "no taste, no session: every new feature is its training "
       "mean (standardises to 0)");
    sk_features_raw_ext(&plan, &u, &t, &c, NULL, &sess, raw2);
    ok(memcmp(raw, raw2, sizeof(double) * n) == 0,
       "an unknown session is the same as none");
    sk_features_raw(&plan, &u, &t, &c, raw2);
    ok(memcmp(raw, raw2, sizeof(double) * n) == 0,
       "sk_features_raw is the NULL, NULL case");

    memset(&taste, 0, sizeof(taste));
    sess.plays = sess.skips = 0;
    sess.prev = -1;
    sk_features_raw_ext(&plan, &u, &t, &c, &taste, &sess, raw);
    for (i = full_n; i < n; i++) {
        const char *nm = sk_feature_name(plan.id[i]);

        if (strstr(nm, "delta") || strstr(nm, "log_n")
            || strstr(nm, "prev_skip") || strstr(nm, "log_skips")
            || strstr(nm, "log_plays"))
        {
            if (fabs(raw[i]) > 1e-12) {
                diag("%s = %g", nm, raw[i]);
                zero = 0;
            }
        }
    }
    ok(zero, "no history, first play of a session: deltas and counts 0");

    taste.genre[4][1] = 40;             /* a disliked genre */
    taste.genre[4][0] = 2;
    sess.skips = 3;
    sess.prev = 0;
    sess.prev_expect = 0.3;
    sess.resid = 3 - 0.9;
    sk_features_raw_ext(&plan, &u, &t, &c, &taste, &sess, raw);
    for (i = full_n; i < n; i++) {
        const char *nm = sk_feature_name(plan.id[i]);

        if (strcmp(nm, "taste_genre_max_delta") == 0) {
            ok(raw[i] > 1.0, "a disliked genre: max delta %.3f", raw[i]);
        } else if (strcmp(nm, "session_prev_resid") == 0) {
            ok(raw[i] > 0.5, "previous track skipped: a surprise of %.3f",
               raw[i]);
        } else if (strcmp(nm, "session_skip_delta") == 0) {
            ok(raw[i] > 0.5, "three skips so far: delta %.3f", raw[i]);
        }
    }
}

int
main(void)
{
    test_session_ctx();
    test_taste_hist();
    test_features();
    return done_testing();
}
