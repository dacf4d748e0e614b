/* Training the cache admission model (see admit_train.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linear.h>

#include "admit_train.h"
#include "../core/admit_sketch.h"
#include "../data/split.h"
#include "../train/manifest.h"

#define SK_ADMIT_T_MIN   0.05
#define SK_ADMIT_T_STEP  0.05

void
sk_admit_train_opts_default(sk_admit_train_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "admit";
    o->cache_share = 0.05;
    o->train_tail = 0.25;
    o->slice = 1024 * 1024;
    o->bitrate_kbps = 160;
    o->sketch_bytes = 32 * 1024 * 1024;
    o->max_rows = 600000;
    o->C = 1.0;
    o->cap_written = 1;
    o->reuse = -1;
}

typedef struct {
    const sk_feature_plan  *plan;
    const uint8_t          *y;
    double                  keep;       /* sampling probability */
    double                 *raw;        /* [rows x n] */
    double                 *lab;
    size_t                  rows, cap;
} collect_arg;

static int
collect_one(void *arg, size_t i, const sk_user_rec *u, const sk_track_rec *tr,
    const sk_context *ctx, const sk_labelled *row)
{
    collect_arg *c = arg;

    if (c->keep < 1
        && sk_split_uniform(77, (uint64_t) row->session_id, (uint32_t) i)
           >= c->keep)
    {
        return 0;
    }
    if (c->rows == c->cap) {
        return 0;
    }
    sk_features_raw(c->plan, u, tr, ctx, c->raw + c->rows * c->plan->n);
    c->lab[c->rows++] = c->y[i];
    return 0;
}

typedef struct {
    const sk_model  *am;
    float           *score;
} score_arg;

static int
score_one(void *arg, size_t i, const sk_user_rec *u, const sk_track_rec *tr,
    const sk_context *ctx, const sk_labelled *row)
{
    score_arg *s = arg;

    (void) row;
    s->score[i] = (float) sk_model_score(s->am, u, tr, ctx);
    return 0;
}

/* StandardScaler over the collected rows. */
static void
fit_scaler(sk_feature_plan *plan, const double *raw, size_t rows)
{
    int     f;
    size_t  i;

    for (f = 0; f < plan->n; f++) {
        double s1 = 0, s2 = 0, m, var, shift = rows ? raw[f] : 0;

        for (i = 0; i < rows; i++) {
            double d = raw[i * plan->n + f] - shift;

            s1 += d;
            s2 += d * d;
        }
        m = rows ? s1 / rows : 0;
        var = rows ? s2 / rows - m * m : 0;
        plan->mean[f] = shift + m;
        plan->scale[f] = var > 1e-24 ? sqrt(var) : 1.0;
    }
}

static struct model *
fit(const sk_feature_plan *plan, const double *raw, const double *lab,
    size_t rows, double C)
{
    struct feature_node  *pool, **x;
    struct problem        prob;
    struct parameter      param;
    struct model         *lin;
    size_t                i;
    int                   f, n = plan->n;

    pool = malloc(rows * (n + 2) * sizeof(*pool));
    x = malloc(rows * sizeof(*x));
    if (pool == NULL || x == NULL) {
        free(pool);
        free(x);
        return NULL;
    }
    for (i = 0; i < rows; i++) {
        struct feature_node *p = pool + i * (n + 2);

        x[i] = p;
        for (f = 0; f < n; f++) {
            p[f].index = f + 1;
            p[f].value = (raw[i * n + f] - plan->mean[f]) / plan->scale[f];
        }
        p[n].index = n + 1;
        p[n].value = 1.0;
        p[n + 1].index = -1;
        p[n + 1].value = 0;
    }
    prob.l = (int) rows;
    prob.n = n + 1;
    prob.y = (double *) lab;
    prob.x = x;
    prob.bias = 1;
    memset(&param, 0, sizeof(param));
    param.solver_type = L2R_LR;
    param.eps = 0.01;
    param.C = C;
    lin = check_parameter(&prob, &param) ? NULL : train(&prob, &param);
    free(pool);
    free(x);
    return lin;
}

/*
 * The reuse-distance boundary of the labels (LRB's "relaxed Belady": an
 * object is worth admitting when its next request comes within the
 * boundary), chosen on the training window itself: the K of the
 * boundary K x capacity whose labels, used as the admission decisions
 * with LRU eviction, give the most hits.  y is scratch.
 */
