/*
 * The prefetch threshold curve and the sliced prefetch economics
 * (src/sim/cachesim_curve.c, src/sim/cachesim_prefetch.c) on a hand-made trace
 * whose every figure is worked out below, the waste-budget choice (the
 * greatest coverage, ties to the least waste, "none"), whole tracks
 * (--slice 0), the search in steps of 0.001, and on random traces: the point at 0 is prefetch-always,
 * the point at the model's threshold is prefetch-model, and coverage,
 * waste and fetched bytes never rise with the threshold.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/cachesim.h"
#include "tap.h"

/*
 * Slices of 100 bytes.  Objects A 350 B (slices 100 100 100 50), B 250,
 * C 80 (one slice, smaller than a slice), D 200.
 *
 *  i obj outcome listened P(play) heard requested prefetchable waste
 *  0  A  play    1        0.9     350   350       250          0
 *  1  B  skip    0.5      0.6     125   200       150          50
 *  2  A  skip    0.1      0.3     35    100       250          250
 *  3  B  play    1        0.55    250   250       150          0
 *  4  C  play    1        0.2     80    80        0            0
 *  5  A  skip    0        0.7     0     100       250          250
 *  6  B  skip    1        0.95    250   250       150          0
 *  7  D  skip    0.5      0.5     100   100       100          100
 *
 * requested: the slices up to the one holding the skip point, the first
 * at least (row 5 skipped at once still asked for it; row 7 stops exactly
 * at the end of its first slice).  prefetchable: after the first slice.
 * Sums: sizes 2080, requested 1430, the full plays' prefetchable bytes
 * 250 + 150 + 0 = 400, prefetch-always's waste 650 (= 2080 - 1430).
 */
#define N_REQ  8

static const char      req_obj[N_REQ] = { 0, 1, 0, 1, 2, 0, 1, 3 };
static const int       req_played[N_REQ] = { 1, 0, 0, 1, 1, 0, 0, 0 };
static const float     req_listened[N_REQ] = { 1, 0.5f, 0.1f, 1, 1, 0, 1,
                                               0.5f };
static const double    req_p[N_REQ] = { 0.9, 0.6, 0.3, 0.55, 0.2, 0.7, 0.95,
                                        0.5 };
static const uint64_t  obj_size[] = { 350, 250, 80, 200 };

