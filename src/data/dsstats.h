/*
 * Counts and shares of a dataset directory, read with the streaming reader
 * (`skipctl stats DIR`, `skipctl gen --stats`).
 */
#ifndef SKIP_DSSTATS_H
#define SKIP_DSSTATS_H

#include <stdint.h>
#include <stdio.h>

#include "../core/dataset.h"

typedef struct {
    int            selected[SK_N_FILES];
    int            present[SK_N_FILES];
    sk_read_stats  rs[SK_N_FILES];
    double         seconds[SK_N_FILES];

    long           artists_user_genre, artist_genres;
    long           tracks_mode_null, tracks_explicit, tracks_long;
    long           users_premium;
    long           storage[SK_N_STORE];
    long           events[SK_N_EVENTS];
    long           sessions, users_seen;
    int64_t        ts_min, ts_max;
    double         sum_p_skip, sum_bayes;
} sk_ds_stats;

/*
 * Read the files of dir selected by the mask only (bits 1 << kind; 0 means
 * all).  Absent files are noted, not errors, unless none is there.  Returns
 * 0, or -1 with err set (no file at all, I/O error, strict-mode row).
 */
int sk_ds_stats_compute(const char *dir, unsigned only,
    const sk_read_opts *opts, sk_ds_stats *st, char *err, size_t errlen);

void sk_ds_stats_print(const sk_ds_stats *st, FILE *out);

#endif
