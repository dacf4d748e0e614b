/* A dataset's held-out plays as a cache simulation trace (cachesim_replay.h). */
#include <stdlib.h>
#include <string.h>

#include "cachesim_replay.h"
#include "../data/listened.h"

/* Request order: time, then session and track so that ties replay the
 * same way every run.  arg: the labelled rows the indices point into. */
static int
cmp_request(const void *a, const void *b, void *arg)
{
    const sk_labelled *rows = arg;
    const sk_labelled *x = &rows[*(const uint32_t *) a];
    const sk_labelled *y = &rows[*(const uint32_t *) b];

    if (x->ts_ms != y->ts_ms) {
        return x->ts_ms < y->ts_ms ? -1 : 1;
    }
    if (x->session_id != y->session_id) {
        return x->session_id < y->session_id ? -1 : 1;
    }
    return (x->track > y->track) - (x->track < y->track);
}

static int64_t
duration_of(const sk_replay *rp, const sk_track *tr)
{
    return tr->duration_ms > 0 ? tr->duration_ms : rp->median_ms;
}

/*
 * The listened share of each skipped request (listened.h: the earliest
 * Skip after its play's request, from a second pass over sessions.jsonl).
 */
static int
read_skip_times(sk_replay *rp, const sk_prepared *p, const uint32_t *req_of,
    char *err, size_t errlen)
{
    sk_trace   *t = &rp->trace;
    int64_t    *skip_ms;
    size_t      r;

    skip_ms = malloc((p->labels.n ? p->labels.n : 1) * sizeof(*skip_ms));
    if (skip_ms == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sk_skip_times_read(p->dir, &p->ds, &p->labels, skip_ms, err,
                           errlen) != 0)
    {
        free(skip_ms);
        return -1;
    }
    for (r = 0; r < p->labels.n; r++) {
        uint32_t        q = req_of[r];
        const sk_track *tr;
        int             assumed;

        if (q == SK_SIM_NEVER || (t->flags[q] & SK_SIM_PLAYED)) {
            continue;
        }
        tr = &p->ds.tracks[rp->track_of[t->obj[q]]];
        t->listened[q] = (float) sk_listened_share(0, t->ts_ms[q], skip_ms[r],
                                                   tr->duration_ms, &assumed);
        rp->listened_assumed += assumed;
        rp->listened_from_events += !assumed;
    }
    free(skip_ms);
    return 0;
}

int
sk_replay_build(sk_replay *rp, const sk_prepared *p, const sk_model *m,
    const sk_replay_opts *o, char *err, size_t errlen)
{
    const sk_labelled *rows = p->labels.rows;
    uint32_t          *order = NULL, *obj_of = NULL, *req_of = NULL;
    uint32_t           n_obj = 0, tail_cut;
    size_t             i, n = 0;
    sk_trace          *t = &rp->trace;
    int                rc = -1;

    memset(rp, 0, sizeof(*rp));
    if (p->labels.n >= SK_SIM_NEVER) {
        snprintf(err, errlen, "%zu labelled plays: too many to replay",
                 p->labels.n);
        return -1;
    }
    order = malloc((p->labels.n ? p->labels.n : 1) * sizeof(*order));
    obj_of = malloc((p->ds.n_tracks ? p->ds.n_tracks : 1) * sizeof(*obj_of));
    req_of = malloc((p->labels.n ? p->labels.n : 1) * sizeof(*req_of));
    rp->track_of = malloc((p->ds.n_tracks ? p->ds.n_tracks : 1)
                          * sizeof(*rp->track_of));
    if (!order || !obj_of || !req_of || !rp->track_of) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    tail_cut = (uint32_t) ((1.0 - o->train_tail) * p->n_train_sessions);
    for (i = 0; i < p->labels.n; i++) {
        req_of[i] = SK_SIM_NEVER;
        if (o->train_tail > 0 ? (rows[i].split == SK_ROW_TRAIN
                                 && rows[i].srank >= tail_cut)
                              : rows[i].split == SK_ROW_TEST)
        {
            order[n++] = (uint32_t) i;
        }
    }
    rp->test_rows = n;
    qsort_r(order, n, sizeof(*order), cmp_request, (void *) rows);
    if (o->limit > 0 && o->limit < n) {
        n = o->limit;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: no held-out plays to replay", p->dir);
        goto done;
    }

    /* Dense object ids in order of first request. */
    memset(obj_of, 0xff, (p->ds.n_tracks ? p->ds.n_tracks : 1)
                         * sizeof(*obj_of));
    for (i = 0; i < n; i++) {
        uint32_t tr = rows[order[i]].track;

        if (obj_of[tr] == SK_SIM_NEVER) {
            rp->track_of[n_obj] = tr;
            obj_of[tr] = n_obj++;
        }
    }
    rp->row_of = malloc(n * sizeof(*rp->row_of));
    if (rp->row_of == NULL || sk_trace_init(t, n, n_obj) != 0) {
        snprintf(err, errlen, "out of memory for %zu requests", n);
        goto done;
    }
    rp->median_ms = sk_median_duration(&p->ds);
    for (i = 0; i < n_obj; i++) {
        const sk_track *tr = &p->ds.tracks[rp->track_of[i]];
        double          bytes = (double) duration_of(rp, tr)
                                * o->bitrate_kbps / 8.0;

        rp->no_duration += tr->duration_ms <= 0;
        t->size[i] = bytes >= 1 ? (uint64_t) (bytes + 0.5) : 1;
    }
    for (i = 0; i < n; i++) {
        const sk_labelled *r = &rows[order[i]];
        sk_user_rec        u;
        sk_track_rec       tr;
        sk_context         ctx;
        double             score;
        int                play;

        sk_row_inputs(p, r, &u, &tr, &ctx);
        if (o->hist) {
            u = o->hist->users[r->user];
            tr = o->hist->tracks[r->track];
        }
        score = sk_model_score(m, &u, &tr, &ctx);
        play = sk_model_decide(m, score);
        t->p_play[i] = score;
        t->obj[i] = obj_of[r->track];
        t->ts_ms[i] = r->ts_ms;
        t->flags[i] = (uint8_t) ((play ? SK_SIM_PREDICT_PLAY : 0)
                                 | (r->label ? SK_SIM_PLAYED : 0));
        req_of[order[i]] = (uint32_t) i;
        rp->row_of[i] = order[i];
        rp->plays += r->label == 1;
        rp->skips += r->label == 0;
        rp->predicted_skips += !play;
        rp->correct += play == r->label;
    }
    rp->first_ms = t->ts_ms[0];
    rp->last_ms = t->ts_ms[n - 1];
    if (sk_trace_finish(t) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (o->skip_times) {
        if (read_skip_times(rp, p, req_of, err, errlen) != 0) {
            goto done;
        }
    } else {
        for (i = 0; i < n; i++) {
            if (!(t->flags[i] & SK_SIM_PLAYED)) {
                t->listened[i] = (float) SK_ASSUMED_LISTENED;
                rp->listened_assumed++;
            }
        }
    }
    rc = 0;

done:
    free(order);
    free(obj_of);
    free(req_of);
    return rc;
}

void
sk_replay_free(sk_replay *rp)
{
    sk_trace_free(&rp->trace);
    free(rp->track_of);
    free(rp->row_of);
    memset(rp, 0, sizeof(*rp));
}
