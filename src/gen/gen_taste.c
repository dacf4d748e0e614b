/*
 * The v2 hidden effects (see gen_taste.h; their sizes and the reasons for
 * them are in gen_skip.c).
 */
#include <math.h>

#include "gen_taste.h"
#include "../core/genres.h"

enum { ST_GENRE = 101, ST_GENRE_DISLIKE, ST_ARTIST, ST_MOOD, ST_HOURS };

static uint64_t
mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

double
gen_hash_unit(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    uint64_t h = mix(mix(mix(seed ^ (stream * 0xd1b54a32d192ed03ULL)) ^ a)
                     ^ b);

    return (double) (h >> 11) * 0x1.0p-53;
}

double
gen_hash_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    double u = 1.0 - gen_hash_unit(seed, stream, a, 2 * b);
    double v = gen_hash_unit(seed, stream, a, 2 * b + 1);

    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* One (user, genre) affinity: mild taste everywhere, a few dislikes. */
static double
genre_affinity(uint64_t seed, uint64_t user, int g, int favourite)
{
    double a = 0.3 * gen_hash_normal(seed, ST_GENRE, user, (uint64_t) g);

    if (!favourite && gen_hash_unit(seed, ST_GENRE_DISLIKE, user,
                                    (uint64_t) g) < 0.12)
    {
        a += 1.2;
    }
    return a;
}

double
gen_taste(uint64_t seed, uint64_t user, uint64_t fav_mask, uint64_t artist,
    uint64_t genre_mask)
{
    double sum = 0, u;
    int    n = 0, g;

    for (g = 0; g < SK_N_GENRES; g++) {
        if ((genre_mask >> g) & 1) {
            sum += genre_affinity(seed, user, g, (int) ((fav_mask >> g) & 1));
            n++;
        }
    }
    sum = n ? sum / n : 0.0;
    /* A few artists a listener cannot stand, a few they always finish. */
    u = gen_hash_unit(seed, ST_ARTIST, user, artist);
    if (u < 0.04) {
        sum += 1.5;
    } else if (u < 0.08) {
        sum -= 1.2;
    }
    return sum;
}

double
gen_mood(uint64_t seed, int64_t session_id)
{
    return 0.5 * gen_hash_normal(seed, ST_MOOD, (uint64_t) session_id, 0);
}

void
gen_hours(uint64_t seed, uint64_t user, double *amp, double *peak)
{
    *amp = 0.8 * gen_hash_unit(seed, ST_HOURS, user, 0);
    *peak = 24.0 * gen_hash_unit(seed, ST_HOURS, user, 1);
}
