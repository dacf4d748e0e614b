/*
 * Internals shared by the dataset reader files and its fuzz target; not an
 * API for the rest of the project (use dataset.h).
 */
#ifndef SKIP_DATASET_INT_H
#define SKIP_DATASET_INT_H

#include "dataset.h"

/*
 * The sessions fast path: parse one line of exactly the compact v2 shape
 * {"timestamp":"..","user_id":N,"track_id":"..","event_type":"..",
 * "session_id":N} with every key field valid.  Returns 1 with *ev filled,
 * or 0 when the line is anything else (the caller then uses cJSON, which
 * decides and reports).  When it returns 1, the cJSON path must produce the
 * same row: the fuzz target checks this.
 */
int sk_fast_event(const char *p, size_t len, sk_event_row *ev);

/*
 * truth.jsonl's fast path, the same contract for lines of the shape
 * `skipctl gen` writes (dataset_fast.c).
 */
int sk_fast_truth(const char *p, size_t len, sk_truth_row *t);

/* Copy a valid 22-char id (caller checked) and NUL-terminate. */
static inline void
sk_id_copy(char *dst, const char *src)
{
    for (int i = 0; i < SK_ID_LEN; i++) {
        dst[i] = src[i];
    }
    dst[SK_ID_LEN] = '\0';
}

#endif
