/* skipctl stats: counts and shares of a dataset, read with the reader. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../data/dsstats.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl stats [--only LIST] [--strict] [--quiet] [--max-line N]\n"
"                     [--no-fast-path] DIR\n"
"\n"
"Read the dataset files in DIR (artists.jsonl, tracks.jsonl, users.jsonl,\n"
"sessions.jsonl, track_storage.jsonl, truth.jsonl; absent ones are noted)\n"
"with the streaming reader and print, on stdout, rows and skipped rows per\n"
"file and the shapes that matter: event counts and shares, sessions,\n"
"skipped share of plays, genre coverage, storage classes, mean P(skip) and\n"
"the Bayes accuracy from truth.jsonl.  Both v2 (objects) and v1 (arrays)\n"
"files are read; bad rows are skipped and counted, and the first few are\n"
"reported on stderr as FILE:LINE: REASON.  Read speed per file goes to\n"
"stderr.\n"
"\n"
"Options:\n"
"  --only LIST     comma-separated files to read: artists, tracks, users,\n"
"                  sessions, storage, truth (default: all)\n"
"  --strict        a bad row is fatal (exit 1)\n"
"  --quiet         do not print FILE:LINE: REASON messages or read speeds\n"
"  --max-line N    longest accepted line in bytes (default 1048576)\n"
"  --no-fast-path  parse every sessions line with cJSON (for comparison)\n"
"  --help          this text\n"
"\n"
"Exit status: 0 success, 1 failure (no dataset files in DIR, unreadable\n"
"file, bad row with --strict), 2 usage.\n");
}

static int
parse_only(const char *s, unsigned *mask)
{
    static const char *const names[SK_N_FILES] = {
        "artists", "tracks", "users", "sessions", "storage", "truth"
    };

    *mask = 0;
    while (*s) {
        size_t len = strcspn(s, ","), k;

        for (k = 0; k < SK_N_FILES; k++) {
            if (strlen(names[k]) == len && strncmp(s, names[k], len) == 0) {
                break;
            }
        }
        if (k == SK_N_FILES) {
            return -1;
        }
        *mask |= 1u << k;
        s += len;
        if (*s == ',') {
            s++;
        }
    }
    return *mask ? 0 : -1;
}

int
cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "only", required_argument, NULL, 'o' },
        { "strict", no_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "max-line", required_argument, NULL, 'm' },
        { "no-fast-path", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sk_read_opts  ro = { .log = stderr };
    sk_ds_stats   st;
    unsigned      only = 0;
    int           c, quiet = 0;
    char          err[1024], *end;
    long          v;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:sqm:nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (parse_only(optarg, &only) < 0) {
                sk_errorf("stats", "--only: unknown file list '%s'", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 's':
            ro.strict = 1;
            break;
        case 'q':
            quiet = 1;
            ro.log = NULL;
            break;
        case 'm':
            v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 64 || v > (1L << 30)) {
                sk_errorf("stats", "--max-line: want 64..2^30: '%s'", optarg);
                return SK_EXIT_USAGE;
            }
            ro.max_line = (size_t) v;
            break;
        case 'n':
            ro.no_fast_path = 1;
            break;
        case 'h':
            usage(stdout);
            return SK_EXIT_OK;
        default:
            usage(stderr);
            return SK_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        sk_errorf("stats", "want exactly one DIR");
        usage(stderr);
        return SK_EXIT_USAGE;
    }
    if (sk_ds_stats_compute(argv[optind], only, &ro, &st, err, sizeof(err))
        < 0)
    {
        sk_errorf("stats", "%s", err);
        return SK_EXIT_FAIL;
    }
    sk_ds_stats_print(&st, stdout);
    if (!quiet) {
        for (int k = 0; k < SK_N_FILES; k++) {
            if (st.present[k] && st.seconds[k] > 0) {
                fprintf(stderr, "skipctl stats: %s: %.1f MB in %.3f s "
                        "(%.0f MB/s)\n", sk_file_name((sk_file_kind) k),
                        st.rs[k].bytes / 1e6, st.seconds[k],
                        st.rs[k].bytes / 1e6 / st.seconds[k]);
            }
        }
    }
    return SK_EXIT_OK;
}
