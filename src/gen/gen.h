/*
 * `skipctl gen`: a Pozytywka-like dataset, faithful to the v2 format and
 * shapes of data-format.md, with a documented hidden skip process
 * (gen_skip.c).  Deterministic for a seed: same seed and scale, same bytes.
 *
 * Sizes at scale 1: 27,650 artists, 129,648 tracks, 5,000 users (ids
 * 101..5100), ~140,000 sessions (ids from 124) over 2024-01-01..2024-03-31
 * (+02:00), ~4.7 M events; truth.jsonl holds P(skip) of every Play.
 * sessions.jsonl is ordered by user id, then time (as the v1 export), so
 * session ids rise with the user, not with time: split by timestamp.
 */
#ifndef SKIP_GEN_H
#define SKIP_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "../core/dataset.h"

typedef struct {
    uint64_t  seed;
    double    scale;             /* 1.0 = the original's size */
    int       progress;          /* progress lines on stderr */
    int       process;           /* SK_GEN_V1 (default), SK_GEN_V2 or
                                    SK_GEN_NONE: the skip process, gen_skip.c */
} sk_gen_opts;

typedef struct {
    long      artists, tracks, users, sessions, events, truth;
    long      by_type[SK_N_EVENTS];
    long      storage[SK_N_STORE];
    long      artists_with_user_genre;
    long      distinct_genres;
    double    sum_p_skip;        /* over plays */
    double    sum_bayes;         /* sum of max(p, 1 - p): Bayes accuracy */
    uint64_t  bytes;
} sk_gen_stats;

/* Sizes at a scale (also what the tests expect). */
long sk_gen_n_artists(double scale);
long sk_gen_n_tracks(double scale);
long sk_gen_n_users(double scale);
long sk_gen_n_sessions(double scale);

/*
 * Write the six files into dir (which must exist).  Returns 0, or -1 with
 * err naming the file and the reason.  st may be NULL.
 */
int sk_gen(const char *dir, const sk_gen_opts *opts, sk_gen_stats *st,
    char *err, size_t errlen);

#endif
