/*
 * The generator's own PRNG: xoshiro256** seeded through splitmix64.
 * rand() is neither portable nor good; these make `skipctl gen` output
 * byte-identical for a seed on every platform.
 */
#ifndef SKIP_GEN_RNG_H
#define SKIP_GEN_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} sk_rng;

static inline uint64_t
sk_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One independent stream per (seed, stream) so parts do not shift others. */
static inline void
sk_rng_seed(sk_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);

    for (int i = 0; i < 4; i++) {
        r->s[i] = sk_splitmix64(&x);
    }
}

static inline uint64_t
sk_rng_next(sk_rng *r)
{
    uint64_t *s = r->s;
    uint64_t  t = s[1] << 17;
    uint64_t  x = s[1] * 5;
    uint64_t  result = ((x << 7) | (x >> 57)) * 9;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1). */
static inline double
sk_rng_unit(sk_rng *r)
{
    return (double) (sk_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). */
static inline uint64_t
sk_rng_below(sk_rng *r, uint64_t n)
{
    return (uint64_t) (sk_rng_unit(r) * (double) n);
}

static inline double
sk_rng_uniform(sk_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sk_rng_unit(r);
}

/* Standard normal (Box-Muller, one value per call: simple and exact). */
static inline double
sk_rng_normal(sk_rng *r)
{
    double u = 1.0 - sk_rng_unit(r), v = sk_rng_unit(r);

    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#endif
