/*
 * Prefetch economics (cachesim.h), independent of any cache: for each
 * request the player fetches the track ahead or streams only what is
 * listened.  Without slices, streaming is taken as fetching exactly the
 * bytes listened (a real player buffers some seconds ahead; that small
 * overshoot is the same for every policy and is left out).  With slices
 * the listener requests whole slices, up to the one holding its skip
 * point, and a prefetch warms the slices after the first.
 */
#include <math.h>
#include <string.h>

#include "cachesim_int.h"

const char *
sk_prefetch_name(sk_prefetch_policy p)
{
    static const char *const names[SK_N_PREFETCH] = {
        "stream-only", "prefetch-always", "prefetch-model", "prefetch-oracle"
    };

    return (unsigned) p < SK_N_PREFETCH ? names[p] : "?";
}

void
sk_pf_request_bytes(const sk_trace *t, size_t i, uint64_t slice,
    sk_pf_bytes *b)
{
    uint64_t  size = t->size[t->obj[i]];
    int       played = (t->flags[i] & SK_SIM_PLAYED) != 0;
    double    k, first;

    b->size = (double) size;
    /* whole bytes: every sum is then exact, in any order */
    b->heard = played ? b->size
                      : floor(b->size * (double) t->listened[i] + 0.5);
    if (slice == 0) {
        b->requested = b->heard;
        b->prefetchable = b->size;
        b->waste = b->size - b->heard;
        return;
    }
    /* slices requested: the one holding the skip point and all before
     * it; the first one at least (the request itself asks for it) */
    if (played) {
        b->requested = b->size;
    } else {
        k = ceil(b->heard / (double) slice);
        k = k < 1 ? 1 : k;
        b->requested = fmin(b->size, k * (double) slice);
    }
    first = fmin(b->size, (double) slice);
    b->prefetchable = b->size - first;
    b->waste = b->size - b->requested;
}

void
sk_prefetch_eval_sliced(const sk_trace *t, sk_prefetch_policy p,
    uint64_t slice, sk_prefetch_result *r)
{
    size_t       i;
    sk_pf_bytes  b;

    memset(r, 0, sizeof(*r));
    for (i = 0; i < t->n; i++) {
        int played = (t->flags[i] & SK_SIM_PLAYED) != 0;
        int ahead;

        sk_pf_request_bytes(t, i, slice, &b);
        switch (p) {
        case SK_PF_ALWAYS:
            ahead = 1;
            break;
        case SK_PF_MODEL:
            ahead = (t->flags[i] & SK_SIM_PREDICT_PLAY) != 0;
            break;
        case SK_PF_ORACLE:
            ahead = played;
            break;
        default:
            ahead = 0;
            break;
        }
        r->requests++;
        r->plays += played;
        r->skips += !played;
        r->listened_bytes += b.heard;
        r->requested_bytes += b.requested;
        r->fetched_bytes += ahead ? b.size : b.requested;
        r->wasted_bytes += ahead ? b.waste : 0;
        if (ahead) {
            r->plays_prefetched += played;
            r->skips_prefetched += !played;
        }
    }
}

void
sk_prefetch_eval(const sk_trace *t, sk_prefetch_policy p,
    sk_prefetch_result *r)
{
    sk_prefetch_eval_sliced(t, p, 0, r);
}
