/*
 * skipctl gen: write a Pozytywka-like dataset (see gen.h, gen_skip.c for
 * the hidden skip process).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "../data/dsstats.h"
#include "../gen/gen.h"
#include "../gen/gen_skip.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl gen --out DIR [--seed N] [--scale F] [--process P] [--stats]\n"
"                   [--quiet]\n"
"\n"
"Write a Pozytywka-like dataset in the v2 format of data-format.md into DIR\n"
"(created if missing): artists.jsonl, tracks.jsonl, users.jsonl,\n"
"sessions.jsonl, track_storage.jsonl, and truth.jsonl, the true P(skip)\n"
"of every Play under the generator's hidden skip process (documented in\n"
"src/gen_skip.c), from which evaluation computes the Bayes limit.\n"
"\n"
"The output is byte-identical for the same seed and scale.  Files are\n"
"written as NAME.tmp and renamed when complete.\n"
"\n"
"Options:\n"
"  --out DIR     output directory (required)\n"
"  --seed N      PRNG seed, an unsigned integer (default 1)\n"
"  --scale F     size relative to the original, 0 < F <= 20 (default 1:\n"
"                27,650 artists, 129,648 tracks, 5,000 users, ~140,000\n"
"                sessions, ~4.7 M events; ~830 MB)\n"
"  --process P   the hidden skip process (src/gen/gen_skip.c): v1 (default,\n"
"                the original terms), v2 (v1 plus personal genre and artist\n"
"                affinities, personal hours, session moods and skip runs),\n"
"                none (no signal: P(skip) = 0.4 for every play)\n"
"  --stats       afterwards read the files back and print counts and\n"
"                shares (as `skipctl stats DIR`)\n"
"  --quiet       no progress on stderr\n"
"  --help        this text\n"
"\n"
"Exit status: 0 success, 1 failure (e.g. DIR not writable), 2 usage.\n");
}

int
cmd_gen(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "out", required_argument, NULL, 'o' },
        { "seed", required_argument, NULL, 's' },
        { "scale", required_argument, NULL, 'S' },
        { "stats", no_argument, NULL, 't' },
        { "process", required_argument, NULL, 'P' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sk_gen_opts      o = { .seed = 1, .scale = 1.0, .progress = 1 };
    sk_gen_stats     st;
    const char      *dir = NULL;
    char             err[1024], *end;
    int              c, stats = 0;
    struct timespec  t0, t1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:S:tqhP:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case 's':
            errno = 0;
            o.seed = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-') {
                sk_errorf("gen", "--seed: not an unsigned integer: '%s'",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'S':
            o.scale = strtod(optarg, &end);
            if (*end || end == optarg || !(o.scale > 0 && o.scale <= 20)) {
                sk_errorf("gen", "--scale: want a number in (0, 20]: '%s'",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 't':
            stats = 1;
            break;
        case 'P':
            if (strcmp(optarg, "v1") == 0) {
                o.process = SK_GEN_V1;
            } else if (strcmp(optarg, "v2") == 0) {
                o.process = SK_GEN_V2;
            } else if (strcmp(optarg, "none") == 0) {
                o.process = SK_GEN_NONE;
            } else {
                sk_errorf("gen", "--process: want v1, v2 or none: '%s'",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'q':
            o.progress = 0;
            break;
        case 'h':
            usage(stdout);
            return SK_EXIT_OK;
        default:
            usage(stderr);
            return SK_EXIT_USAGE;
        }
    }
    if (dir == NULL || optind < argc) {
        sk_errorf("gen", dir ? "unexpected argument '%s'" : "--out DIR is required",
                  dir ? argv[optind] : "");
        usage(stderr);
        return SK_EXIT_USAGE;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        sk_errorf("gen", "%s: %s", dir, strerror(errno));
        return SK_EXIT_FAIL;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sk_gen(dir, &o, &st, err, sizeof(err)) < 0) {
        sk_errorf("gen", "%s", err);
        return SK_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (o.progress) {
        double s = (double) (t1.tv_sec - t0.tv_sec)
                   + (t1.tv_nsec - t0.tv_nsec) / 1e9;

        fprintf(stderr, "skipctl gen: %s: %ld artists, %ld tracks, %ld users, "
                "%ld sessions, %ld events, %.1f MB in %.2f s\n", dir,
                st.artists, st.tracks, st.users, st.sessions, st.events,
                st.bytes / 1e6, s);
        if (st.truth > 0) {
            fprintf(stderr, "skipctl gen: process %s: %.1f %% of plays "
                    "skipped in expectation, Bayes limit %.4f over all "
                    "plays (truth.jsonl)\n",
                    o.process == SK_GEN_V2 ? "v2"
                    : o.process == SK_GEN_NONE ? "none" : "v1",
                    100 * st.sum_p_skip / st.truth, st.sum_bayes / st.truth);
        }
    }
    if (stats) {
        sk_ds_stats   ds;
        sk_read_opts  ro = { .log = stderr };

        if (sk_ds_stats_compute(dir, 0, &ro, &ds, err, sizeof(err)) < 0) {
            sk_errorf("gen", "%s", err);
            return SK_EXIT_FAIL;
        }
        sk_ds_stats_print(&ds, stdout);
    }
    return SK_EXIT_OK;
}
