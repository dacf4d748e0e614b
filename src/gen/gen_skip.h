/*
 * The hidden skip process of `skipctl gen` (documented in gen_skip.c).
 */
#ifndef SKIP_GEN_SKIP_H
#define SKIP_GEN_SKIP_H

#include <stdint.h>

/* The intercept, tuned so that ~40 % of plays are skipped at --scale 1. */
extern const double sk_gen_skip_b0;

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
} sk_skip_inputs;

/* logit P(skip) and P(skip) of one play. */
double sk_gen_skip_logit(const sk_skip_inputs *in);
double sk_gen_p_skip(const sk_skip_inputs *in);

#endif
