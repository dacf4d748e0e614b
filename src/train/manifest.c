/* Writing a model and its manifest (see manifest.h, docs/model.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "../core/model.h"

/*
 * cJSON prints 15 significant digits and accepts "close enough" on the way
 * back; standardisation constants must read back to the same bits so that
 * the module scores exactly what the trainer evaluated.  Shortest exact form.
 */
static void
add_exact(cJSON *obj, const char *key, double d)
{
    char buf[40];
    int  prec;

    if (!isfinite(d)) {
        cJSON_AddNullToObject(obj, key);
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    cJSON_AddRawToObject(obj, key, buf);
}

static int
write_text(const char *path, const char *text, char *err, size_t errlen)
{
    char  tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());
    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
sk_model_save(const char *model_path, const struct model *lin,
    sk_manifest_info *info, char *err, size_t errlen)
{
    char        tmp[4200], mpath[4096], hash[17], created[32];
    cJSON      *root, *feats, *f, *priors, *labels, *cw;
    char       *text;
    int         i, rc, lab[2];
    time_t      now = time(NULL);
    struct tm   tm;
    const sk_feature_plan *plan = info->plan;

    if (sk_model_manifest_path(model_path, mpath, sizeof(mpath)) != 0) {
        snprintf(err, errlen, "%s: path too long", model_path);
        goto fail;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", model_path, (long) getpid());
    if (save_model(tmp, lin) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    if (sk_file_hash(tmp, hash) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto fail;
    }

    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    get_labels(lin, lab);

    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format_version", SK_MODEL_FORMAT_VERSION);
    cJSON_AddStringToObject(root, "name", info->name);
    cJSON_AddStringToObject(root, "version", hash);
    cJSON_AddStringToObject(root, "model_hash", hash);
    cJSON_AddStringToObject(root, "created", created);
    cJSON_AddStringToObject(root, "solver",
                            sk_solver_name(lin->param.solver_type));
    cJSON_AddNumberToObject(root, "C", info->C);
    cJSON_AddBoolToObject(root, "balanced", info->balanced);
    cw = cJSON_AddObjectToObject(root, "class_weight");
    cJSON_AddNumberToObject(cw, "skip", info->class_weight[0]);
    cJSON_AddNumberToObject(cw, "play", info->class_weight[1]);
    add_exact(root, "bias", lin->bias);
    labels = cJSON_AddArrayToObject(root, "labels");
    cJSON_AddItemToArray(labels, cJSON_CreateNumber(lab[0]));
    cJSON_AddItemToArray(labels, cJSON_CreateNumber(lab[1]));
    add_exact(root, "threshold", info->threshold);
    cJSON_AddStringToObject(root, "score",
        (lin->param.solver_type == L2R_LR)
        ? "P(play) from logistic regression"
        : "1 / (1 + exp(-margin)) of the SVM margin (not calibrated)");
    cJSON_AddStringToObject(root, "feature_set",
                            info->feature_set ? info->feature_set : "custom");
    feats = cJSON_AddArrayToObject(root, "features");
    for (i = 0; i < plan->n; i++) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", sk_feature_name(plan->id[i]));
        add_exact(f, "mean", plan->mean[i]);
        add_exact(f, "scale", plan->scale[i]);
        cJSON_AddItemToArray(feats, f);
    }
    priors = cJSON_AddObjectToObject(root, "priors");
    add_exact(priors, "global_skip_rate", plan->priors.global_skip_rate);
    add_exact(priors, "user_weight", plan->priors.user_weight);
    add_exact(priors, "track_weight", plan->priors.track_weight);
    if (info->training) {
        cJSON_AddItemToObject(root, "training", info->training);
        info->training = NULL;
    }
    if (info->metrics) {
        cJSON_AddItemToObject(root, "metrics", info->metrics);
        info->metrics = NULL;
    }
    if (info->target) {
        cJSON_AddStringToObject(root, "target", info->target);
    }
    if (info->admission) {
        cJSON_AddItemToObject(root, "admission", info->admission);
        info->admission = NULL;
    }

    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", mpath);
        unlink(tmp);
        return -1;
    }
    /* Model first, then the manifest that vouches for it. */
    if (rename(tmp, model_path) != 0) {
        snprintf(err, errlen, "%s: %s", model_path, strerror(errno));
        unlink(tmp);
        free(text);
        return -1;
    }
    rc = write_text(mpath, text, err, errlen);
    free(text);
    return rc;

fail:
    cJSON_Delete(info->training);
    cJSON_Delete(info->metrics);
    cJSON_Delete(info->admission);
    info->training = info->metrics = info->admission = NULL;
    return -1;
}
