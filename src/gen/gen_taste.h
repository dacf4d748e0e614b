/*
 * The hidden per-listener effects of the v2 skip process (gen_skip.c):
 * genre and artist affinities, a personal hour pattern, the session's mood.
 * Each is a pure function of (seed, ids), drawn by hashing rather than from
 * the generator's streams: nothing has to be stored per (user, artist) pair
 * (138 M of them at scale 1), and the v1 output, which never calls these,
 * stays byte-identical.
 */
#ifndef SKIP_GEN_TASTE_H
#define SKIP_GEN_TASTE_H

#include <stdint.h>

/* Uniform [0, 1) and standard normal draws for (seed, stream, a, b). */
double gen_hash_unit(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);
double gen_hash_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b);

/*
 * The listener's affinity term for a track (added to logit P(skip)): the
 * mean of their hidden per-genre affinities over the artist's user genres
 * (0 for an artist without one), plus their hidden affinity for the artist.
 * user: the user's index, fav_mask: their favourite genres (never
 * disliked), genre_mask: the artist's user genres.
 */
double gen_taste(uint64_t seed, uint64_t user, uint64_t fav_mask,
    uint64_t artist, uint64_t genre_mask);

/* The session's hidden mood (added to logit P(skip) of all its plays). */
double gen_mood(uint64_t seed, int64_t session_id);

/* The listener's personal hour pattern: amplitude and peak hour. */
void gen_hours(uint64_t seed, uint64_t user, double *amp, double *peak);

#endif
