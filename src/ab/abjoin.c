/*
 * Prediction/outcome join and per-arm metrics (see abjoin.h).  Both sides
 * are sorted by (user, track, time) and merged group by group, so the join
 * is O(n log n) with no hash tables.
 */
#include <stdlib.h>
#include <string.h>

#include "abjoin.h"
#include "stats_tests.h"

static int
cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Order by (user, track) first: the join walks one pair's run at a time. */
static int
cmp_pair(int64_t ua, const char *ta, int64_t ub, const char *tb)
{
    int c = cmp_i64(ua, ub);

    return c != 0 ? c : strcmp(ta, tb);
}

/* (user, track, session, time): one listen's events together. */
static int
cmp_listen(const void *pa, const void *pb)
{
    const sk_ab_listen  *a = pa, *b = pb;
    int                  c;

    if ((c = cmp_pair(a->user_id, a->track, b->user_id, b->track)) != 0
        || (c = cmp_i64(a->session_id, b->session_id)) != 0)
    {
        return c;
    }
    return cmp_i64(a->time_ms, b->time_ms);
}

/* (user, track, time, session): a pair's listens in time order. */
static int
cmp_listen_time(const void *pa, const void *pb)
{
    const sk_ab_listen  *a = pa, *b = pb;
    int                  c;

    if ((c = cmp_pair(a->user_id, a->track, b->user_id, b->track)) != 0
        || (c = cmp_i64(a->time_ms, b->time_ms)) != 0)
    {
        return c;
    }
    return cmp_i64(a->session_id, b->session_id);
}

static int
cmp_pred(const void *pa, const void *pb)
{
    const sk_ab_pred  *a = pa, *b = pb;
    int                c;

    if ((c = cmp_pair(a->user_id, a->track, b->user_id, b->track)) != 0
        || (c = cmp_i64(a->time_ms, b->time_ms)) != 0)
    {
        return c;
    }
    return (a->order > b->order) - (a->order < b->order);
}

size_t
sk_ab_listens(sk_ab_listen *ev, size_t n)
{
    size_t  i, out = 0;

    if (n == 0) {
        return 0;
    }
    qsort(ev, n, sizeof(*ev), cmp_listen);
    for (i = 0; i < n; i++) {
        if (out > 0
            && ev[out - 1].user_id == ev[i].user_id
            && ev[out - 1].session_id == ev[i].session_id
            && strcmp(ev[out - 1].track, ev[i].track) == 0)
        {
            /* Same listen: sorted by time, so the first event's time stays;
             * any Skip makes it skipped. */
            ev[out - 1].skipped |= ev[i].skipped;
            continue;
        }
        if (out != i) {
            ev[out] = ev[i];
        }
        out++;
    }
    qsort(ev, out, sizeof(*ev), cmp_listen_time);
    return out;
}

static int
same_key(const sk_ab_pred *p, const sk_ab_listen *l)
{
    return p->user_id == l->user_id && strcmp(p->track, l->track) == 0;
}

/* <0, 0, >0 as the prediction's (user, track) sorts before the listen's. */
static int
cmp_key(const sk_ab_pred *p, const sk_ab_listen *l)
{
    int  c = cmp_i64(p->user_id, l->user_id);

    return c != 0 ? c : strcmp(p->track, l->track);
}

size_t
sk_ab_join(sk_ab_pred *pred, size_t np, sk_ab_listen *lis, size_t nl,
    int64_t before_ms, int64_t after_ms)
{
    size_t  i, j = 0, joined = 0;

    if (np > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(pred, np, sizeof(*pred), cmp_pred);
    }
    for (i = 0; i < np; i++) {
        pred[i].actual = -1;
    }

    for (i = 0; i < np; i++) {
        sk_ab_pred  *p = &pred[i];

        /* Listens of (user, track) groups before this one: unmatched. */
        while (j < nl && cmp_key(p, &lis[j]) > 0) {
            j++;
        }
        /* Within the group: listens too old for this prediction are too old
         * for every later one (predictions are in time order). */
        while (j < nl && same_key(p, &lis[j])
               && lis[j].time_ms < p->time_ms - before_ms)
        {
            j++;
        }
        if (j < nl && same_key(p, &lis[j])
            && lis[j].time_ms <= p->time_ms + after_ms)
        {
            p->actual = lis[j].skipped ? 0 : 1;
            joined++;
            j++;
        }
    }
    return joined;
}

static void
rate(sk_ab_rate *r, long k, long n)
{
    r->k = k;
    r->n = n;
    r->p = n > 0 ? (double) k / n : 0.0;
    sk_wilson_ci(k, n, SK_Z95, &r->lo, &r->hi);
}

void
sk_ab_metrics_compute(const sk_ab_counts *c, sk_ab_metrics *m)
{
    long  n = c->cm[0][0] + c->cm[0][1] + c->cm[1][0] + c->cm[1][1];

    rate(&m->accuracy, c->cm[0][0] + c->cm[1][1], n);
    for (int k = 0; k < 2; k++) {
        rate(&m->precision[k], c->cm[k][k], c->cm[k][0] + c->cm[k][1]);
        rate(&m->recall[k], c->cm[k][k], c->cm[0][k] + c->cm[1][k]);
    }
    rate(&m->play_share, c->cm[0][1] + c->cm[1][1], n);
}
