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
    "session_position", "session_log_position"
};

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

void
sk_features_raw(const sk_feature_plan *plan, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, double *out)
{
    sk_common c;
    int       i;
    double    v;

    common_init(&c, &plan->priors, u, t);
    for (i = 0; i < plan->n; i++) {
        v = feature_value(plan->id[i], &c, u, t, ctx);
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
