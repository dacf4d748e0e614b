/*
 * The feature registry and the one feature code path (see featurize.h).
 *
 * Every feature is a pure function of (user record, track record, request
 * context, smoothing priors).  Nothing here allocates: the module calls it
 * per request, the trainer per labelled play.
 *
 * Names are the model format: a manifest lists them, so never rename a
 * feature or change what it computes; add a new name instead.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "featurize.h"
#include "genres.h"

#define SK_PI 3.14159265358979323846

/* Registry ids.  The 50 "fav:<genre>" flags take F_FAV0 .. F_FAV0 + 49. */
enum {
    /* The original project's inputs (the "seed" set, in its order). */
    F_USER_SKIP_RATE = 0,   /* skips / (plays + skips), unsmoothed */
    F_TRACK_SKIP_RATE,
    F_DANCEABILITY,
    F_ENERGY,
    F_SPEECHINESS,
    F_ACOUSTICNESS,
    F_INSTRUMENTALNESS,
    F_LIVENESS,
    F_VALENCE,
    F_POPULARITY,
    F_LOUDNESS,
    F_TEMPO,

    /* History, smoothed towards the global skip rate (the "full" set). */
    F_USER_SKIP_RATE_S,     /* (skips + w g) / (n + w) */
    F_USER_SKIP_LOGIT,      /* logit of the above */
    F_USER_LOG_N,           /* log(1 + labelled plays of the user) */
    F_TRACK_SKIP_RATE_S,
    F_TRACK_SKIP_LOGIT,
    F_TRACK_LOG_N,
    F_USER_FAV_SKIP_RATE_S,     /* the user's rate on favourite-genre
                                   tracks, smoothed towards the user's */
    F_USER_OTHER_SKIP_RATE_S,   /* ... and on all other tracks */
    F_USER_GENRE_SKIP_LOGIT,    /* logit of whichever of the two applies
                                   to this track: captures both the user's
                                   bias and their genre loyalty */
    F_USER_GENRE_DELTA,         /* match * (logit fav - logit other) */

    /* Genre match between the track's artist and the user's favourites. */
    F_GENRE_MATCH,          /* 0/1: the naive model's rule */
    F_GENRE_MATCH_N,        /* how many of the user's favourites */
    F_TRACK_N_GENRES,       /* all genres of the artist */

    /* Static track, user and request facts. */
    F_PREMIUM,
    F_EXPLICIT,
    F_EXPLICIT_FREE,        /* explicit and the user is not premium */
    F_DURATION_MIN,
    F_LONG_TRACK,           /* longer than 6 minutes */
    F_YEAR,                 /* release year, 0 -> 2000 */
    F_NIGHT,                /* local hour 0..5; unknown hour -> 0 */
    F_HOUR_SIN,             /* hour on the circle; unknown -> 0 */
    F_HOUR_COS,
    F_MODE,                 /* 1 major, 0 minor or unknown */
    F_STORAGE_SLOW,         /* 1 when the track sits on the slow class */

    /*
     * Thin history: tw / (n + tw), the weight the smoothed track rate puts
     * on the global rate, and the track facts scaled by it.  A linear model
     * cannot otherwise lean on popularity or length only when the track's
     * own rate is still mostly prior (a rich history already contains them).
     */
    F_TRACK_THIN,
    F_POPULARITY_THIN,
    F_LONG_TRACK_THIN,
    F_EXPLICIT_FREE_THIN,

    /*
     * The track's rate among its fans (listeners whose favourites meet its
     * genres) and among everyone else, each pulled towards the track's
     * smoothed rate.  Fans skip less, and a track's overall rate mixes the
     * two in whatever proportion it was played: the rate for this user's
     * side is what applies.
     */
    F_TRACK_FAN_SKIP_RATE_S,
    F_TRACK_OTHER_SKIP_RATE_S,
    F_TRACK_GENRE_SKIP_LOGIT,

    /*
     * Where the play sits in its listening session (listeners tire), from
     * the request: the player knows it.  Unknown -> the training mean, so
     * the feature adds nothing rather than a wrong guess.
     */
    F_SESSION_POSITION,     /* min(position, SK_POSITION_MAX) */
    F_SESSION_LOG_POSITION, /* log(1 + that): tiring slows down */

