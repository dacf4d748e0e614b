/*
 * Word lists for the generator: Polish first/last names, towns and streets
 * (taken from the public v2 users sample, data-format.md), words for artist
 * and track names, and the invented artist genres.
 */
#ifndef SKIP_GEN_NAMES_H
#define SKIP_GEN_NAMES_H

#include <stddef.h>

extern const char *const sk_first_names[];
extern const size_t      sk_n_first_names;
extern const char *const sk_last_names[];
extern const size_t      sk_n_last_names;
extern const char *const sk_cities[];
extern const size_t      sk_n_cities;
extern const char *const sk_streets[];
extern const size_t      sk_n_streets;
extern const char *const sk_words[];
extern const size_t      sk_n_words;
extern const char *const sk_syllables[];
extern const size_t      sk_n_syllables;

/*
 * The invented artist genres, distinct from each other and from the 50
 * user genres, always the same list in the same (shuffled) order: n names
 * into a newly allocated array of newly allocated strings.  Returns the
 * count made (<= n) or -1 on out of memory.
 */
long sk_invent_genres(char ***names, long n);
void sk_free_genres(char **names, long n);

#endif
