/*
 * Fitting (see trainer.h, docs/model.md): the training-row budget, the
 * scaler, liblinear's nodes, the choice of C, the fit, and the majority
 * floor.
 *
 * Cost at --scale 1 (2.08 M rows x 42 features) used to be ~33 s, 12 of
 * them choosing C on 300 k rows although the validation accuracy is flat
 * over 0.001..10.  Now: two passes over the rows instead of three (the
 * scaler's pass counts the nodes too), C chosen on 100 k + 100 k rows with
 * each fit warm-started from the previous C's weights, and the final fit
 * warm-started from the chosen C's weights (liblinear's trust-region
 * Newton stops relative to the gradient at w = 0, so a good start saves
 * most of its iterations).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/split.h"
#include "trainer.h"

#define SK_CV_ROWS  100000       /* rows per side when choosing C */

/* ---- the rows to fit ---------------------------------------------------- */

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;

    return (x > y) - (x < y);
}

/*
 * Indices (in p->labels.rows) of the training rows to fit: all of them, or
 * a uniform sample of max_rows drawn by reservoir sampling (Algorithm R,
 * deterministic in the seed), in row order.  NULL when out of memory.
 */
static size_t *
select_rows(const sk_prepared *p, const sk_train_opts *o, size_t *n,
    size_t *available)
{
    size_t  i, k = 0, cap, *idx;
    const sk_labelled *rows = p->labels.rows;

    cap = p->n_train;
    if (o->max_rows > 0 && o->max_rows < cap) {
        cap = o->max_rows;
    }
    idx = malloc((cap ? cap : 1) * sizeof(*idx));
    if (idx == NULL) {
        return NULL;
    }
    for (i = 0; i < p->labels.n; i++) {
        if (rows[i].split != SK_ROW_TRAIN) {
            continue;
        }
        if (k < cap) {
            idx[k] = i;
        } else {
            size_t j = (size_t) (sk_split_uniform(o->seed + 5, k, 0)
                                 * (double) (k + 1));

            if (j < cap) {
                idx[j] = i;
            }
        }
        k++;
    }
    *available = k;
    *n = k < cap ? k : cap;
    if (*n > 1) {
        qsort(idx, *n, sizeof(*idx), cmp_size);   /* memory order */
    }
    return idx;
}

static void
row_raw(const sk_prepared *p, size_t i, const sk_feature_plan *plan,
    double *raw)
{
    sk_row_features(p, &p->labels.rows[i], plan, raw);
}

/* ---- scaler and nodes ---------------------------------------------------- */

/*
 * Mean, population standard deviation (StandardScaler), density, and the
 * number of non-zero values per feature (the node count of a sparse one).
 */
static void
fit_scaler(const sk_prepared *p, const size_t *idx, size_t l,
    sk_feature_plan *plan, int *sparse, long *nz, double *cache)
{
    double  shift[SK_MAX_FEATURES], s1[SK_MAX_FEATURES], s2[SK_MAX_FEATURES];
    double  raw[SK_MAX_FEATURES];
    size_t  i;
    int     f, n = plan->n;

    memset(s1, 0, sizeof(s1));
    memset(s2, 0, sizeof(s2));
    memset(shift, 0, sizeof(shift));
    for (f = 0; f < n; f++) {
        nz[f] = 0;
    }
    for (i = 0; i < l; i++) {
        row_raw(p, idx[i], plan, raw);
        if (cache) {
            memcpy(cache + i * n, raw, sizeof(double) * n);
        }
        if (i == 0) {
            memcpy(shift, raw, sizeof(double) * n);
        }
        for (f = 0; f < n; f++) {
            double d = raw[f] - shift[f];   /* shifted sums: no cancellation */

            s1[f] += d;
            s2[f] += d * d;
            nz[f] += raw[f] != 0;
        }
    }
    for (f = 0; f < n; f++) {
        double m = l ? s1[f] / l : 0, var = l ? s2[f] / l - m * m : 0;

        plan->mean[f] = shift[f] + m;
        plan->scale[f] = (var > 1e-24) ? sqrt(var) : 1.0;
        sparse[f] = (size_t) nz[f] * 2 < l;
    }
}

