/* Learned admission over a replayed trace (see admit.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "../core/admit_sketch.h"

int
sk_admit_walk(const sk_admit_src *s, sk_admit_fn fn, void *arg, char *err,
    size_t errlen)
{
    const sk_trace     *t = s->t;
    const sk_replay    *rp = s->rp;
    void               *sk;
    size_t              i;
    int                 rc = 0;

    sk = malloc(s->sketch_bytes);
    if (sk == NULL || sk_sketch_init(sk, s->sketch_bytes) != 0) {
        snprintf(err, errlen, sk ? "a sketch of %zu bytes is too small"
                                 : "out of memory for a sketch of %zu bytes",
                 s->sketch_bytes);
        free(sk);
        return -1;
    }
    for (i = 0; i < t->n && rc == 0; i++) {
        size_t             listen = t->parent ? t->parent[i] : i;
        uint32_t           whole = rp->trace.obj[listen];
        uint32_t           slice = t->obj_slice ? t->obj_slice[t->obj[i]] : 0;
        const sk_labelled *row = &s->p->labels.rows[rp->row_of[listen]];
        const sk_track    *trk = &s->p->ds.tracks[rp->track_of[whole]];
        sk_user_rec        u;
        sk_track_rec       tr;
        sk_context         ctx;
        sk_admit_in        in;

        sk_row_inputs(s->p, row, &u, &tr, &ctx);
        if (s->hist) {
            u = s->hist->users[row->user];
            tr = s->hist->tracks[row->track];
        }
        memset(&in, 0, sizeof(in));
        sk_sketch_observe(sk, sk_sketch_key(trk->id, strlen(trk->id), slice),
                          (int64_t) (t->ts_ms[i] / 1000), &in);
        in.slice = (int) slice;
        in.slice_bytes = s->slice_bytes;
        in.bitrate_kbps = s->bitrate_kbps;
        in.p_play = t->p_play[i];
        ctx.admit = &in;
        rc = fn(arg, i, &u, &tr, &ctx, row);
    }
    free(sk);
    if (rc != 0) {
        snprintf(err, errlen, "admission walk stopped at request %zu", i);
        return -1;
    }
    return 0;
}

typedef struct {
    const sk_model  *am;
    sk_trace        *t;
    uint64_t         admitted;
    FILE            *out;
    const sk_admit_src *s;
} decide_arg;

static int
decide_one(void *arg, size_t i, const sk_user_rec *u, const sk_track_rec *tr,
    const sk_context *ctx, const sk_labelled *row)
{
    decide_arg *d = arg;
    double      score = sk_model_score(d->am, u, tr, ctx);

    (void) row;
    d->t->admit[i] = (uint8_t) sk_model_decide(d->am, score);
    d->admitted += d->t->admit[i];
    return 0;
}

int
sk_admit_decide(const sk_admit_src *s, sk_trace *t, const sk_model *am,
    uint64_t *admitted, char *err, size_t errlen)
{
    decide_arg  d;

    if (sk_trace_admit_alloc(t) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(&d, 0, sizeof(d));
    d.am = am;
    d.t = t;
    if (sk_admit_walk(s, decide_one, &d, err, errlen) != 0) {
        return -1;
    }
    if (admitted) {
        *admitted = d.admitted;
    }
    return 0;
}

static int
dump_one(void *arg, size_t i, const sk_user_rec *u, const sk_track_rec *tr,
    const sk_context *ctx, const sk_labelled *row)
{
    decide_arg         *d = arg;
    const sk_admit_src *s = d->s;
    double              score = sk_model_score(d->am, u, tr, ctx);
    const sk_track     *trk = &s->p->ds.tracks[row->track];

    fprintf(d->out, "%lld\t%s\t%d\t%lld\t%d\t%d\t%.17g\t%.17g\t%d\n",
            (long long) s->p->ds.users[row->user].user_id, trk->id,
            ctx->admit->slice, (long long) (s->t->ts_ms[i] / 1000),
            ctx->hour, ctx->position, ctx->admit->p_play, score,
            sk_model_decide(d->am, score));
    return ferror(d->out) ? -1 : 0;
}

int
sk_admit_dump(const sk_admit_src *s, const sk_model *am, FILE *out,
    char *err, size_t errlen)
{
    decide_arg  d;

    memset(&d, 0, sizeof(d));
    d.am = am;
    d.out = out;
    d.s = s;
    fputs("# user\ttrack\tslice\ttime_s\thour\tposition\tp_play\tscore\t"
          "admit\n", out);
    return sk_admit_walk(s, dump_one, &d, err, errlen);
}

long
sk_admit_labels(const sk_trace *t, uint64_t capacity, uint8_t *y)
{
    sk_sim_config   cfg;
    sk_cachesim    *c;
    uint8_t        *hit;
    size_t          i;
    long            pos = 0;
    int             rc;

    sk_sim_config_default(&cfg);
    cfg.capacity = capacity;
    hit = calloc(t->n ? t->n : 1, 1);
    c = sk_cachesim_new(t, SK_POL_BELADY, &cfg);
    if (hit == NULL || c == NULL) {
        free(hit);
        sk_cachesim_free(c);
        return -1;
    }
    for (i = 0; (rc = sk_cachesim_step(c)) >= 0; i++) {
        hit[i] = rc == SK_SIM_HIT;
    }
    sk_cachesim_free(c);
    for (i = 0; i < t->n; i++) {
        y[i] = t->next[i] != SK_SIM_NEVER && hit[t->next[i]];
        pos += y[i];
    }
    free(hit);
    return pos;
}

long
sk_admit_labels_reuse(const sk_trace *t, double horizon, uint8_t *y)
{
    double  *cum;
    size_t   i;
    long     pos = 0;

    cum = malloc((t->n + 1) * sizeof(*cum));
    if (cum == NULL) {
        return -1;
    }
    cum[0] = 0;
    for (i = 0; i < t->n; i++) {
        cum[i + 1] = cum[i] + (double) t->size[t->obj[i]];
    }
    for (i = 0; i < t->n; i++) {
        y[i] = t->next[i] != SK_SIM_NEVER
               && cum[t->next[i]] - cum[i + 1] <= horizon;
        pos += y[i];
    }
    free(cum);
    return pos;
}