static double
choose_boundary(sk_trace *t, uint64_t capacity, uint8_t *y, int verbose,
    double t0)
{
    static const double  ks[] = { 0.5, 1, 2, 4, 8 };
    sk_sim_config        cfg;
    sk_sim_result        r;
    uint64_t             best_hits = 0;
    double               best = 2;
    size_t               k, i;

    sk_sim_config_default(&cfg);
    cfg.capacity = capacity;
    for (k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
        if (sk_admit_labels_reuse(t, ks[k] * (double) capacity, y) < 0) {
            break;
        }
        for (i = 0; i < t->n; i++) {
            t->admit[i] = y[i];
        }
        if (sk_simulate(t, SK_POL_LEARNED, &cfg, &r) != 0) {
            break;
        }
        if (verbose) {
            fprintf(stderr, "skipctl admit-train: [%6.2fs] boundary %g x "
                    "capacity: its labels as the admission %.2f %% hits\n",
                    sk_now() - t0, ks[k], 100.0 * r.hits / r.requests);
        }
        if (r.hits > best_hits) {
            best_hits = r.hits;
            best = ks[k];
        }
    }
    return best;
}

static cJSON *
sim_json(const sk_sim_result *r)
{
    cJSON *j = cJSON_CreateObject();

    cJSON_AddNumberToObject(j, "requests", (double) r->requests);
    cJSON_AddNumberToObject(j, "hits", (double) r->hits);
    cJSON_AddNumberToObject(j, "hit_ratio",
                            r->requests ? (double) r->hits / r->requests : 0);
    cJSON_AddNumberToObject(j, "written_bytes", (double) r->written_bytes);
    return j;
}