typedef struct {
    struct feature_node  *pool;
    struct feature_node **x;      /* one per fitted row */
    double               *y;
    size_t               *row;    /* index in labels of x[i] */
    size_t                l;
} sk_nodes;

static void
nodes_free(sk_nodes *nd)
{
    free(nd->pool);
    free(nd->x);
    free(nd->y);
    free(nd->row);
}

/*
 * liblinear is fed x / scale for "sparse" features (zero on most rows: only
 * non-zeros become nodes, ~16 nodes a row instead of 64 for the seed set)
 * and (x - mean) / scale for the others.  The two differ by a constant per
 * feature, which the bias absorbs; after the fit the bias weight is shifted
 * so that the saved model takes StandardScaler input everywhere.  The only
 * difference from fitting centred data is the (tiny, at 10^6 rows) L2
 * penalty on the intercept, which liblinear and scikit-learn's liblinear
 * wrapper both apply anyway.
 */
static int
build_nodes(const sk_prepared *p, const size_t *idx, size_t l,
    const sk_feature_plan *plan, const int *sparse, const long *nz,
    const double *cache, sk_nodes *nd, char *err, size_t errlen)
{
    size_t  i, k = 0, total = 0;
    double  buf[SK_MAX_FEATURES];
    const double *raw = buf;
    int     f, n = plan->n, ndense = 0;

    for (f = 0; f < n; f++) {
        ndense += !sparse[f];
        total += sparse[f] ? (size_t) nz[f] : 0;
    }
    total += l * (size_t) (ndense + 2);

    nd->pool = malloc((total ? total : 1) * sizeof(*nd->pool));
    nd->x = malloc((l ? l : 1) * sizeof(*nd->x));
    nd->y = malloc((l ? l : 1) * sizeof(*nd->y));
    nd->row = malloc((l ? l : 1) * sizeof(*nd->row));
    if (!nd->pool || !nd->x || !nd->y || !nd->row) {
        snprintf(err, errlen, "out of memory for %zu nodes (%zu rows; "
                 "--max-rows caps them)", total, l);
        return -1;
    }
    nd->l = l;
    for (i = 0; i < l; i++) {
        if (cache) {
            raw = cache + i * n;
        } else {
            row_raw(p, idx[i], plan, buf);
        }
        nd->x[i] = nd->pool + k;
        nd->y[i] = p->labels.rows[idx[i]].label;
        nd->row[i] = idx[i];
        for (f = 0; f < n; f++) {
            if (sparse[f]) {
                if (raw[f] != 0) {
                    nd->pool[k].index = f + 1;
                    nd->pool[k++].value = raw[f] / plan->scale[f];
                }
            } else {
                nd->pool[k].index = f + 1;
                nd->pool[k++].value = (raw[f] - plan->mean[f])
                                      / plan->scale[f];
            }
        }
        nd->pool[k].index = n + 1;          /* bias */
        nd->pool[k++].value = 1.0;
        nd->pool[k].index = -1;
        nd->pool[k++].value = 0.0;
    }
    return 0;
}

static void
set_weights(struct parameter *param, const sk_nodes *nd, int balanced,
    double cw[2], int *labels, double *w)
{
    size_t i;
    double n1 = 0;

    for (i = 0; i < nd->l; i++) {
        n1 += nd->y[i];
    }
    cw[0] = cw[1] = 1.0;
    if (balanced && n1 > 0 && n1 < nd->l) {
        /* scikit-learn: n_samples / (n_classes * count(class)) */
        cw[0] = nd->l / (2.0 * (nd->l - n1));
        cw[1] = nd->l / (2.0 * n1);
    }
    labels[0] = 0;
    labels[1] = 1;
    w[0] = cw[0];
    w[1] = cw[1];
    param->nr_weight = 2;
    param->weight_label = labels;
    param->weight = w;
}

