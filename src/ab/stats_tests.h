/*
 * Small-sample statistics for comparing proportions (A/B accuracy, precision,
 * recall): confidence intervals and the two-proportion z-test.
 *
 * All functions take counts (k successes out of n trials) and z, the
 * standard normal quantile of the confidence level (SK_Z95 for 95 %).
 * With n = 0 an interval is [0, 1] and a test has p = 1 (no evidence).
 */
#ifndef SKIP_STATS_TESTS_H
#define SKIP_STATS_TESTS_H

#define SK_Z95  1.959963984540054   /* Phi^-1(0.975) */

/* Standard normal CDF Phi(x) and upper tail 1 - Phi(x), accurate in the
 * far tail too (computed through erfc, not 1 - Phi). */
double sk_norm_cdf(double x);
double sk_norm_sf(double x);

/*
 * Wilson score interval for k/n.  Preferred for rates near 0 or 1 and for
 * small n: it never leaves [0, 1] and has near-nominal coverage where the
 * Wald interval collapses (k = 0 gives [0, 0] with Wald).
 */
void sk_wilson_ci(long k, long n, double z, double *lo, double *hi);

/* Wald ("normal approximation") interval p +- z sqrt(p(1-p)/n), clipped to
 * [0, 1].  Kept for comparison; reports use Wilson. */
void sk_wald_ci(long k, long n, double z, double *lo, double *hi);

typedef struct {
    double  p1, p2;        /* k1/n1, k2/n2 */
    double  diff;          /* p1 - p2 */
    double  diff_lo;       /* unpooled (Wald) CI of the difference */
    double  diff_hi;
    double  z;             /* pooled z statistic (0 when undefined) */
    double  p_value;       /* two-sided */
} sk_two_prop;

/*
 * Two-proportion z-test of H0: p1 = p2, with the pooled standard error
 * (equivalent to Pearson's chi-square test on the 2x2 table without
 * continuity correction, as R's prop.test(correct = FALSE)).  The interval
 * of the difference uses the unpooled standard error.  Returns 0, or -1
 * when either n is 0 (then p_value = 1 and the interval is [-1, 1]).
 */
int sk_two_prop_test(long k1, long n1, long k2, long n2, double z,
    sk_two_prop *out);

#endif
