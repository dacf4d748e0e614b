/*
 * Writing a model: liblinear's file plus the JSON manifest that sk_model_load
 * (model.c) reads and checks.  The manifest format is described in
 * docs/model.md; the loader's checks are the reason for each field.
 */
#ifndef SKIP_MANIFEST_H
#define SKIP_MANIFEST_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "../core/featurize.h"

#define SK_MODEL_FORMAT_VERSION 1

typedef struct {
    const char            *name;          /* model name ("default") */
    const char            *feature_set;   /* "seed", "full" or "custom" */
    const sk_feature_plan *plan;          /* names (ids), mean, scale, priors */
    double                 threshold;     /* P(play) >= threshold -> play */
    double                 C;
    int                    balanced;
    double                 class_weight[2];   /* skip, play */
    cJSON                 *training;      /* summary object, taken over */
    cJSON                 *metrics;       /* report object, taken over */
    const char            *target;        /* NULL: a skip model; else
                                             "admission" */
    cJSON                 *admission;     /* admission geometry (model.h),
                                             taken over */
} sk_manifest_info;

/*
 * Save lin to model_path (liblinear format) and its manifest next to it
 * (sk_model_manifest_path), each written to a temporary file and renamed,
 * so that a reader never sees half a model.  The manifest's version and
 * model_hash are the FNV-1a hash of the model file.  Takes over (and
 * frees) info->training and info->metrics.  Returns 0, or -1 with err.
 */
int sk_model_save(const char *model_path, const struct model *lin,
    sk_manifest_info *info, char *err, size_t errlen);

#endif
