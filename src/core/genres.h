/*
 * The 50 genres a Pozytywka user can pick as favourites (data-format.md),
 * in alphabetical order.  A genre's index is its bit in the 64-bit masks the
 * feature code uses for "user favourites" and "track's artist genres", so the
 * order is part of the model format: never reorder, only append.
 */
#ifndef SKIP_GENRES_H
#define SKIP_GENRES_H

#include <stddef.h>
#include <stdint.h>

#define SK_N_GENRES 50

/* Index 0..49 of a genre name (exact, case-sensitive), or -1. */
int sk_genre_index(const char *name, size_t len);

/* Name of genre i (0..49). */
const char *sk_genre_name(int i);

/* Number of bits set in a genre mask. */
int sk_genre_count(uint64_t mask);

/*
 * Mask <-> comma-separated list ("rock,soul"), the human-readable form kept
 * in Redis records.  Parsing ignores unknown names (counted in *unknown when
 * not NULL) and returns -1 only for a malformed list (empty item).
 */
int sk_genre_mask_parse(const char *s, size_t len, uint64_t *mask,
    int *unknown);
size_t sk_genre_mask_format(uint64_t mask, char *buf, size_t size);

#endif
