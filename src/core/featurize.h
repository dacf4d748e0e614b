/*
 * The one feature code path.  The trainer (skipctl train), skipctl predict
 * and the nginx module all turn (user record, track record, request context)
 * into a model input through these functions, so a model scores the same
 * vector offline and online.
 *
 * Features are named; a model manifest lists the names it was trained on,
 * in order, with their standardisation.  sk_feature_plan_init() refuses a
 * name this build cannot compute, which is how `nginx -t` rejects a model it
 * cannot serve.
 *
 * (Named featurize.h, not features.h: with -Isrc that name would shadow
 * glibc's <features.h>.)
 */
#ifndef SKIP_FEATURIZE_H
#define SKIP_FEATURIZE_H

#include <stddef.h>

#include <linear.h>

#include "records.h"
#include "taste.h"

#define SK_MAX_FEATURES 128

/* Smoothing priors for the history rates, fitted on the training window. */
typedef struct {
    double  global_skip_rate;    /* share of labelled plays that were skips */
    double  user_weight;         /* pseudo-count pulling a user's rate */
    double  track_weight;        /* pseudo-count pulling a track's rate */
} sk_priors;

typedef struct {
    int        n;                        /* number of features */
    int        id[SK_MAX_FEATURES];      /* registry ids, in model order */
    double     mean[SK_MAX_FEATURES];    /* standardisation: */
    double     scale[SK_MAX_FEATURES];   /*   (raw - mean) / scale */
    sk_priors  priors;
} sk_feature_plan;

/* The defaults the trainer starts from (global rate 0.4, weights 20/10). */
void sk_priors_default(sk_priors *p);

/* Registry: id of a feature name, -1 when unknown; name of an id. */
int sk_feature_id(const char *name);
const char *sk_feature_name(int id);

/* Bytes of a track (duration x bitrate / 8; a track without a duration
 * as a 3:30 one), as the admission features size objects. */
double sk_admit_track_bytes(double duration_ms, double bitrate_kbps);

/* Names of a named feature set ("seed", "full", "taste", "taste+session",
 * "full+session", "admit" for cache admission models), NULL for an unknown
 * set. */
const char *const *sk_feature_set(const char *set, int *n);

/*
 * Fill plan->n and plan->id from names (mean 0, scale 1, default priors).
 * Returns 0, or -1 with err naming the feature that cannot be computed.
 */
int sk_feature_plan_init(sk_feature_plan *plan, const char *const *names,
    int n, char *err, size_t errlen);

/* Raw (unstandardised) values, out[0..plan->n). */
void sk_features_raw(const sk_feature_plan *plan, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, double *out);

/*
 * The same with the listener's taste and the session context (taste.h);
 * either may be NULL (unknown: those features then take their training
 * mean).  sk_features_raw is this with both NULL.
 */
void sk_features_raw_ext(const sk_feature_plan *plan, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, const sk_taste *taste,
    const sk_session *sess, double *out);

/*
 * The expected P(skip) of a (user, track) pair from their smoothed rates
 * alone: the user's and the track's skip logits added, less the global
 * one.  What the session residual measures a session's skips against
 * (session_prev_resid, session_resid_s): the trainer's expectation of a
 * labelled play (trainer.c) and the module's of a served track
 * (docs/taste-features.md), with the model's priors.
 */
double sk_session_expect(const sk_priors *p, const sk_user_rec *u,
    const sk_track_rec *t);

/* SK_INPUT_* bits: what the plan needs beyond records and context. */
unsigned sk_feature_plan_inputs(const sk_feature_plan *plan);

/*
 * Standardised liblinear input: nodes 1..n, then a bias node when bias >= 0
 * (liblinear's -B), then the index -1 terminator.  x must hold n + 2 nodes.
 */
void sk_features_nodes(const sk_feature_plan *plan, const double *raw,
    double bias, struct feature_node *x);

#endif
