/*
 * Slice traces (src/sim/cachesim_slices.c) on a hand-worked trace: slice
 * objects and their sizes, the slices a full and a skipped listen request,
 * the first slice at least, parents and Belady's next requests, and the
 * learned policy admitting exactly the requests marked in t->admit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cachesim.h"
#include "tap.h"

int
main(void)
{
    sk_trace       w, s;
    sk_sim_config  cfg;
    sk_sim_result  r;
    size_t         i;

    /* A: 25 bytes (3 slices of 10: 10, 10, 5), B: 8 bytes (1 slice) */
    if (sk_trace_init(&w, 4, 2) != 0) {
        printf("Bail out! out of memory\n");
        return 1;
    }
    w.size[0] = 25;
    w.size[1] = 8;
    w.obj[0] = 0; w.flags[0] = SK_SIM_PLAYED;               /* A full */
    w.obj[1] = 0; w.flags[1] = 0; w.listened[1] = 0.5f;     /* A to 12.5 */
    w.obj[2] = 1; w.flags[2] = 0; w.listened[2] = 0.1f;     /* B skipped */
    w.obj[3] = 0; w.flags[3] = 0; w.listened[3] = 0.0f;     /* A at once */
    for (i = 0; i < 4; i++) {
        w.ts_ms[i] = (int64_t) i * 1000;
    }
    sk_trace_finish(&w);

    is_int(sk_trace_slices_requested(&w, 0, 10), 3, "full play: every slice");
    is_int(sk_trace_slices_requested(&w, 1, 10), 2,
           "skip at byte 13: the slice holding it and the one before");
    is_int(sk_trace_slices_requested(&w, 3, 10), 1,
           "skip at once: the first slice still");
    ok(sk_trace_slices(&w, 0, &s) != 0, "slice 0 refused");
    ok(sk_trace_slices(&w, 10, &s) == 0, "slice trace built");
    is_int(s.n_objects, 4, "4 slice objects (3 of A, 1 of B)");
    is_int(s.n, 3 + 2 + 1 + 1, "7 slice requests");
    is_int(s.size[2], 5, "A's last slice is 5 bytes");
    is_int(s.size[3], 8, "B's only slice is 8 bytes");
    is_int(s.obj_track[2], 0, "slice object 2 is of track A");
    is_int(s.obj_slice[2], 2, "... its third slice");
    is_int(s.obj[3], 0, "the second listen starts at A's first slice");
    is_int(s.parent[4], 1, "... and its slices belong to listen 1");
    is_int(s.ts_ms[4], 1000, "... at the listen's time");
    is_int(s.next[0], 3, "A's first slice is next requested by listen 1");
    is_int(s.next[1], 4, "A's second slice too");
    is_int(s.next[2], SK_SIM_NEVER, "A's last slice never again");
    is_int(s.next[3], 6, "A's first slice again by listen 3");
    is_int((int) sk_trace_requested_bytes(&s), 25 + 20 + 8 + 10,
           "bytes requested: whole slices");

    /* learned: admit only what t->admit marks */
    sk_sim_config_default(&cfg);
    cfg.capacity = 100;
    ok(sk_simulate(&s, SK_POL_LEARNED, &cfg, &r) == 0, "learned, no marks");
    is_int((int) r.admissions, 0, "without decisions nothing is stored");
    sk_trace_admit_alloc(&s);
    s.admit[0] = 1;     /* A's first slice at listen 0 */
    ok(sk_simulate(&s, SK_POL_LEARNED, &cfg, &r) == 0, "learned");
    is_int((int) r.admissions, 1, "one admission");
    is_int((int) r.hits, 2, "A's first slice hit by listens 1 and 3");
    is_int((int) r.written_bytes, 10, "10 bytes written");
    ok(sk_policy_parse("learned", 7) == SK_POL_LEARNED, "policy name");

    sk_trace_free(&s);
    sk_trace_free(&w);
    done_testing();
    return 0;
}
