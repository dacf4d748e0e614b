/*
 * Prefetch economics (cachesim.h), independent of any cache: for each
 * request the player fetches the whole track ahead or streams only what is
 * listened.  Streaming is taken as fetching exactly the bytes listened (a
 * real player buffers some seconds ahead; that small overshoot is the same
 * for every policy and is left out).
 */
#include <string.h>

#include "cachesim.h"

const char *
sk_prefetch_name(sk_prefetch_policy p)
{
    static const char *const names[SK_N_PREFETCH] = {
        "stream-only", "prefetch-always", "prefetch-model", "prefetch-oracle"
    };

    return (unsigned) p < SK_N_PREFETCH ? names[p] : "?";
}

void
sk_prefetch_eval(const sk_trace *t, sk_prefetch_policy p,
    sk_prefetch_result *r)
{
    size_t i;

    memset(r, 0, sizeof(*r));
    for (i = 0; i < t->n; i++) {
        double  size = (double) t->size[t->obj[i]];
        int     played = (t->flags[i] & SK_SIM_PLAYED) != 0;
        double  heard = played ? size : size * (double) t->listened[i];
        int     whole;

        switch (p) {
        case SK_PF_ALWAYS:
            whole = 1;
            break;
        case SK_PF_MODEL:
            whole = (t->flags[i] & SK_SIM_PREDICT_PLAY) != 0;
            break;
        case SK_PF_ORACLE:
            whole = played;
            break;
        default:
            whole = 0;
            break;
        }
        r->requests++;
        r->plays += played;
        r->skips += !played;
        r->listened_bytes += heard;
        r->fetched_bytes += whole ? size : heard;
        r->wasted_bytes += whole ? size - heard : 0;
        if (whole) {
            r->plays_prefetched += played;
            r->skips_prefetched += !played;
        }
    }
}
