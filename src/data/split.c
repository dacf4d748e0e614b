/* Train/test splits (see split.h). */
#include <stdlib.h>
#include <string.h>

#include "split.h"

typedef struct {
    int64_t  start;
    int64_t  session_id;
    size_t   first;        /* first row of the session */
} sk_session_span;

static int
cmp_span(const void *a, const void *b)
{
    const sk_session_span *x = a, *y = b;

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->session_id > y->session_id) - (x->session_id < y->session_id);
}

/* Rank sessions by start; returns the spans (sorted) and their count. */
static sk_session_span *
rank_sessions(sk_labelled *rows, size_t n, size_t *ns)
{
    sk_session_span *sp;
    size_t           i, k = 0, cap = 0;

    for (i = 0; i < n; i++) {
        if (i == 0 || rows[i].session_id != rows[i - 1].session_id) {
            cap++;
        }
    }
    sp = malloc((cap ? cap : 1) * sizeof(*sp));
    if (sp == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (i == 0 || rows[i].session_id != rows[i - 1].session_id) {
            sp[k].start = rows[i].ts_ms;
            sp[k].session_id = rows[i].session_id;
            sp[k].first = i;
            k++;
        } else if (rows[i].ts_ms < sp[k - 1].start) {
            sp[k - 1].start = rows[i].ts_ms;
        }
    }
    if (k > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(sp, k, sizeof(*sp), cmp_span);
    }
    for (i = 0; i < k; i++) {
        size_t r;

        for (r = sp[i].first;
             r < n && rows[r].session_id == sp[i].session_id; r++)
        {
            rows[r].srank = (uint32_t) i;
        }
    }
    *ns = k;
    return sp;
}

size_t
sk_split_time(sk_labelled *rows, size_t n, double test_fraction,
    size_t *n_train, int64_t *cut_ms)
{
    sk_session_span *sp;
    size_t           ns = 0, nt, i;

    sp = rank_sessions(rows, n, &ns);
    if (sp == NULL) {
        return 0;
    }
    if (test_fraction < 0) {
        test_fraction = 0;
    }
    nt = (size_t) ((1.0 - test_fraction) * (double) ns + 0.5);
    if (nt > ns) {
        nt = ns;
    }
    for (i = 0; i < n; i++) {
        rows[i].split = rows[i].srank < nt ? SK_ROW_TRAIN : SK_ROW_TEST;
    }
    *n_train = nt;
    *cut_ms = nt < ns ? sp[nt].start : INT64_MAX;
    free(sp);
    return ns;
}

static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

double
sk_split_uniform(uint64_t seed, uint64_t a, uint64_t b)
{
    return (double) (mix(mix(seed ^ mix(a)) ^ b) >> 11) * 0x1.0p-53;
}

size_t
sk_split_random(sk_labelled *rows, size_t n, double test_fraction,
    uint64_t seed)
{
    sk_session_span *sp;
    size_t           ns = 0, i;

    sp = rank_sessions(rows, n, &ns);
    free(sp);
    for (i = 0; i < n; i++) {
        rows[i].split = sk_split_uniform(seed, (uint64_t) rows[i].session_id,
                                         rows[i].track) < test_fraction
                        ? SK_ROW_TEST : SK_ROW_TRAIN;
    }
    return ns;
}
