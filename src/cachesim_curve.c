/*
 * The prefetch threshold curve (cachesim.h): what skip_prefetch_threshold
 * trades.  Each point sums the requests whose P(play) is at least its
 * threshold, in trace order, exactly as sk_prefetch_eval_sliced sums
 * them: the point at 0 is prefetch-always to the last bit, the point at
 * the model's threshold prefetch-model (sk_model_decide is score >= T).
 * O(requests x thresholds); a curve has tens of points.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cachesim_int.h"

int
sk_pf_curve_build(sk_pf_curve *c, const sk_trace *t, uint64_t slice,
    const double *thresholds, size_t n)
{
    sk_pf_bytes  b;
    size_t       i, k;

    memset(c, 0, sizeof(*c));
    c->slice = slice;
    c->pt = calloc(n ? n : 1, sizeof(*c->pt));
    if (c->pt == NULL) {
        return -1;
    }
    c->n = n;
    for (k = 0; k < n; k++) {
        c->pt[k].threshold = thresholds[k];
    }
    for (i = 0; i < t->n; i++) {
        int played = (t->flags[i] & SK_SIM_PLAYED) != 0;

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
        for (k = 0; k < n; k++) {
            sk_pf_point *p = &c->pt[k];

            if (t->p_play[i] >= p->threshold) {
                p->prefetched++;
                p->plays_prefetched += played;
                p->skips_prefetched += !played;
                p->covered_bytes += played ? b.prefetchable : 0;
                p->wasted_bytes += b.waste;
                p->fetched_bytes += b.size;
            } else {
                p->fetched_bytes += b.requested;
            }
        }
    }
    for (k = 0; k < n; k++) {
        sk_pf_point *p = &c->pt[k];

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

void
sk_pf_curve_free(sk_pf_curve *c)
{
    free(c->pt);
    memset(c, 0, sizeof(*c));
}