/* The model's decision is P(play) >= 0.5. */
static void
hand_trace(sk_trace *t)
{
    size_t i;

    if (sk_trace_init(t, N_REQ, 4) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    for (i = 0; i < 4; i++) {
        t->size[i] = obj_size[i];
    }
    for (i = 0; i < N_REQ; i++) {
        t->obj[i] = (uint32_t) req_obj[i];
        t->ts_ms[i] = (int64_t) i * 1000;
        t->listened[i] = req_played[i] ? 1.0f : req_listened[i];
        t->p_play[i] = req_p[i];
        t->flags[i] = (uint8_t) ((req_p[i] >= 0.5 ? SK_SIM_PREDICT_PLAY : 0)
                                 | (req_played[i] ? SK_SIM_PLAYED : 0));
    }
    if (sk_trace_finish(t) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
}

static const double thresholds[] = { 0, 0.3, 0.5, 0.65, 0.9, 1 };
#define N_T  (sizeof(thresholds) / sizeof(thresholds[0]))

static void
test_hand_curve(void)
{
    sk_trace     t;
    sk_pf_curve  c;

    hand_trace(&t);
    if (sk_pf_curve_build(&c, &t, 100, thresholds, N_T) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    is_int(c.n, N_T, "one point per threshold");
    is_int(c.requests, 8, "8 requests");
    is_int(c.plays, 3, "3 full plays");
    is_int(c.skips, 5, "5 skips");
    is_near(c.requested_bytes, 1430, 1e-9, "requested: whole slices up to "
            "the skip point, the first at least");
    is_near(c.listened_bytes, 1190, 0, "listened: the bytes heard, whole "
            "bytes (0.1f x 350 = 35)");
    is_near(c.play_prefetchable_bytes, 400, 1e-9, "full plays' bytes after "
            "their first slice: 250 + 150 + 0");
    is_near(c.always_wasted_bytes, 650, 1e-9, "prefetch-always wastes 650");

    /* T = 0: everything */
    is_int(c.pt[0].prefetched, 8, "T 0: every request prefetched");
    is_near(c.pt[0].coverage, 1, 1e-12, "T 0: coverage 1");
    is_near(c.pt[0].wasted_bytes, 650, 1e-9, "T 0: waste 650");
    is_near(c.pt[0].waste_share, 1, 1e-12, "T 0: 100 %% of always");
    is_near(c.pt[0].fetched_bytes, 2080, 1e-9, "T 0: fetches every byte");

    /* T = 0.3: all but C's play, which has nothing after its first slice */
    is_int(c.pt[1].prefetched, 7, "T 0.3: 7 prefetched");
    is_int(c.pt[1].plays_prefetched, 2, "T 0.3: 2 plays");
    is_int(c.pt[1].skips_prefetched, 5, "T 0.3: 5 skips");
    is_near(c.pt[1].coverage, 1, 1e-12, "T 0.3: coverage still 1 (C is one "
            "slice)");
    is_near(c.pt[1].fetched_bytes, 2080, 1e-9, "T 0.3: C streamed = C "
            "fetched");

    /* T = 0.5 (the model's): rows 0 1 3 5 6 7 */
    is_int(c.pt[2].prefetched, 6, "T 0.5: 6 prefetched");
    is_int(c.pt[2].plays_prefetched, 2, "T 0.5: 2 plays");
    is_int(c.pt[2].skips_prefetched, 4, "T 0.5: 4 skips");
    is_near(c.pt[2].covered_bytes, 400, 1e-9, "T 0.5: covers 250 + 150");
    is_near(c.pt[2].wasted_bytes, 400, 1e-9, "T 0.5: waste 50 + 250 + 0 + "
            "100");
    is_near(c.pt[2].waste_share, 400.0 / 650, 1e-12, "T 0.5: 61.5 %% of "
            "always");
    is_near(c.pt[2].fetched_bytes, 1830, 1e-9, "T 0.5: fetched = requested "
            "+ waste");

    /* T = 0.65: rows 0 5 6 */
    is_int(c.pt[3].prefetched, 3, "T 0.65: 3 prefetched");
    is_near(c.pt[3].coverage, 250.0 / 400, 1e-12, "T 0.65: coverage 62.5 %%");
    is_near(c.pt[3].wasted_bytes, 250, 1e-9, "T 0.65: waste 250 (A skipped "
            "at once)");
    is_near(c.pt[3].fetched_bytes, 1680, 1e-9, "T 0.65: fetched 1680");

    /* T = 0.9: rows 0 6; row 6 listened to the last slice: no waste */
    is_int(c.pt[4].prefetched, 2, "T 0.9: 2 prefetched");
    is_near(c.pt[4].coverage, 250.0 / 400, 1e-12, "T 0.9: coverage 62.5 %%");
    is_near(c.pt[4].wasted_bytes, 0, 1e-9, "T 0.9: a skip in the last slice "
            "wastes nothing");
    is_near(c.pt[4].fetched_bytes, 1430, 1e-9, "T 0.9: fetched = requested");

    /* T = 1: nothing */
    is_int(c.pt[5].prefetched, 0, "T 1: nothing prefetched");
    is_near(c.pt[5].coverage, 0, 1e-12, "T 1: coverage 0");
    is_near(c.pt[5].fetched_bytes, 1430, 1e-9, "T 1: streams the requests");

    /* The budget: the greatest coverage within it, ties to less waste. */
    is_int(sk_pf_curve_choose(&c, 0.5), 4, "budget 50 %%: T 0.9 (coverage "
           "62.5 %% as T 0.65, waste 0 instead of 38 %%)");
    is_int(sk_pf_curve_choose(&c, 0.62), 2, "budget 62 %%: T 0.5 (coverage "
           "100 %% at 61.5 %%)");
    is_int(sk_pf_curve_choose(&c, 0.61), 4, "budget 61 %%: T 0.5 is over, "
           "T 0.9");
    is_int(sk_pf_curve_choose(&c, 1), 2, "budget 100 %%: T 0.5 covers as "
           "much as T 0 with less waste");
    is_int(sk_pf_curve_choose(&c, 0), 4, "budget 0: T 0.9, the wasteless "
           "point with most coverage");
    sk_pf_curve_free(&c);

    /* No point within the budget. */
    if (sk_pf_curve_build(&c, &t, 100, thresholds, 2) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    is_int(sk_pf_curve_choose(&c, 0.5), -1, "T 0 and 0.3 both waste 100 %%: "
           "none meets 50 %%");
    sk_pf_curve_free(&c);
    sk_trace_free(&t);
}

/* The sliced prefetch economics on the same trace. */
static void
test_hand_economics(void)
{
    sk_trace            t;
    sk_prefetch_result  r;

    hand_trace(&t);
    sk_prefetch_eval_sliced(&t, SK_PF_NEVER, 100, &r);
    is_near(r.fetched_bytes, 1430, 1e-9, "stream-only, 100 B slices: "
            "fetches the slices requested");
    is_near(r.requested_bytes, 1430, 1e-9, "... reported as requested");
    is_near(r.wasted_bytes, 0, 1e-9, "... wastes nothing");
    sk_prefetch_eval_sliced(&t, SK_PF_ALWAYS, 100, &r);
    is_near(r.fetched_bytes, 2080, 1e-9, "always: every byte");
    is_near(r.wasted_bytes, 650, 1e-9, "always: 650 never requested");
    sk_prefetch_eval_sliced(&t, SK_PF_MODEL, 100, &r);
    is_near(r.wasted_bytes, 400, 1e-9, "model: the curve's T 0.5");
    is_int(r.skips_prefetched, 4, "model: 4 skips prefetched");
    sk_prefetch_eval_sliced(&t, SK_PF_ORACLE, 100, &r);
    is_near(r.wasted_bytes, 0, 1e-9, "oracle: nothing");
    is_near(r.fetched_bytes, 1430, 1e-9, "oracle: fetches what is "
            "requested");
    sk_trace_free(&t);
}

/*
 * Whole tracks (slice 0): streaming fetches exactly the bytes heard, a
 * prefetch the whole track.  Waste: 125 + 315 + 350 + 100 = 890; the full plays' bytes 350 + 250 + 80 = 680; at
 * T 0.5 covered 350 + 250, wasted 125 + 350 + 0 + 100.
 */
static void
test_whole_tracks(void)
{
    sk_trace            t;
    sk_pf_curve         c;
    sk_prefetch_result  r;

    hand_trace(&t);
    if (sk_pf_curve_build(&c, &t, 0, thresholds, N_T) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    is_near(c.requested_bytes, c.listened_bytes, 1e-9, "whole tracks: "
            "requested = heard");
    is_near(c.always_wasted_bytes, 890, 0, "whole tracks: always wastes "
            "everything after the skip points");
    is_near(c.play_prefetchable_bytes, 680, 1e-9, "whole tracks: every byte "
            "of a full play is prefetchable");
    is_near(c.pt[2].coverage, 600.0 / 680, 1e-12, "T 0.5 covers 600 of 680");
    is_near(c.pt[2].wasted_bytes, 575, 1e-9, "T 0.5 wastes 575");
    sk_prefetch_eval(&t, SK_PF_MODEL, &r);
    ok(r.wasted_bytes == c.pt[2].wasted_bytes, "sk_prefetch_eval (whole "
       "tracks) = the curve at the model's threshold");
    sk_prefetch_eval_sliced(&t, SK_PF_ALWAYS, 0, &r);
    ok(r.wasted_bytes == c.always_wasted_bytes, "... and at 0 = always");
    sk_pf_curve_free(&c);
    sk_trace_free(&t);
}

/*
 * The threshold for a budget, searched in steps of 0.001.  Budget 50 %
 * (325 bytes): above 0.5 rows 1 and 5 still waste 300, and rows 0 and 3
 * (0.9, 0.55) cover all 400: T 0.501, which the grid above missed (it
 * chose 0.9, coverage 62.5 %).  Budget 30 % (195): above 0.7 nothing is
 * wasted, coverage 250 / 400 from 0.701 to 0.9: the first, 0.701.  With
 * row 5 (a skip wasting 250 = 38 %) at P(play) 1, every threshold wastes
 * that: none meets 30 %.
 */
static void
test_for_budget(void)
{
    sk_trace  t;
    double    th[8], best = -1;
    size_t    n;
    int       rc;

    n = sk_pf_thresholds(0.25, (const double []) { 0.5, 0.3, 0.125, 2 }, 4,
                         th, 8);
    is_int(n, 6, "thresholds: grid 0 .. 1 by 0.25 and 0.125, 0.3 (0.5 is "
           "on it, 2 is out of range)");
    ok(n == 6 && th[0] == 0 && th[1] == 0.125 && th[2] == 0.25
       && th[3] == 0.3 && th[4] == 0.5 && th[5] == 1,
       "... sorted, without repeats");
    n = sk_pf_thresholds(0.05, NULL, 0, th, 8);
    is_int(n, 8, "thresholds: the grid is cut to the room given");
    ok(th[7] == 1, "... still ending at 1");
    n = sk_pf_thresholds(0.3, NULL, 0, th, 8);
    ok(n == 5 && th[3] == 0.9 && th[4] == 1, "thresholds: a step that "
       "misses 1 still ends at 1");

    hand_trace(&t);
    rc = sk_pf_threshold_for_budget(&t, 100, 0.5, thresholds, N_T, &best);
    is_int(rc, 0, "budget 50 %%: found");
    is_near(best, 0.501, 1e-12, "... T 0.501: coverage 100 %%, waste 46 %%");
    rc = sk_pf_threshold_for_budget(&t, 100, 0.3, thresholds, N_T, &best);
    is_near(best, 0.701, 1e-12, "budget 30 %%: T 0.701, the first wasteless "
            "one");
    rc = sk_pf_threshold_for_budget(&t, 100, 0.5, (const double []) {
                                    0.5005 }, 1, &best);
    is_near(best, 0.5005, 1e-12, "an extra threshold between the steps is "
            "searched too");
    t.p_play[5] = 1;
    best = -1;
    rc = sk_pf_threshold_for_budget(&t, 100, 0.3, thresholds, N_T, &best);
    is_int(rc, 1, "a skip wasting 38 %% at P(play) 1: none meets 30 %%");
    is_near(best, -1, 0, "... best left alone");
    sk_trace_free(&t);
}

/* Thresholds out of order are refused. */
static void
test_order(void)
{
    sk_trace     t;
    sk_pf_curve  c;

    hand_trace(&t);
    is_int(sk_pf_curve_build(&c, &t, 100, (const double []) { 0.5, 0.2 }, 2),
           -1, "descending thresholds: -1");
    is_int(sk_pf_curve_build(&c, &t, 100, (const double []) { 0.5, 0.5 }, 2),
           -1, "repeated thresholds: -1");
    sk_trace_free(&t);
}

/* Every request played: prefetching wastes nothing, waste share 0. */
static void
test_no_waste(void)
{
    sk_trace     t;
    sk_pf_curve  c;
    size_t       i;

    hand_trace(&t);
    for (i = 0; i < t.n; i++) {
        t.flags[i] |= SK_SIM_PLAYED;
        t.listened[i] = 1;
    }
    if (sk_pf_curve_build(&c, &t, 100, thresholds, N_T) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    is_near(c.always_wasted_bytes, 0, 1e-12, "all played: nothing to waste");
    is_near(c.pt[0].waste_share, 0, 1e-12, "... waste share 0, not NaN");
    is_int(sk_pf_curve_choose(&c, 0), 0, "... budget 0 allows T 0");
    sk_pf_curve_free(&c);
    sk_trace_free(&t);
}

/* Random traces: the ends equal always and the model, and the curve
 * never rises. */
static void
test_random(void)
{
    int     round, shape_ok = 1, ends_ok = 1, model_ok = 1, mono_ok = 1;
    double  th[21];
    size_t  k;

    for (k = 0; k < 21; k++) {
        th[k] = (double) k / 20;
    }
    srand(11);
    for (round = 0; round < 100; round++) {
        sk_trace            t;
        sk_pf_curve         c;
        sk_prefetch_result  always, model;
        size_t              n = 1 + (size_t) (rand() % 300), i;
        uint32_t            nobj = 1 + (uint32_t) (rand() % 40);
        uint64_t            slice = (uint64_t) (rand() % 4) * 333;
        double              model_t = th[rand() % 21];

        if (sk_trace_init(&t, n, nobj) != 0) {
            printf("Bail out! out of memory\n");
            exit(1);
        }
        for (i = 0; i < nobj; i++) {
            t.size[i] = 1 + (uint64_t) (rand() % 5000);
        }
        for (i = 0; i < n; i++) {
            int played = rand() % 2;

            t.obj[i] = (uint32_t) rand() % nobj;
            t.ts_ms[i] = (int64_t) i;
            t.p_play[i] = (double) rand() / ((double) RAND_MAX + 1);
            t.listened[i] = played ? 1.0f : (float) rand() / (float) RAND_MAX;
            t.flags[i] = (uint8_t) ((played ? SK_SIM_PLAYED : 0)
                                    | (t.p_play[i] >= model_t
                                       ? SK_SIM_PREDICT_PLAY : 0));
        }
        if (sk_trace_finish(&t) != 0
            || sk_pf_curve_build(&c, &t, slice, th, 21) != 0)
        {
            printf("Bail out! out of memory\n");
            exit(1);
        }
        sk_prefetch_eval_sliced(&t, SK_PF_ALWAYS, slice, &always);
        sk_prefetch_eval_sliced(&t, SK_PF_MODEL, slice, &model);
        shape_ok &= c.requests == n && c.plays + c.skips == n;
        ends_ok &= c.pt[0].wasted_bytes == always.wasted_bytes
                   && c.pt[0].fetched_bytes == always.fetched_bytes
                   && c.pt[0].prefetched == n
                   && c.pt[20].fetched_bytes == always.requested_bytes;
        k = (size_t) (model_t * 20 + 0.5);
        model_ok &= c.pt[k].wasted_bytes == model.wasted_bytes
                    && c.pt[k].fetched_bytes == model.fetched_bytes
                    && c.pt[k].plays_prefetched == model.plays_prefetched
                    && c.pt[k].skips_prefetched == model.skips_prefetched;
        for (k = 1; k < 21; k++) {
            const sk_pf_point *a = &c.pt[k - 1], *b = &c.pt[k];

            mono_ok &= b->prefetched <= a->prefetched
                       && b->covered_bytes <= a->covered_bytes
                       && b->wasted_bytes <= a->wasted_bytes
                       && b->fetched_bytes <= a->fetched_bytes;
        }
        sk_pf_curve_free(&c);
        sk_trace_free(&t);
    }
    ok(shape_ok, "100 random traces: plays + skips = requests");
    ok(ends_ok, "... T 0 is prefetch-always exactly, T 1 streams (p < 1)");
    ok(model_ok, "... the model's threshold is prefetch-model exactly");
    ok(mono_ok, "... prefetched, covered, wasted and fetched never rise "
       "with T");
}

int
main(void)
{
    test_hand_curve();
    test_hand_economics();
    test_whole_tracks();
    test_for_budget();
    test_order();
    test_no_waste();
    test_random();
    return done_testing();
}
