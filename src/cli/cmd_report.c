/*
 * skipctl report: one self-contained HTML page (inline SVG and CSS, no
 * scripts, nothing fetched) about trained models, from their files alone:
 * the evaluation `skipctl train` stored in each manifest, the confusion
 * matrices, the baselines and the Bayes limit, and the feature weights of
 * the liblinear model.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "cli.h"
#include "../core/model.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl report [--out FILE] MODEL.model...\n"
"\n"
"Write an HTML page about one or more trained models: accuracy of each\n"
"model against the naive and majority baselines and the Bayes limit, the\n"
"confusion matrices, the classification reports and the feature weights.\n"
"Everything comes from the model files and the metrics `skipctl train`\n"
"stored in their manifests; the page has inline SVG and needs no network.\n"
"\n"
"Options:\n"
"  --out FILE   where to write (default: report.html; - for stdout)\n"
"  --help       this text\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static void
esc(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
    }
}

static double
num(const cJSON *o, const char *path)
{
    char        buf[128], *tok, *save = NULL;
    const cJSON *v = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save))
    {
        v = cJSON_GetObjectItemCaseSensitive(v, tok);
    }
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *
str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Horizontal bars: labels[i], values[i] in [lo, hi]. */
static void
bars(FILE *o, const char *title, const char *const *labels,
    const double *values, int n, double lo, double hi, const char *fmt)
{
    int    i, w = 640, lw = 200, bh = 22, h = n * (bh + 6) + 40;
    double span = hi - lo;

    fprintf(o, "<figure><figcaption>");
    esc(o, title);
    fprintf(o, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%d\" height=\"%d\" role=\"img\">\n", w, h);
    for (i = 0; i < n; i++) {
        double v = values[i], x0, x1;
        int    y = 10 + i * (bh + 6);
        char   label[64];

        if (isnan(v)) {
            continue;
        }
        x0 = lw + (w - lw - 80) * ((lo < 0 ? 0 : lo) - lo) / span;
        x1 = lw + (w - lw - 80) * (v - lo) / span;
        fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
                "font-size=\"12\">", lw - 6, y + 15);
        esc(o, labels[i]);
        fprintf(o, "</text>\n");
        fprintf(o, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"/>\n", x1 < x0 ? x1 : x0, y, fabs(x1 - x0), bh,
                v < 0 ? "#c0504d" : "#4f81bd");
        snprintf(label, sizeof(label), fmt, v);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%s</text>\n",
                (x1 > x0 ? x1 : x0) + 4, y + 15, label);
    }
    fprintf(o, "<line x1=\"%d\" y1=\"5\" x2=\"%d\" y2=\"%d\" "
            "stroke=\"#888\"/>\n", lw + (int) ((w - lw - 80)
            * ((lo < 0 ? 0 : lo) - lo) / span), lw + (int) ((w - lw - 80)
            * ((lo < 0 ? 0 : lo) - lo) / span), h - 25);
    fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#666\">"
            "%g</text><text x=\"%d\" y=\"%d\" font-size=\"11\" "
            "fill=\"#666\" text-anchor=\"end\">%g</text>\n", lw, h - 8, lo,
            w - 80, h - 8, hi);
    fprintf(o, "</svg></figure>\n");
}

