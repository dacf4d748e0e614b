/*
 * The admission sketch (src/core/admit_sketch.c) and the admission
 * features (src/core/featurize.c): sizes and widths, decayed counts
 * halving once per half-life, the time since the previous request, keys
 * that differ per slice, an empty cell at any epoch, a request from a
 * slightly earlier epoch, determinism, and the features computed from the
 * inputs (unknown without them).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/admit_sketch.h"
#include "core/featurize.h"
#include "tap.h"

#define T0  1708000000      /* an epoch far from 0 mod the epoch wrap */

static void
observe(void *m, uint64_t key, int64_t t, sk_admit_in *in)
{
    memset(in, 0, sizeof(*in));
    sk_sketch_observe(m, key, t, in);
}

int
main(void)
{
    size_t        bytes = 1 << 20;
    void         *m = malloc(bytes), *m2 = malloc(bytes);
    sk_admit_in   in, in2;
    uint64_t      a, b;
    int           i, same;
    const char   *names[] = { "admit_log_count_short", "admit_log_count_long",
                              "admit_seen", "admit_log_since", "admit_slice",
                              "admit_log_bytes", "admit_slice_share",
                              "admit_p_play", "admit_skip_late" };
    sk_feature_plan plan;
    sk_user_rec   u;
    sk_track_rec  tr;
    sk_context    ctx = { 12, -1, NULL };
    double        raw[16];
    char          err[256];

    is_int(sk_sketch_width_for(100), 0, "100 bytes: too small");
    ok(sk_sketch_width_for(bytes) >= SK_SKETCH_MIN_WIDTH, "1 MiB holds one");
    ok(sk_sketch_bytes(sk_sketch_width_for(bytes)) <= bytes,
       "the width fits the bytes");
    ok(sk_sketch_bytes(2 * sk_sketch_width_for(bytes)) > bytes,
       "... and is the largest that does");
    ok(sk_sketch_init(m, 100) != 0, "formatting 100 bytes fails");
    ok(sk_sketch_init(m, bytes) == 0 && sk_sketch_valid(m, bytes),
       "formatted and valid");
    ok(!sk_sketch_valid(m, bytes / 2), "not valid for another size");

    a = sk_sketch_key("J19hOXg38kmMjZzEyLKuuD", 22, 0);
    b = sk_sketch_key("J19hOXg38kmMjZzEyLKuuD", 22, 1);
    ok(a != b, "each slice of a track is its own object");
    ok(a == sk_sketch_key("J19hOXg38kmMjZzEyLKuuD", 22, 0), "keys are stable");

    observe(m, a, T0, &in);
    ok(in.count_short == 0 && in.count_long == 0 && in.since_s < 0,
       "first request: nothing counted, never seen");
    observe(m, a, T0 + 10, &in);
    ok(in.count_short == 1 && in.count_long == 1 && in.since_s == 10,
       "second: one before it, 10 s ago");
    for (i = 0; i < 6; i++) {
        observe(m, a, T0 + 20, &in);
    }
    is_int((int) in.count_short, 7, "seven before the eighth");
    observe(m, a, T0 + 20 + 2 * 3600, &in);
    ok(in.count_short <= 8 / 4 + 0.0 && in.count_short >= 8 / 4 - 1,
       "two hours later the 1 h count is about a quarter (%g)",
       in.count_short);
    ok(in.count_long >= 7, "the 1 day count is still there (%g)",
       in.count_long);
    is_int((int) in.since_s, 2 * 3600, "since: two hours");
    observe(m, a, T0 + 20 + 2 * 3600 - 3600, &in);
    ok(in.count_short >= 2, "a request an epoch earlier does not decay");
    observe(m, b, T0 + 5 * 86400, &in);
    ok(in.count_short == 0 && in.since_s < 0,
       "an empty cell counts from any epoch (another slice, days later)");
    observe(m, b, T0 + 5 * 86400 + 1, &in);
    is_int((int) in.count_short, 1, "... and then counts");
    ok(sk_sketch_requests(m) == 12, "12 requests observed");

    /* determinism: the same sequence, the same answers */
    sk_sketch_init(m, bytes);
    sk_sketch_init(m2, bytes);
    srand(3);
    for (i = 0, same = 1; i < 20000; i++) {
        char     id[8];
        int64_t  t = T0 + i * 7;

        snprintf(id, sizeof(id), "t%d", rand() % 500);
        observe(m, sk_sketch_key(id, strlen(id), (uint32_t) (i % 3)), t, &in);
        observe(m2, sk_sketch_key(id, strlen(id), (uint32_t) (i % 3)), t,
                &in2);
        same &= memcmp(&in, &in2, sizeof(in)) == 0;
    }
    ok(same, "two sketches fed the same requests answer the same");

    /* the features */
    ok(sk_feature_plan_init(&plan, names, 9, err, sizeof(err)) == 0,
       "the admission features are known names");
    memset(&u, 0, sizeof(u));
    memset(&tr, 0, sizeof(tr));
    tr.duration_ms = 200000;            /* 4 000 000 bytes at 160 kbps */
    sk_features_raw(&plan, &u, &tr, &ctx, raw);
    ok(raw[0] == plan.mean[0] && raw[7] == plan.mean[7],
       "without admission inputs: the training mean (unknown)");
    memset(&in, 0, sizeof(in));
    in.count_short = 3;
    in.count_long = 7;
    in.since_s = -1;
    in.slice = 2;
    in.slice_bytes = 1048576;
    in.bitrate_kbps = 160;
    in.p_play = 0.25;
    ctx.admit = &in;
    sk_features_raw(&plan, &u, &tr, &ctx, raw);
    is_near(raw[0], log(4), 1e-12, "log(1 + count_short)");
    is_near(raw[1], log(8), 1e-12, "log(1 + count_long)");
    is_near(raw[2], 0, 0, "never seen");
    is_near(raw[3], log1p(30.0 * 86400), 1e-9, "never: 30 days ago");
    is_near(raw[4], 2, 0, "slice index");
    is_near(raw[5], log(1048576), 1e-9, "a full slice's bytes");
    is_near(raw[6], 2 * 1048576 / 4000000.0, 1e-12, "slice start share");
    is_near(raw[7], 0.25, 0, "P(play)");
    is_near(raw[8], 0.75 * 2 * 1048576 / 4000000.0, 1e-12,
            "(1 - P(play)) x share");
    in.slice = 3;
    sk_features_raw(&plan, &u, &tr, &ctx, raw);
    is_near(raw[5], log(4000000.0 - 3 * 1048576), 1e-9,
            "the last slice is the rest of the track");
    free(m);
    free(m2);
    done_testing();
    return 0;
}
