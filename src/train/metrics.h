/*
 * Classification metrics for a binary play (1) / skip (0) label, computed
 * as scikit-learn computes them: classification_report (precision, recall,
 * F1 and support per class, macro and weighted averages), accuracy,
 * balanced accuracy (mean recall), ROC AUC (ties share their rank), log
 * loss (probabilities clipped to [1e-15, 1 - 1e-15]) and the confusion
 * matrix (rows true skip/play, columns predicted skip/play).
 */
#ifndef SKIP_METRICS_H
#define SKIP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

typedef struct {
    long    n;
    long    cm[2][2];           /* cm[true][predicted], 0 skip, 1 play */
    double  accuracy;
    double  balanced_accuracy;
    double  precision[2], recall[2], f1[2];
    long    support[2];
    double  auc;                /* NAN when scores are absent or one class */
    double  log_loss;           /* NAN when scores are absent */
} sk_metrics;

/*
 * y[i] true label, pred[i] predicted label, score[i] P(play) or NULL (a
 * rule without a score: AUC and log loss are NAN).  Returns 0.
 */
int sk_metrics_compute(sk_metrics *m, const int8_t *y, const int8_t *pred,
    const float *score, size_t n);

/* classification_report text, then the confusion matrix and the rest. */
void sk_metrics_print(FILE *out, const char *title, const sk_metrics *m);

cJSON *sk_metrics_json(const sk_metrics *m);

#endif
