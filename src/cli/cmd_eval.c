/*
 * skipctl eval: evaluate a saved model on a dataset, the way `skipctl train`
 * evaluates a fresh one (same labels, split and history rules; the model's
 * own standardisation, priors and threshold).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "../train/trainer.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl eval --model FILE.model --data DIR [OPTIONS]\n"
"\n"
"Score the held-out rows of DIR with a saved model (FILE.model and its\n"
"manifest FILE.json) and print the same report as `skipctl train`: the\n"
"classification report, confusion matrix, accuracy, balanced accuracy,\n"
"ROC AUC, log loss, the naive and majority baselines, and the Bayes\n"
"limit when DIR has truth.jsonl.  History features come from the training\n"
"window of the split, as in training.\n"
"\n"
"Options:\n"
"  --model FILE        the .model file (required); \"naive\" for the\n"
"                      built-in genre rule\n"
"  --data DIR          dataset directory (required)\n"
"  --split time|random time (default) or the original's leaky random split\n"
"  --test-fraction F   share held out (default 0.2)\n"
"  --seed N            random split seed (default 42)\n"
"  --without IN        score as a server without input IN would: session\n"
"                      (the session context) or taste; those features then\n"
"                      take their training mean (standardised 0).  Repeatable\n"
"  --json              print JSON\n"
"  --quiet             no progress on stderr\n"
"  --help              this text\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int
cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "data", required_argument, NULL, 'd' },
        { "split", required_argument, NULL, 'S' },
        { "test-fraction", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 'r' },
        { "without", required_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sk_train_opts  o;
    sk_prepared    p;
    sk_model       m;
    sk_evaluation  ev;
    const char    *model = NULL;
    char           err[1024], *end, *txt, title[128];
    int            ch, json = 0, rc = SK_EXIT_FAIL;
    unsigned       without = 0;
    cJSON         *r;

    sk_train_opts_default(&o);
    o.cmd = "eval";
    o.verbose = 1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm': model = optarg; break;
        case 'd': o.data_dir = optarg; break;
        case 'S':
            if (strcmp(optarg, "time") != 0 && strcmp(optarg, "random") != 0) {
                sk_errorf("eval", "--split %s: use time or random", optarg);
                return SK_EXIT_USAGE;
            }
            o.split_random = strcmp(optarg, "random") == 0;
            break;
        case 't':
            o.test_fraction = strtod(optarg, &end);
            if (*end || o.test_fraction <= 0 || o.test_fraction >= 1) {
                sk_errorf("eval", "--test-fraction %s: in (0, 1)", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'r': o.seed = strtoull(optarg, NULL, 10); break;
        case 'w':
            if (strcmp(optarg, "session") == 0) {
                without |= SK_INPUT_SESSION;
            } else if (strcmp(optarg, "taste") == 0) {
                without |= SK_INPUT_TASTE;
            } else {
                sk_errorf("eval", "--without %s: use session or taste",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'q': o.verbose = 0; break;
        case 'h': usage(stdout); return SK_EXIT_OK;
        default: usage(stderr); return SK_EXIT_USAGE;
        }
    }
    if (optind != argc || model == NULL || o.data_dir == NULL) {
        sk_errorf("eval", "need --model FILE and --data DIR (see --help)");
        return SK_EXIT_USAGE;
    }
    /* eval scores through the trainer, which gives taste and session. */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    if (strcmp(model, "naive") == 0) {
        sk_model_naive(&m);
    } else if (sk_model_load(&m, model, err, sizeof(err)) != 0) {
        sk_errorf("eval", "%s", err);
        return SK_EXIT_FAIL;
    }
    o.inputs = m.kind == SK_MODEL_LINEAR ? sk_feature_plan_inputs(&m.plan) : 0;
    o.inputs &= ~without;
    if (sk_prepare(&p, &o, err, sizeof(err)) != 0) {
        sk_errorf("eval", "%s", err);
        goto done;
    }
    if (o.split_random) {
        sk_errorf("eval", "WARNING: --split random leaks the label into the "
                  "skip-rate features");
    }
    /* Test rows only: no leave-one-out needed, the model's priors hold. */
    if (sk_evaluate(&p, &m, &ev, err, sizeof(err)) != 0) {
        sk_errorf("eval", "%s", err);
        goto done;
    }
    if (json) {
        r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "model", m.name);
        cJSON_AddStringToObject(r, "version", m.version);
        cJSON_AddStringToObject(r, "split", o.split_random ? "random" : "time");
        cJSON_AddNumberToObject(r, "test_rows", (double) p.n_test);
        cJSON_AddItemToObject(r, "metrics", sk_metrics_json(&ev.model));
        cJSON_AddItemToObject(r, "naive", sk_metrics_json(&ev.naive));
        cJSON_AddItemToObject(r, "majority", sk_metrics_json(&ev.majority));
        if (isnan(ev.bayes_limit)) {
            cJSON_AddNullToObject(r, "bayes_limit");
        } else {
            cJSON_AddNumberToObject(r, "bayes_limit", ev.bayes_limit);
        }
        txt = cJSON_Print(r);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(r);
    } else {
        printf("model %s@%s on %s: %zu test rows (%s split)\n\n", m.name,
               m.version, o.data_dir, p.n_test,
               o.split_random ? "random, LEAKY" : "time");
        snprintf(title, sizeof(title), "== %s (test rows) ==", m.name);
        sk_metrics_print(stdout, title, &ev.model);
        sk_metrics_print(stdout, "== naive: genre match -> play ==",
                         &ev.naive);
        sk_metrics_print(stdout, ev.majority_label
                         ? "== majority: always play ==" :
                         "== majority: always skip ==", &ev.majority);
        if (!isnan(ev.bayes_limit)) {
            printf("Bayes limit accuracy %.4f (truth.jsonl, %ld test rows)\n",
                   ev.bayes_limit, ev.bayes_rows);
        }
    }
    rc = SK_EXIT_OK;

done:
    sk_prepared_free(&p);
    sk_model_free(&m);
    return rc;
}