/* ---- choosing C, and the validation the floor reads --------------------- */

/* Accuracy (balanced accuracy when balanced) of predictions on rows. */
static double
score_of(const double *y, const int *pred, size_t l, int balanced)
{
    size_t i;
    double hit[2] = { 0, 0 }, cnt[2] = { 0, 0 };

    for (i = 0; i < l; i++) {
        int c = y[i] != 0;

        cnt[c]++;
        hit[c] += pred[i] == c;
    }
    if (balanced) {
        return 0.5 * ((cnt[0] ? hit[0] / cnt[0] : 0)
                      + (cnt[1] ? hit[1] / cnt[1] : 0));
    }
    return (cnt[0] + cnt[1]) > 0 ? (hit[0] + hit[1]) / (cnt[0] + cnt[1]) : 0;
}

typedef struct {
    struct problem        sub;        /* the earlier part, sub-sampled */
    struct feature_node **vx;         /* the later part, sub-sampled */
    double               *vy;
    int                  *pred;
    size_t                nv;
    double                c_factor;   /* fitted rows / validation fit rows */
} sk_valset;

static void
valset_free(sk_valset *v)
{
    free(v->sub.x);
    free(v->sub.y);
    free(v->vx);
    free(v->vy);
    free(v->pred);
}

/*
 * The validation slice of the training window: fit on its earlier 80 % of
 * sessions, score on the later 20 % (a random fifth for the random split),
 * each side sub-sampled to SK_CV_ROWS rows.  -1: out of memory.
 */
static int
valset_build(const sk_prepared *p, const sk_train_opts *o, const sk_nodes *nd,
    int n_features, sk_valset *v)
{
    size_t   i, ns = 0, nv = 0, n_fit = 0, n_val = 0;
    uint32_t cut = (uint32_t) (p->n_train_sessions * 0.8);
    double   pf, pv;

    memset(v, 0, sizeof(*v));
    for (i = 0; i < nd->l; i++) {
        if (p->labels.rows[nd->row[i]].srank < cut) {
            n_fit++;
        } else {
            n_val++;
        }
    }
    if (o->split_random || n_val == 0 || n_fit == 0) {
        cut = UINT32_MAX;       /* no time order: a random fifth */
        n_fit = (size_t) (nd->l * 0.8);
        n_val = nd->l - n_fit;
    }
    pf = n_fit > SK_CV_ROWS ? (double) SK_CV_ROWS / n_fit : 1.0;
    pv = n_val > SK_CV_ROWS ? (double) SK_CV_ROWS / n_val : 1.0;

    v->sub.x = malloc((nd->l + 1) * sizeof(*v->sub.x));
    v->sub.y = malloc((nd->l + 1) * sizeof(*v->sub.y));
    v->vx = malloc((nd->l + 1) * sizeof(*v->vx));
    v->vy = malloc((nd->l + 1) * sizeof(*v->vy));
    v->pred = malloc((nd->l + 1) * sizeof(*v->pred));
    if (!v->sub.x || !v->sub.y || !v->vx || !v->vy || !v->pred) {
        valset_free(v);
        return -1;
    }
    for (i = 0; i < nd->l; i++) {
        const sk_labelled *r = &p->labels.rows[nd->row[i]];
        int    val = cut == UINT32_MAX
                     ? sk_split_uniform(o->seed + 1, (uint64_t) r->session_id,
                                        r->track) >= 0.8
                     : r->srank >= cut;
        double u = sk_split_uniform(o->seed + 2, (uint64_t) r->session_id,
                                    r->track);

        if (val && u < pv) {
            v->vx[nv] = nd->x[i];
            v->vy[nv++] = nd->y[i];
        } else if (!val && u < pf) {
            v->sub.x[ns] = nd->x[i];
            v->sub.y[ns++] = nd->y[i];
        }
    }
    v->sub.l = (int) ns;
    v->sub.n = n_features + 1;          /* as the full problem: same w */
    v->sub.bias = 1;
    v->nv = nv;
    v->c_factor = ns ? (double) nd->l / ns : 1.0;
    return 0;
}

