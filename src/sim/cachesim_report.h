/*
 * The report of `skipctl simulate`: one table per cache size (every policy
 * with its figures relative to lru in the same run), the prefetch
 * economics and the prefetch threshold curve, as text or as one JSON object (docs/simulate.md describes
 * both).
 */
#ifndef SKIP_CACHESIM_REPORT_H
#define SKIP_CACHESIM_REPORT_H

#include <stdio.h>

#include "cachesim.h"
#include "cachesim_replay.h"
#include "../core/model.h"

#define SK_SIM_MAX_SIZES  16

typedef struct {
    char      text[32];       /* as given, e.g. "5%" or "2G" */
    double    percent;        /* > 0: a share of the unique bytes */
    uint64_t  bytes;          /* the capacity (resolved for percentages) */
} sk_cache_size;

typedef struct {
    const char           *data_dir;
    const sk_model       *model;
    const sk_replay      *replay;
    double                bitrate_kbps, inactive_s;
    const sk_cache_size  *sizes;
    int                   n_sizes;
    const sk_policy      *policies;      /* in the order to print */
    int                   n_policies;
    const sk_trace       *cache_trace;   /* what the caches replayed: the
                                            listens, or their slices */
    uint64_t              cache_slice;   /* bytes per cached slice, 0:
                                            whole tracks are cached */
    uint64_t              unique_bytes, requested_bytes;  /* of it */
    /* [size][policy]; lru is always filled: the reference */
    sk_sim_result         res[SK_SIM_MAX_SIZES][SK_N_POLICIES];
    sk_prefetch_result    pf[SK_N_PREFETCH];
    uint64_t              slice;         /* prefetch: bytes, 0 whole */
    const sk_pf_curve    *curve;         /* the threshold curve */
    double                waste_budget;  /* share of prefetch-always's */
    long                  chosen;        /* curve point for the budget,
                                            or -1 when none meets it */
} sk_sim_report;

void sk_sim_report_text(FILE *out, const sk_sim_report *r);
void sk_sim_report_json(FILE *out, const sk_sim_report *r);

/* "512 B", "3.20 MiB", "15.98 GiB". */
const char *sk_human_bytes(char *buf, size_t size, uint64_t bytes);

#endif
