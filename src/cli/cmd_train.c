/*
 * skipctl train: fit a model on a dataset and evaluate it honestly
 * (docs/model.md).  The pipeline is in trainer.c; this file is the command
 * line, the report and the model files.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "../train/manifest.h"
#include "../train/trainer.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl train --data DIR [OPTIONS]\n"
"\n"
"Fit a skip model on the dataset in DIR (artists, tracks, users,\n"
"track_storage, sessions .jsonl), evaluate it on held-out sessions, and\n"
"write MODEL_DIR/NAME.model (liblinear format) and MODEL_DIR/NAME.json\n"
"(the manifest the nginx module loads).  The report goes to stdout,\n"
"progress to stderr.\n"
"\n"
"Labels: Play and Skip events; for one (session, track) a Skip beside a\n"
"Play means skipped; play = 1, skip = 0.\n"
"\n"
"Options:\n"
"  --data DIR          dataset directory (required)\n"
"  --name NAME         model name and file name (default: model)\n"
"  --model-dir DIR     where to write NAME.model/NAME.json (default: models)\n"
"  --no-save           evaluate only, write no files\n"
"  --features SET      seed (the original's 62 inputs), full (default),\n"
"                      taste (full + the listener's own genre, artist and\n"
"                      hour history), taste+session (+ the session's\n"
"                      earlier outcomes), full+session, or a comma-separated\n"
"                      list of feature and set names.  taste and session\n"
"                      models are not servable by the module yet\n"
"                      (docs/taste-features.md)\n"
"  --solver S          lr: logistic regression, P(play) (default);\n"
"                      svm: L2-loss linear SVM (the original's LinearSVC)\n"
"  --c C|auto          regularisation; auto (default) picks from\n"
"                      0.001..10 on the last fifth of the training window\n"
"  --balanced          class weights n / (2 * count(class)) as scikit-learn's\n"
"                      class_weight='balanced'\n"
"  --split time|random time (default): earlier sessions train, later ones\n"
"                      test, history features from the training window only.\n"
"                      random: the original's method; it LEAKS the label\n"
"                      into the skip-rate features (printed as a warning)\n"
"  --test-fraction F   share of sessions (time) or rows (random) held out\n"
"                      (default 0.2)\n"
"  --seed N            random split and sub-sampling seed (default 42)\n"
"  --threshold T       P(play) >= T means play (default 0.5)\n"
"  --user-weight W     pseudo-count smoothing user rates (default 20)\n"
"  --track-weight W    pseudo-count smoothing track rates (default 10)\n"
"  --history-folds K   training rows see the history of the other K-1\n"
"                      folds of training sessions, never their own label\n"
"                      (default 5 for the time split; 0 = in-sample counts,\n"
"                      the original's way, default for the random split)\n"
"  --eps E             liblinear stopping tolerance (default 0.01)\n"
"  --max-rows N        training-row budget: fit on a uniform sample (reservoir\n"
"                      sampling) of N training rows when there are more;\n"
"                      history counts still use every training row (default\n"
"                      1000000, about half of them at --scale 1; 0 = all).\n"
"                      Reported as rows_used / max_rows\n"
"  --no-floor          keep the fitted model even when it does not beat the\n"
"                      majority class on the validation slice (by default it\n"
"                      then becomes the majority class: see docs/model.md)\n"
"  --json              print the report as JSON\n"
"  --export-csv FILE   also write every row's raw features as CSV\n"
"                      (split,label,features...; bench/parity.sh uses it)\n"
"  --quiet             no progress on stderr\n"
"  --help              this text\n"
"\n"
"Exit status: 0 success, 1 failure (bad data, I/O), 2 usage error.\n");
}

typedef struct {
    const char  *name;
    const char  *model_dir;
    const char  *features;
    const char  *export_csv;
    int          json;
    int          save;
} sk_train_cli;

static int
parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return (*s == '\0' || *end != '\0' || errno || !isfinite(*out)) ? -1 : 0;
}

/*
 * Names of a set, or a comma-separated list split in place whose items are
 * feature names or set names ("seed,night" = the seed set plus night).
 */
