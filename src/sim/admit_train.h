/*
 * Training the cache admission model (`skipctl admit-train`,
 * docs/admission.md): Belady labels on a window of training plays, the
 * admission features through the module's own sketch and feature code
 * (admit.h), a liblinear logistic regression, and the decision threshold
 * that gives the most hits when the model replays that same training
 * window with LRU eviction, among those that write no more bytes into the
 * cache than TinyLFU there.  Nothing of the held-out (test) window is
 * read.
 */
#ifndef SKIP_ADMIT_TRAIN_H
#define SKIP_ADMIT_TRAIN_H

#include <cjson/cJSON.h>

#include "admit.h"

typedef struct {
    const char  *name;          /* model name in the manifest */
    double       cache_share;   /* capacity: share of the window's unique
                                   bytes (labels depend on it) */
    double       train_tail;    /* last share of training sessions */
    uint64_t     slice;         /* bytes per cached slice, 0 whole tracks */
    double       bitrate_kbps;
    size_t       sketch_bytes;
    size_t       max_rows;      /* rows fitted (a hash sample), 0: all */
    double       C;
    double       reuse;         /* > 0: relaxed-Belady labels, a reuse
                                   distance boundary of reuse x the
                                   capacity (sk_admit_labels_reuse); < 0:
                                   that, the boundary chosen on the
                                   window (default); 0: Belady's own */
    int          cap_written;   /* choose the threshold among those writing
                                   no more than TinyLFU, when there are */
    const char *const *features;   /* NULL: the "admit" set */
    int          n_features;
    int          verbose;
} sk_admit_train_opts;

void sk_admit_train_opts_default(sk_admit_train_opts *o);

/*
 * Train on p's training window, scoring P(play) with skip, and save the
 * model to model_path (+ manifest).  *report: a summary (caller frees).
 * 0, or -1 with err.
 */
int sk_admit_train(const sk_prepared *p, const sk_model *skip,
    const sk_admit_train_opts *o, const char *model_path, cJSON **report,
    char *err, size_t errlen);

#endif
