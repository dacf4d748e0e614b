/*
 * skipctl: the ngx_skip toolchain.  This file only dispatches to the
 * subcommands; each one lives in its own src/cmd_<name>.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../core/version.h"

static const sk_command commands[] = {
    { "gen",      cmd_gen,      "generate a Pozytywka-like dataset" },
    { "stats",    cmd_stats,    "count rows, events and shares of a dataset" },
    { "train",    cmd_train,    "fit a model and evaluate it honestly" },
    { "eval",     cmd_eval,     "evaluate a saved model on a dataset" },
    { "predict",  cmd_predict,  "score one (user, track) pair" },
    { "report",   cmd_report,   "write an HTML report with SVG charts" },
    { "features", cmd_features, "load, inspect and gc the Redis feature store" },
    { "abreport", cmd_abreport, "per-arm live accuracy from access log + events" },
    { "replay",   cmd_replay,   "replay held-out sessions through nginx" },
    { "simulate", cmd_simulate, "replay held-out sessions through cache policies" },
    { "admit-train", cmd_admit_train, "train the cache admission model (learned policy)" },
    { NULL, NULL, NULL }
};

void
sk_errorf(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "skipctl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
sk_opt_number(const char *cmd, const char *opt, const char *s, double lo,
    double hi, double *out)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= lo && v <= hi)) {
        sk_errorf(cmd, "%s: expected a number in [%g, %g], got \"%s\"", opt,
                  lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int
sk_opt_size(const char *cmd, const char *opt, const char *s,
    unsigned long long *out)
{
    char                *end;
    unsigned long long   v, mult = 1;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] >= '0' && s[0] <= '9' && errno == 0) {
        switch (*end) {
        case 'k': case 'K': mult = 1024ULL; end++; break;
        case 'm': case 'M': mult = 1024ULL * 1024; end++; break;
        case 'g': case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
        default: break;
        }
        if (*end == '\0' && v <= (1ULL << 50) / mult) {
            *out = v * mult;
            return 0;
        }
    }
    sk_errorf(cmd, "%s: expected a size in bytes with an optional k, m or g "
              "suffix (like 1m or 512k), got \"%s\"", opt, s);
    return -1;
}

static void
usage(FILE *out)
{
    const sk_command *c;

    fprintf(out,
        "usage: skipctl COMMAND [OPTIONS]\n"
        "\n"
        "The ngx_skip toolchain: data, models and the Redis feature store\n"
        "behind the nginx skip module.\n"
        "\n"
        "Commands:\n");
    for (c = commands; c->name; c++) {
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    }
    fprintf(out,
        "\n"
        "Run `skipctl COMMAND --help` for a command's options,\n"
        "`skipctl --version` for the version.\n"
        "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int
main(int argc, char **argv)
{
    const sk_command *c;

    if (argc < 2) {
        usage(stderr);
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0)
    {
        usage(stdout);
        return SK_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("skipctl (ngx_skip) %s\n", SK_VERSION);
        return SK_EXIT_OK;
    }
    for (c = commands; c->name; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            /* argv[0] of the subcommand is its own name, for getopt. */
            return c->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "skipctl: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return SK_EXIT_USAGE;
}
