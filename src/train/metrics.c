/* Binary classification metrics as scikit-learn computes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef struct {
    float   s;
    int8_t  y;
} sk_scored;

static int
cmp_scored(const void *a, const void *b)
{
    float x = ((const sk_scored *) a)->s, y = ((const sk_scored *) b)->s;

    return (x > y) - (x < y);
}

/* Mann-Whitney U with average ranks for ties == the area under ROC. */
static double
roc_auc(const int8_t *y, const float *score, size_t n)
{
    sk_scored *v;
    size_t     i, j;
    double     rank_sum = 0, npos = 0, nneg;

    v = malloc((n ? n : 1) * sizeof(*v));
    if (v == NULL) {
        return NAN;
    }
    for (i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].y = y[i];
        npos += y[i] == 1;
    }
    nneg = (double) n - npos;
    if (npos == 0 || nneg == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof(*v), cmp_scored);
    for (i = 0; i < n; i = j) {
        double avg, pos = 0;

        for (j = i; j < n && v[j].s == v[i].s; j++) {
            pos += v[j].y == 1;
        }
        avg = (double) (i + 1 + j) / 2.0;       /* ranks i+1 .. j */
        rank_sum += pos * avg;
    }
    free(v);
    return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

int
sk_metrics_compute(sk_metrics *m, const int8_t *y, const int8_t *pred,
    const float *score, size_t n)
{
    size_t i;
    int    c;
    double ll = 0;

    memset(m, 0, sizeof(*m));
    m->n = (long) n;
    for (i = 0; i < n; i++) {
        m->cm[y[i] != 0][pred[i] != 0]++;
        if (score) {
            double p = score[i];

            p = p < 1e-15 ? 1e-15 : (p > 1 - 1e-15 ? 1 - 1e-15 : p);
            ll -= y[i] ? log(p) : log(1 - p);
        }
    }
    for (c = 0; c < 2; c++) {
        long tp = m->cm[c][c];
        long predicted = m->cm[0][c] + m->cm[1][c];
        long actual = m->cm[c][0] + m->cm[c][1];

        m->support[c] = actual;
        m->precision[c] = predicted ? (double) tp / predicted : 0.0;
        m->recall[c] = actual ? (double) tp / actual : 0.0;
        m->f1[c] = (m->precision[c] + m->recall[c]) > 0
                   ? 2 * m->precision[c] * m->recall[c]
                     / (m->precision[c] + m->recall[c])
                   : 0.0;
    }
    m->accuracy = n ? (double) (m->cm[0][0] + m->cm[1][1]) / n : NAN;
    m->balanced_accuracy = (m->recall[0] + m->recall[1]) / 2;
    m->auc = score ? roc_auc(y, score, n) : NAN;
    m->log_loss = (score && n) ? ll / n : NAN;
    return 0;
}

void
sk_metrics_print(FILE *out, const char *title, const sk_metrics *m)
{
    static const char *const names[2] = { "skip", "play" };
    double mp, mr, mf, wp, wr, wf, n = (double) m->n;
    int    c;

    mp = (m->precision[0] + m->precision[1]) / 2;
    mr = (m->recall[0] + m->recall[1]) / 2;
    mf = (m->f1[0] + m->f1[1]) / 2;
    wp = n ? (m->precision[0] * m->support[0]
              + m->precision[1] * m->support[1]) / n : 0;
    wr = n ? (m->recall[0] * m->support[0] + m->recall[1] * m->support[1]) / n
           : 0;
    wf = n ? (m->f1[0] * m->support[0] + m->f1[1] * m->support[1]) / n : 0;

    fprintf(out, "%s\n", title);
    fprintf(out, "              precision    recall  f1-score   support\n\n");
    for (c = 0; c < 2; c++) {
        fprintf(out, "%12s %10.4f %9.4f %9.4f %9ld\n", names[c],
                m->precision[c], m->recall[c], m->f1[c], m->support[c]);
    }
    fprintf(out, "\n%12s %10s %9s %9.4f %9ld\n", "accuracy", "", "",
            m->accuracy, m->n);
    fprintf(out, "%12s %10.4f %9.4f %9.4f %9ld\n", "macro avg", mp, mr, mf,
            m->n);
    fprintf(out, "%12s %10.4f %9.4f %9.4f %9ld\n\n", "weighted avg", wp, wr,
            wf, m->n);
    fprintf(out, "confusion matrix (rows: true, columns: predicted)\n");
    fprintf(out, "%12s %10s %10s\n", "", "skip", "play");
    for (c = 0; c < 2; c++) {
        fprintf(out, "%12s %10ld %10ld\n", names[c], m->cm[c][0],
                m->cm[c][1]);
    }
    fprintf(out, "\n%-18s %.4f\n", "accuracy", m->accuracy);
    fprintf(out, "%-18s %.4f\n", "balanced accuracy", m->balanced_accuracy);
    if (!isnan(m->auc)) {
        fprintf(out, "%-18s %.4f\n", "ROC AUC", m->auc);
    }
    if (!isnan(m->log_loss)) {
        fprintf(out, "%-18s %.4f\n", "log loss", m->log_loss);
    }
    fprintf(out, "\n");
}

static void
add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) {
        cJSON_AddNumberToObject(o, k, v);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

cJSON *
sk_metrics_json(const sk_metrics *m)
{
    static const char *const names[2] = { "skip", "play" };
    cJSON *o = cJSON_CreateObject(), *c, *cm, *row;
    int    i;

    cJSON_AddNumberToObject(o, "n", (double) m->n);
    add_num(o, "accuracy", m->accuracy);
    add_num(o, "balanced_accuracy", m->balanced_accuracy);
    add_num(o, "roc_auc", m->auc);
    add_num(o, "log_loss", m->log_loss);
    for (i = 0; i < 2; i++) {
        c = cJSON_AddObjectToObject(o, names[i]);
        add_num(c, "precision", m->precision[i]);
        add_num(c, "recall", m->recall[i]);
        add_num(c, "f1", m->f1[i]);
        cJSON_AddNumberToObject(c, "support", (double) m->support[i]);
    }
    cm = cJSON_AddArrayToObject(o, "confusion_matrix");
    for (i = 0; i < 2; i++) {
        row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double) m->cm[i][0]));
        cJSON_AddItemToArray(row, cJSON_CreateNumber((double) m->cm[i][1]));
        cJSON_AddItemToArray(cm, row);
    }
    return o;
}
