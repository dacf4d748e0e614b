/*
 * Slice traces (cachesim.h, sk_trace_slices): what an edge with nginx's
 * `slice` directive caches.  Each listen of the whole-track trace becomes
 * the requests for the slices the listener fetches: all of them for a full
 * play, those up to the one holding the skip point for a skip (the rule
 * the prefetch economics use, sk_pf_request_bytes).  Every slice of a
 * listen is requested at the listen's time, in order: the simulation has
 * no clock finer than the order of requests, and a player that streams a
 * track requests its slices before anyone else's next listen of it in all
 * but the rarest cases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cachesim_int.h"

static uint32_t
slices_of(uint64_t size, uint64_t slice)
{
    uint64_t k = (size + slice - 1) / slice;

    return k ? (uint32_t) k : 1;
}

uint32_t
sk_trace_slices_requested(const sk_trace *w, size_t i, uint64_t slice)
{
    sk_pf_bytes  b;

    sk_pf_request_bytes(w, i, slice, &b);
    return slices_of((uint64_t) b.requested, slice);
}

int
sk_trace_slices(const sk_trace *w, uint64_t slice, sk_trace *s)
{
    uint32_t  *base = NULL;
    uint64_t   n_obj = 0, n = 0;
    size_t     i, k;
    uint32_t   o, j;

    memset(s, 0, sizeof(*s));
    if (slice == 0) {
        return -1;
    }
    base = malloc((w->n_objects ? w->n_objects : 1) * sizeof(*base));
    if (base == NULL) {
        return -1;
    }
    for (o = 0; o < w->n_objects; o++) {
        base[o] = (uint32_t) n_obj;
        n_obj += slices_of(w->size[o], slice);
        if (n_obj >= SK_SIM_NEVER) {
            goto failed;
        }
    }
    for (i = 0; i < w->n; i++) {
        n += sk_trace_slices_requested(w, i, slice);
        if (n >= SK_SIM_NEVER) {
            goto failed;
        }
    }
    if (sk_trace_init(s, (size_t) n, (uint32_t) n_obj) != 0) {
        goto failed;
    }
    s->obj_track = malloc((n_obj ? n_obj : 1) * sizeof(*s->obj_track));
    s->obj_slice = malloc((n_obj ? n_obj : 1) * sizeof(*s->obj_slice));
    s->parent = malloc((n ? n : 1) * sizeof(*s->parent));
    if (!s->obj_track || !s->obj_slice || !s->parent) {
        goto failed;
    }
    for (o = 0; o < w->n_objects; o++) {
        uint32_t m = slices_of(w->size[o], slice);

        for (j = 0; j < m; j++) {
            uint64_t left = w->size[o] - (uint64_t) j * slice;

            s->obj_track[base[o] + j] = o;
            s->obj_slice[base[o] + j] = j;
            s->size[base[o] + j] = left < slice ? left : slice;
        }
    }
    for (i = 0, k = 0; i < w->n; i++) {
        uint32_t m = sk_trace_slices_requested(w, i, slice);

        for (j = 0; j < m; j++, k++) {
            s->obj[k] = base[w->obj[i]] + j;
            s->ts_ms[k] = w->ts_ms[i];
            s->flags[k] = w->flags[i];
            s->p_play[k] = w->p_play[i];
            s->listened[k] = 1.0f;
            s->parent[k] = (uint32_t) i;
        }
    }
    free(base);
    if (sk_trace_finish(s) != 0) {
        sk_trace_free(s);
        return -1;
    }
    return 0;

failed:
    free(base);
    sk_trace_free(s);
    return -1;
}
