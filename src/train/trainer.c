/* The training and evaluation pipeline (see trainer.h, docs/model.md). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../data/split.h"
#include "trainer.h"

#define SK_CV_ROWS  300000       /* rows per side when choosing C */

double
sk_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
sk_train_opts_default(sk_train_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->test_fraction = 0.2;
    o->seed = 42;
    o->folds = -1;
    o->solver = L2R_LR;
    o->C = 0;
    o->eps = 0.01;
    o->threshold = 0.5;
    o->user_weight = 20;
    o->track_weight = 10;
    o->cmd = "train";
}

static void
progress(const sk_train_opts *o, const char *fmt, double t0, ...)
{
    va_list ap;

    if (!o->verbose) {
        return;
    }
    fprintf(stderr, "skipctl %s: [%6.2fs] ", o->cmd, sk_now() - t0);
    va_start(ap, t0);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
rows_hash(const sk_labels *l, char hex[17])
{
    uint64_t h = 1469598103934665603ULL;
    size_t   i;

    for (i = 0; i < l->n; i++) {
        uint64_t v[3];
        size_t   k;

        v[0] = (uint64_t) l->rows[i].session_id;
        v[1] = ((uint64_t) l->rows[i].track << 32) ^ l->rows[i].user;
        v[2] = ((uint64_t) l->rows[i].ts_ms << 1) ^ (uint64_t) l->rows[i].label;
        for (k = 0; k < 3; k++) {
            h ^= v[k];
            h *= 1099511628211ULL;
            h ^= h >> 29;
        }
    }
    snprintf(hex, 17, "%016llx", (unsigned long long) h);
}

int
sk_prepare(sk_prepared *p, const sk_train_opts *o, char *err, size_t errlen)
{
    double       t0 = sk_now();
    size_t       i;
    long         plays = 0;
    sk_read_opts ro;

    memset(&ro, 0, sizeof(ro));
    ro.log = o->verbose ? stderr : NULL;     /* first bad rows, file:line */
    memset(p, 0, sizeof(*p));
    p->dir = o->data_dir;
    sk_labels_init(&p->labels);
    if (sk_dataset_load(o->data_dir, &p->ds, &ro) != 0) {
        snprintf(err, errlen, "%s", p->ds.error);
        return -1;
    }
    progress(o, "tables: %zu users, %zu tracks, %zu artists", t0,
             p->ds.n_users, p->ds.n_tracks, p->ds.n_artists);
    if (sk_labels_read(&p->labels, &p->ds, o->data_dir, &ro, &p->sessions,
                       err, errlen) != 0)
    {
        return -1;
    }
    progress(o, "sessions: %ld lines (%ld unusable rows skipped), %zu "
             "labelled plays (%ld events; dropped: %ld unknown user, %ld "
             "unknown track)", t0, p->sessions.lines,
             p->sessions.skipped_total, p->labels.n, p->labels.events,
             p->labels.unknown_user, p->labels.unknown_track);
    if (p->labels.n == 0) {
        snprintf(err, errlen, "%s/sessions.jsonl: no labelled plays (Play or "
                 "Skip events of known users and tracks)", o->data_dir);
        return -1;
    }
    rows_hash(&p->labels, p->rows_hash);

    if (o->split_random) {
        p->n_sessions = sk_split_random(p->labels.rows, p->labels.n,
                                        o->test_fraction, o->seed);
        p->n_train_sessions = p->n_sessions;
        p->cut_ms = INT64_MAX;
    } else {
        p->n_sessions = sk_split_time(p->labels.rows, p->labels.n,
                                      o->test_fraction, &p->n_train_sessions,
                                      &p->cut_ms);
    }
    for (i = 0; i < p->labels.n; i++) {
        if (p->labels.rows[i].split == SK_ROW_TRAIN) {
            p->n_train++;
            plays += p->labels.rows[i].label;
        } else {
            p->n_test++;
        }
    }
    if (p->n_train == 0 || p->n_test == 0) {
        snprintf(err, errlen, "%s: %zu training and %zu test rows: need both "
                 "(%zu sessions: too few to hold some out)", o->data_dir,
                 p->n_train, p->n_test, p->n_sessions);
        return -1;
    }
    p->train_play_rate = (double) plays / p->n_train;

    if (sk_history_init(&p->hist, &p->ds) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /*
     * The original computed rates over all rows, test rows included; the
     * honest split counts the training window only.
     */
    sk_history_add_rows(&p->hist, p->labels.rows, p->labels.n,
                        o->split_random ? -1 : SK_ROW_TRAIN);
    p->folds = o->folds >= 0 ? o->folds : (o->split_random ? 0 : 5);
    p->fold_seed = o->seed + 3;
    if (p->folds > 0) {
        int k;

        p->fold_hist = calloc(p->folds, sizeof(*p->fold_hist));
        if (p->fold_hist == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (k = 0; k < p->folds; k++) {
            if (sk_history_init(&p->fold_hist[k], &p->ds) != 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        for (i = 0; i < p->labels.n; i++) {
            const sk_labelled *r = &p->labels.rows[i];

            if (r->split == SK_ROW_TRAIN) {
                sk_history_add(&p->fold_hist[sk_row_fold(p, r)], r->user,
                               r->track, r->label, 1);
            }
        }
    }
    progress(o, "split %s: %zu train / %zu test rows, %zu sessions", t0,
             o->split_random ? "random" : "time", p->n_train, p->n_test,
             p->n_sessions);
    return 0;
}

int
sk_row_fold(const sk_prepared *p, const sk_labelled *r)
{
    int k = (int) (sk_split_uniform(p->fold_seed, (uint64_t) r->session_id, 0)
                   * p->folds);

    return k < p->folds ? k : p->folds - 1;
}

void
sk_prepared_free(sk_prepared *p)
{
    int k;

    for (k = 0; p->fold_hist && k < p->folds; k++) {
        sk_history_free(&p->fold_hist[k]);
    }
    free(p->fold_hist);
    p->fold_hist = NULL;
    sk_history_free(&p->hist);
    sk_labels_free(&p->labels);
    sk_dataset_free(&p->ds);
}

void
sk_row_inputs(const sk_prepared *p, const sk_labelled *r, sk_user_rec *u,
    sk_track_rec *t, sk_context *ctx)
{
    if (r->split == SK_ROW_TRAIN && p->folds > 0) {
        sk_history_minus(&p->hist, &p->fold_hist[sk_row_fold(p, r)], r->user,
                         r->track, u, t);
    } else {
        *u = p->hist.users[r->user];
        *t = p->hist.tracks[r->track];
    }
    ctx->hour = sk_labelled_hour(r);
    ctx->admit = NULL;
    ctx->position = r->position;
}

/* ---- fitting ----------------------------------------------------------- */

/* Raw features of a training row (0 for any other row): what the scaler,
 * the node count and the node fill all walk over. */
static int
train_row_raw(const sk_prepared *p, const sk_labelled *r,
    const sk_feature_plan *plan, double *raw)
{
    sk_user_rec   u;
    sk_track_rec  t;
    sk_context    c;

    if (r->split != SK_ROW_TRAIN) {
        return 0;
    }
    sk_row_inputs(p, r, &u, &t, &c);
    sk_features_raw(plan, &u, &t, &c, raw);
    return 1;
}

typedef struct {
    struct feature_node  *pool;
    struct feature_node **x;      /* one per training row */
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
build_nodes(const sk_prepared *p, sk_feature_plan *plan, const int *sparse,
    sk_nodes *nd, char *err, size_t errlen)
{
    size_t  i, k, total = 0, l = 0;
    long    nnz[SK_MAX_FEATURES];
    double  raw[SK_MAX_FEATURES];
    int     f, n = plan->n, ndense = 0;
    const sk_labelled *rows = p->labels.rows;

    memset(nnz, 0, sizeof(nnz));
    for (f = 0; f < n; f++) {
        ndense += !sparse[f];
    }
    /* Count the nodes exactly: one pass over the sparse features. */
    for (i = 0; i < p->labels.n; i++) {
        if (!train_row_raw(p, &rows[i], plan, raw)) {
            continue;
        }
        for (f = 0; f < n; f++) {
            nnz[f] += sparse[f] && raw[f] != 0;
        }
        l++;
    }
    for (f = 0; f < n; f++) {
        total += (size_t) nnz[f];
    }
    total += l * (size_t) (ndense + 2);

    nd->pool = malloc(total * sizeof(*nd->pool));
    nd->x = malloc(l * sizeof(*nd->x));
    nd->y = malloc(l * sizeof(*nd->y));
    nd->row = malloc(l * sizeof(*nd->row));
    if (!nd->pool || !nd->x || !nd->y || !nd->row) {
        snprintf(err, errlen, "out of memory for %zu nodes", total);
        return -1;
    }
    nd->l = l;
    for (i = 0, k = 0, l = 0; i < p->labels.n; i++) {
        if (!train_row_raw(p, &rows[i], plan, raw)) {
            continue;
        }
        nd->x[l] = nd->pool + k;
        nd->y[l] = rows[i].label;
        nd->row[l] = i;
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
        l++;
    }
    return 0;
}

/* Mean, population standard deviation (StandardScaler) and density. */
static void
fit_scaler(const sk_prepared *p, sk_feature_plan *plan, int *sparse)
{
    double  shift[SK_MAX_FEATURES], s1[SK_MAX_FEATURES], s2[SK_MAX_FEATURES];
    double  raw[SK_MAX_FEATURES];
    long    nz[SK_MAX_FEATURES], l = 0;
    size_t  i;
    int     f, n = plan->n;
    const sk_labelled *rows = p->labels.rows;

    memset(s1, 0, sizeof(s1));
    memset(s2, 0, sizeof(s2));
    memset(nz, 0, sizeof(nz));
    for (i = 0; i < p->labels.n; i++) {
        if (!train_row_raw(p, &rows[i], plan, raw)) {
            continue;
        }
        if (l == 0) {
            memcpy(shift, raw, sizeof(double) * n);
        }
        for (f = 0; f < n; f++) {
            double d = raw[f] - shift[f];   /* shifted sums: no cancellation */

            s1[f] += d;
            s2[f] += d * d;
            nz[f] += raw[f] != 0;
        }
        l++;
    }
    for (f = 0; f < n; f++) {
        double m = s1[f] / l, var = s2[f] / l - m * m;

        plan->mean[f] = shift[f] + m;
        plan->scale[f] = (var > 1e-24) ? sqrt(var) : 1.0;
        sparse[f] = nz[f] * 2 < l;
    }
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

/* Accuracy (balanced accuracy when balanced) of lin on the given rows. */
static double
val_score(const struct model *lin, struct feature_node **x, const double *y,
    size_t l, int balanced)
{
    size_t i;
    double hit[2] = { 0, 0 }, cnt[2] = { 0, 0 };

    for (i = 0; i < l; i++) {
        int c = y[i] != 0;
        int pr = predict(lin, x[i]) == 1;

        cnt[c]++;
        hit[c] += pr == c;
    }
    if (balanced) {
        return 0.5 * ((cnt[0] ? hit[0] / cnt[0] : 0)
                      + (cnt[1] ? hit[1] / cnt[1] : 0));
    }
    return (hit[0] + hit[1]) / (cnt[0] + cnt[1]);
}

/*
 * Choose C on the training window: fit on its earlier 80 % of sessions,
 * score on the later 20 % (each side sub-sampled to SK_CV_ROWS rows).
 */
static double
choose_c(const sk_prepared *p, const sk_train_opts *o, const sk_nodes *nd,
    struct parameter *param, sk_fit_info *fi)
{
    static const double cs[] = { 0.001, 0.01, 0.1, 1.0, 10.0 };
    struct problem        sub;
    struct feature_node **vx;
    double               *vy, best = 1.0, best_score = -1;
    size_t                i, ns = 0, nv = 0, n_fit = 0, n_val = 0;
    uint32_t              cut;
    double                pf, pv;
    unsigned              k;

    cut = (uint32_t) (p->n_train_sessions * 0.8);
    for (i = 0; i < nd->l; i++) {
        if (p->labels.rows[nd->row[i]].srank < cut) {
            n_fit++;
        } else {
            n_val++;
        }
    }
    if (o->split_random || n_val == 0) {
        cut = UINT32_MAX;       /* no time order: a random fifth */
        n_fit = (size_t) (nd->l * 0.8);
        n_val = nd->l - n_fit;
    }
    pf = n_fit > SK_CV_ROWS ? (double) SK_CV_ROWS / n_fit : 1.0;
    pv = n_val > SK_CV_ROWS ? (double) SK_CV_ROWS / n_val : 1.0;

    sub.x = malloc(nd->l * sizeof(*sub.x));
    sub.y = malloc(nd->l * sizeof(*sub.y));
    vx = malloc(nd->l * sizeof(*vx));
    vy = malloc(nd->l * sizeof(*vy));
    if (!sub.x || !sub.y || !vx || !vy) {
        free(sub.x); free(sub.y); free(vx); free(vy);
        return 1.0;
    }
    for (i = 0; i < nd->l; i++) {
        const sk_labelled *r = &p->labels.rows[nd->row[i]];
        int   val = cut == UINT32_MAX
                    ? sk_split_uniform(o->seed + 1, (uint64_t) r->session_id,
                                       r->track) >= 0.8
                    : r->srank >= cut;
        double u = sk_split_uniform(o->seed + 2, (uint64_t) r->session_id,
                                    r->track);

        if (val && u < pv) {
            vx[nv] = nd->x[i];
            vy[nv++] = nd->y[i];
        } else if (!val && u < pf) {
            sub.x[ns] = nd->x[i];
            sub.y[ns++] = nd->y[i];
        }
    }
    sub.l = (int) ns;
    sub.n = 0;
    sub.bias = 1;
    for (i = 0; i < ns; i++) {
        const struct feature_node *q = sub.x[i];

        while (q->index != -1) {
            if (q->index > sub.n) {
                sub.n = q->index;
            }
            q++;
        }
    }
    fi->n_c = 0;
    for (k = 0; k < sizeof(cs) / sizeof(cs[0]) && ns > 0 && nv > 0; k++) {
        struct model *m;
        double        s;

        param->C = cs[k];
        m = train(&sub, param);
        s = val_score(m, vx, vy, nv, o->balanced);
        free_and_destroy_model(&m);
        fi->c_tried[fi->n_c] = cs[k];
        fi->c_score[fi->n_c++] = s;
        if (o->verbose) {
            fprintf(stderr, "skipctl train: C=%g: validation %s %.4f "
                    "(%zu fit / %zu validation rows)\n", cs[k],
                    o->balanced ? "balanced accuracy" : "accuracy", s, ns,
                    nv);
        }
        if (s > best_score + 1e-4) {
            best_score = s;
            best = cs[k];
        }
    }
    free(sub.x); free(sub.y); free(vx); free(vy);
    return best;
}

struct model *
sk_fit(const sk_prepared *p, const sk_train_opts *o, sk_feature_plan *plan,
    sk_fit_info *fi, char *err, size_t errlen)
{
    int               sparse[SK_MAX_FEATURES], labels[2], f;
    double            w[2], t0 = sk_now(), shift = 0;
    sk_nodes          nd;
    struct problem    prob;
    struct parameter  param;
    struct model     *lin;
    const char       *msg;

    memset(&nd, 0, sizeof(nd));
    memset(fi, 0, sizeof(*fi));
    plan->priors.global_skip_rate = sk_history_skip_rate(&p->hist);
    plan->priors.user_weight = o->user_weight;
    plan->priors.track_weight = o->track_weight;

    fit_scaler(p, plan, sparse);
    if (build_nodes(p, plan, sparse, &nd, err, errlen) != 0) {
        nodes_free(&nd);
        return NULL;
    }
    fi->nodes = nd.x[0] ? (size_t) (nd.x[nd.l - 1] - nd.pool) : 0;
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
    if (fi->class_weight[0] == 1.0 && fi->class_weight[1] == 1.0) {
        size_t i, n1 = 0;

        for (i = 0; i < nd.l; i++) {
            n1 += nd.y[i] != 0;
        }
        if (n1 == 0 || n1 == nd.l) {
            snprintf(err, errlen, "all %zu training rows are %s: nothing to "
                     "learn", nd.l, n1 ? "plays" : "skips");
            nodes_free(&nd);
            return NULL;
        }
    }
    msg = check_parameter(&prob, &param);
    if (msg) {
        snprintf(err, errlen, "liblinear: %s", msg);
        nodes_free(&nd);
        return NULL;
    }
    if (o->C <= 0) {
        param.C = choose_c(p, o, &nd, &param, fi);
    }
    fi->C = param.C;
    if (o->verbose) {
        fprintf(stderr, "skipctl train: fitting %s, C=%g, %zu rows x %d "
                "features\n", sk_solver_name(o->solver), param.C, nd.l,
                plan->n);
    }
    lin = train(&prob, &param);
    fi->fit_seconds = sk_now() - t0;
    nodes_free(&nd);
    if (lin == NULL) {
        snprintf(err, errlen, "liblinear: training failed");
        return NULL;
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

/* ---- evaluation -------------------------------------------------------- */

static double
bayes_limit(const sk_prepared *p, const char *dir, long *matched,
    double *logloss)
{
    sk_reader *rd;
    sk_row     row;
    char       err[512];
    double     sum = 0, ll = 0;
    long       n = 0;
    int        rc;

    *matched = 0;
    *logloss = NAN;
    rd = sk_reader_open_dir(dir, SK_FILE_TRUTH, NULL, err, sizeof(err));
    if (rd == NULL) {
        return NAN;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        long t = sk_dataset_find_track(&p->ds, row.truth.track_id,
                                       strlen(row.truth.track_id));
        long i;
        double q;

        if (t < 0) {
            continue;
        }
        i = sk_labels_find(&p->labels, row.truth.session_id, (uint32_t) t);
        if (i < 0 || p->labels.rows[i].split != SK_ROW_TEST) {
            continue;
        }
        q = row.truth.p_skip;
        sum += q > 0.5 ? q : 1 - q;
        q = q < 1e-15 ? 1e-15 : (q > 1 - 1e-15 ? 1 - 1e-15 : q);
        ll -= p->labels.rows[i].label ? log(1 - q) : log(q);
        n++;
    }
    sk_reader_close(rd);
    *matched = n;
    if (n == 0) {
        return NAN;
    }
    *logloss = ll / n;
    return sum / n;
}

int
sk_evaluate(const sk_prepared *p, const sk_model *m, sk_evaluation *ev,
    char *err, size_t errlen)
{
    int8_t *y, *pred, *npred, *mpred;
    float  *score, *mscore;
    size_t  i, k = 0;

    memset(ev, 0, sizeof(*ev));
    y = malloc(p->n_test);
    pred = malloc(p->n_test);
    npred = malloc(p->n_test);
    mpred = malloc(p->n_test);
    score = malloc(p->n_test * sizeof(float));
    mscore = malloc(p->n_test * sizeof(float));
    if (!y || !pred || !npred || !mpred || !score || !mscore) {
        snprintf(err, errlen, "out of memory");
        free(y); free(pred); free(npred); free(mpred); free(score);
        free(mscore);
        return -1;
    }
    ev->majority_label = p->train_play_rate >= 0.5;
    for (i = 0; i < p->labels.n; i++) {
        const sk_labelled *r = &p->labels.rows[i];
        sk_user_rec        u;
        sk_track_rec       t;
        sk_context         c;
        double             s;

        if (r->split != SK_ROW_TEST) {
            continue;
        }
        sk_row_inputs(p, r, &u, &t, &c);
        s = sk_model_score(m, &u, &t, &c);
        y[k] = r->label;
        score[k] = (float) s;
        pred[k] = (int8_t) sk_model_decide(m, s);
        npred[k] = (u.fav & t.genres) != 0;
        mpred[k] = (int8_t) ev->majority_label;
        mscore[k] = (float) p->train_play_rate;
        k++;
    }
    sk_metrics_compute(&ev->model, y, pred, score, k);
    sk_metrics_compute(&ev->naive, y, npred, NULL, k);
    sk_metrics_compute(&ev->majority, y, mpred, mscore, k);
    free(y); free(pred); free(npred); free(mpred); free(score); free(mscore);
    ev->bayes_limit = bayes_limit(p, p->dir, &ev->bayes_rows,
                                  &ev->bayes_logloss);
    return 0;
}

int
sk_export_csv(const sk_prepared *p, const sk_feature_plan *plan,
    const char *path, char *err, size_t errlen)
{
    FILE   *f;
    size_t  i;
    int     j;
    double  raw[SK_MAX_FEATURES];

    f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fputs("split,label", f);
    for (j = 0; j < plan->n; j++) {
        fprintf(f, ",%s", sk_feature_name(plan->id[j]));
    }
    fputc('\n', f);
    for (i = 0; i < p->labels.n; i++) {
        const sk_labelled *r = &p->labels.rows[i];
        sk_user_rec        u;
        sk_track_rec       t;
        sk_context         c;

        sk_row_inputs(p, r, &u, &t, &c);
        sk_features_raw(plan, &u, &t, &c, raw);
        fputs(r->split == SK_ROW_TRAIN ? "train," : "test,", f);
        fputc('0' + r->label, f);
        for (j = 0; j < plan->n; j++) {
            fprintf(f, ",%.17g", raw[j]);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