int
sk_admit_train(const sk_prepared *p, const sk_model *skip,
    const sk_admit_train_opts *o, const char *model_path, cJSON **report,
    char *err, size_t errlen)
{
    sk_replay         rp;
    sk_replay_opts    ro;
    sk_trace          sliced, *t;
    sk_admit_src      src;
    sk_feature_plan   plan;
    sk_model          am;
    sk_sim_config     cfg;
    sk_sim_result     res, best_res, base[3], oracle;
    int               capped, best_capped;
    sk_history        before;
    uint32_t          cut;
    double            reuse;
    sk_manifest_info  info;
    collect_arg       ca;
    score_arg         sa;
    const char *const *names;
    uint8_t          *y = NULL;
    float            *score = NULL;
    struct model     *lin = NULL;
    uint64_t          capacity;
    long              pos;
    double            thr, best_t = 0.5, t0 = sk_now();
    size_t            i;
    int               n, rc = -1;
    cJSON            *sweep, *tr, *ad, *j;
    static const sk_policy bases[3] = { SK_POL_LRU, SK_POL_TINYLFU,
                                        SK_POL_BELADY };

    memset(&sliced, 0, sizeof(sliced));
    memset(&ca, 0, sizeof(ca));
    memset(&am, 0, sizeof(am));
    *report = NULL;

    /*
     * The window's records count the training sessions before it only,
     * as the held-out window's records count the training window only:
     * a record that already counted the listens being replayed would
     * tell the model the future (popularity within the window).
     */
    if (sk_history_init(&before, &p->ds) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /*
     * Weighted up to the length of the whole training window, which the
     * held-out window's records count: a track's count then means the
     * same in both (the history is shorter here, by the tail).
     */
    cut = (uint32_t) ((1.0 - o->train_tail) * p->n_train_sessions);
    for (i = 0; i < p->labels.n; i++) {
        const sk_labelled *r = &p->labels.rows[i];

        if (r->split == SK_ROW_TRAIN && r->srank < cut) {
            sk_history_add(&before, r->user, r->track, r->label,
                           (double) p->n_train_sessions / (cut ? cut : 1));
        }
    }

    memset(&ro, 0, sizeof(ro));
    ro.bitrate_kbps = o->bitrate_kbps;
    ro.skip_times = 1;
    ro.train_tail = o->train_tail;
    ro.hist = &before;
    if (sk_replay_build(&rp, p, skip, &ro, err, errlen) != 0) {
        sk_replay_free(&rp);
        sk_history_free(&before);
        return -1;
    }
    t = &rp.trace;
    if (o->slice > 0) {
        if (sk_trace_slices(&rp.trace, o->slice, &sliced) != 0) {
            snprintf(err, errlen, "out of memory for the slice trace");
            goto done;
        }
        t = &sliced;
    }
    capacity = (uint64_t) (o->cache_share * sk_trace_unique_bytes(t) + 0.5);
    if (capacity < 1) {
        capacity = 1;
    }
    if (o->verbose) {
        fprintf(stderr, "skipctl admit-train: [%6.2fs] window: %zu listens, "
                "%zu cache requests, %u objects; capacity %llu bytes\n",
                sk_now() - t0, rp.trace.n, t->n, t->n_objects,
                (unsigned long long) capacity);
    }

    /* labels */
    y = malloc(t->n ? t->n : 1);
    score = malloc((t->n ? t->n : 1) * sizeof(*score));
    if (y == NULL || score == NULL || sk_trace_admit_alloc(t) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    reuse = o->reuse;
    if (reuse < 0) {
        reuse = choose_boundary(t, capacity, y, o->verbose, t0);
    }
    pos = reuse > 0 ? sk_admit_labels_reuse(t, reuse * (double) capacity, y)
                    : sk_admit_labels(t, capacity, y);
    if (pos < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    /* features of a sample of the requests */
    names = sk_feature_set("admit", &n);
    if (o->features) {
        names = o->features;
        n = o->n_features;
    }
    if (sk_feature_plan_init(&plan, names, n, err, errlen) != 0) {
        goto done;
    }
    plan.priors = skip->plan.priors;
    ca.plan = &plan;
    ca.y = y;
    ca.cap = o->max_rows && o->max_rows < t->n ? o->max_rows : t->n;
    ca.keep = (double) ca.cap / (double) (t->n ? t->n : 1);
    if (ca.keep < 1) {
        ca.keep *= 1.02;        /* a hash sample: aim a little over */
    }
    ca.raw = malloc(ca.cap * n * sizeof(double));
    ca.lab = malloc(ca.cap * sizeof(double));
    if (ca.raw == NULL || ca.lab == NULL) {
        snprintf(err, errlen, "out of memory for %zu rows", ca.cap);
        goto done;
    }
    memset(&src, 0, sizeof(src));
    src.p = p;
    src.rp = &rp;
    src.t = t;
    src.slice_bytes = (double) o->slice;
    src.bitrate_kbps = o->bitrate_kbps;
    src.sketch_bytes = o->sketch_bytes;
    src.hist = &before;
    if (sk_admit_walk(&src, collect_one, &ca, err, errlen) != 0) {
        goto done;
    }
    if (o->verbose) {
        fprintf(stderr, "skipctl admit-train: [%6.2fs] %ld of %zu requests "
                "labelled worth admitting (%s%g); fitting %zu rows x %d "
                "features\n", sk_now() - t0, pos, t->n,
                reuse > 0 ? "reuse distance <= capacity x " : "Belady",
                reuse > 0 ? reuse : 0.0, ca.rows, n);
    }
    fit_scaler(&plan, ca.raw, ca.rows);
    lin = fit(&plan, ca.raw, ca.lab, ca.rows, o->C);
    if (lin == NULL) {
        snprintf(err, errlen, "liblinear: training failed");
        goto done;
    }

    /* the model as the loader would build it */
    {
        int labels[2];

        get_labels(lin, labels);
        am.kind = SK_MODEL_LINEAR;
        am.lin = lin;
        am.plan = plan;
        am.bias = lin->bias;
        am.probability = 1;
        am.play_index = labels[0] == 1 ? 0 : 1;
        am.target = SK_TARGET_ADMIT;
    }

    /* the threshold with the most hits, replaying this same window */
    sa.am = &am;
    sa.score = score;
    if (sk_admit_walk(&src, score_one, &sa, err, errlen) != 0) {
        goto done;
    }
    sk_sim_config_default(&cfg);
    cfg.capacity = capacity;
    for (i = 0; i < 3; i++) {
        if (sk_simulate(t, bases[i], &cfg, &base[i]) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    /* the label as the admission: what a perfect classifier would get
     * with LRU eviction (the ceiling of admission alone) */
    for (i = 0; i < t->n; i++) {
        t->admit[i] = y[i];
    }
    if (sk_simulate(t, SK_POL_LEARNED, &cfg, &oracle) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    sweep = cJSON_CreateArray();
    memset(&best_res, 0, sizeof(best_res));
    best_capped = 0;
    for (thr = SK_ADMIT_T_MIN; thr < 0.951; thr += SK_ADMIT_T_STEP) {
        for (i = 0; i < t->n; i++) {
            t->admit[i] = score[i] >= thr;
        }
        if (sk_simulate(t, SK_POL_LEARNED, &cfg, &res) != 0) {
            cJSON_Delete(sweep);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        j = sim_json(&res);
        cJSON_AddNumberToObject(j, "threshold", round(thr * 1000) / 1000);
        cJSON_AddItemToArray(sweep, j);
        /*
         * The most hits, among the thresholds that write no more than
         * TinyLFU (o->cap_written) when there are such; else the most
         * hits.
         */
        capped = !o->cap_written
                 || res.written_bytes <= base[1].written_bytes;
        if ((capped && !best_capped) || (capped == best_capped
                                         && res.hits > best_res.hits))
        {
            best_res = res;
            best_capped = capped;
            best_t = round(thr * 1000) / 1000;
        }
    }

    if (o->verbose) {
        fprintf(stderr, "skipctl admit-train: [%6.2fs] threshold %.2f: "
                "%.2f %% hits on the training window (lru %.2f, tinylfu "
                "%.2f, belady %.2f; the labels as admission %.2f)\n",
                sk_now() - t0, best_t,
                100.0 * best_res.hits / best_res.requests,
                100.0 * base[0].hits / base[0].requests,
                100.0 * base[1].hits / base[1].requests,
                100.0 * base[2].hits / base[2].requests,
                100.0 * oracle.hits / oracle.requests);
    }

    memset(&info, 0, sizeof(info));
    info.name = o->name;
    info.feature_set = o->features ? "custom" : "admit";
    info.plan = &plan;
    info.threshold = best_t;
    info.C = o->C;
    info.class_weight[0] = info.class_weight[1] = 1;
    info.target = "admission";
    ad = cJSON_CreateObject();
    cJSON_AddNumberToObject(ad, "slice_bytes", (double) o->slice);
    cJSON_AddNumberToObject(ad, "bitrate_kbps", o->bitrate_kbps);
    cJSON_AddNumberToObject(ad, "sketch_bytes", (double) o->sketch_bytes);
    cJSON_AddNumberToObject(ad, "cache_share", o->cache_share);
    if (reuse > 0) {
        cJSON_AddStringToObject(ad, "label", "requested again within "
                                "reuse x the capacity of request bytes "
                                "(relaxed Belady)");
        cJSON_AddNumberToObject(ad, "reuse", reuse);
    } else {
        cJSON_AddStringToObject(ad, "label", "Belady with bypass at the "
                                "cache size keeps the object until its next "
                                "request");
    }
    info.admission = ad;
    tr = cJSON_CreateObject();
    cJSON_AddStringToObject(tr, "window", "training plays of the last "
                            "train_tail share of training sessions");
    cJSON_AddNumberToObject(tr, "train_tail", o->train_tail);
    cJSON_AddNumberToObject(tr, "listens", (double) rp.trace.n);
    cJSON_AddNumberToObject(tr, "requests", (double) t->n);
    cJSON_AddNumberToObject(tr, "objects", (double) t->n_objects);
    cJSON_AddNumberToObject(tr, "capacity_bytes", (double) capacity);
    cJSON_AddNumberToObject(tr, "positives", (double) pos);
    cJSON_AddNumberToObject(tr, "rows_fitted", (double) ca.rows);
    cJSON_AddStringToObject(tr, "rows_hash", p->rows_hash);
    info.training = tr;
    j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "threshold_sweep", sweep);
    cJSON_AddItemToObject(j, "learned", sim_json(&best_res));
    cJSON_AddItemToObject(j, "lru", sim_json(&base[0]));
    cJSON_AddItemToObject(j, "tinylfu", sim_json(&base[1]));
    cJSON_AddItemToObject(j, "belady", sim_json(&base[2]));
    cJSON_AddItemToObject(j, "labels_as_admission", sim_json(&oracle));
    *report = cJSON_Duplicate(j, 1);
    info.metrics = j;
    if (sk_model_save(model_path, lin, &info, err, errlen) != 0) {
        goto done;
    }
    rc = 0;

done:
    if (lin) {
        free_and_destroy_model(&lin);
    }
    free(ca.raw);
    free(ca.lab);
    free(y);
    free(score);
    sk_trace_free(&sliced);
    sk_replay_free(&rp);
    sk_history_free(&before);
    return rc;
}