static const char *const *
feature_names(char *spec, int *n, const char **set, const char *list[])
{
    const char *const *names = sk_feature_set(spec, n);
    char              *tok, *save = NULL;
    int                k, m;

    if (names) {
        *set = spec;
        return names;
    }
    *set = "custom";
    *n = 0;
    for (tok = strtok_r(spec, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
    {
        names = sk_feature_set(tok, &m);
        if (names == NULL) {
            names = (const char *const *) &tok;
            m = 1;
        }
        for (k = 0; k < m && *n < SK_MAX_FEATURES; k++) {
            list[(*n)++] = names[k];
        }
    }
    return list;
}

static void
print_summary_line(FILE *out, const char *name, const sk_metrics *m)
{
    fprintf(out, "  %-10s accuracy %.4f  balanced %.4f", name, m->accuracy,
            m->balanced_accuracy);
    if (!isnan(m->auc)) {
        fprintf(out, "  AUC %.4f", m->auc);
    }
    if (!isnan(m->log_loss)) {
        fprintf(out, "  log loss %.4f", m->log_loss);
    }
    fputc('\n', out);
}

static cJSON *
report_json(const sk_train_opts *o, const sk_prepared *p,
    const sk_feature_plan *plan, const char *set, const sk_fit_info *fi,
    const sk_evaluation *ev, double seconds)
{
    cJSON *r = cJSON_CreateObject(), *d, *c, *a;
    int    i;

    cJSON_AddStringToObject(r, "feature_set", set);
    cJSON_AddNumberToObject(r, "n_features", plan->n);
    cJSON_AddStringToObject(r, "solver", sk_solver_name(o->solver));
    cJSON_AddNumberToObject(r, "C", fi->C);
    a = cJSON_AddArrayToObject(r, "c_search");
    for (i = 0; i < fi->n_c; i++) {
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "C", fi->c_tried[i]);
        cJSON_AddNumberToObject(c, "validation", fi->c_score[i]);
        cJSON_AddItemToArray(a, c);
    }
    cJSON_AddBoolToObject(r, "balanced", o->balanced);
    cJSON_AddStringToObject(r, "split", o->split_random ? "random" : "time");
    cJSON_AddBoolToObject(r, "leaky", o->split_random);
    cJSON_AddNumberToObject(r, "history_folds", p->folds);
    cJSON_AddNumberToObject(r, "test_fraction", o->test_fraction);
    d = cJSON_AddObjectToObject(r, "data");
    cJSON_AddStringToObject(d, "dir", o->data_dir);
    cJSON_AddStringToObject(d, "rows_hash", p->rows_hash);
    cJSON_AddNumberToObject(d, "session_lines", (double) p->sessions.lines);
    cJSON_AddNumberToObject(d, "session_rows_skipped",
                            (double) p->sessions.skipped_total);
    cJSON_AddNumberToObject(d, "sessions", (double) p->n_sessions);
    cJSON_AddNumberToObject(d, "train_sessions",
                            (double) p->n_train_sessions);
    cJSON_AddNumberToObject(d, "labelled_plays", (double) p->labels.n);
    cJSON_AddNumberToObject(d, "train_rows", (double) p->n_train);
    cJSON_AddNumberToObject(d, "test_rows", (double) p->n_test);
    cJSON_AddNumberToObject(d, "train_play_rate", p->train_play_rate);
    cJSON_AddNumberToObject(d, "max_rows", (double) fi->max_rows);
    cJSON_AddNumberToObject(d, "rows_used", (double) fi->rows_used);
    cJSON_AddNumberToObject(d, "users", (double) p->ds.n_users);
    cJSON_AddNumberToObject(d, "tracks", (double) p->ds.n_tracks);
    cJSON_AddNumberToObject(d, "dropped_unknown_user",
                            (double) p->labels.unknown_user);
    cJSON_AddNumberToObject(d, "dropped_unknown_track",
                            (double) p->labels.unknown_track);
    if (p->cut_ms != INT64_MAX) {
        cJSON_AddNumberToObject(d, "test_from_ms", (double) p->cut_ms);
    }
    c = cJSON_AddObjectToObject(r, "floor");
    cJSON_AddBoolToObject(c, "enabled", o->floor);
    cJSON_AddBoolToObject(c, "applied", fi->floor_applied);
    cJSON_AddNumberToObject(c, "validation_rows", (double) fi->val_rows);
    cJSON_AddNumberToObject(c, "validation_model", fi->val_model);
    cJSON_AddNumberToObject(c, "validation_majority", fi->val_majority);
    cJSON_AddNumberToObject(c, "margin", fi->val_margin);
    cJSON_AddItemToObject(r, "model", sk_metrics_json(&ev->model));
    cJSON_AddItemToObject(r, "naive", sk_metrics_json(&ev->naive));
    cJSON_AddItemToObject(r, "majority", sk_metrics_json(&ev->majority));
    cJSON_AddNumberToObject(r, "majority_label", ev->majority_label);
    if (!isnan(ev->bayes_limit)) {
        cJSON_AddNumberToObject(r, "bayes_limit", ev->bayes_limit);
        cJSON_AddNumberToObject(r, "bayes_log_loss", ev->bayes_logloss);
        cJSON_AddNumberToObject(r, "bayes_rows", (double) ev->bayes_rows);
    } else {
        cJSON_AddNullToObject(r, "bayes_limit");
    }
    cJSON_AddNumberToObject(r, "fit_seconds", fi->fit_seconds);
    cJSON_AddNumberToObject(r, "seconds", seconds);
    return r;
}

static void
report_text(FILE *out, const sk_train_opts *o, const sk_prepared *p,
    const sk_feature_plan *plan, const char *set, const sk_fit_info *fi,
    const sk_evaluation *ev, const char *name)
{
    char title[256];

    if (o->split_random) {
        fprintf(out, "WARNING: --split random reproduces the original method: "
                "skip rates are computed over all rows, test rows included, "
                "so the label leaks into the features and these figures are "
                "optimistic.\n\n");
    }
    fprintf(out, "model %s: features %s (%d), %s, C=%g%s, threshold %g\n",
            name, set, plan->n, sk_solver_name(o->solver), fi->C,
            o->balanced ? ", balanced class weights" : "", o->threshold);
    fprintf(out, "data %s: %zu labelled plays in %zu sessions (rows hash %s)\n",
            o->data_dir, p->labels.n, p->n_sessions, p->rows_hash);
    fprintf(out, "split %s: %zu train rows, %zu test rows; training rows "
            "use %s history\n", o->split_random ? "random (LEAKY)" : "time",
            p->n_train, p->n_test, p->folds > 0 ? "out-of-fold" : "in-sample");
    if (fi->rows_used < fi->rows_available) {
        fprintf(out, "row budget: fitted on a uniform sample of %zu of the "
                "%zu training rows (--max-rows %zu)\n", fi->rows_used,
                fi->rows_available, fi->max_rows);
    } else {
        fprintf(out, "row budget: fitted on all %zu training rows\n",
                fi->rows_used);
    }
    if (fi->floor_applied) {
        fprintf(out, "FLOOR: on the validation slice (%zu rows) the fitted "
                "model scored %.4f, the majority class %.4f: not better by "
                "more than %.4f, so this model is the majority class "
                "(always %s)\n", fi->val_rows, fi->val_model,
                fi->val_majority, fi->val_margin,
                fi->majority_label ? "play" : "skip");
    } else if (o->floor) {
        fprintf(out, "floor: validation %.4f vs majority %.4f (%zu rows): "
                "the model beats the majority class\n", fi->val_model,
                fi->val_majority, fi->val_rows);
    }
    fputc('\n', out);
    snprintf(title, sizeof(title), "== %s (test rows) ==", name);
    sk_metrics_print(out, title, &ev->model);
    sk_metrics_print(out, "== naive: genre match -> play (test rows) ==",
                     &ev->naive);
    snprintf(title, sizeof(title), "== majority: always %s (test rows) ==",
             ev->majority_label ? "play" : "skip");
    sk_metrics_print(out, title, &ev->majority);
    fprintf(out, "summary (test rows)\n");
    print_summary_line(out, name, &ev->model);
    print_summary_line(out, "naive", &ev->naive);
    print_summary_line(out, "majority", &ev->majority);
    if (!isnan(ev->bayes_limit)) {
        fprintf(out, "  %-10s accuracy %.4f  log loss %.4f  (truth.jsonl, "
                "%ld test rows)\n", "Bayes", ev->bayes_limit,
                ev->bayes_logloss, ev->bayes_rows);
    }
}

int
cmd_train(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'd' },
        { "name", required_argument, NULL, 'n' },
        { "model-dir", required_argument, NULL, 'o' },
        { "no-save", no_argument, NULL, 'N' },
        { "features", required_argument, NULL, 'f' },
        { "solver", required_argument, NULL, 's' },
        { "c", required_argument, NULL, 'c' },
        { "balanced", no_argument, NULL, 'b' },
        { "split", required_argument, NULL, 'S' },
        { "test-fraction", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 'r' },
        { "threshold", required_argument, NULL, 'T' },
        { "user-weight", required_argument, NULL, 'u' },
        { "track-weight", required_argument, NULL, 'k' },
        { "history-folds", required_argument, NULL, 'L' },
        { "eps", required_argument, NULL, 'e' },
        { "max-rows", required_argument, NULL, 'M' },
        { "no-floor", no_argument, NULL, 'F' },
        { "json", no_argument, NULL, 'j' },
        { "export-csv", required_argument, NULL, 'x' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sk_train_opts       o;
    sk_train_cli        cli = { "model", "models", "full", NULL, 0, 1 };
    sk_prepared         p;
    sk_feature_plan     plan;
    sk_fit_info         fi;
    sk_evaluation       ev;
    sk_model            m, back;
    sk_manifest_info    info;
    struct model       *lin = NULL;
    const char *const  *names;
    const char         *list[SK_MAX_FEATURES], *set = "full";
    char                err[1024], spec[4096], path[4096], *txt;
    int                 ch, n, rc = SK_EXIT_FAIL;
    double              t0 = sk_now(), d;
    cJSON              *report;

    sk_train_opts_default(&o);
    o.verbose = 1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd': o.data_dir = optarg; break;
        case 'n': cli.name = optarg; break;
        case 'o': cli.model_dir = optarg; break;
        case 'N': cli.save = 0; break;
        case 'f': cli.features = optarg; break;
        case 's':
            if (strcmp(optarg, "lr") == 0) {
                o.solver = L2R_LR;
            } else if (strcmp(optarg, "svm") == 0) {
                o.solver = L2R_L2LOSS_SVC;
            } else {
                sk_errorf("train", "--solver %s: use lr or svm", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'c':
            if (strcmp(optarg, "auto") == 0) {
                o.C = 0;
            } else if (parse_double(optarg, &o.C) != 0 || o.C <= 0) {
                sk_errorf("train", "--c %s: a positive number or auto",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'b': o.balanced = 1; break;
        case 'S':
            if (strcmp(optarg, "time") == 0) {
                o.split_random = 0;
            } else if (strcmp(optarg, "random") == 0) {
                o.split_random = 1;
            } else {
                sk_errorf("train", "--split %s: use time or random", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 't':
            if (parse_double(optarg, &o.test_fraction) != 0
                || o.test_fraction <= 0 || o.test_fraction >= 1)
            {
                sk_errorf("train", "--test-fraction %s: in (0, 1)", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_double(optarg, &d) != 0 || d < 0) {
                sk_errorf("train", "--seed %s: a non-negative integer",
                          optarg);
                return SK_EXIT_USAGE;
            }
            o.seed = (uint64_t) d;
            break;
        case 'T':
            if (parse_double(optarg, &o.threshold) != 0 || o.threshold < 0
                || o.threshold > 1)
            {
                sk_errorf("train", "--threshold %s: in [0, 1]", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'u':
        case 'k':
            if (parse_double(optarg, &d) != 0 || d < 0) {
                sk_errorf("train", "--%s-weight %s: a number >= 0",
                          ch == 'u' ? "user" : "track", optarg);
                return SK_EXIT_USAGE;
            }
            *(ch == 'u' ? &o.user_weight : &o.track_weight) = d;
            break;
        case 'L':
            if (parse_double(optarg, &d) != 0 || d < 0 || d > 50
                || d == 1 || d != (int) d)
            {
                sk_errorf("train", "--history-folds %s: 0 or 2..50", optarg);
                return SK_EXIT_USAGE;
            }
            o.folds = (int) d;
            break;
        case 'e':
            if (parse_double(optarg, &o.eps) != 0 || o.eps <= 0) {
                sk_errorf("train", "--eps %s: a positive number", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'M':
            if (parse_double(optarg, &d) != 0 || d < 0 || d != (double) (size_t) d)
            {
                sk_errorf("train", "--max-rows %s: a row count, 0 = all rows",
                          optarg);
                return SK_EXIT_USAGE;
            }
            o.max_rows = (size_t) d;
            break;
        case 'F': o.floor = 0; break;
        case 'j': cli.json = 1; break;
        case 'x': cli.export_csv = optarg; break;
        case 'q': o.verbose = 0; break;
        case 'h': usage(stdout); return SK_EXIT_OK;
        default: usage(stderr); return SK_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        sk_errorf("train", "unexpected argument '%s'", argv[optind]);
        return SK_EXIT_USAGE;
    }
    if (o.data_dir == NULL) {
        sk_errorf("train", "--data DIR is required (see --help)");
        return SK_EXIT_USAGE;
    }
    if (strlen(cli.name) == 0 || strlen(cli.name) > 60
        || strpbrk(cli.name, "/ \t\n") != NULL)
    {
        sk_errorf("train", "--name '%s': 1..60 characters, no '/' or spaces",
                  cli.name);
        return SK_EXIT_USAGE;
    }
    snprintf(spec, sizeof(spec), "%s", cli.features);
    names = feature_names(spec, &n, &set, list);
    if (sk_feature_plan_init(&plan, names, n, err, sizeof(err)) != 0) {
        sk_errorf("train", "--features: %s", err);
        return SK_EXIT_USAGE;
    }
    sk_model_quiet();
    /* The trainer gives a model the taste and session inputs it uses. */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    o.inputs = sk_feature_plan_inputs(&plan);

    if (sk_prepare(&p, &o, err, sizeof(err)) != 0) {
        sk_errorf("train", "%s", err);
        sk_prepared_free(&p);
        return SK_EXIT_FAIL;
    }
    if (o.split_random) {
        sk_errorf("train", "WARNING: --split random leaks the label into the "
                  "skip-rate features (the original's method); use the "
                  "default time split for honest figures");
    }
    lin = sk_fit(&p, &o, &plan, &fi, err, sizeof(err));
    if (lin == NULL) {
        sk_errorf("train", "%s", err);
        goto done;
    }
    if (o.verbose) {
        sk_train_progress(&o, "fitted in %.2fs", t0, fi.fit_seconds);
    }

    /* Evaluate through the function the module calls. */
    memset(&m, 0, sizeof(m));
    m.kind = SK_MODEL_LINEAR;
    snprintf(m.name, sizeof(m.name), "%s", cli.name);
    m.lin = lin;
    m.plan = plan;
    m.bias = lin->bias;
    m.threshold = o.threshold;
    m.probability = o.solver == L2R_LR;
    m.play_index = lin->label[0] == 1 ? 0 : 1;
    if (sk_evaluate(&p, &m, &ev, err, sizeof(err)) != 0) {
        sk_errorf("train", "%s", err);
        goto done;
    }
    report = report_json(&o, &p, &plan, set, &fi, &ev, sk_now() - t0);

    if (cli.export_csv) {
        if (sk_export_csv(&p, &plan, cli.export_csv, err, sizeof(err)) != 0)
        {
            sk_errorf("train", "%s", err);
            cJSON_Delete(report);
            goto done;
        }
    }

    if (cli.save) {
        mkdir(cli.model_dir, 0755);
        snprintf(path, sizeof(path), "%s/%s.model", cli.model_dir, cli.name);
        memset(&info, 0, sizeof(info));
        info.name = cli.name;
        info.feature_set = set;
        info.plan = &plan;
        info.threshold = o.threshold;
        info.C = fi.C;
        info.balanced = o.balanced;
        info.class_weight[0] = fi.class_weight[0];
        info.class_weight[1] = fi.class_weight[1];
        info.training = cJSON_Duplicate(cJSON_GetObjectItem(report, "data"),
                                        1);
        info.metrics = cJSON_Duplicate(report, 1);
        if (sk_model_save(path, lin, &info, err, sizeof(err)) != 0) {
            sk_errorf("train", "%s", err);
            cJSON_Delete(report);
            goto done;
        }
        /* What was written must load and score what was evaluated. */
        if (sk_model_load(&back, path, err, sizeof(err)) != 0) {
            sk_errorf("train", "written model does not load: %s", err);
            cJSON_Delete(report);
            goto done;
        }
        {
            size_t i, checked = 0;
            double worst = 0;

            for (i = 0; i < p.labels.n && checked < 10000; i++) {
                const sk_labelled *r = &p.labels.rows[i];
                sk_row_in          in;

                if (r->split != SK_ROW_TEST) {
                    continue;
                }
                sk_row_all_inputs(&p, r, &in);
                d = fabs(sk_model_score_ext(&back, &in.u, &in.t, &in.ctx,
                                            in.tp, in.sp)
                         - sk_model_score_ext(&m, &in.u, &in.t, &in.ctx,
                                              in.tp, in.sp));
                worst = d > worst ? d : worst;
                checked++;
            }
            sk_model_free(&back);
            if (worst > 1e-9) {
                sk_errorf("train", "%s scores differ from the trained model "
                          "by %g", path, worst);
                cJSON_Delete(report);
                goto done;
            }
        }
        if (o.verbose) {
            fprintf(stderr, "skipctl train: wrote %s and its manifest\n",
                    path);
        }
        cJSON_AddStringToObject(report, "model_file", path);
    }

    if (cli.json) {
        txt = cJSON_Print(report);
        printf("%s\n", txt);
        free(txt);
    } else {
        report_text(stdout, &o, &p, &plan, set, &fi, &ev, cli.name);
    }
    cJSON_Delete(report);
    if (o.verbose) {
        sk_train_progress(&o, "done", t0);
    }
    rc = SK_EXIT_OK;

done:
    if (lin) {
        free_and_destroy_model(&lin);
    }
    sk_prepared_free(&p);
    return rc;
}
