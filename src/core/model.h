/*
 * A servable model: a liblinear model plus its manifest (feature names and
 * standardisation, priors, threshold, solver), or the built-in naive genre
 * model.  Loaded by skipctl and, at configuration time, by the module.
 */
#ifndef SKIP_MODEL_H
#define SKIP_MODEL_H

#include <stddef.h>

#include "featurize.h"
#include "records.h"

typedef enum {
    SK_MODEL_LINEAR = 0,     /* liblinear, manifest-described */
    SK_MODEL_NAIVE           /* play iff track genres meet user favourites */
} sk_model_kind;

typedef struct {
    sk_model_kind     kind;
    char              name[64];      /* from the manifest ("naive" built in) */
    char              version[64];   /* from the manifest, e.g. a hash */
    struct model     *lin;           /* liblinear model, NULL for naive */
    sk_feature_plan   plan;
    double            bias;          /* liblinear -B value, < 0 = none */
    double            threshold;     /* P(play) >= threshold -> play */
    int               probability;   /* 1: logistic P(play); 0: SVM margin
                                        squashed by 1 / (1 + e^-m) */
    int               play_index;    /* position of label 1 in lin's labels */

    /*
     * What the model predicts (the manifest's "target"): SK_TARGET_SKIP,
     * P(play) of a listen, or SK_TARGET_ADMIT, P(worth caching) of a
     * cache miss (docs/admission.md), with the object geometry and the
     * sketch size it was trained with (its "admission" object).
     */
    int               target;
    double            admit_slice_bytes;   /* 0: whole tracks */
    double            admit_bitrate_kbps;
    double            admit_sketch_bytes;
    double            admit_cache_share;   /* of the unique bytes */
} sk_model;

#define SK_TARGET_SKIP   0
#define SK_TARGET_ADMIT  1

/*
 * Load MODEL_PATH (liblinear text format) and its manifest (same path with
 * .json instead of .model).  Returns 0, or -1 with err naming the file and
 * the problem (missing, corrupt, features this build cannot compute, a
 * manifest that does not match the model).
 */
int sk_model_load(sk_model *m, const char *model_path, char *err,
    size_t errlen);

/* The built-in naive genre model. */
void sk_model_naive(sk_model *m);

/* P(play) for one (user, track, context). */
double sk_model_score(const sk_model *m, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx);

/* The same with the listener's taste and session context (either NULL). */
double sk_model_score_ext(const sk_model *m, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, const sk_taste *taste,
    const sk_session *sess);

/*
 * Declare the SK_INPUT_* inputs this process passes to sk_model_score_ext.
 * sk_model_load refuses a model needing any other (default: none, so the
 * module refuses a taste or session model at `nginx -t` until it fetches
 * them).
 */
void sk_model_provide_inputs(unsigned inputs);

/* 1 = play, 0 = skip. */
int sk_model_decide(const sk_model *m, double score);

void sk_model_free(sk_model *m);

/*
 * Margin towards "play" (w.x + b, sign turned so that > 0 means play) of
 * raw feature values: what sk_model_score squashes.  Linear models only.
 */
double sk_model_margin(const sk_model *m, const double *raw);

/* Silence liblinear's training chatter on stdout (call once). */
void sk_model_quiet(void);

/* "x.model" -> "x.json" (else "x.json" appended); -1 when buf is short. */
int sk_model_manifest_path(const char *model_path, char *buf, size_t size);

/* FNV-1a 64 of a file's bytes as 16 hex digits; -1 (errno) if unreadable. */
int sk_file_hash(const char *path, char hex[17]);

/* liblinear solver names used in manifests ("l2r_lr", "l2r_l2loss_svc"). */
int sk_solver_parse(const char *name);
const char *sk_solver_name(int solver);

#endif
