/*
 * skipctl admit-train: train the cache admission model that `skipctl
 * simulate --policies learned` and the module's $skip_admit score with
 * (docs/admission.md).  The work is src/sim/admit_train.c; this file is the
 * command line.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/admit_train.h"
#include "../core/admit_sketch.h"
#include "cli.h"

#define CMD  "admit-train"

static const char usage_text[] =
"usage: skipctl admit-train --data DIR --model SKIP.model --out FILE.model\n"
"                           [options]\n"
"\n"
"Train a cache admission model: for a cache miss, is the object (a track,\n"
"or one slice of it) worth storing?  The label is the ceiling's, relaxed:\n"
"the object is requested again within a reuse distance (bytes of all\n"
"requests) of a few cache sizes, the boundary chosen on the training\n"
"window (--label).  The inputs are what nginx computes\n"
"online: the object's request counts in a count-min sketch decayed with\n"
"half-lives of 1 h and 1 day, the time since its previous request, its\n"
"size and slice index, the track's long-run popularity and skip rate from\n"
"the feature store, this request's P(play) from SKIP.model, and the hour.\n"
"A liblinear logistic regression; the threshold is the one that gives the\n"
"most hits replaying the training window with LRU eviction (nginx's), among\n"
"those that write no more bytes into the cache than TinyLFU does there\n"
"(--any-writes: among all).  The report (stdout, JSON) gives the hits of\n"
"lru, tinylfu, belady and of the labels themselves used as the admission\n"
"on the training window: the last is what a perfect classifier would get\n"
"with LRU eviction.\n"
"\n"
"WINDOWS\n"
"  The training plays of the last --train-tail of the training sessions of\n"
"  the trainer's time split (sessions ranked by start, the last 20 % held\n"
"  out), replayed in request order as `skipctl simulate` replays the\n"
"  held-out ones.  No held-out play is read: evaluate with skipctl\n"
"  simulate --admit-model FILE on the later window.\n"
"\n"
"OPTIONS\n"
"  --data DIR            dataset directory (required)\n"
"  --model FILE          the skip model giving P(play) (required)\n"
"  --out FILE            where to write the model (+ .json manifest)\n"
"  --name NAME           model name in the manifest (default admit)\n"
"  --cache-size P%       cache size the labels are for, a percentage of the\n"
"                        window's unique bytes (default 5%)\n"
"  --cache-objects tracks|slices\n"
"                        what the cache stores (default slices)\n"
"  --slice SIZE          slice size, k/m/g suffixes (default 1m)\n"
"  --bitrate KBPS        track bytes = duration x KBPS / 8 (default 160)\n"
"  --sketch SIZE         frequency sketch bytes: the size of\n"
"                        skip_admit_zone to serve the model (default 32m)\n"
"  --train-tail F        share of the training sessions replayed, the\n"
"                        latest ones (default 0.25)\n"
"  --max-rows N          requests fitted, a hash sample (default 600000)\n"
"  -C C                  liblinear's C (default 1)\n"
"  --any-writes          choose the threshold for hits alone\n"
"  --features LIST       comma-separated feature names (default: the\n"
"                        \"admit\" set, docs/admission.md)\n"
"  --label relaxed|belady|reuse:K\n"
"                        the label (docs/admission.md): reuse:K, \"requested\n"
"                        again within K x the cache size of requested\n"
"                        bytes\" (LRB's relaxed Belady with its boundary at\n"
"                        K x the cache size); relaxed (default): reuse:K\n"
"                        with the K of 0.5, 1, 2, 4, 8 whose labels, used\n"
"                        as the admission, give the most hits on the\n"
"                        window; belady: Belady with bypass keeps the\n"
"                        object until its next request\n"
"  --quiet               no progress on stderr\n"
"  --help                this text\n"
"\n"
"EXIT STATUS\n"
"  0 success; 1 the data or the skip model could not be read, or training\n"
"  failed; 2 usage error.\n"
"\n"
"EXAMPLE\n"
"  skipctl admit-train --data data --model models/default.model \\\n"
"      --cache-size 5% --out models/admit-5.model\n"
"  skipctl simulate --data data --model models/default.model \\\n"
"      --cache-objects slices --cache-size 5% \\\n"
"      --admit-model models/admit-5.model\n";

int
cmd_admit_train(int argc, char **argv)
{
    enum { O_DATA = 256, O_MODEL, O_OUT, O_NAME, O_SIZE, O_OBJECTS, O_SLICE,
           O_RATE, O_SKETCH, O_TAIL, O_ROWS, O_QUIET, O_HELP, O_LABEL,
           O_ANY_WRITES, O_FEATURES };
    static const struct option longopts[] = {
        { "data",          required_argument, NULL, O_DATA },
        { "model",         required_argument, NULL, O_MODEL },
        { "out",           required_argument, NULL, O_OUT },
        { "name",          required_argument, NULL, O_NAME },
        { "cache-size",    required_argument, NULL, O_SIZE },
        { "cache-objects", required_argument, NULL, O_OBJECTS },
        { "slice",         required_argument, NULL, O_SLICE },
        { "bitrate",       required_argument, NULL, O_RATE },
        { "sketch",        required_argument, NULL, O_SKETCH },
        { "train-tail",    required_argument, NULL, O_TAIL },
        { "max-rows",      required_argument, NULL, O_ROWS },
        { "label",         required_argument, NULL, O_LABEL },
        { "any-writes",    no_argument,       NULL, O_ANY_WRITES },
        { "features",      required_argument, NULL, O_FEATURES },
        { "quiet",         no_argument,       NULL, O_QUIET },
        { "help",          no_argument,       NULL, O_HELP },
        { NULL, 0, NULL, 0 }
    };
    sk_admit_train_opts  ao;
    sk_train_opts        to;
    sk_prepared          p;
    sk_model             m;
    const char          *data = NULL, *model = NULL, *out = NULL;
    unsigned long long   bytes;
    cJSON               *report = NULL;
    char                 err[1024], *txt, *end;
    double               v;
    int                  c, slices = 1, quiet = 0, rc = SK_EXIT_FAIL;
    static const char   *feats[SK_MAX_FEATURES];

    sk_admit_train_opts_default(&ao);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hC:", longopts, NULL)) != -1) {
        switch (c) {
        case O_DATA:  data = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_OUT:   out = optarg; break;
        case O_NAME:  ao.name = optarg; break;
        case O_QUIET: quiet = 1; break;
        case O_ANY_WRITES: ao.cap_written = 0; break;
        case O_FEATURES:
            for (end = optarg, ao.n_features = 0; end && *end; ) {
                if (ao.n_features == SK_MAX_FEATURES) {
                    sk_errorf(CMD, "--features: at most %d", SK_MAX_FEATURES);
                    return SK_EXIT_USAGE;
                }
                feats[ao.n_features++] = end;
                end = strchr(end, ',');
                if (end) {
                    *end++ = '\0';
                }
            }
            for (c = 0; c < ao.n_features; c++) {
                if (sk_feature_id(feats[c]) < 0) {
                    sk_errorf(CMD, "--features: unknown feature \"%s\"",
                              feats[c]);
                    return SK_EXIT_USAGE;
                }
            }
            ao.features = feats;
            break;
        case O_SIZE:
            v = strtod(optarg, &end);
            if (end == optarg || strcmp(end, "%") != 0 || !(v > 0 && v <= 100))
            {
                sk_errorf(CMD, "--cache-size %s: expected a percentage of the "
                          "unique bytes in (0, 100], like 5%%", optarg);
                return SK_EXIT_USAGE;
            }
            ao.cache_share = v / 100;
            break;
        case O_OBJECTS:
            if (strcmp(optarg, "slices") != 0 && strcmp(optarg, "tracks") != 0)
            {
                sk_errorf(CMD, "--cache-objects %s: expected tracks or "
                          "slices", optarg);
                return SK_EXIT_USAGE;
            }
            slices = strcmp(optarg, "slices") == 0;
            break;
        case O_SLICE:
            if (sk_opt_size(CMD, "--slice", optarg, &bytes) != 0) {
                return SK_EXIT_USAGE;
            }
            if (bytes == 0) {
                sk_errorf(CMD, "--slice 0: use --cache-objects tracks for "
                          "whole tracks");
                return SK_EXIT_USAGE;
            }
            ao.slice = bytes;
            break;
        case O_SKETCH:
            if (sk_opt_size(CMD, "--sketch", optarg, &bytes) != 0) {
                return SK_EXIT_USAGE;
            }
            if (sk_sketch_width_for((size_t) bytes) == 0) {
                sk_errorf(CMD, "--sketch %s: too small (at least %zu bytes)",
                          optarg, sk_sketch_bytes(SK_SKETCH_MIN_WIDTH));
                return SK_EXIT_USAGE;
            }
            ao.sketch_bytes = (size_t) bytes;
            break;
        case O_RATE:
            if (sk_opt_number(CMD, "--bitrate", optarg, 1, 100000,
                              &ao.bitrate_kbps) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_TAIL:
            if (sk_opt_number(CMD, "--train-tail", optarg, 0.01, 1,
                              &ao.train_tail) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_ROWS:
            if (sk_opt_number(CMD, "--max-rows", optarg, 1000, 1e9, &v) != 0)
            {
                return SK_EXIT_USAGE;
            }
            ao.max_rows = (size_t) v;
            break;
        case O_LABEL:
            if (strcmp(optarg, "belady") == 0) {
                ao.reuse = 0;
            } else if (strcmp(optarg, "relaxed") == 0) {
                ao.reuse = -1;
            } else if (strncmp(optarg, "reuse:", 6) != 0
                       || sk_opt_number(CMD, "--label reuse:K", optarg + 6,
                                        0.01, 10000, &ao.reuse) != 0)
            {
                sk_errorf(CMD, "--label %s: expected relaxed, belady or "
                          "reuse:K",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'C':
            if (sk_opt_number(CMD, "-C", optarg, 1e-6, 1e6, &ao.C) != 0) {
                return SK_EXIT_USAGE;
            }
            break;
        case 'h':
        case O_HELP:
            fputs(usage_text, stdout);
            return SK_EXIT_OK;
        default:
            sk_errorf(CMD, "unknown or incomplete option '%s' (see skipctl "
                      "admit-train --help)", argv[optind - 1]);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        sk_errorf(CMD, "unexpected argument '%s' (see skipctl admit-train "
                  "--help)", argv[optind]);
        return SK_EXIT_USAGE;
    }
    if (data == NULL || model == NULL || out == NULL) {
        sk_errorf(CMD, "%s is required (see skipctl admit-train --help)",
                  data == NULL ? "--data DIR"
                  : model == NULL ? "--model FILE" : "--out FILE");
        return SK_EXIT_USAGE;
    }
    if (!slices) {
        ao.slice = 0;
    }
    ao.verbose = !quiet;

    if (sk_model_load(&m, model, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "--model: %s", err);
        return SK_EXIT_FAIL;
    }
    if (m.target != SK_TARGET_SKIP) {
        sk_errorf(CMD, "--model %s: an admission model; give the skip model "
                  "that scores P(play)", model);
        sk_model_free(&m);
        return SK_EXIT_USAGE;
    }
    sk_model_quiet();
    sk_train_opts_default(&to);
    to.cmd = CMD;
    to.data_dir = data;
    to.verbose = !quiet;
    if (sk_prepare(&p, &to, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "%s", err);
        goto done;
    }
    if (sk_admit_train(&p, &m, &ao, out, &report, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "%s", err);
        goto done;
    }
    txt = cJSON_Print(report);
    if (txt) {
        printf("%s\n", txt);
        free(txt);
    }
    rc = SK_EXIT_OK;

done:
    cJSON_Delete(report);
    sk_prepared_free(&p);
    sk_model_free(&m);
    return rc;
}
