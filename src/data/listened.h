/*
 * How much of a labelled play was listened, from the dataset: the one rule
 * that skipctl simulate (prefetch economics, cachesim_replay.c) and
 * skipctl replay --player (where the player stops requesting slices) share.
 *
 * A full play (label 1) listens to the whole track.  A skipped play listens
 * (Skip time - request time) / duration of it, clamped to [0, 1], where the
 * Skip time is the earliest Skip event of the same (session, track) after
 * the play's request time in sessions.jsonl (the labels keep the Play's
 * time only).  When no such Skip is found (a Skip without a Play) or the
 * track has no duration, the generator's mean, SK_ASSUMED_LISTENED = 0.6
 * (skips come at Uniform(0.2, 1) of the track), is assumed; callers count
 * those.
 */
#ifndef SKIP_LISTENED_H
#define SKIP_LISTENED_H

#include <stddef.h>
#include <stdint.h>

#include "../core/dataset.h"
#include "labels.h"

#define SK_ASSUMED_LISTENED  0.6
#define SK_NO_SKIP_TIME      INT64_MAX

/*
 * skip_ms[r] for every finished row r of lab: the earliest Skip event of
 * the row's (session, track) strictly after its request time, or
 * SK_NO_SKIP_TIME.  Reads DIR/sessions.jsonl once.  0, or -1 with err.
 */
int sk_skip_times_read(const char *dir, const sk_dataset *ds,
    const sk_labels *lab, int64_t *skip_ms, char *err, size_t errlen);

/*
 * Share of the track listened, 0..1.  *assumed (may be NULL) is set to 1
 * when SK_ASSUMED_LISTENED had to be used, else 0.
 */
double sk_listened_share(int label, int64_t request_ms, int64_t skip_ms,
    int64_t duration_ms, int *assumed);

/* Median duration of the tracks that have one (0 if none do). */
int64_t sk_median_duration(const sk_dataset *ds);

#endif
