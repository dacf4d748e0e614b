/* The generator's world, shared by gen.c and gen_sessions.c. */
#ifndef SKIP_GEN_INT_H
#define SKIP_GEN_INT_H

#include "gen.h"
#include "gen_rng.h"
#include "../core/genres.h"

typedef struct {
    char      id[SK_ID_LEN + 1];
    double    weight;            /* Zipf popularity */
    uint64_t  genre_mask;        /* user-genre bits */
} gen_artist;

typedef struct {
    char      id[SK_ID_LEN + 1];
    uint32_t  artist;
    int       popularity;
    int       explicit_;
    int64_t   duration_ms;
    double    t_bias;            /* hidden */
    double    weight;            /* Zipf play weight */
    uint32_t  rank;              /* 0 = most played */
} gen_track;

typedef struct {
    int64_t   user_id;
    int       fav[3];
    uint64_t  fav_mask;
    int       premium;
    double    u_bias, g_user;    /* hidden */
    double    activity;
    long      n_sessions;
    double    hour_amp, hour_peak;   /* hidden, v2 only (gen_taste.h) */
} gen_user;

/* Weighted choice by binary search over cumulative weights. */
typedef struct {
    uint32_t *items;
    double   *cum;
    size_t    n;
} gen_picker;

typedef struct {
    const sk_gen_opts *opts;
    sk_gen_stats      *st;
    const char        *dir;
    char              *err;
    size_t             errlen;

    gen_artist        *artists;
    long               n_artists;
    gen_track         *tracks;
    long               n_tracks;
    gen_user          *users;
    long               n_users;
    long               n_sessions;

    gen_picker         all_tracks;
    gen_picker         genre_tracks[SK_N_GENRES];
} gen_world;

uint32_t gen_pick(const gen_picker *p, sk_rng *r);

/* Write sessions.jsonl and truth.jsonl. */
int gen_sessions(gen_world *w);

void gen_progress(gen_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