    /*
     * Personal taste (sk_taste, taste.h): the listener's own rates by genre,
     * artist and hour, each smoothed towards the level above it (genre
     * towards the user's smoothed rate, artist towards the genre rate, hour
     * towards the user's rate), as differences of logits from that level:
     * 0 when there is no history, the count features say how much there
     * is.  NULL taste -> NaN (abstain).
     */
    F_TASTE_GENRE_SKIP_LOGIT,   /* pooled over the track's user genres */
    F_TASTE_GENRE_DELTA,        /* that - logit(user rate) */
    F_TASTE_GENRE_MAX_DELTA,    /* the most disliked of the track's genres */
    F_TASTE_GENRE_MIN_DELTA,    /* the most liked */
    F_TASTE_GENRE_LOG_N,        /* log(1 + pooled plays) */
    F_TASTE_ARTIST_DELTA,       /* artist rate vs the genre rate */
    F_TASTE_ARTIST_LOG_N,
    F_TASTE_HOUR_DELTA,         /* hours h-3 .. h+3 (weights 1 - |d|/4) vs
                                   the user's rate; unknown hour -> NaN */
    F_TASTE_HOUR_LOG_N,

    /*
     * Session context (sk_session): what happened earlier in this session.
     * NULL or unknown -> NaN (abstain).
     */
    F_SESSION_PREV_SKIP,        /* the previous track was skipped */
    F_SESSION_SKIP_DELTA,       /* the session's skip share, smoothed
                                   towards the user's rate, as a logit
                                   difference from it */
    F_SESSION_LOG_SKIPS,        /* log(1 + skips so far) */
    F_SESSION_LOG_PLAYS,        /* log(1 + full plays so far) */
    F_SESSION_PREV_RESID,       /* previous skipped - its expected P(skip):
                                   the surprise of the last outcome, ~0 mean
                                   for every listener, so that a server
                                   without the session loses little */
    F_SESSION_RESID_S,          /* the skips beyond expectation so far,
                                   resid / (plays + skips + SESSION_W): a
                                   skip of a track everyone skips says less
                                   about the session than one of a track
                                   nobody skips */

    F_FAV0,
    F_N = F_FAV0 + SK_N_GENRES,

    /*
     * Cache admission (admission models only: they read ctx->admit, which
     * skip models leave NULL; unknown -> the training mean).  The object
     * is a track or one slice of it; see admit_sketch.h and
     * docs/admission.md.
     */
    F_ADMIT0 = F_N,
    F_ADMIT_LOG_COUNT_SHORT = F_ADMIT0,  /* log(1 + count, half-life 1 h) */
    F_ADMIT_LOG_COUNT_LONG,     /* log(1 + count, half-life 1 day) */
    F_ADMIT_SEEN,               /* requested before (last-seen slot) */
    F_ADMIT_LOG_SINCE,          /* log(1 + s since), never -> 30 days */
    F_ADMIT_SLICE,              /* slice index, capped at 64 */
    F_ADMIT_LOG_BYTES,          /* log of the object's bytes */
    F_ADMIT_SLICE_SHARE,        /* slice start / track bytes */
    F_ADMIT_P_PLAY,             /* the skip model's P(play) */
    F_ADMIT_SKIP_LATE,          /* (1 - P(play)) x slice share */
    F_ADMIT_COUNT_X_PLAY,       /* log count_long x P(play) */
    F_ADMIT_SHARE_X_COUNT,      /* slice share x log count_long */
    F_ADMIT_SINCE_X_COUNT,      /* log since x log count_long */
    F_ADMIT_LOG_COUNT_LONG_SQ,  /* (log count_long)^2 */
    F_ADMIT_END
};

static const char *const admit_names[F_ADMIT_END - F_ADMIT0] = {
    "admit_log_count_short", "admit_log_count_long", "admit_seen",
    "admit_log_since", "admit_slice", "admit_log_bytes",
    "admit_slice_share", "admit_p_play", "admit_skip_late",
    "admit_count_x_play", "admit_share_x_count", "admit_since_x_count",
    "admit_log_count_long_sq"
};

#define SK_ADMIT_SINCE_NEVER  (30.0 * 86400)
#define SK_ADMIT_SLICE_MAX    64
#define SK_ADMIT_DURATION_MS  210000.0   /* a track without a duration */

