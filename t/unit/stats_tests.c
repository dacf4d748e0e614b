/*
 * Known values for the A/B statistics (src/ab/stats_tests.c).
 *
 * References: Wilson intervals and the difference interval from Newcombe,
 * "Two-sided confidence intervals for the single proportion" and "Interval
 * estimation for the difference between independent proportions" (Stat Med
 * 1998, tables: 81/263 -> 0.2553..0.3662; 56/70 - 48/80 Wald 0.0575..0.3425);
 * the z-test against R's prop.test(c(45, 60), c(100, 100), correct = FALSE),
 * p-value = 0.03367.
 */
#include "tap.h"
#include "ab/stats_tests.h"

int
main(void)
{
    double       lo, hi;
    sk_two_prop  t;

    is_near(sk_norm_cdf(1.959963984540054), 0.975, 1e-12, "Phi(z95) = 0.975");
    is_near(sk_norm_cdf(0.0), 0.5, 1e-15, "Phi(0) = 0.5");
    is_near(sk_norm_cdf(-1.0), 0.15865525393145707, 1e-12, "Phi(-1)");
    is_near(sk_norm_sf(8.0), 6.220960574271819e-16, 1e-20,
            "upper tail at 8 sd keeps its precision");

    sk_wilson_ci(81, 263, SK_Z95, &lo, &hi);
    is_near(lo, 0.2552885198782742, 1e-9, "Wilson 81/263 lower (Newcombe 0.2553)");
    is_near(hi, 0.3662095769828000, 1e-9, "Wilson 81/263 upper (Newcombe 0.3662)");
    sk_wilson_ci(0, 10, SK_Z95, &lo, &hi);
    is_near(lo, 0.0, 0.0, "Wilson 0/10 lower is exactly 0");
    is_near(hi, 0.2775327998628892, 1e-9, "Wilson 0/10 upper 0.2775");
    sk_wilson_ci(5, 10, SK_Z95, &lo, &hi);
    is_near(lo, 0.236593090512564, 1e-9, "Wilson 5/10 lower");
    is_near(hi, 0.7634069094874361, 1e-9, "Wilson 5/10 upper");
    sk_wilson_ci(10, 10, SK_Z95, &lo, &hi);
    is_near(hi, 1.0, 0.0, "Wilson 10/10 upper is exactly 1");
    is_near(lo, 0.7224672001371107, 1e-9, "Wilson 10/10 lower");
    sk_wilson_ci(0, 0, SK_Z95, &lo, &hi);
    ok(lo == 0.0 && hi == 1.0, "Wilson with n = 0 is [0, 1]");

    sk_wald_ci(0, 10, SK_Z95, &lo, &hi);
    ok(lo == 0.0 && hi == 0.0, "Wald 0/10 collapses to [0, 0] (why we use Wilson)");
    sk_wald_ci(50, 100, SK_Z95, &lo, &hi);
    is_near(lo, 0.5 - 1.959963984540054 * 0.05, 1e-12, "Wald 50/100 lower");

    is_int(sk_two_prop_test(45, 100, 60, 100, SK_Z95, &t), 0, "test runs");
    is_near(t.z, -2.1239769762143657, 1e-9, "z for 45/100 vs 60/100");
    is_near(t.p_value, 0.033672068856345876, 1e-9,
            "p = 0.03367 as R prop.test(correct = FALSE)");
    is_near(t.diff, -0.15, 1e-12, "difference p1 - p2");
    is_near(t.diff_lo, -0.2868470377862957, 1e-9, "difference CI lower");
    is_near(t.diff_hi, -0.013152962213704211, 1e-9, "difference CI upper");

    sk_two_prop_test(56, 70, 48, 80, SK_Z95, &t);
    is_near(t.diff_lo, 0.05750489914903714, 1e-9, "Newcombe 56/70-48/80 Wald lower 0.0575");
    is_near(t.diff_hi, 0.342495100850963, 1e-9, "Newcombe Wald upper 0.3425");
    is_near(t.p_value, 0.008045081368196568, 1e-9, "p for 56/70 vs 48/80");

    sk_two_prop_test(10, 10, 20, 20, SK_Z95, &t);
    ok(t.p_value == 1.0 && t.z == 0.0, "both arms perfect: no difference, p = 1");
    is_int(sk_two_prop_test(1, 2, 0, 0, SK_Z95, &t), -1, "empty arm: -1");
    ok(t.p_value == 1.0, "empty arm: p = 1");

    sk_two_prop_test(5000, 10000, 5000, 10000, SK_Z95, &t);
    is_near(t.p_value, 1.0, 1e-12, "identical arms: p = 1");

    return done_testing();
}