/*
 * liblinear orders labels by first appearance, and w is the decision for
 * label[0]: a warm start from a model fitted on other rows must be turned
 * when the two problems start with different labels.
 */
static void
warm_from(const struct model *m, const struct problem *prob, double *w,
    int n)
{
    int    i;
    double sign = (m->label[0] == (int) prob->y[0]) ? 1.0 : -1.0;

    for (i = 0; i < n; i++) {
        w[i] = sign * m->w[i];
    }
}

/*
 * Fit the validation slice at each C in cs (increasing, each warm-started
 * from the previous), record the scores, and return the best C with its
 * weights in best_w (n_features + 1 values; best_w[0] is NAN when no fit
 * happened).  Also the majority class's score on the same rows.
 */
static double
validate(const sk_train_opts *o, sk_valset *v, struct parameter *param,
    const double *cs, int ncs, sk_fit_info *fi, double *best_w,
    int n_features)
{
    double  best = cs[0], best_score = -1, *warm;
    int     k, nw = n_features + 1, since_best = 0;
    size_t  i, n1 = 0;

    best_w[0] = NAN;
    fi->n_c = 0;
    fi->val_fit_rows = (size_t) v->sub.l;
    fi->val_rows = v->nv;
    if (v->sub.l == 0 || v->nv == 0) {
        return best;
    }
    for (i = 0; i < (size_t) v->sub.l; i++) {
        n1 += v->sub.y[i] != 0;
    }
    fi->majority_label = 2 * n1 >= (size_t) v->sub.l;
    for (i = 0; i < v->nv; i++) {
        v->pred[i] = fi->majority_label;
    }
    fi->val_majority = score_of(v->vy, v->pred, v->nv, o->balanced);

    warm = malloc(nw * sizeof(*warm));
    param->init_sol = NULL;
    for (k = 0; k < ncs && k < SK_MAX_C; k++) {
        struct model *m;
        double        s;

        /*
         * liblinear minimises C * sum(loss) + |w|^2 / 2: the same C on fewer
         * rows regularises more.  C * rows / fit rows gives the slice the
         * weight per row the full fit will have, so the C chosen here is
         * the one that is best for the full fit, and its weights are a
         * close warm start for it.
         */
        param->C = cs[k] * v->c_factor;
        m = train(&v->sub, param);
        if (m == NULL) {
            break;
        }
        for (i = 0; i < v->nv; i++) {
            v->pred[i] = predict(m, v->vx[i]) == 1;
        }
        s = score_of(v->vy, v->pred, v->nv, o->balanced);
        fi->c_tried[fi->n_c] = cs[k];
        fi->c_score[fi->n_c++] = s;
        if (o->verbose) {
            fprintf(stderr, "skipctl %s: C=%g: validation %s %.4f "
                    "(%d fit / %zu validation rows)\n", o->cmd, cs[k],
                    o->balanced ? "balanced accuracy" : "accuracy", s,
                    v->sub.l, v->nv);
        }
        if (s > best_score + 1e-4) {
            since_best = 0;
            best_score = s;
            best = cs[k];
            fi->val_model = s;
            /* best_w: the decision towards play (label 1) */
            for (i = 0; i < (size_t) nw; i++) {
                best_w[i] = m->label[0] == 1 ? m->w[i] : -m->w[i];
            }
        }
        if (warm) {
            warm_from(m, &v->sub, warm, nw);
            param->init_sol = warm;
        }
        free_and_destroy_model(&m);
        /*
         * Flat: two larger Cs in a row that gain nothing stop the search.
         * Larger C is also the slower fit, and on these data the curve is
         * flat from 0.001 on (docs/model.md).
         */
        if (++since_best > 2) {
            break;
        }
    }
    param->init_sol = NULL;
    free(warm);
    return best;
}