static const char *const base_names[F_FAV0] = {
    "user_skip_rate", "track_skip_rate", "danceability", "energy",
    "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
    "popularity", "loudness", "tempo",
    "user_skip_rate_s", "user_skip_logit", "user_log_n",
    "track_skip_rate_s", "track_skip_logit", "track_log_n",
    "user_fav_skip_rate_s", "user_other_skip_rate_s",
    "user_genre_skip_logit", "user_genre_delta",
    "genre_match", "genre_match_n", "track_n_genres",
    "premium", "explicit", "explicit_free", "duration_min", "long_track",
    "year", "night", "hour_sin", "hour_cos", "mode", "storage_slow",
    "track_thin", "popularity_thin", "long_track_thin", "explicit_free_thin",
    "track_fan_skip_rate_s", "track_other_skip_rate_s",
    "track_genre_skip_logit",
    "session_position", "session_log_position",
    "taste_genre_skip_logit", "taste_genre_delta", "taste_genre_max_delta",
    "taste_genre_min_delta", "taste_genre_log_n", "taste_artist_delta",
    "taste_artist_log_n", "taste_hour_delta", "taste_hour_log_n",
    "session_prev_skip", "session_skip_delta", "session_log_skips",
    "session_log_plays", "session_prev_resid", "session_resid_s"
};

/* Pseudo-counts of the taste and session rates (part of what each of those
 * features computes: never change them, add a feature instead). */
#define TASTE_W_GENRE   10.0
#define TASTE_W_ARTIST   5.0
#define TASTE_W_HOUR    10.0
#define SESSION_W        3.0

/* "fav:<genre>" for the 50 genres, built once (static storage). */
static char        fav_names[SK_N_GENRES][48];
static const char *seed_names[12 + SK_N_GENRES];
static int         names_ready;

static void
names_init(void)
{
    int i;

    if (names_ready) {
        return;
    }
    for (i = 0; i < SK_N_GENRES; i++) {
        snprintf(fav_names[i], sizeof(fav_names[i]), "fav:%s",
                 sk_genre_name(i));
    }
    for (i = 0; i < 12; i++) {
        seed_names[i] = base_names[i];
    }
    for (i = 0; i < SK_N_GENRES; i++) {
        seed_names[12 + i] = fav_names[i];
    }
    names_ready = 1;
}

/*
 * "full": everything a user record, a track record and the request time can
 * give, chosen for the skip process of the generator and of the real data
 * (docs/model.md).  Audio features stay in: harmless on generated data,
 * possibly useful on real data.
 */
static const char *const full_names[] = {
    "user_skip_rate_s", "user_skip_logit", "user_log_n",
    "track_skip_rate_s", "track_skip_logit", "track_log_n",
    "user_fav_skip_rate_s", "user_other_skip_rate_s",
    "user_genre_skip_logit", "user_genre_delta",
    "genre_match", "genre_match_n", "track_n_genres",
    "premium", "explicit", "explicit_free", "duration_min", "long_track",
    "popularity", "year", "night", "hour_sin", "hour_cos",
    "danceability", "energy", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "loudness", "tempo",
    "mode", "storage_slow",
    "track_thin", "popularity_thin", "long_track_thin", "explicit_free_thin",
    "track_fan_skip_rate_s", "track_other_skip_rate_s",
    "track_genre_skip_logit",
    "session_log_position"
};

/* "taste": full plus the listener's own taste; "taste+session": plus the
 * session's earlier outcomes; "full+session": full plus those alone. */
#define TASTE_NAMES                                                         \
    "taste_genre_skip_logit", "taste_genre_delta", "taste_genre_max_delta", \
    "taste_genre_min_delta", "taste_genre_log_n", "taste_artist_delta",     \
    "taste_artist_log_n", "taste_hour_delta", "taste_hour_log_n"
/*
 * The session set holds the features that are surprises relative to what
 * the records already say (~0 mean for every listener), so that a model
 * trained with them loses little on a request without a session: with
 * session_prev_skip, session_log_skips and session_log_plays instead of
 * session_prev_resid, the same accuracy with the session (0.7189 vs 0.7188,
 * --process v2, --scale 0.3) cost 0.11 pp against the taste set without it,
 * these 0.04 pp.  The others stay registered.
 */
#define SESSION_NAMES                                                       \
    "session_prev_resid", "session_resid_s", "session_skip_delta"
#define FULL_NAMES                                                          \
    "user_skip_rate_s", "user_skip_logit", "user_log_n",                    \
    "track_skip_rate_s", "track_skip_logit", "track_log_n",                 \
    "user_fav_skip_rate_s", "user_other_skip_rate_s",                       \
    "user_genre_skip_logit", "user_genre_delta",                            \
    "genre_match", "genre_match_n", "track_n_genres",                       \
    "premium", "explicit", "explicit_free", "duration_min", "long_track",   \
    "popularity", "year", "night", "hour_sin", "hour_cos",                  \
    "danceability", "energy", "speechiness", "acousticness",                \
    "instrumentalness", "liveness", "valence", "loudness", "tempo",         \
    "mode", "storage_slow",                                                 \
    "track_thin", "popularity_thin", "long_track_thin", "explicit_free_thin", \
    "track_fan_skip_rate_s", "track_other_skip_rate_s",                     \
    "track_genre_skip_logit",                                               \
    "session_log_position"