/* A 2x2 confusion matrix as shaded cells. */
static void
confusion(FILE *o, const char *title, const cJSON *metrics)
{
    const cJSON *cm = cJSON_GetObjectItem(metrics, "confusion_matrix");
    static const char *const names[2] = { "skip", "play" };
    double v[2][2], total = 0;
    int    i, j;

    if (!cJSON_IsArray(cm) || cJSON_GetArraySize(cm) != 2) {
        return;
    }
    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2; j++) {
            const cJSON *c = cJSON_GetArrayItem(cJSON_GetArrayItem(cm, i), j);
            v[i][j] = cJSON_IsNumber(c) ? c->valuedouble : 0;
            total += v[i][j];
        }
    }
    fprintf(o, "<figure><figcaption>");
    esc(o, title);
    fprintf(o, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"300\" height=\"230\" role=\"img\">\n"
            "<text x=\"190\" y=\"14\" font-size=\"12\" text-anchor=\"middle\">"
            "predicted</text>\n"
            "<text x=\"14\" y=\"130\" font-size=\"12\" "
            "transform=\"rotate(-90 14 130)\" text-anchor=\"middle\">true"
            "</text>\n");
    for (i = 0; i < 2; i++) {
        fprintf(o, "<text x=\"%d\" y=\"32\" font-size=\"12\" "
                "text-anchor=\"middle\">%s</text>\n", 130 + 120 * i,
                names[i]);
        fprintf(o, "<text x=\"62\" y=\"%d\" font-size=\"12\" "
                "text-anchor=\"end\">%s</text>\n", 95 + 95 * i, names[i]);
        for (j = 0; j < 2; j++) {
            double share = total > 0 ? v[i][j] / total : 0;
            int    shade = 255 - (int) (share * 2 * 200 > 200
                                        ? 200 : share * 2 * 200);

            fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"116\" height=\"91\" "
                    "fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>\n", 72 + 120 * j,
                    40 + 95 * i, shade, shade);
            fprintf(o, "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
                    "text-anchor=\"middle\">%.0f</text>"
                    "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
                    "text-anchor=\"middle\" fill=\"#333\">%.1f %%</text>\n",
                    130 + 120 * j, 85 + 95 * i, v[i][j], 130 + 120 * j,
                    102 + 95 * i, 100 * share);
        }
    }
    fprintf(o, "</svg></figure>\n");
}

static void
report_table(FILE *o, const cJSON *m)
{
    static const char *const rows[2] = { "skip", "play" };
    int i;

    fprintf(o, "<table><tr><th></th><th>precision</th><th>recall</th>"
            "<th>f1-score</th><th>support</th></tr>\n");
    for (i = 0; i < 2; i++) {
        const cJSON *c = cJSON_GetObjectItem(m, rows[i]);
        fprintf(o, "<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                "<td>%.0f</td></tr>\n", rows[i], num(c, "precision"),
                num(c, "recall"), num(c, "f1"), num(c, "support"));
    }
    fprintf(o, "<tr><td>accuracy</td><td></td><td></td><td>%.4f</td>"
            "<td>%.0f</td></tr>\n", num(m, "accuracy"), num(m, "n"));
    fprintf(o, "</table>\n<p>balanced accuracy %.4f &middot; ROC AUC %.4f "
            "&middot; log loss %.4f</p>\n", num(m, "balanced_accuracy"),
            num(m, "roc_auc"), num(m, "log_loss"));
}