/* ---- the floor ----------------------------------------------------------- */

/*
 * On data without signal a fitted model can score below "always the
 * majority class" (it learns noise), and on a small real export it did.
 * The floor: unless the model beats the majority class on the validation
 * slice by more than two standard errors of that accuracy, the saved model
 * becomes the majority class itself: every weight 0 and the bias the
 * training play rate's logit, so that it scores the prior P(play) for every
 * request (AUC 0.5, honest probabilities) and decides the majority class at
 * threshold 0.5.
 */
static int
floor_check(const sk_train_opts *o, sk_fit_info *fi)
{
    double q = fi->val_majority;

    if (!o->floor || fi->n_c == 0 || fi->val_rows == 0) {
        return 0;
    }
    fi->val_margin = o->balanced ? 2 * sqrt(0.25 / fi->val_rows)
                                 : 2 * sqrt(q * (1 - q) / fi->val_rows);
    return !(fi->val_model > fi->val_majority + fi->val_margin);
}

static void
floor_apply(struct model *lin, int n_features, double play_rate, int solver)
{
    int    i;
    double q = play_rate, z;

    for (i = 0; i < n_features; i++) {
        lin->w[i] = 0.0;
    }
    q = q < 1e-6 ? 1e-6 : (q > 1 - 1e-6 ? 1 - 1e-6 : q);
    /* w is the decision for label[0] */
    if (lin->label[0] != 1) {
        q = 1 - q;
    }
    z = solver == L2R_LR ? log(q / (1 - q)) : (q >= 0.5 ? 1.0 : -1.0);
    lin->w[n_features] = z / (lin->bias > 0 ? lin->bias : 1.0);
}

/* ---- the fit -------------------------------------------------------------- */