static const char *const taste_names[] = { FULL_NAMES, TASTE_NAMES };
static const char *const taste_session_names[] = {
    FULL_NAMES, TASTE_NAMES, SESSION_NAMES
};
static const char *const full_session_names[] = { FULL_NAMES, SESSION_NAMES };
/*
 * "admit": the cache admission model's inputs (docs/admission.md): the
 * object's recent and longer-run request counts and recency from the
 * sketch, where it sits in the track, the track's long-run popularity and
 * skip rate from its record, this request's P(play), and the hour.
 */
static const char *const admit_set[] = {
    "admit_log_count_short", "admit_log_count_long", "admit_seen",
    "admit_log_since", "admit_slice", "admit_log_bytes",
    "admit_slice_share", "admit_p_play", "admit_skip_late",
    "admit_count_x_play", "admit_share_x_count", "admit_since_x_count",
    "admit_log_count_long_sq",
    "track_log_n", "track_skip_rate_s", "popularity", "hour_sin", "hour_cos"
};

int
sk_feature_id(const char *name)
{
    int i;

    if (name == NULL) {
        return -1;
    }
    for (i = 0; i < F_FAV0; i++) {
        if (strcmp(name, base_names[i]) == 0) {
            return i;
        }
    }
    if (strncmp(name, "fav:", 4) == 0) {
        i = sk_genre_index(name + 4, strlen(name + 4));
        if (i >= 0) {
            return F_FAV0 + i;
        }
    }
    for (i = F_ADMIT0; i < F_ADMIT_END; i++) {
        if (strcmp(name, admit_names[i - F_ADMIT0]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
sk_feature_name(int id)
{
    if (id >= 0 && id < F_FAV0) {
        return base_names[id];
    }
    if (id >= F_FAV0 && id < F_N) {
        names_init();
        return fav_names[id - F_FAV0];
    }
    if (id >= F_ADMIT0 && id < F_ADMIT_END) {
        return admit_names[id - F_ADMIT0];
    }
    return NULL;
}

const char *const *
sk_feature_set(const char *set, int *n)
{
    if (set != NULL && strcmp(set, "seed") == 0) {
        names_init();
        *n = 12 + SK_N_GENRES;
        return seed_names;
    }
    if (set != NULL && strcmp(set, "full") == 0) {
        *n = (int) (sizeof(full_names) / sizeof(full_names[0]));
        return full_names;
    }
    if (set != NULL && strcmp(set, "taste") == 0) {
        *n = (int) (sizeof(taste_names) / sizeof(taste_names[0]));
        return taste_names;
    }
    if (set != NULL && strcmp(set, "taste+session") == 0) {
        *n = (int) (sizeof(taste_session_names)
                    / sizeof(taste_session_names[0]));
        return taste_session_names;
    }
    if (set != NULL && strcmp(set, "full+session") == 0) {
        *n = (int) (sizeof(full_session_names)
                    / sizeof(full_session_names[0]));
        return full_session_names;
    }
    if (set != NULL && strcmp(set, "admit") == 0) {
        *n = (int) (sizeof(admit_set) / sizeof(admit_set[0]));
        return admit_set;
    }
    *n = 0;
    return NULL;
}

void
sk_priors_default(sk_priors *p)
{
    p->global_skip_rate = 0.4;
    p->user_weight = 20.0;
    p->track_weight = 10.0;
}

int
sk_feature_plan_init(sk_feature_plan *plan, const char *const *names,
    int n, char *err, size_t errlen)
{
    int i, id;

    memset(plan, 0, sizeof(*plan));
    sk_priors_default(&plan->priors);
    if (n < 1 || n > SK_MAX_FEATURES) {
        snprintf(err, errlen, "%d features: need 1..%d", n, SK_MAX_FEATURES);
        return -1;
    }
    for (i = 0; i < n; i++) {
        id = sk_feature_id(names[i]);
        if (id < 0) {
            snprintf(err, errlen, "feature %d \"%s\" is unknown to this build",
                     i + 1, names[i] ? names[i] : "(null)");
            return -1;
        }
        plan->id[i] = id;
        plan->mean[i] = 0.0;
        plan->scale[i] = 1.0;
    }
    plan->n = n;
    return 0;
}

/* ---- values ----------------------------------------------------------- */

/* Keep a rate inside (0, 1) so that its logit is finite. */
static double
clamp_rate(double r)
{
    return r < 1e-4 ? 1e-4 : (r > 1 - 1e-4 ? 1 - 1e-4 : r);
}

static double
logit(double r)
{
    r = clamp_rate(r);
    return log(r / (1.0 - r));
}

static double
nonneg(double v)
{
    return (v > 0 && isfinite(v)) ? v : 0.0;
}

/* Values shared by several features, computed once per vector. */
typedef struct {
    double  g;          /* global skip rate (clamped) */
    double  u_n, u_rate, u_rate_s;
    double  t_n, t_rate, t_rate_s, t_thin;
    double  fav_rate_s, other_rate_s;
    double  fan_rate_s, nonfan_rate_s;
    int     match_n;
} sk_common;

static void
common_init(sk_common *c, const sk_priors *p, const sk_user_rec *u,
    const sk_track_rec *t)
{
    double uw = nonneg(p->user_weight), tw = nonneg(p->track_weight);
    double us = nonneg(u->skips), ts = nonneg(t->skips);
    double fs = nonneg(u->fav_skips), fn = fs + nonneg(u->fav_plays);
    double os, on;

    c->g = clamp_rate(isfinite(p->global_skip_rate)
                      ? p->global_skip_rate : 0.4);

    c->u_n = nonneg(u->plays) + us;
    c->u_rate = c->u_n > 0 ? us / c->u_n : c->g;
    c->u_rate_s = (us + uw * c->g) / (c->u_n + uw);
    if (c->u_n + uw <= 0) {
        c->u_rate_s = c->g;
    }

    c->t_n = nonneg(t->plays) + ts;
    c->t_rate = c->t_n > 0 ? ts / c->t_n : c->g;
    c->t_rate_s = (ts + tw * c->g) / (c->t_n + tw);
    c->t_thin = (c->t_n + tw > 0) ? tw / (c->t_n + tw) : 1.0;
    if (c->t_n + tw <= 0) {
        c->t_rate_s = c->g;
    }

    /* Favourite-genre and other tracks, pulled towards the user's rate. */
    os = nonneg(us - fs);
    on = nonneg(c->u_n - fn);
    c->fav_rate_s = (fn + uw > 0) ? (fs + uw * c->u_rate_s) / (fn + uw)
                                  : c->u_rate_s;
    c->other_rate_s = (on + uw > 0) ? (os + uw * c->u_rate_s) / (on + uw)
                                    : c->u_rate_s;

    /* The track's fans and other listeners, pulled towards its rate. */
    fs = nonneg(t->fan_skips);
    fn = fs + nonneg(t->fan_plays);
    os = nonneg(ts - fs);
    on = nonneg(c->t_n - fn);
    c->fan_rate_s = (fn + tw > 0) ? (fs + tw * c->t_rate_s) / (fn + tw)
                                  : c->t_rate_s;
    c->nonfan_rate_s = (on + tw > 0) ? (os + tw * c->t_rate_s) / (on + tw)
                                     : c->t_rate_s;

    c->match_n = sk_genre_count(u->fav & t->genres);
}

/* Taste and session values, computed once per vector when given. */
typedef struct {
    int     have_taste, have_session;
    double  g_logit, g_delta, g_max, g_min, g_log_n;
    double  a_delta, a_log_n;
    double  h_delta, h_log_n;       /* NaN when the hour is unknown */
    double  s_prev, s_delta, s_log_skips, s_log_plays, s_resid, s_prev_resid;
} sk_extra;

static void
extra_init(sk_extra *e, const sk_common *c, const sk_track_rec *t,
    const sk_context *ctx, const sk_taste *taste, const sk_session *sess)
{
    double base = c->u_rate_s, lb = logit(base);
    int    hour = ctx ? ctx->hour : -1;

    e->have_taste = taste != NULL;
    e->have_session = sess != NULL && sess->plays >= 0 && sess->skips >= 0;
    if (e->have_taste) {
        double ps = 0, pn = 0, mx = 0, mn = 0, rg, n, sk, r, d;
        int    g, any = 0;

        /* A play counts under each genre of its track, so the pool is a
         * weighted one; it only has to rank the listener's genres. */
        for (g = 0; g < SK_N_GENRES; g++) {
            if (!((t->genres >> g) & 1)) {
                continue;
            }
            sk = nonneg(taste->genre[g][1]);
            n = nonneg(taste->genre[g][0]) + sk;
            r = (sk + TASTE_W_GENRE * base) / (n + TASTE_W_GENRE);
            d = logit(r) - lb;
            mx = (!any || d > mx) ? d : mx;
            mn = (!any || d < mn) ? d : mn;
            any = 1;
            ps += sk;
            pn += n;
        }
        rg = (ps + TASTE_W_GENRE * base) / (pn + TASTE_W_GENRE);
        e->g_logit = logit(rg);
        e->g_delta = e->g_logit - lb;
        e->g_max = mx;
        e->g_min = mn;
        e->g_log_n = log1p(pn);

        if (taste->artist[0] < 0) {
            /* unknown (the module has no artist counts: taste_stored.h) */
            e->a_delta = e->a_log_n = NAN;
        } else {
            sk = nonneg(taste->artist[1]);
            n = nonneg(taste->artist[0]) + sk;
            r = (sk + TASTE_W_ARTIST * rg) / (n + TASTE_W_ARTIST);
            e->a_delta = logit(r) - e->g_logit;
            e->a_log_n = log1p(n);
        }

        if (hour >= 0 && hour < SK_HOURS) {
            int    k;
            double hs = 0, hn = 0;

            /* A listener's hours are few plays each, and their habits are
             * smooth over the day: hours h-3 .. h+3, weights 1 - |d| / 4
             * (measured: +0.16 pp over h-1 .. h+1 at --process v2). */
            for (k = -3; k <= 3; k++) {
                int    h = (hour + k + SK_HOURS) % SK_HOURS;
                double wt = 1.0 - (k < 0 ? -k : k) / 4.0;

                hs += wt * nonneg(taste->hour[h][1]);
                hn += wt * (nonneg(taste->hour[h][0])
                            + nonneg(taste->hour[h][1]));
            }
            r = (hs + TASTE_W_HOUR * base) / (hn + TASTE_W_HOUR);
            e->h_delta = logit(r) - lb;
            e->h_log_n = log1p(hn);
        } else {
            e->h_delta = e->h_log_n = NAN;
        }
    }
    if (e->have_session) {
        double n = (double) sess->plays + sess->skips, r;

        e->s_prev = sess->prev == 0;
        r = (sess->skips + SESSION_W * base) / (n + SESSION_W);
        e->s_delta = logit(r) - lb;
        e->s_log_skips = log1p(sess->skips);
        e->s_log_plays = log1p(sess->plays);
        e->s_resid = isfinite(sess->resid) ? sess->resid / (n + SESSION_W)
                                           : 0.0;
        e->s_prev_resid = (sess->prev == 0 || sess->prev == 1)
                          && isfinite(sess->prev_expect)
                          ? (sess->prev == 0) - sess->prev_expect : 0.0;
    }
}

static double
extra_value(int id, const sk_extra *e)
{
    if (id >= F_TASTE_GENRE_SKIP_LOGIT && id <= F_TASTE_HOUR_LOG_N
        && !e->have_taste)
    {
        return NAN;
    }
    if (id >= F_SESSION_PREV_SKIP && id <= F_SESSION_RESID_S
        && !e->have_session)
    {
        return NAN;
    }
    switch (id) {
    case F_TASTE_GENRE_SKIP_LOGIT: return e->g_logit;
    case F_TASTE_GENRE_DELTA:      return e->g_delta;
    case F_TASTE_GENRE_MAX_DELTA:  return e->g_max;
    case F_TASTE_GENRE_MIN_DELTA:  return e->g_min;
    case F_TASTE_GENRE_LOG_N:      return e->g_log_n;
    case F_TASTE_ARTIST_DELTA:     return e->a_delta;
    case F_TASTE_ARTIST_LOG_N:     return e->a_log_n;
    case F_TASTE_HOUR_DELTA:       return e->h_delta;
    case F_TASTE_HOUR_LOG_N:       return e->h_log_n;
    case F_SESSION_PREV_SKIP:      return e->s_prev;
    case F_SESSION_SKIP_DELTA:     return e->s_delta;
    case F_SESSION_LOG_SKIPS:      return e->s_log_skips;
    case F_SESSION_LOG_PLAYS:      return e->s_log_plays;
    case F_SESSION_RESID_S:        return e->s_resid;
    case F_SESSION_PREV_RESID:     return e->s_prev_resid;
    default:                       return NAN;
    }
}

double
sk_admit_track_bytes(double duration_ms, double bitrate_kbps)
{
    if (!(duration_ms > 0)) {
        duration_ms = SK_ADMIT_DURATION_MS;
    }
    return duration_ms * bitrate_kbps / 8.0;
}

static double
admit_value(int id, const sk_track_rec *t, const sk_admit_in *a)
{
    double  track, start, bytes, share, p;

    if (a == NULL) {
        return NAN;
    }
    track = sk_admit_track_bytes(t->duration_ms, a->bitrate_kbps);
    start = a->slice_bytes > 0 ? a->slice * a->slice_bytes : 0.0;
    bytes = a->slice_bytes > 0 ? fmin(a->slice_bytes, track - start) : track;
    bytes = bytes >= 1 ? bytes : 1;
    share = track > 0 ? fmin(1.0, start / track) : 0.0;
    p = a->p_play;

    switch (id) {
    case F_ADMIT_LOG_COUNT_SHORT: return log1p(fmax(0, a->count_short));
    case F_ADMIT_LOG_COUNT_LONG:  return log1p(fmax(0, a->count_long));
    case F_ADMIT_SEEN:            return a->since_s >= 0;
    case F_ADMIT_LOG_SINCE:
        return log1p(a->since_s >= 0 ? fmin(a->since_s, SK_ADMIT_SINCE_NEVER)
                                     : SK_ADMIT_SINCE_NEVER);
    case F_ADMIT_SLICE:
        return a->slice < SK_ADMIT_SLICE_MAX ? a->slice : SK_ADMIT_SLICE_MAX;
    case F_ADMIT_LOG_BYTES:       return log(bytes);
    case F_ADMIT_SLICE_SHARE:     return share;
    case F_ADMIT_P_PLAY:          return p;
    case F_ADMIT_SKIP_LATE:       return (1.0 - p) * share;
    case F_ADMIT_COUNT_X_PLAY:    return log1p(fmax(0, a->count_long)) * p;
    case F_ADMIT_SHARE_X_COUNT:
        return share * log1p(fmax(0, a->count_long));
    case F_ADMIT_SINCE_X_COUNT:
        return log1p(a->since_s >= 0 ? fmin(a->since_s, SK_ADMIT_SINCE_NEVER)
                                     : SK_ADMIT_SINCE_NEVER)
               * log1p(fmax(0, a->count_long));
    case F_ADMIT_LOG_COUNT_LONG_SQ:
        return log1p(fmax(0, a->count_long)) * log1p(fmax(0, a->count_long));
    default:                      return NAN;
    }
}

static double
feature_value(int id, const sk_common *c, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx)
{
    int    hour = ctx ? ctx->hour : -1;
    int    pos = ctx ? ctx->position : -1;

    pos = pos > SK_POSITION_MAX ? SK_POSITION_MAX : pos;

    switch (id) {
    case F_USER_SKIP_RATE:    return c->u_rate;
    case F_TRACK_SKIP_RATE:   return c->t_rate;
    case F_DANCEABILITY:      return t->danceability;
    case F_ENERGY:            return t->energy;
    case F_SPEECHINESS:       return t->speechiness;
    case F_ACOUSTICNESS:      return t->acousticness;
    case F_INSTRUMENTALNESS:  return t->instrumentalness;
    case F_LIVENESS:          return t->liveness;
    case F_VALENCE:           return t->valence;
    case F_POPULARITY:        return t->popularity;
    case F_LOUDNESS:          return t->loudness;
    case F_TEMPO:             return t->tempo;

    case F_USER_SKIP_RATE_S:  return c->u_rate_s;
    case F_USER_SKIP_LOGIT:   return logit(c->u_rate_s);
    case F_USER_LOG_N:        return log1p(c->u_n);
    case F_TRACK_SKIP_RATE_S: return c->t_rate_s;
    case F_TRACK_SKIP_LOGIT:  return logit(c->t_rate_s);
    case F_TRACK_LOG_N:       return log1p(c->t_n);
    case F_USER_FAV_SKIP_RATE_S:   return c->fav_rate_s;
    case F_USER_OTHER_SKIP_RATE_S: return c->other_rate_s;
    case F_USER_GENRE_SKIP_LOGIT:
        return logit(c->match_n ? c->fav_rate_s : c->other_rate_s);
    case F_USER_GENRE_DELTA:
        return c->match_n ? logit(c->fav_rate_s) - logit(c->other_rate_s)
                          : 0.0;

    case F_GENRE_MATCH:       return c->match_n > 0;
    case F_GENRE_MATCH_N:     return c->match_n;
    case F_TRACK_N_GENRES:    return t->n_genres;

    case F_PREMIUM:           return u->premium != 0;
    case F_EXPLICIT:          return t->explicit_ != 0;
    case F_EXPLICIT_FREE:     return t->explicit_ != 0 && u->premium == 0;
    case F_DURATION_MIN:      return t->duration_ms / 60000.0;
    case F_LONG_TRACK:        return t->duration_ms > 360000.0;
    case F_YEAR:              return t->year > 0 ? t->year : 2000;
    case F_NIGHT:             return hour >= 0 && hour <= 5;
    case F_HOUR_SIN:
        return (hour >= 0 && hour <= 23) ? sin(hour * (SK_PI / 12.0)) : 0.0;
    case F_HOUR_COS:
        return (hour >= 0 && hour <= 23) ? cos(hour * (SK_PI / 12.0)) : 0.0;
    case F_MODE:              return t->mode == 1;
    case F_STORAGE_SLOW:      return t->storage == SK_STORAGE_SLOW;
    case F_TRACK_FAN_SKIP_RATE_S:   return c->fan_rate_s;
    case F_TRACK_OTHER_SKIP_RATE_S: return c->nonfan_rate_s;
    case F_TRACK_GENRE_SKIP_LOGIT:
        return logit(c->match_n ? c->fan_rate_s : c->nonfan_rate_s);
    case F_TRACK_THIN:        return c->t_thin;
    case F_POPULARITY_THIN:   return c->t_thin * t->popularity;
    case F_LONG_TRACK_THIN:   return c->t_thin * (t->duration_ms > 360000.0);
    case F_EXPLICIT_FREE_THIN:
        return c->t_thin * (t->explicit_ != 0 && u->premium == 0);
    case F_SESSION_POSITION:     return pos >= 0 ? pos : NAN;
    case F_SESSION_LOG_POSITION: return pos >= 0 ? log1p(pos) : NAN;
    default:
        break;
    }
    if (id >= F_FAV0 && id < F_N) {
        return (u->fav >> (id - F_FAV0)) & 1;
    }
    if (id >= F_ADMIT0 && id < F_ADMIT_END) {
        return admit_value(id, t, ctx ? ctx->admit : NULL);
    }
    return 0.0;
}

unsigned
sk_feature_plan_inputs(const sk_feature_plan *plan)
{
    unsigned in = 0;
    int      i;

    for (i = 0; i < plan->n; i++) {
        int id = plan->id[i];

        if (id >= F_TASTE_GENRE_SKIP_LOGIT && id <= F_TASTE_HOUR_LOG_N) {
            in |= SK_INPUT_TASTE;
        } else if (id >= F_SESSION_PREV_SKIP && id <= F_SESSION_RESID_S) {
            in |= SK_INPUT_SESSION;
        }
    }
    return in;
}

double
sk_session_expect(const sk_priors *p, const sk_user_rec *u,
    const sk_track_rec *t)
{
    sk_common c;

    common_init(&c, p, u, t);
    return 1.0 / (1.0 + exp(-(logit(c.u_rate_s) + logit(c.t_rate_s)
                              - logit(c.g))));
}

void
sk_features_raw(const sk_feature_plan *plan, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, double *out)
{
    sk_features_raw_ext(plan, u, t, ctx, NULL, NULL, out);
}

void
sk_features_raw_ext(const sk_feature_plan *plan, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, const sk_taste *taste,
    const sk_session *sess, double *out)
{
    sk_common c;
    sk_extra  e;
    int       i, id;
    double    v;

    common_init(&c, &plan->priors, u, t);
    memset(&e, 0, sizeof(e));
    if (taste != NULL || sess != NULL) {
        extra_init(&e, &c, t, ctx, taste, sess);
    }
    for (i = 0; i < plan->n; i++) {
        id = plan->id[i];
        v = (id >= F_TASTE_GENRE_SKIP_LOGIT && id <= F_SESSION_RESID_S)
            ? extra_value(id, &e)
            : feature_value(id, &c, u, t, ctx);
        /*
         * NaN: unknown (an unsent session position) or from a half-filled
         * record.  Either way it must not poison the score: the training
         * mean standardises to 0, the feature then adds nothing.
         */
        out[i] = isfinite(v) ? v : plan->mean[i];
    }
}

/*
 * StandardScaler's transform.  (The original min-max scaled loudness and
 * tempo first; min-max followed by standardisation equals standardising the
 * raw value, so the seed set stores raw values and one mean/scale each.)
 */
void
sk_features_nodes(const sk_feature_plan *plan, const double *raw,
    double bias, struct feature_node *x)
{
    int i;

    for (i = 0; i < plan->n; i++) {
        x[i].index = i + 1;
        x[i].value = (raw[i] - plan->mean[i]) / plan->scale[i];
    }
    if (bias >= 0) {
        x[i].index = plan->n + 1;
        x[i].value = bias;
        i++;
    }
    x[i].index = -1;
    x[i].value = 0.0;
}