static int
one_model(FILE *o, const char *path, char *err, size_t errlen)
{
    sk_model     m;
    char         jpath[4096], *text = NULL;
    FILE        *f;
    long         size;
    cJSON       *root = NULL;
    const cJSON *met, *tr;
    const char  *labels[SK_MAX_FEATURES + 1];
    double       vals[SK_MAX_FEATURES + 1], lo = 0, hi = 0;
    int          i, k;

    if (sk_model_load(&m, path, err, errlen) != 0) {
        return -1;
    }
    sk_model_manifest_path(path, jpath, sizeof(jpath));
    f = fopen(jpath, "rb");
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0) {
        rewind(f);
        text = malloc((size_t) size + 1);
        if (text && fread(text, 1, (size_t) size, f) == (size_t) size) {
            text[size] = '\0';
            root = cJSON_Parse(text);
        }
    }
    if (f) {
        fclose(f);
    }
    free(text);
    met = cJSON_GetObjectItem(root, "metrics");
    tr = cJSON_GetObjectItem(root, "training");

    fprintf(o, "<section><h2>");
    esc(o, m.name);
    fprintf(o, " <small>@%s</small></h2>\n<p>", m.version);
    fprintf(o, "features <b>");
    esc(o, str(root, "feature_set"));
    fprintf(o, "</b> (%d), solver <b>", m.plan.n);
    esc(o, str(root, "solver"));
    fprintf(o, "</b>, C %g%s, threshold %g, created ", num(root, "C"),
            cJSON_IsTrue(cJSON_GetObjectItem(root, "balanced"))
            ? ", balanced class weights" : "", m.threshold);
    esc(o, str(root, "created"));
    fprintf(o, "<br>data ");
    esc(o, str(tr, "dir"));
    fprintf(o, ": %.0f labelled plays, %.0f train / %.0f test rows, "
            "split <b>%s</b>%s</p>\n", num(tr, "labelled_plays"),
            num(tr, "train_rows"), num(tr, "test_rows"),
            met ? str(met, "split") : "?",
            met && cJSON_IsTrue(cJSON_GetObjectItem(met, "leaky"))
            ? " <b class=\"warn\">(leaky: skip rates include the test "
              "labels)</b>" : "");

    if (met) {
        const char *names[4] = { "majority", "naive", m.name, "Bayes limit" };
        double      acc[4];

        acc[0] = num(met, "majority.accuracy");
        acc[1] = num(met, "naive.accuracy");
        acc[2] = num(met, "model.accuracy");
        acc[3] = num(met, "bayes_limit");
        bars(o, "accuracy on the test rows", names, acc, 4, 0, 1, "%.4f");
        fprintf(o, "<div class=\"row\">\n");
        confusion(o, "confusion matrix: model",
                  cJSON_GetObjectItem(met, "model"));
        confusion(o, "confusion matrix: naive (genre match -> play)",
                  cJSON_GetObjectItem(met, "naive"));
        fprintf(o, "</div>\n<h3>classification report (test rows)</h3>\n");
        report_table(o, cJSON_GetObjectItem(met, "model"));
    }

    /* Weights towards "play", on standardised features. */
    for (i = 0, k = 0; i < m.plan.n; i++) {
        double w = m.lin->w[i] * (m.play_index == 0 ? 1 : -1);

        labels[k] = sk_feature_name(m.plan.id[i]);
        vals[k++] = w;
        lo = w < lo ? w : lo;
        hi = w > hi ? w : hi;
    }
    if (hi - lo < 1e-12) {
        hi = lo + 1;
    }
    bars(o, "feature weights towards play (standardised inputs)", labels,
         vals, k, lo, hi, "%.3f");
    fprintf(o, "</section>\n");
    cJSON_Delete(root);
    sk_model_free(&m);
    return 0;
}

int
cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *out = "report.html";
    char        err[1024];
    int         ch, i, rc = SK_EXIT_OK;
    FILE       *o;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return SK_EXIT_OK;
        default: usage(stderr); return SK_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        sk_errorf("report", "name at least one MODEL.model (see --help)");
        return SK_EXIT_USAGE;
    }
    o = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (o == NULL) {
        sk_errorf("report", "%s: %s", out, strerror(errno));
        return SK_EXIT_FAIL;
    }
    fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset="
            "\"utf-8\"><title>ngx_skip models</title>\n<style>"
            "body{font-family:sans-serif;max-width:980px;margin:2em auto;"
            "color:#222}section{border-top:1px solid #ccc;margin-top:2em}"
            "figure{display:inline-block;margin:1em 1em 0 0}"
            "figcaption{font-weight:bold;font-size:13px}"
            "table{border-collapse:collapse}td,th{padding:2px 10px;"
            "text-align:right;border-bottom:1px solid #eee}"
            ".warn{color:#c0504d}.row{display:flex;flex-wrap:wrap}"
            "</style></head><body>\n<h1>ngx_skip models</h1>\n"
            "<p>Evaluated by <code>skipctl train</code> on held-out test "
            "rows; the Bayes limit is the accuracy of the generator's own "
            "probabilities (truth.jsonl).</p>\n");
    for (i = optind; i < argc; i++) {
        if (one_model(o, argv[i], err, sizeof(err)) != 0) {
            sk_errorf("report", "%s", err);
            rc = SK_EXIT_FAIL;
        }
    }
    fprintf(o, "</body></html>\n");
    if (o != stdout && fclose(o) != 0) {
        sk_errorf("report", "%s: %s", out, strerror(errno));
        return SK_EXIT_FAIL;
    }
    return rc;
}
