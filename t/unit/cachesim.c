/*
 * The cache simulator (src/sim/cachesim*.c) on hand-made request sequences with
 * known answers: LRU eviction order, min-uses admission and its inactive
 * window, TinyLFU refusing a one-hit wonder, Belady evicting the farthest
 * and bypassing what is never reused, the two skip modes, objects larger
 * than the cache, byte accounting, and invariants on random traces (Belady
 * never below any other policy with equal sizes, where it is optimal).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cachesim.h"
#include "tap.h"

/*
 * A trace from a string: one letter per request ('A' = object 0 ...).
 * flags, one letter per request (NULL: all 'p'):
 *   p  model says play, listener played     s  model skip, listener skipped
 *   x  model says play, listener skipped    y  model skip, listener played
 * sizes per object (NULL: all 10 bytes); ts per request (NULL: i * 1000).
 */
static void
make_trace(sk_trace *t, const char *reqs, const char *flags,
    const uint64_t *sizes, const int64_t *ts)
{
    size_t    n = strlen(reqs), i;
    uint32_t  nobj = 0;

    for (i = 0; i < n; i++) {
        if ((uint32_t) (reqs[i] - 'A') + 1 > nobj) {
            nobj = (uint32_t) (reqs[i] - 'A') + 1;
        }
    }
    if (sk_trace_init(t, n, nobj) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
    for (i = 0; i < nobj; i++) {
        t->size[i] = sizes ? sizes[i] : 10;
    }
    for (i = 0; i < n; i++) {
        char f = flags ? flags[i] : 'p';

        t->obj[i] = (uint32_t) (reqs[i] - 'A');
        t->ts_ms[i] = ts ? ts[i] : (int64_t) i * 1000;
        t->flags[i] = (uint8_t) ((f == 'p' || f == 'x' ? SK_SIM_PREDICT_PLAY
                                  : 0)
                                 | (f == 'p' || f == 'y' ? SK_SIM_PLAYED : 0));
    }
    if (sk_trace_finish(t) != 0) {
        printf("Bail out! out of memory\n");
        exit(1);
    }
}

static sk_sim_config
config(uint64_t capacity)
{
    sk_sim_config c;

    sk_sim_config_default(&c);
    c.capacity = capacity;
    return c;
}

/*
 * Run every request, writing one letter per request into out:
 * H hit, S stored, N not stored.  Also checks used <= capacity throughout.
 * Returns the result; *cached gets the cached objects as letters.
 */
static sk_sim_result
run(const sk_trace *t, sk_policy p, const sk_sim_config *cfg, char *out,
    char *cached)
{
    static const char letter[] = "HSN";
    sk_cachesim      *c = sk_cachesim_new(t, p, cfg);
    sk_sim_result     r;
    int               rc, over = 0;
    size_t            k = 0;
    uint32_t          o;

    memset(&r, 0, sizeof(r));
    if (c == NULL) {
        printf("Bail out! sk_cachesim_new\n");
        exit(1);
    }
    while ((rc = sk_cachesim_step(c)) >= 0) {
        out[k++] = letter[rc];
        over |= sk_cachesim_used(c) > cfg->capacity;
    }
    out[k] = '\0';
    k = 0;
    for (o = 0; o < t->n_objects; o++) {
        if (sk_cachesim_cached(c, o)) {
            cached[k++] = (char) ('A' + o);
        }
    }
    cached[k] = '\0';
    if (over) {
        ok(0, "%s: used bytes exceeded the capacity", sk_policy_name(p));
    }
    r = *sk_cachesim_result(c);
    sk_cachesim_free(c);
    return r;
}

/* Outcomes and final contents of one policy on one trace. */
static void
expect(const char *what, const sk_trace *t, sk_policy p,
    const sk_sim_config *cfg, const char *want, const char *want_cached)
{
    char          got[256], cached[64];

    run(t, p, cfg, got, cached);
    is_str(got, want, "%s: %s outcomes", sk_policy_name(p), what);
    if (want_cached) {
        is_str(cached, want_cached, "%s: %s cache holds", sk_policy_name(p),
               what);
    }
}

static void
test_trace(void)
{
    sk_trace        t;
    const uint64_t  sizes[] = { 10, 20, 30 };

    make_trace(&t, "ABACAB", NULL, sizes, NULL);
    is_int(t.next[0], 2, "next: A at 0 -> 2");
    is_int(t.next[2], 4, "next: A at 2 -> 4");
    is_int(t.next[4], SK_SIM_NEVER, "next: last A -> never");
    is_int(t.next[1], 5, "next: B at 1 -> 5");
    is_int(t.next[3], SK_SIM_NEVER, "next: C once -> never");
    is_int(sk_trace_unique_bytes(&t), 60, "unique bytes 10 + 20 + 30");
    is_int(sk_trace_requested_bytes(&t), 30 + 40 + 30,
           "requested bytes 3 A + 2 B + 1 C");
    sk_trace_free(&t);
}

static void
test_names(void)
{
    int p, round = 1;

    for (p = 0; p < SK_N_POLICIES; p++) {
        const char *n = sk_policy_name((sk_policy) p);

        round &= sk_policy_parse(n, strlen(n)) == p;
    }
    ok(round, "every policy name parses back to itself");
    is_int(sk_policy_parse("nope", 4), -1, "unknown policy name: -1");
    is_int(sk_policy_parse("lru,", 3), SK_POL_LRU, "parse takes a length");
    is_str(sk_policy_name(SK_POL_MIN_USES), "min-uses-2", "min-uses-2 name");
}

static void
test_lru(void)
{
    sk_trace       t;
    sk_sim_config  cfg = config(30);        /* three objects of 10 */
    sk_sim_result  r;
    char           out[64], cached[16];

    /* A B C fill; A is touched, so D evicts B, then B evicts C, C evicts
     * A, A evicts D: always the least recently used. */
    make_trace(&t, "ABCADBCA", NULL, NULL, NULL);
    r = run(&t, SK_POL_LRU, &cfg, out, cached);
    is_str(out, "SSSHSSSS", "lru: eviction order");
    is_str(cached, "ABC", "lru: A, B, C cached at the end");
    is_int(r.requests, 8, "lru: requests");
    is_int(r.hits, 1, "lru: hits");
    is_int(r.evictions, 4, "lru: evictions");
    is_int(r.written_bytes, 70, "lru: written bytes = 7 stores x 10");
    is_int(r.origin_bytes, 70, "lru: origin bytes = 7 misses x 10");
    sk_trace_free(&t);
}

static void
test_bytes(void)
{
    sk_trace        t;
    const uint64_t  sizes[] = { 10, 20, 40 };
    sk_sim_config   cfg = config(60);
    sk_sim_result   r;
    char            out[64], cached[16];

    /* C (40) needs two evictions' room when A and B are in: both go. */
    make_trace(&t, "ABABCAB", NULL, sizes, NULL);
    r = run(&t, SK_POL_LRU, &cfg, out, cached);
    is_str(out, "SSHHSSS", "bytes: C pushes A out, A then B out C");
    is_int(r.bytes, 10 + 20 + 10 + 20 + 40 + 10 + 20, "bytes requested");
    is_int(r.hit_bytes, 30, "bytes served from the cache");
    is_int(r.origin_bytes, r.bytes - r.hit_bytes, "origin = requested - hit");
    is_int(r.written_bytes, 10 + 20 + 40 + 10 + 20, "bytes written");
    is_int(r.evictions, 3, "three evictions");
    is_str(cached, "AB", "A and B cached at the end");
    sk_trace_free(&t);
}

static void
test_min_uses(void)
{
    sk_trace       t;
    sk_sim_config  cfg = config(1000);
    const int64_t  ts[] = { 0, 50, 60, 1000, 1200, 1250 };
    const int64_t  ts2[] = { 0, 1, 2, 3, 4, 5 };

    cfg.inactive_ms = 100;
    /* A: 2nd use 50 ms later is stored, 3rd hits.  B: 2nd use 200 ms later
     * starts a new count, 3rd (50 ms after the 2nd) is stored. */
    make_trace(&t, "AAABBB", NULL, NULL, ts);
    expect("second use within inactive", &t, SK_POL_MIN_USES, &cfg, "NSHNNS",
           "AB");
    sk_trace_free(&t);

    /* Room for one object: D evicts C, and C's count restarts. */
    cfg = config(10);
    make_trace(&t, "CCDDCC", NULL, NULL, ts2);
    expect("count restarts after eviction", &t, SK_POL_MIN_USES, &cfg,
           "NSNSNS", "C");
    sk_trace_free(&t);
}

static void
test_tinylfu(void)
{
    sk_trace       t;
    sk_sim_config  cfg = config(20);        /* two objects of 10 */

    /* A and B are hot; the one-hit wonder C is refused, A and B stay. */
    make_trace(&t, "AAABBBCAB", NULL, NULL, NULL);
    expect("one-hit wonder", &t, SK_POL_TINYLFU, &cfg, "SHHSHHNHH", "AB");
    expect("one-hit wonder (lru for contrast)", &t, SK_POL_LRU, &cfg,
           "SHHSHHSSS", "AB");
    sk_trace_free(&t);

    /* C becomes more frequent than A (the LRU victim) on its 4th request:
     * ties keep the incumbent. */
    make_trace(&t, "AAABBBCCCCC", NULL, NULL, NULL);
    expect("newcomer admitted once more frequent", &t, SK_POL_TINYLFU, &cfg,
           "SHHSHHNNNSH", "BC");
    sk_trace_free(&t);
}

static void
test_belady(void)
{
    sk_trace       t;
    sk_sim_config  cfg = config(20);        /* two objects of 10 */

    /* At C: A is next needed at 5, B at 3, C at 4: A (farthest) goes.
     * The last A is never needed again: bypassed. */
    make_trace(&t, "ABCBCA", NULL, NULL, NULL);
    expect("evicts the farthest", &t, SK_POL_BELADY, &cfg, "SSSHHN", "BC");
    sk_trace_free(&t);

    /* At C every cached object is needed before C: C is bypassed, twice
     * (the second time it is never needed again).  LRU gets no hit. */
    make_trace(&t, "ABCABC", NULL, NULL, NULL);
    expect("bypasses when the cached are needed sooner", &t, SK_POL_BELADY,
           &cfg, "SSNHHN", "AB");
    expect("same trace", &t, SK_POL_LRU, &cfg, "SSSSSS", NULL);
    sk_trace_free(&t);

    /* An object never requested again is not stored even with room. */
    cfg = config(1000);
    make_trace(&t, "ABA", NULL, NULL, NULL);
    expect("never reused", &t, SK_POL_BELADY, &cfg, "SNH", "A");
    sk_trace_free(&t);
}

static void
test_skip(void)
{
    sk_trace       t;
    sk_sim_config  cfg = config(1000);
    sk_sim_result  r;
    char           out[64], cached[16];

    /* A stored on "play"; the "skip" request for cached A: bypass misses
     * (and does not refresh), no-cache hits.  B on "skip" is not stored. */
    make_trace(&t, "AAABB", "pspsp", NULL, NULL);
    r = run(&t, SK_POL_SKIP, &cfg, out, cached);
    is_str(out, "SNHNS", "skip (bypass + no_cache): outcomes");
    is_int(r.skip_decisions, 2, "skip: two skip decisions");
    is_int(r.not_stored, 2, "skip: two requests kept off the cache");
    expect("no_cache only", &t, SK_POL_SKIP_NOCACHE, &cfg, "SHHNS", "AB");
    expect("lru ignores the decision", &t, SK_POL_LRU, &cfg, "SHHSH", "AB");
    sk_trace_free(&t);

    /* The oracle follows the outcome, the model its prediction. */
    make_trace(&t, "ABAB", "xyxy", NULL, NULL);
    expect("model: x stored, y bypassed", &t, SK_POL_SKIP, &cfg, "SNHN", "A");
    expect("truth: x bypassed, y stored", &t, SK_POL_ORACLE_SKIP, &cfg,
           "NSNH", "B");
    expect("truth, no_cache only", &t, SK_POL_ORACLE_NOCACHE, &cfg, "NSNH",
           "B");
    sk_trace_free(&t);

    /* The oracle's no_cache mode still serves a cached track on "skip". */
    make_trace(&t, "AA", "px", NULL, NULL);
    expect("truth, bypass", &t, SK_POL_ORACLE_SKIP, &cfg, "SN", "A");
    expect("truth, no_cache: hit", &t, SK_POL_ORACLE_NOCACHE, &cfg, "SH",
           "A");
    sk_trace_free(&t);

    /* skip+tinylfu: a "skip" miss is not stored, a cached track still hits
     * on "skip", "play" misses go through TinyLFU. */
    cfg = config(20);
    make_trace(&t, "CAAABBBAC", "spppppsps", NULL, NULL);
    expect("skip+tinylfu", &t, SK_POL_SKIP_TINYLFU, &cfg, "NSHHSHHHN", "AB");
    sk_trace_free(&t);

    /* skip+min-uses-2: every request counts a use, "skip" stores nothing,
     * a "play" miss is stored from its 2nd use on (C: skip, then play). */
    make_trace(&t, "AAABBCC", "pppsssp", NULL, NULL);
    expect("skip+min-uses-2", &t, SK_POL_SKIP_MIN_USES, &cfg, "NSHNNNS",
           "AC");
    sk_trace_free(&t);
}

static void
test_too_large(void)
{
    sk_trace        t;
    const uint64_t  sizes[] = { 10, 50 };
    sk_sim_config   cfg = config(30);
    sk_sim_result   r;
    char            out[64], cached[16];
    int             p;

    /* B (50 bytes) never fits a 30-byte cache and must not evict A. */
    make_trace(&t, "ABABAB", NULL, sizes, NULL);
    for (p = 0; p < SK_N_POLICIES; p++) {
        r = run(&t, (sk_policy) p, &cfg, out, cached);
        ok(strchr(cached, 'B') == NULL && r.too_large == 3,
           "%s: an object larger than the cache is never stored (%s)",
           sk_policy_name((sk_policy) p), out);
        ok(r.evictions == 0, "%s: ... and evicts nothing",
           sk_policy_name((sk_policy) p));
    }
    sk_trace_free(&t);
}

/* Invariants of every policy on random traces with random sizes, and
 * Belady on top of every other with equal sizes. */
static void
test_random(void)
{
    unsigned  seed = 7;
    int       round, p, acc_ok = 1, belady_ok = 1;
    char      reqs[401], flags[401], out[401], cached[40];
    uint64_t  sizes[26];

    for (round = 0; round < 200; round++) {
        sk_trace       t;
        sk_sim_config  cfg;
        sk_sim_result  r[SK_N_POLICIES];
        int            equal = round % 2 == 0, k;
        uint64_t       sum_written = 0;

        for (k = 0; k < 400; k++) {
            /* skewed popularity: low letters are requested more */
            int a = rand_r(&seed) % 26, b = rand_r(&seed) % 26;

            reqs[k] = (char) ('A' + (a < b ? a : b));
            flags[k] = "psxy"[rand_r(&seed) % 4];
        }
        reqs[400] = flags[400] = '\0';
        for (k = 0; k < 26; k++) {
            sizes[k] = equal ? 10 : 1 + rand_r(&seed) % 40;
        }
        make_trace(&t, reqs, flags, sizes, NULL);
        cfg = config(equal ? 10 * (1 + rand_r(&seed) % 12)
                           : 20 + rand_r(&seed) % 200);
        cfg.inactive_ms = 1000 * (1 + rand_r(&seed) % 50);
        for (p = 0; p < SK_N_POLICIES; p++) {
            r[p] = run(&t, (sk_policy) p, &cfg, out, cached);
            sum_written = 0;
            for (k = 0; out[k]; k++) {
                sum_written += out[k] == 'S' ? sizes[reqs[k] - 'A'] : 0;
            }
            acc_ok &= r[p].requests == 400
                      && r[p].hits + r[p].admissions + r[p].not_stored == 400
                      && r[p].origin_bytes == r[p].bytes - r[p].hit_bytes
                      && r[p].written_bytes == sum_written
                      && r[p].evictions <= r[p].admissions;
        }
        for (p = 0; equal && p < SK_N_POLICIES; p++) {
            if (r[SK_POL_BELADY].hits < r[p].hits) {
                belady_ok = 0;
                diag("round %d: belady %llu hits < %s %llu", round,
                     (unsigned long long) r[SK_POL_BELADY].hits,
                     sk_policy_name((sk_policy) p),
                     (unsigned long long) r[p].hits);
            }
        }
        sk_trace_free(&t);
    }
    ok(acc_ok, "200 random traces: hits + stored + not stored = requests, "
       "origin = requested - hit, written = sizes stored");
    ok(belady_ok, "equal sizes: belady has at least every policy's hits");
}

static void
test_prefetch(void)
{
    sk_trace            t;
    const uint64_t      sizes[] = { 100, 200 };
    sk_prefetch_result  r;

    /* A played (model right), B skipped at 25 % (model said play),
     * A skipped at 50 % (model right), B played (model said skip). */
    make_trace(&t, "ABAB", "pxsy", sizes, NULL);
    t.listened[1] = 0.25f;
    t.listened[2] = 0.5f;
    sk_prefetch_eval(&t, SK_PF_ALWAYS, &r);
    is_near(r.fetched_bytes, 600, 1e-6, "always: fetches every byte");
    is_near(r.wasted_bytes, 150 + 50, 1e-6, "always: wastes 75 %% of B, "
            "50 %% of A");
    is_int(r.plays_prefetched, 2, "always: both plays prefetched");
    sk_prefetch_eval(&t, SK_PF_MODEL, &r);
    is_near(r.wasted_bytes, 150, 1e-6, "model: wastes what it got wrong");
    is_int(r.plays_prefetched, 1, "model: one play prefetched");
    is_int(r.skips_prefetched, 1, "model: one skip prefetched");
    is_near(r.fetched_bytes, 100 + 200 + 50 + 200, 1e-6,
            "model: streams the rest");
    sk_prefetch_eval(&t, SK_PF_ORACLE, &r);
    is_near(r.wasted_bytes, 0, 1e-9, "oracle: wastes nothing");
    is_int(r.plays_prefetched, 2, "oracle: every play prefetched");
    sk_prefetch_eval(&t, SK_PF_NEVER, &r);
    is_near(r.fetched_bytes, r.listened_bytes, 1e-6,
            "stream-only: fetches what is listened");
    is_int(r.plays_prefetched, 0, "stream-only: nothing prefetched");
    sk_trace_free(&t);
}

int
main(void)
{
    test_trace();
    test_names();
    test_lru();
    test_bytes();
    test_min_uses();
    test_tinylfu();
    test_belady();
    test_skip();
    test_too_large();
    test_random();
    test_prefetch();
    return done_testing();
}