struct model *
sk_fit(const sk_prepared *p, const sk_train_opts *o, sk_feature_plan *plan,
    sk_fit_info *fi, char *err, size_t errlen)
{
    static const double cs[] = { 0.001, 0.01, 0.1, 1.0, 10.0 };
    int               sparse[SK_MAX_FEATURES], labels[2], f;
    long              nz[SK_MAX_FEATURES];
    double            w[2], t0 = sk_now(), shift = 0, *best_w = NULL;
    double            play_rate = 0, *cache;
    size_t           *idx, l, i;
    sk_nodes          nd;
    sk_valset         v;
    struct problem    prob;
    struct parameter  param;
    struct model     *lin;
    const char       *msg;

    memset(&nd, 0, sizeof(nd));
    memset(&v, 0, sizeof(v));
    memset(fi, 0, sizeof(*fi));
    plan->priors.global_skip_rate = sk_history_skip_rate(&p->hist);
    plan->priors.user_weight = o->user_weight;
    plan->priors.track_weight = o->track_weight;

    idx = select_rows(p, o, &l, &fi->rows_available);
    if (idx == NULL) {
        snprintf(err, errlen, "out of memory for the training-row index");
        return NULL;
    }
    fi->rows_used = l;
    fi->max_rows = o->max_rows;
    if (l < fi->rows_available) {
        sk_train_progress(o, "row budget: fitting a uniform sample of %zu "
                          "of %zu training rows (--max-rows)", t0, l,
                          fi->rows_available);
    }
    /*
     * The raw values of the first pass, kept for the second (8 bytes a
     * feature a row, half the nodes' size) when they fit: computing them
     * is most of the cost of a pass.  Without the memory, compute twice.
     */
    cache = malloc((l ? l : 1) * (size_t) plan->n * sizeof(double));
    fit_scaler(p, idx, l, plan, sparse, nz, cache);
    if (build_nodes(p, idx, l, plan, sparse, nz, cache, &nd, err,
                    errlen) != 0)
    {
        free(cache);
        free(idx);
        nodes_free(&nd);
        return NULL;
    }
    free(cache);
    free(idx);
    sk_train_progress(o, "features of %zu rows", t0, l);
    fi->nodes = nd.l ? (size_t) (nd.x[nd.l - 1] - nd.pool) : 0;
    prob.l = (int) nd.l;
    prob.n = plan->n + 1;
    prob.y = nd.y;
    prob.x = nd.x;
    prob.bias = 1;

    memset(&param, 0, sizeof(param));
    param.solver_type = o->solver;
    param.eps = o->eps;
    param.C = o->C > 0 ? o->C : 1.0;
    set_weights(&param, &nd, o->balanced, fi->class_weight, labels, w);
    {
        size_t n1 = 0;

        for (i = 0; i < nd.l; i++) {
            n1 += nd.y[i] != 0;
        }
        if (n1 == 0 || n1 == nd.l) {
            snprintf(err, errlen, "all %zu training rows are %s: nothing to "
                     "learn", nd.l, n1 ? "plays" : "skips");
            nodes_free(&nd);
            return NULL;
        }
        play_rate = (double) n1 / nd.l;
    }
    msg = check_parameter(&prob, &param);
    if (msg) {
        snprintf(err, errlen, "liblinear: %s", msg);
        nodes_free(&nd);
        return NULL;
    }

    /* C: chosen on the validation slice, or given (then validated alone,
     * for the floor). */
    best_w = malloc((plan->n + 1) * sizeof(*best_w));
    if (best_w == NULL || valset_build(p, o, &nd, plan->n, &v) != 0) {
        snprintf(err, errlen, "out of memory for the validation slice");
        free(best_w);
        nodes_free(&nd);
        return NULL;
    }
    if (o->C > 0) {
        param.C = validate(o, &v, &param, &o->C, 1, fi, best_w, plan->n);
    } else {
        param.C = validate(o, &v, &param, cs, (int) (sizeof(cs) / sizeof(cs[0])),
                           fi, best_w, plan->n);
    }
    valset_free(&v);
    fi->C = param.C;
    sk_train_progress(o, "C=%g (validation %.4f, majority %.4f)", t0,
                      param.C, fi->val_model, fi->val_majority);

    if (o->verbose) {
        fprintf(stderr, "skipctl %s: fitting %s, C=%g, %zu rows x %d "
                "features\n", o->cmd, sk_solver_name(o->solver), param.C,
                nd.l, plan->n);
    }
    /* Warm start from the chosen C's weights, turned to this problem's
     * label order (its first row's label: see warm_from). */
    if (!isnan(best_w[0])) {
        if (nd.y[0] == 0) {
            for (f = 0; f <= plan->n; f++) {
                best_w[f] = -best_w[f];
            }
        }
        param.init_sol = best_w;
    }
    lin = train(&prob, &param);
    param.init_sol = NULL;
    free(best_w);
    fi->fit_seconds = sk_now() - t0;
    nodes_free(&nd);
    if (lin == NULL) {
        snprintf(err, errlen, "liblinear: training failed");
        return NULL;
    }
    if (floor_check(o, fi)) {
        fi->floor_applied = 1;
        floor_apply(lin, plan->n, play_rate, o->solver);
        sk_train_progress(o, "floor: validation %.4f does not beat the "
                          "majority class's %.4f by %.4f: the model is the "
                          "majority class (P(play) = %.4f everywhere)", t0,
                          fi->val_model, fi->val_majority, fi->val_margin,
                          play_rate);
        return lin;
    }
    /* Back to StandardScaler input: shift the bias (see build_nodes). */
    for (f = 0; f < plan->n; f++) {
        if (sparse[f]) {
            shift += lin->w[f] * plan->mean[f] / plan->scale[f];
        }
    }
    lin->w[plan->n] += shift / lin->bias;
    return lin;
}
