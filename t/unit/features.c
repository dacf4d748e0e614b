/* The feature registry, the named sets, raw values and liblinear nodes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/featurize.h"
#include "core/genres.h"
#include "tap.h"

static const char *const seed_expect[12] = {
    "user_skip_rate", "track_skip_rate", "danceability", "energy",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
    "popularity", "loudness", "tempo"
};

static void
fill(sk_user_rec *u, sk_track_rec *t)
{
    memset(u, 0, sizeof(*u));
    memset(t, 0, sizeof(*t));
    u->fav = (1ULL << sk_genre_index("rock", 4))
             | (1ULL << sk_genre_index("soul", 4))
             | (1ULL << sk_genre_index("pop", 3));
    u->premium = 0;
    u->plays = 60;
    u->skips = 40;
    u->fav_plays = 30;
    u->fav_skips = 10;
    t->genres = (1ULL << sk_genre_index("rock", 4))
                | (1ULL << sk_genre_index("metal", 5));
    t->n_genres = 4;
    t->plays = 3;
    t->skips = 1;
    t->popularity = 55;
    t->duration_ms = 400000;
    t->explicit_ = 1;
    t->year = 1999;
    t->danceability = 0.5;
    t->energy = 0.25;
    t->speechiness = 0.1;
    t->acousticness = 0.2;
    t->instrumentalness = 0.3;
    t->liveness = 0.4;
    t->valence = 0.6;
    t->loudness = -7.5;
    t->tempo = 120;
    t->mode = -1;
    t->key = 3;
    t->time_signature = 4;
}

static double
value_of(const char *name, const sk_user_rec *u, const sk_track_rec *t,
    const sk_context *ctx)
{
    sk_feature_plan plan;
    const char     *names[1] = { name };
    char            err[256];
    double          raw[1];

    if (sk_feature_plan_init(&plan, names, 1, err, sizeof(err)) != 0) {
        diag("%s", err);
        return NAN;
    }
    plan.priors.global_skip_rate = 0.4;
    plan.priors.user_weight = 20;
    plan.priors.track_weight = 10;
    sk_features_raw(&plan, u, t, ctx, raw);
    return raw[0];
}

int
main(void)
{
    const char *const *names;
    int                n, i, ok_order, ok_fav;
    sk_feature_plan    plan;
    char               err[256], want[64];
    const char        *bad[2] = { "user_skip_rate", "no_such_feature" };
    sk_user_rec        u;
    sk_track_rec       t;
    sk_context         ctx = { 3, 7, NULL }, noctx = { -1, -1, NULL };
    double             raw[SK_MAX_FEATURES];
    struct feature_node x[SK_MAX_FEATURES + 2];

    /* The seed set: the original's 62 inputs, in its order. */
    names = sk_feature_set("seed", &n);
    is_int(n, 62, "seed set has 62 features");
    ok_order = names != NULL;
    for (i = 0; ok_order && i < 12; i++) {
        ok_order = strcmp(names[i], seed_expect[i]) == 0;
    }
    ok(ok_order, "seed set starts with the 12 original numeric inputs");
    ok_fav = names != NULL;
    for (i = 0; ok_fav && i < SK_N_GENRES; i++) {
        snprintf(want, sizeof(want), "fav:%s", sk_genre_name(i));
        ok_fav = strcmp(names[12 + i], want) == 0;
    }
    ok(ok_fav, "then 50 fav:<genre> flags in genres.h (alphabetical) order");
    is_str(names[12], "fav:adult standards", "first flag");
    is_str(names[61], "fav:vocal jazz", "last flag");

    names = sk_feature_set("full", &n);
    ok(names != NULL && n >= 16 && n <= SK_MAX_FEATURES, "full set: %d", n);
    ok(sk_feature_plan_init(&plan, names, n, err, sizeof(err)) == 0,
       "every full feature is known to the registry");
    ok(sk_feature_set("nope", &n) == NULL && n == 0, "unknown set -> NULL");

    /* Registry round trip. */
    for (i = 0, ok_order = 1; i < 200; i++) {
        const char *nm = sk_feature_name(i);
        if (nm && sk_feature_id(nm) != i) {
            ok_order = 0;
        }
    }
    ok(ok_order, "sk_feature_id(sk_feature_name(i)) == i");
    is_int(sk_feature_id("fav:rock"), sk_feature_id("fav:adult standards")
           + sk_genre_index("rock", 4), "fav:rock id");
    is_int(sk_feature_id("fav:unknown genre"), -1, "fav:<unknown> rejected");
    ok(sk_feature_name(-1) == NULL, "no name for id -1");

    /* Plan init rejects what this build cannot compute. */
    ok(sk_feature_plan_init(&plan, bad, 2, err, sizeof(err)) == -1,
       "plan_init rejects an unknown name");
    ok(strstr(err, "no_such_feature") != NULL, "error names it: %s", err);
    ok(sk_feature_plan_init(&plan, bad, 0, err, sizeof(err)) == -1,
       "plan_init rejects an empty list");

    /* Values. */
    fill(&u, &t);
    is_near(value_of("user_skip_rate", &u, &t, &ctx), 0.4, 1e-12,
            "user_skip_rate = skips / n");
    is_near(value_of("track_skip_rate", &u, &t, &ctx), 0.25, 1e-12,
            "track_skip_rate");
    is_near(value_of("user_skip_rate_s", &u, &t, &ctx),
            (40 + 20 * 0.4) / (100 + 20), 1e-12, "user rate smoothed");
    is_near(value_of("track_skip_rate_s", &u, &t, &ctx),
            (1 + 10 * 0.4) / (4 + 10), 1e-12, "track rate smoothed");
    is_near(value_of("track_log_n", &u, &t, &ctx), log(5), 1e-12,
            "track_log_n = log(1 + n)");
    is_near(value_of("genre_match", &u, &t, &ctx), 1, 0, "genre match");
    is_near(value_of("genre_match_n", &u, &t, &ctx), 1, 0, "one in common");
    {
        double us = (40 + 20 * 0.4) / 120.0;
        double fav = (10 + 20 * us) / (40 + 20);
        double oth = (30 + 20 * us) / (60 + 20);
        is_near(value_of("user_fav_skip_rate_s", &u, &t, &ctx), fav, 1e-12,
                "fav-genre rate smoothed towards the user's");
        is_near(value_of("user_other_skip_rate_s", &u, &t, &ctx), oth, 1e-12,
                "other-genre rate");
        is_near(value_of("user_genre_skip_logit", &u, &t, &ctx),
                log(fav / (1 - fav)), 1e-12, "matching track -> fav logit");
        is_near(value_of("user_genre_delta", &u, &t, &ctx),
                log(fav / (1 - fav)) - log(oth / (1 - oth)), 1e-12,
                "genre delta");
    }
    is_near(value_of("explicit_free", &u, &t, &ctx), 1, 0,
            "explicit and free user");
    is_near(value_of("long_track", &u, &t, &ctx), 1, 0, "400 s is long");
    is_near(value_of("night", &u, &t, &ctx), 1, 0, "03:00 is night");
    is_near(value_of("night", &u, &t, &noctx), 0, 0, "unknown hour -> 0");
    is_near(value_of("fav:rock", &u, &t, &ctx), 1, 0, "fav:rock set");
    is_near(value_of("fav:metal", &u, &t, &ctx), 0, 0, "fav:metal not set");
    is_near(value_of("mode", &u, &t, &ctx), 0, 0, "unknown mode -> 0");

    /* No history at all: rates fall back to the global rate. */
    u.plays = u.skips = u.fav_plays = u.fav_skips = 0;
    t.plays = t.skips = 0;
    is_near(value_of("user_skip_rate", &u, &t, &ctx), 0.4, 1e-12,
            "no user history -> global rate");
    is_near(value_of("user_genre_skip_logit", &u, &t, &ctx),
            log(0.4 / 0.6), 1e-12, "no history -> logit of global rate");
    t.danceability = NAN;
    ok(isfinite(value_of("danceability", &u, &t, &ctx)), "NaN -> finite");

    /* Session position: sent by the player, capped, unknown -> the mean. */
    is_near(value_of("session_position", &u, &t, &ctx), 7, 0,
            "session_position as sent");
    is_near(value_of("session_log_position", &u, &t, &ctx), log(8), 1e-12,
            "session_log_position = log(1 + position)");
    ctx.position = 100000;
    is_near(value_of("session_position", &u, &t, &ctx), SK_POSITION_MAX, 0,
            "an absurd position is capped at SK_POSITION_MAX");
    ctx.position = 7;
    {
        const char *pn[2] = { "session_log_position", "premium" };
        double      pr[2];

        sk_feature_plan_init(&plan, pn, 2, err, sizeof(err));
        plan.mean[0] = 2.25;
        sk_features_raw(&plan, &u, &t, &noctx, pr);
        is_near(pr[0], 2.25, 0, "unknown position -> the training mean");
        sk_features_nodes(&plan, pr, -1, x);
        is_near(x[0].value, 0, 0, "... which standardises to 0");
    }
    names = sk_feature_set("full", &n);
    for (i = 0, ok_order = 0; i < n; i++) {
        ok_order |= strcmp(names[i], "session_log_position") == 0;
    }
    ok(ok_order, "the full set uses the session position");

    /* Standardised nodes. */
    names = sk_feature_set("seed", &n);
    sk_feature_plan_init(&plan, names, n, err, sizeof(err));
    for (i = 0; i < n; i++) {
        plan.mean[i] = 0.5 * i;
        plan.scale[i] = 1.0 + i;
    }
    fill(&u, &t);
    sk_features_raw(&plan, &u, &t, &ctx, raw);
    sk_features_nodes(&plan, raw, 1.0, x);
    for (i = 0, ok_order = 1; i < n; i++) {
        if (x[i].index != i + 1
            || fabs(x[i].value - (raw[i] - 0.5 * i) / (1.0 + i)) > 1e-15)
        {
            ok_order = 0;
        }
    }
    ok(ok_order, "node i = (raw - mean) / scale, index i + 1");
    ok(x[n].index == n + 1 && x[n].value == 1.0, "bias node n + 1");
    is_int(x[n + 1].index, -1, "terminator");
    sk_features_nodes(&plan, raw, -1, x);
    is_int(x[n].index, -1, "no bias node when bias < 0");
    is_near(raw[10], -7.5, 0, "loudness raw (min-max then standardise = "
            "standardise raw)");

    return done_testing();
}
