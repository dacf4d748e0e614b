/*
 * The training and evaluation pipeline behind `skipctl train` and
 * `skipctl eval` (docs/model.md):
 *
 *   dataset tables + sessions -> labelled plays (labels.h)
 *   -> split (split.h): time (default) or random (the original's, leaky)
 *   -> history records from the training window (history.h); a training
 *      row sees the history of the other folds of training sessions (out
 *      of fold, so never its own label), a test row the whole window
 *   -> features (featurize.h), standardised as StandardScaler does
 *   -> liblinear fit (C given or chosen on a later slice of the training
 *      window), class weights as scikit-learn's class_weight='balanced'
 *   -> evaluation on the test rows through sk_model_score, the function the
 *      module calls, plus the naive and majority baselines and the Bayes
 *      limit when truth.jsonl is present.
 */
#ifndef SKIP_TRAINER_H
#define SKIP_TRAINER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linear.h>

#include "../core/dataset.h"
#include "../core/featurize.h"
#include "../data/history.h"
#include "../data/labels.h"
#include "../data/session_ctx.h"
#include "../data/taste_hist.h"
#include "metrics.h"
#include "../core/model.h"

#define SK_MAX_C 8

/*
 * Default training-row budget.  liblinear needs every fitted row in memory
 * as nodes (16 bytes a feature: 0.7 KB a row for the full set) and walks
 * all of them ~20 times per fit, so the fitted rows, not the history, are
 * what grows with the data.  A uniform sample of 1 M rows (of 2.08 M at
 * --scale 1) scores the same to 4 decimals (0.7146 both, docs/model.md) in
 * half the time and memory; history counts always use every training row.
 */
#define SK_DEFAULT_MAX_ROWS 1000000

typedef struct {
    const char  *data_dir;
    int          split_random;    /* 0: time split, 1: the original's */
    double       test_fraction;   /* 0.2 */
    uint64_t     seed;            /* random split and sub-sampling */
    int          folds;           /* out-of-fold history for training rows:
                                     K folds of sessions; 0 = in-sample (the
                                     original's); -1 = 5 for the time split,
                                     0 for the random split */
    int          solver;          /* L2R_LR or L2R_L2LOSS_SVC */
    double       C;               /* <= 0: choose by validation */
    int          balanced;
    double       eps;             /* liblinear stopping tolerance */
    double       threshold;
    double       user_weight;     /* smoothing pseudo-counts */
    double       track_weight;
    size_t       max_rows;        /* training-row budget: fit on a uniform
                                     sample (reservoir) of this many
                                     training rows; 0 = all of them */
    int          floor;           /* 1: fall back to the majority class when
                                     the model does not beat it on the
                                     validation slice (fit.c) */
    unsigned     inputs;          /* SK_INPUT_* to prepare (taste history,
                                     session context): what the plan uses */
    int          verbose;         /* progress on stderr */
    const char  *cmd;             /* the subcommand, for progress lines
                                     ("train", "eval", "simulate") */
} sk_train_opts;

typedef struct {
    const char    *dir;           /* the dataset directory */
    sk_dataset     ds;
    sk_labels      labels;
    sk_history     hist;          /* training window (all rows if random) */
    sk_read_stats  sessions;      /* reader counts of sessions.jsonl */
    size_t         n_sessions, n_train_sessions;
    int64_t        cut_ms;
    size_t         n_train, n_test;
    double         train_play_rate;
    int            folds;         /* 0: training rows use hist as is */
    sk_fold_counts *fold_hist;    /* per fold: counts of its training rows */
    uint64_t       fold_seed;
    char           rows_hash[17]; /* FNV-1a of the labelled rows */
    sk_taste_hist *taste;         /* NULL unless SK_INPUT_TASTE */
    sk_sess_row   *sess;          /* NULL unless SK_INPUT_SESSION */
} sk_prepared;

/* Everything a row is scored with (sk_row_all_inputs). */
typedef struct {
    sk_user_rec       u;
    sk_track_rec      t;
    sk_context        ctx;
    sk_taste          taste;
    sk_session        sess;
    const sk_taste   *tp;         /* &taste, or NULL when not prepared */
    const sk_session *sp;         /* &sess, or NULL when not prepared */
} sk_row_in;

typedef struct {
    sk_metrics  model, naive, majority;
    int         majority_label;
    double      bayes_limit;      /* NAN without truth.jsonl */
    long        bayes_rows;       /* test rows matched in truth.jsonl */
    double      bayes_logloss;    /* log loss of the true probabilities */
} sk_evaluation;

typedef struct {
    double  C;
    double  class_weight[2];
    int     n_c;
    double  c_tried[SK_MAX_C], c_score[SK_MAX_C];
    double  fit_seconds;
    size_t  nodes;
    size_t  rows_available;   /* training rows */
    size_t  rows_used;        /* fitted on (<= max_rows when capped) */
    size_t  max_rows;         /* the budget, 0 = none */
    size_t  val_fit_rows, val_rows;   /* the validation slice (fit.c) */
    double  val_model;        /* its score at the chosen C (accuracy, or
                                 balanced accuracy with --balanced) */
    double  val_majority;     /* the majority class's on the same rows */
    double  val_margin;       /* what the model must beat that by */
    int     majority_label;   /* of the validation fit rows */
    int     floor_applied;    /* 1: the model is the majority fallback */
} sk_fit_info;

void sk_train_opts_default(sk_train_opts *o);

/* Load, label, split, build history.  0, or -1 with err. */
int sk_prepare(sk_prepared *p, const sk_train_opts *o, char *err,
    size_t errlen);
void sk_prepared_free(sk_prepared *p);

/* Fold 0..folds-1 of a row (by session: a session stays in one fold). */
int sk_row_fold(const sk_prepared *p, const sk_labelled *r);

/* The records (and hour) row r is scored with (out of fold if training). */
void sk_row_inputs(const sk_prepared *p, const sk_labelled *r,
    sk_user_rec *u, sk_track_rec *t, sk_context *ctx);

/*
 * sk_row_inputs plus the listener's taste (out of fold for a training row,
 * the training window for a test row) and the session context (earlier
 * plays of the session), when prepared.
 */
void sk_row_all_inputs(const sk_prepared *p, const sk_labelled *r,
    sk_row_in *in);

/* Raw features of row r as the plan computes them from sk_row_all_inputs. */
void sk_row_features(const sk_prepared *p, const sk_labelled *r,
    const sk_feature_plan *plan, double *raw);

/*
 * Fit on the training rows with the features of plan (names set; mean,
 * scale and priors filled here).  Returns the liblinear model or NULL.
 */
struct model *sk_fit(const sk_prepared *p, const sk_train_opts *o,
    sk_feature_plan *plan, sk_fit_info *fi, char *err, size_t errlen);

/* Evaluate m on the test rows (and the baselines, Bayes limit). */
int sk_evaluate(const sk_prepared *p, const sk_model *m, sk_evaluation *ev,
    char *err, size_t errlen);

/* Raw features of every row as CSV: split,label,<feature names...>. */
int sk_export_csv(const sk_prepared *p, const sk_feature_plan *plan,
    const char *path, char *err, size_t errlen);

double sk_now(void);

/* A progress line "skipctl CMD: [  1.23s] ..." on stderr when verbose. */
void sk_train_progress(const sk_train_opts *o, const char *fmt, double t0,
    ...);

#endif
