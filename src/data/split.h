/*
 * Train/test splits of labelled plays (labels.h).
 *
 * Time split (the default, honest): sessions are ranked by start (their
 * earliest labelled play, ties by session id); the earliest (1 - f) share of
 * sessions trains, the rest tests.  A session is never cut in two.  History
 * features of test rows then come from training sessions only.
 *
 * Random split (the original project's method): each row goes to the test
 * set with probability f, independently of its session, and its history
 * features were computed over all rows, its own label included: it leaks.
 * Kept to reproduce the original's numbers.
 */
#ifndef SKIP_SPLIT_H
#define SKIP_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"

/*
 * Rows must be sorted by session_id (sk_labels_finish).  Sets every row's
 * srank (session rank by start) and split.  Returns the number of sessions;
 * *n_train receives the number of training sessions and *cut_ms the start of
 * the first test session (INT64_MAX when none).
 */
size_t sk_split_time(sk_labelled *rows, size_t n, double test_fraction,
    size_t *n_train, int64_t *cut_ms);

/* Random split; srank is set as by sk_split_time.  Deterministic in seed. */
size_t sk_split_random(sk_labelled *rows, size_t n, double test_fraction,
    uint64_t seed);

/* A deterministic uniform [0, 1) draw for (seed, a, b). */
double sk_split_uniform(uint64_t seed, uint64_t a, uint64_t b);

#endif
