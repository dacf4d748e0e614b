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
    o->max_rows = SK_DEFAULT_MAX_ROWS;
    o->floor = 1;
    o->user_weight = 20;
    o->track_weight = 10;
    o->cmd = "train";
}

void
sk_train_progress(const sk_train_opts *o, const char *fmt, double t0, ...)
{
    va_list ap;

    if (!o->verbose) {
        return;
    }
    /* CPU seconds of the process too: on a shared machine the wall clock
     * says more about the neighbours than about the work. */
    fprintf(stderr, "skipctl %s: [%6.2fs, cpu %6.2fs] ", o->cmd,
            sk_now() - t0, (double) clock() / CLOCKS_PER_SEC);
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

/*
 * The listener's taste from the rows the records count (the training window,
 * or every row for the random split), per fold of training sessions.
 */
static int
taste_build(sk_prepared *p, const sk_train_opts *o, char *err, size_t errlen)
{
    size_t i;

    p->taste = calloc(1, sizeof(*p->taste));
    if (p->taste == NULL
        || sk_taste_hist_init(p->taste, p->ds.n_users, p->folds) != 0)
    {
        snprintf(err, errlen, "out of memory for the taste history");
        return -1;
    }
    for (i = 0; i < p->labels.n; i++) {
        const sk_labelled *r = &p->labels.rows[i];
        const sk_track    *t = &p->ds.tracks[r->track];

        if (!o->split_random && r->split != SK_ROW_TRAIN) {
            continue;
        }
        if (sk_taste_hist_add(p->taste, r->user, t->artist, t->genre_mask,
                              sk_labelled_hour(r),
                              p->folds > 0 ? sk_row_fold(p, r) : 0,
                              r->label) != 0)
        {
            snprintf(err, errlen, "out of memory for the taste history "
                     "(%zu pairs)", p->taste->used);
            return -1;
        }
    }
    return 0;
}

/*
 * Every row's expected P(skip) from its user's and its track's smoothed
 * rates as the row sees them (out of fold for a training row): the logits
 * added, less the global one.  What the session residual (session_resid_s)
 * measures the session's skips against; the module computes the same
 * (sk_session_expect, with the model's priors) from the two records of
 * the request it serves (docs/taste-features.md).
 */
static float *
session_expect(const sk_prepared *p, const sk_train_opts *o)
{
    sk_priors pr;
    float    *e = malloc((p->labels.n ? p->labels.n : 1) * sizeof(*e));
    size_t    i;

    if (e == NULL) {
        return NULL;
    }
    pr.global_skip_rate = sk_history_skip_rate(&p->hist);
    pr.user_weight = o->user_weight;
    pr.track_weight = o->track_weight;
    for (i = 0; i < p->labels.n; i++) {
        sk_user_rec  u;
        sk_track_rec t;
        sk_context   c;

        sk_row_inputs(p, &p->labels.rows[i], &u, &t, &c);
        e[i] = (float) sk_session_expect(&pr, &u, &t);
    }
    return e;
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
    sk_train_progress(o, "tables: %zu users, %zu tracks, %zu artists", t0,
             p->ds.n_users, p->ds.n_tracks, p->ds.n_artists);
    if (sk_labels_read(&p->labels, &p->ds, o->data_dir, &ro, &p->sessions,
                       err, errlen) != 0)
    {
        return -1;
    }
    sk_train_progress(o, "sessions: %ld lines (%ld unusable rows skipped), %zu "
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
            if (sk_fold_counts_init(&p->fold_hist[k], &p->ds) != 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        for (i = 0; i < p->labels.n; i++) {
            const sk_labelled *r = &p->labels.rows[i];

            if (r->split == SK_ROW_TRAIN) {
                sk_fold_counts_add(&p->fold_hist[sk_row_fold(p, r)],
                                   &p->hist, r->user, r->track, r->label);
            }
        }
    }
    if (o->inputs & SK_INPUT_TASTE) {
        if (taste_build(p, o, err, errlen) != 0) {
            return -1;
        }
        sk_train_progress(o, "taste history: %zu (user, artist) pairs", t0,
                          p->taste->used);
    }
    if (o->inputs & SK_INPUT_SESSION) {
        float *expect = session_expect(p, o);

        p->sess = expect ? sk_session_ctx_build(p->labels.rows, p->labels.n,
                                                expect)
                         : NULL;
        free(expect);
        if (p->sess == NULL) {
            snprintf(err, errlen, "out of memory for the session context");
            return -1;
        }
    }
    sk_train_progress(o, "split %s: %zu train / %zu test rows, %zu sessions", t0,
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
        sk_fold_counts_free(&p->fold_hist[k]);
    }
    free(p->fold_hist);
    p->fold_hist = NULL;
    if (p->taste) {
        sk_taste_hist_free(p->taste);
        free(p->taste);
        p->taste = NULL;
    }
    free(p->sess);
    p->sess = NULL;
    sk_history_free(&p->hist);
    sk_labels_free(&p->labels);
    sk_dataset_free(&p->ds);
}

void
sk_row_inputs(const sk_prepared *p, const sk_labelled *r, sk_user_rec *u,
    sk_track_rec *t, sk_context *ctx)
{
    if (r->split == SK_ROW_TRAIN && p->folds > 0) {
        sk_history_minus_counts(&p->hist, &p->fold_hist[sk_row_fold(p, r)],
                                r->user, r->track, u, t);
    } else {
        *u = p->hist.users[r->user];
        *t = p->hist.tracks[r->track];
    }
    ctx->hour = sk_labelled_hour(r);
    ctx->admit = NULL;
    ctx->position = r->position;
}

void
sk_row_all_inputs(const sk_prepared *p, const sk_labelled *r, sk_row_in *in)
{
    sk_row_inputs(p, r, &in->u, &in->t, &in->ctx);
    in->tp = NULL;
    in->sp = NULL;
    if (p->taste) {
        const sk_track *t = &p->ds.tracks[r->track];
        int             except = (r->split == SK_ROW_TRAIN && p->folds > 0)
                                 ? sk_row_fold(p, r) : -1;

        sk_taste_hist_get(p->taste, r->user, t->artist, t->genre_mask,
                          in->ctx.hour, except, &in->taste);
        in->tp = &in->taste;
    }
    if (p->sess) {
        sk_session_of(&p->sess[r - p->labels.rows], &in->sess);
        in->sp = &in->sess;
    }
}

void
sk_row_features(const sk_prepared *p, const sk_labelled *r,
    const sk_feature_plan *plan, double *raw)
{
    sk_row_in in;

    sk_row_all_inputs(p, r, &in);
    sk_features_raw_ext(plan, &in.u, &in.t, &in.ctx, in.tp, in.sp, raw);
}

/* ---- evaluation -------------------------------------------------------- */

/*
 * The labelled row a truth line (a Play: session, track, request time)
 * belongs to, or -1.  truth.jsonl comes in session order, so the search
 * starts from the previous line's session (a short scan over its rows, by
 * time, checking the track id) and falls back to a binary search; a hash
 * lookup of every track id was a third of the evaluation's time.
 */
static long
truth_row(const sk_prepared *p, const sk_truth_row *t, size_t *cursor)
{
    const sk_labels *l = &p->labels;
    size_t           i = *cursor;
    long             tr;

    if (i >= l->n || l->rows[i].session_id != t->session_id) {
        size_t lo = 0, hi = l->n;

        while (lo < hi) {           /* first row of the session */
            size_t mid = lo + (hi - lo) / 2;

            if (l->rows[mid].session_id < t->session_id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        i = lo;
        *cursor = i;
    }
    for (; i < l->n && l->rows[i].session_id == t->session_id; i++) {
        if (l->rows[i].ts_ms == t->ts_ms
            && memcmp(p->ds.tracks[l->rows[i].track].id, t->track_id,
                      SK_ID_LEN) == 0)
        {
            return (long) i;
        }
    }
    /* Not at its request time (a Skip-only pair): by track. */
    tr = sk_dataset_find_track(&p->ds, t->track_id, strlen(t->track_id));
    return tr < 0 ? -1 : sk_labels_find(l, t->session_id, (uint32_t) tr);
}

static double
bayes_limit(const sk_prepared *p, const char *dir, long *matched,
    double *logloss)
{
    sk_reader *rd;
    sk_row     row;
    char       err[512];
    double     sum = 0, ll = 0;
    long       n = 0;
    size_t     cursor = 0;
    int        rc;

    *matched = 0;
    *logloss = NAN;
    rd = sk_reader_open_dir(dir, SK_FILE_TRUTH, NULL, err, sizeof(err));
    if (rd == NULL) {
        return NAN;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        long   i = truth_row(p, &row.truth, &cursor);
        double q;

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
        sk_row_in          in;
        double             s;

        if (r->split != SK_ROW_TEST) {
            continue;
        }
        sk_row_all_inputs(p, r, &in);
        s = sk_model_score_ext(m, &in.u, &in.t, &in.ctx, in.tp, in.sp);
        y[k] = r->label;
        score[k] = (float) s;
        pred[k] = (int8_t) sk_model_decide(m, s);
        npred[k] = (in.u.fav & in.t.genres) != 0;
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

        sk_row_features(p, r, plan, raw);
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
