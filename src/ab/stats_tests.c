/*
 * Confidence intervals and the two-proportion test (see stats_tests.h).
 */
#include <math.h>

#include "stats_tests.h"

double
sk_norm_cdf(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

double
sk_norm_sf(double x)
{
    return 0.5 * erfc(x / M_SQRT2);
}

void
sk_wilson_ci(long k, long n, double z, double *lo, double *hi)
{
    double  p, z2, den, centre, half;

    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    p = (double) k / (double) n;
    z2 = z * z;
    den = 1.0 + z2 / n;
    centre = (p + z2 / (2.0 * n)) / den;
    half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * (double) n)) / den;
    *lo = centre - half;
    *hi = centre + half;
    /* Exact bounds at the edges (rounding would give -1e-17 or 1 + 1e-17). */
    if (k == 0 || *lo < 0.0) {
        *lo = 0.0;
    }
    if (k == n || *hi > 1.0) {
        *hi = 1.0;
    }
}

void
sk_wald_ci(long k, long n, double z, double *lo, double *hi)
{
    double  p, half;

    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    p = (double) k / (double) n;
    half = z * sqrt(p * (1.0 - p) / n);
    *lo = p - half < 0.0 ? 0.0 : p - half;
    *hi = p + half > 1.0 ? 1.0 : p + half;
}

int
sk_two_prop_test(long k1, long n1, long k2, long n2, double z,
    sk_two_prop *out)
{
    double  pooled, se0, se;

    out->p1 = n1 > 0 ? (double) k1 / n1 : 0.0;
    out->p2 = n2 > 0 ? (double) k2 / n2 : 0.0;
    out->diff = out->p1 - out->p2;
    out->z = 0.0;
    out->p_value = 1.0;
    out->diff_lo = -1.0;
    out->diff_hi = 1.0;
    if (n1 <= 0 || n2 <= 0) {
        return -1;
    }

    se = sqrt(out->p1 * (1.0 - out->p1) / n1 + out->p2 * (1.0 - out->p2) / n2);
    out->diff_lo = fmax(-1.0, out->diff - z * se);
    out->diff_hi = fmin(1.0, out->diff + z * se);

    pooled = (double) (k1 + k2) / (double) (n1 + n2);
    se0 = sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2));
    if (se0 > 0.0) {
        out->z = out->diff / se0;
        out->p_value = 2.0 * sk_norm_sf(fabs(out->z));
        if (out->p_value > 1.0) {
            out->p_value = 1.0;
        }
    }
    /* se0 = 0: both arms all-correct or all-wrong; equal, p stays 1. */
    return 0;
}
