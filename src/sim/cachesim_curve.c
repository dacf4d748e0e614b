/*
 * The prefetch threshold curve (cachesim.h): what skip_prefetch_threshold
 * trades.  A request with P(play) p is prefetched at every threshold
 * <= p: its bytes go to the bin of the highest such threshold, and each
 * point is the sum of its bin and those above (O(requests x log points)).
 * Every byte figure is a whole number of bytes (sk_pf_request_bytes), so
 * the sums are exact in any order: the point at 0 is prefetch-always and
 * the point at the model's threshold prefetch-model to the last byte
 * (sk_model_decide is score >= threshold, as here).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cachesim_int.h"

/* Number of thresholds <= p (t ascending): the points that prefetch. */
static size_t
points_prefetching(const double *t, size_t n, double p)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t[mid] <= p) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
sk_pf_curve_build(sk_pf_curve *c, const sk_trace *t, uint64_t slice,
    const double *thresholds, size_t n)
{
    sk_pf_bytes  b;
    size_t       i, k, m;

    memset(c, 0, sizeof(*c));
    for (k = 1; k < n; k++) {
        if (!(thresholds[k - 1] < thresholds[k])) {
            return -1;
        }
    }
    c->slice = slice;
    c->pt = calloc(n ? n : 1, sizeof(*c->pt));
    if (c->pt == NULL) {
        return -1;
    }
    c->n = n;
    /* first the bins: pt[k] holds the requests prefetched up to T[k] */
    for (i = 0; i < t->n; i++) {
        int          played = (t->flags[i] & SK_SIM_PLAYED) != 0;
        sk_pf_point *p;

        sk_pf_request_bytes(t, i, slice, &b);
        c->requests++;
        c->plays += played;
        c->skips += !played;
        c->listened_bytes += b.heard;
        c->requested_bytes += b.requested;
        c->always_wasted_bytes += b.waste;
        if (played) {
            c->play_prefetchable_bytes += b.prefetchable;
        }
        m = points_prefetching(thresholds, n, t->p_play[i]);
        if (m == 0) {
            continue;
        }
        p = &c->pt[m - 1];
        p->prefetched++;
        p->plays_prefetched += played;
        p->skips_prefetched += !played;
        p->covered_bytes += played ? b.prefetchable : 0;
        p->wasted_bytes += b.waste;
    }
    /* then each point: its bin and every bin above */
    for (k = n; k-- > 0; ) {
        sk_pf_point *p = &c->pt[k];

        if (k + 1 < n) {
            const sk_pf_point *above = &c->pt[k + 1];

            p->prefetched += above->prefetched;
            p->plays_prefetched += above->plays_prefetched;
            p->skips_prefetched += above->skips_prefetched;
            p->covered_bytes += above->covered_bytes;
            p->wasted_bytes += above->wasted_bytes;
        }
    }
    for (k = 0; k < n; k++) {
        sk_pf_point *p = &c->pt[k];

        p->threshold = thresholds[k];
        p->fetched_bytes = c->requested_bytes + p->wasted_bytes;
        p->coverage = c->play_prefetchable_bytes > 0
                      ? p->covered_bytes / c->play_prefetchable_bytes : NAN;
        p->waste_share = c->always_wasted_bytes > 0
                         ? p->wasted_bytes / c->always_wasted_bytes : 0;
    }
    return 0;
}

long
sk_pf_curve_choose(const sk_pf_curve *c, double budget)
{
    long    best = -1;
    size_t  k;

    for (k = 0; k < c->n; k++) {
        const sk_pf_point *p = &c->pt[k];
        double             cov = isnan(p->coverage) ? 0 : p->coverage;
        double             bcov;

        if (!(p->waste_share <= budget)) {
            continue;
        }
        if (best < 0) {
            best = (long) k;
            continue;
        }
        bcov = isnan(c->pt[best].coverage) ? 0 : c->pt[best].coverage;
        if (cov > bcov
            || (cov == bcov && p->wasted_bytes < c->pt[best].wasted_bytes))
        {
            best = (long) k;
        }
    }
    return best;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

size_t
sk_pf_thresholds(double step, const double *extra, size_t n_extra,
    double *out, size_t max)
{
    size_t  n = 0, k, u;
    double  v;

    if (max < n_extra + 2 || !(step > 0)) {
        return 0;
    }
    for (k = 0; n + n_extra + 1 < max; k++) {
        v = round((double) k * step * 1e9) / 1e9;
        if (v >= 1) {
            break;
        }
        out[n++] = v;
    }
    out[n++] = 1;
    for (k = 0; k < n_extra; k++) {
        if (extra[k] >= 0 && extra[k] <= 1) {
            out[n++] = extra[k];
        }
    }
    qsort(out, n, sizeof(*out), cmp_double);
    for (k = 1, u = 1; k < n; k++) {
        if (out[k] != out[u - 1]) {
            out[u++] = out[k];
        }
    }
    return u;
}

int
sk_pf_threshold_for_budget(const sk_trace *t, uint64_t slice, double budget,
    const double *extra, size_t n_extra, double *best)
{
    size_t        max = (size_t) (1 / SK_PF_FINE_STEP) + 2 + n_extra, n;
    double       *th = malloc(max * sizeof(*th));
    sk_pf_curve   c;
    long          k;

    if (th == NULL) {
        return -1;
    }
    n = sk_pf_thresholds(SK_PF_FINE_STEP, extra, n_extra, th, max);
    if (sk_pf_curve_build(&c, t, slice, th, n) != 0) {
        free(th);
        return -1;
    }
    k = sk_pf_curve_choose(&c, budget);
    if (k >= 0) {
        *best = c.pt[k].threshold;
    }
    sk_pf_curve_free(&c);
    free(th);
    return k >= 0 ? 0 : 1;
}

void
sk_pf_curve_free(sk_pf_curve *c)
{
    free(c->pt);
    memset(c, 0, sizeof(*c));
}
