/*
 * The hidden skip process of `skipctl gen` (documented in gen_skip.c).
 */
#ifndef SKIP_GEN_SKIP_H
#define SKIP_GEN_SKIP_H

#include <stdint.h>

/* The intercept, tuned so that ~40 % of plays are skipped at --scale 1. */
extern const double sk_gen_skip_b0;
extern const double sk_gen_skip_b0_v2;

/* Which skip process (skipctl gen --process). */
enum {
    SK_GEN_V1 = 0,      /* the original terms (default; output unchanged) */
    SK_GEN_V2,          /* v1 + personal taste, hours and session runs */
    SK_GEN_NONE         /* no signal: P(skip) = 0.4 for every play */
};

typedef struct {
    double   u_bias;         /* user's own tendency, ~ Normal(0, 0.9) */
    double   t_bias;         /* track's own tendency, ~ Normal(0, 0.7) */
    double   g_user;         /* user's genre loyalty, ~ Uniform(0.6, 1.8) */
    int      popularity;     /* track popularity 0..97 */
    int      match;          /* 1: an artist genre is a user favourite */
    int64_t  duration_ms;
    int      local_hour;     /* hour 0..23 of the Play, as written (+02:00) */
    int      premium;        /* 0/1 */
    int      explicit_;      /* 0/1 */
    int      position;       /* plays before this one in the session */

    /* v2 only (gen_taste.h) */
    int      process;        /* SK_GEN_* */
    double   taste;          /* the listener's genre + artist affinity */
    double   hour_amp;       /* their personal hour pattern */
    double   hour_peak;
    double   mood;           /* the session's mood */
    int      prev_skipped;   /* 1: the previous play of the session was
                                skipped (0 for the first play) */
} sk_skip_inputs;

/* logit P(skip) and P(skip) of one play. */
double sk_gen_skip_logit(const sk_skip_inputs *in);
double sk_gen_p_skip(const sk_skip_inputs *in);

#endif
