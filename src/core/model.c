/*
 * Loading, validating and scoring a model (see model.h).
 *
 * A model is two files written together by `skipctl train`:
 *   NAME.model  liblinear's own text format, unchanged
 *   NAME.json   the manifest (docs/model.md): feature names in order with
 *               their standardisation, smoothing priors, bias, labels,
 *               solver, threshold, and the FNV-1a hash of NAME.model.
 * The loader trusts neither: the manifest must describe exactly the model
 * next to it (hash, feature count, bias, labels, solver) and name only
 * features this build can compute.  Loading happens at configuration time
 * (nginx -t), so it may allocate; scoring never does.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "genres.h"
#include "model.h"

#define SK_MANIFEST_MAX  (8 * 1024 * 1024)

/* liblinear chatters on stdout while training; nobody wants that. */
static void
quiet(const char *s)
{
    (void) s;
}

/*
 * The inputs beyond records and context that this process can give a model
 * (SK_INPUT_*).  0 unless a caller says otherwise: the module and skipctl
 * predict then refuse a model they would silently score without them.
 */
static unsigned provided;

void
sk_model_provide_inputs(unsigned inputs)
{
    provided = inputs;
}

void
sk_model_quiet(void)
{
    set_print_string_function(quiet);
}

/* The manifest of a model file: "x.model" -> "x.json", else "x" + ".json". */
int
sk_model_manifest_path(const char *model_path, char *buf, size_t size)
{
    size_t len = strlen(model_path);
    int    n;

    if (len > 6 && strcmp(model_path + len - 6, ".model") == 0) {
        n = snprintf(buf, size, "%.*s.json", (int) (len - 6), model_path);
    } else {
        n = snprintf(buf, size, "%s.json", model_path);
    }
    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}

/* FNV-1a 64 of a file, as 16 hex digits.  -1 with errno when unreadable. */
int
sk_file_hash(const char *path, char hex[17])
{
    FILE          *f;
    unsigned char  buf[65536];
    size_t         n, i;
    uint64_t       h = 1469598103934665603ULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (i = 0; i < n; i++) {
            h ^= buf[i];
            h *= 1099511628211ULL;
        }
    }
    if (ferror(f)) {
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    snprintf(hex, 17, "%016llx", (unsigned long long) h);
    return 0;
}

static char *
read_file(const char *path, char *err, size_t errlen)
{
    FILE   *f;
    char   *buf;
    long    size;
    size_t  n;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        snprintf(err, errlen, "%s: cannot determine size: %s", path,
                 strerror(errno));
        fclose(f);
        return NULL;
    }
    if (size > SK_MANIFEST_MAX) {
        snprintf(err, errlen, "%s: %ld bytes, larger than a manifest can be",
                 path, size);
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, (size_t) size, f);
    fclose(f);
    if (n != (size_t) size) {
        snprintf(err, errlen, "%s: short read", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static const cJSON *
get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int
get_number(const cJSON *obj, const char *key, double *out)
{
    const cJSON *v = get(obj, key);

    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

static int
get_string(const cJSON *obj, const char *key, char *out, size_t size)
{
    const cJSON *v = get(obj, key);

    if (!cJSON_IsString(v) || v->valuestring == NULL
        || strlen(v->valuestring) >= size)
    {
        return -1;
    }
    strcpy(out, v->valuestring);
    return 0;
}

int
sk_solver_parse(const char *name)
{
    if (strcmp(name, "l2r_lr") == 0) {
        return L2R_LR;
    }
    if (strcmp(name, "l2r_l2loss_svc") == 0) {
        return L2R_L2LOSS_SVC;
    }
    if (strcmp(name, "l2r_l2loss_svc_dual") == 0) {
        return L2R_L2LOSS_SVC_DUAL;
    }
    if (strcmp(name, "l2r_lr_dual") == 0) {
        return L2R_LR_DUAL;
    }
    return -1;
}

const char *
sk_solver_name(int solver)
{
    switch (solver) {
    case L2R_LR:              return "l2r_lr";
    case L2R_L2LOSS_SVC:      return "l2r_l2loss_svc";
    case L2R_L2LOSS_SVC_DUAL: return "l2r_l2loss_svc_dual";
    case L2R_LR_DUAL:         return "l2r_lr_dual";
    default:                  return "unsupported";
    }
}

/*
 * Read the manifest into m (everything but the liblinear model) and return
 * the solver and the expected model hash.
 */
static int
parse_manifest(sk_model *m, const char *path, const char *text, int *solver,
    char *hash, int labels[2], char *err, size_t errlen)
{
    cJSON       *root;
    const cJSON *feats, *f, *priors, *lab;
    const char  *names[SK_MAX_FEATURES];
    char         solver_name[32], ferr[256];
    double       d, fmt;
    int          n, i, rc = -1;

#define FAIL(...)                                                            \
    do {                                                                     \
        int o_ = snprintf(err, errlen, "%s: ", path);                        \
        if (o_ > 0 && (size_t) o_ < errlen)                                  \
            snprintf(err + o_, errlen - o_, __VA_ARGS__);                    \
        goto done;                                                           \
    } while (0)

    root = cJSON_Parse(text);
    if (root == NULL || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a JSON object (invalid manifest)",
                 path);
        cJSON_Delete(root);
        return -1;
    }
    if (get_number(root, "format_version", &fmt) != 0) {
        FAIL("no \"format_version\": not an ngx_skip model manifest");
    }
    if (fmt != 1) {
        FAIL("format_version %g, this build reads 1", fmt);
    }
    if (get_string(root, "name", m->name, sizeof(m->name)) != 0
        || m->name[0] == '\0')
    {
        FAIL("\"name\" missing, empty or longer than %d bytes",
             (int) sizeof(m->name) - 1);
    }
    if (get_string(root, "version", m->version, sizeof(m->version)) != 0) {
        FAIL("\"version\" missing or longer than %d bytes",
             (int) sizeof(m->version) - 1);
    }
    if (get_string(root, "solver", solver_name, sizeof(solver_name)) != 0
        || (*solver = sk_solver_parse(solver_name)) < 0)
    {
        FAIL("\"solver\" missing or not one of l2r_lr, l2r_l2loss_svc");
    }
    if (get_string(root, "model_hash", hash, 17) != 0
        || strlen(hash) != 16)
    {
        FAIL("\"model_hash\" missing or not 16 hex digits");
    }
    if (get_number(root, "bias", &m->bias) != 0) {
        FAIL("\"bias\" missing or not a number");
    }
    if (get_number(root, "threshold", &m->threshold) != 0
        || m->threshold < 0 || m->threshold > 1)
    {
        FAIL("\"threshold\" missing or not in [0, 1]");
    }
    lab = get(root, "labels");
    if (!cJSON_IsArray(lab) || cJSON_GetArraySize(lab) != 2
        || !cJSON_IsNumber(cJSON_GetArrayItem(lab, 0))
        || !cJSON_IsNumber(cJSON_GetArrayItem(lab, 1)))
    {
        FAIL("\"labels\" must be the two liblinear labels, e.g. [1, 0]");
    }
    labels[0] = cJSON_GetArrayItem(lab, 0)->valueint;
    labels[1] = cJSON_GetArrayItem(lab, 1)->valueint;
    if (!((labels[0] == 0 && labels[1] == 1)
          || (labels[0] == 1 && labels[1] == 0)))
    {
        FAIL("\"labels\" [%d, %d]: need 0 (skip) and 1 (play)", labels[0],
             labels[1]);
    }

    feats = get(root, "features");
    if (!cJSON_IsArray(feats)) {
        FAIL("\"features\" missing or not an array");
    }
    n = cJSON_GetArraySize(feats);
    if (n < 1 || n > SK_MAX_FEATURES) {
        FAIL("%d features: this build serves 1..%d", n, SK_MAX_FEATURES);
    }
    for (i = 0; i < n; i++) {
        f = cJSON_GetArrayItem(feats, i);
        if (!cJSON_IsString(get(f, "name"))) {
            FAIL("feature %d has no \"name\"", i + 1);
        }
        names[i] = get(f, "name")->valuestring;
    }
    if (sk_feature_plan_init(&m->plan, names, n, ferr, sizeof(ferr)) != 0) {
        FAIL("%s", ferr);
    }
    {
        unsigned missing = sk_feature_plan_inputs(&m->plan) & ~provided;

        if (missing) {
            FAIL("the model's features need %s%s%s, which this program "
                 "does not provide (skipctl train and eval do; the module "
                 "and skipctl predict serve the taste, not the session "
                 "context yet: docs/taste-features.md)",
                 missing & SK_INPUT_TASTE ? "the listener's taste" : "",
                 missing == (SK_INPUT_TASTE | SK_INPUT_SESSION) ? " and " : "",
                 missing & SK_INPUT_SESSION ? "the session context" : "");
        }
    }
    for (i = 0; i < n; i++) {
        f = cJSON_GetArrayItem(feats, i);
        if (get_number(f, "mean", &m->plan.mean[i]) != 0) {
            FAIL("feature \"%s\": \"mean\" missing or not finite", names[i]);
        }
        if (get_number(f, "scale", &d) != 0 || !(d > 0)) {
            FAIL("feature \"%s\": \"scale\" missing or not > 0", names[i]);
        }
        m->plan.scale[i] = d;
    }

    priors = get(root, "priors");
    if (!cJSON_IsObject(priors)
        || get_number(priors, "global_skip_rate",
                      &m->plan.priors.global_skip_rate) != 0
        || get_number(priors, "user_weight", &m->plan.priors.user_weight) != 0
        || get_number(priors, "track_weight",
                      &m->plan.priors.track_weight) != 0)
    {
        FAIL("\"priors\" needs numbers global_skip_rate, user_weight, "
             "track_weight");
    }
    m->target = SK_TARGET_SKIP;
    if (get(root, "target") != NULL) {
        const cJSON *tg = get(root, "target"), *ad;

        if (!cJSON_IsString(tg)
            || (strcmp(tg->valuestring, "skip") != 0
                && strcmp(tg->valuestring, "admission") != 0))
        {
            FAIL("\"target\" must be \"skip\" or \"admission\"");
        }
        if (strcmp(tg->valuestring, "admission") == 0) {
            m->target = SK_TARGET_ADMIT;
            ad = get(root, "admission");
            if (!cJSON_IsObject(ad)
                || get_number(ad, "slice_bytes", &m->admit_slice_bytes) != 0
                || get_number(ad, "bitrate_kbps",
                              &m->admit_bitrate_kbps) != 0
                || get_number(ad, "sketch_bytes",
                              &m->admit_sketch_bytes) != 0
                || get_number(ad, "cache_share", &m->admit_cache_share) != 0)
            {
                FAIL("\"admission\" needs numbers slice_bytes, "
                     "bitrate_kbps, sketch_bytes, cache_share");
            }
            if (m->admit_slice_bytes < 0 || !(m->admit_bitrate_kbps > 0)
                || !(m->admit_sketch_bytes > 0))
            {
                FAIL("\"admission\" out of range (slice_bytes >= 0, "
                     "bitrate_kbps > 0, sketch_bytes > 0)");
            }
        }
    }
    if (m->plan.priors.global_skip_rate <= 0
        || m->plan.priors.global_skip_rate >= 1
        || m->plan.priors.user_weight < 0 || m->plan.priors.track_weight < 0)
    {
        FAIL("\"priors\" out of range (rate in (0, 1), weights >= 0)");
    }
    rc = 0;

done:
#undef FAIL
    cJSON_Delete(root);
    return rc;
}

int
sk_model_load(sk_model *m, const char *model_path, char *err, size_t errlen)
{
    char          mpath[4096], hash[17], have[17];
    char         *text;
    int           solver = -1, labels[2], got[2], nf;
    struct model *lin;

    memset(m, 0, sizeof(*m));
    m->bias = -1;
    if (sk_model_manifest_path(model_path, mpath, sizeof(mpath)) != 0) {
        snprintf(err, errlen, "%s: path too long", model_path);
        return -1;
    }
    text = read_file(mpath, err, errlen);
    if (text == NULL) {
        return -1;
    }
    if (parse_manifest(m, mpath, text, &solver, hash, labels, err, errlen)
        != 0)
    {
        free(text);
        return -1;
    }
    free(text);

    /* The hash first: liblinear's parser is not meant for hostile input. */
    if (sk_file_hash(model_path, have) != 0) {
        snprintf(err, errlen, "%s: %s", model_path, strerror(errno));
        return -1;
    }
    if (strcmp(have, hash) != 0) {
        snprintf(err, errlen, "%s: hash %s does not match model_hash %s in "
                 "%s (model and manifest are from different trainings, or "
                 "the model file was changed)", model_path, have, hash,
                 mpath);
        return -1;
    }
    lin = load_model(model_path);
    if (lin == NULL) {
        snprintf(err, errlen, "%s: not a valid liblinear model file",
                 model_path);
        return -1;
    }

#define MISMATCH(...)                                                        \
    do {                                                                     \
        int o_ = snprintf(err, errlen, "%s does not match %s: ", mpath,      \
                          model_path);                                       \
        if (o_ > 0 && (size_t) o_ < errlen)                                  \
            snprintf(err + o_, errlen - o_, __VA_ARGS__);                    \
        free_and_destroy_model(&lin);                                        \
        return -1;                                                           \
    } while (0)

    if (get_nr_class(lin) != 2) {
        MISMATCH("the model has %d classes, not 2", get_nr_class(lin));
    }
    nf = get_nr_feature(lin);
    if (nf != m->plan.n) {
        MISMATCH("the manifest lists %d features, the model has %d",
                 m->plan.n, nf);
    }
    if ((m->bias < 0) != (lin->bias < 0)
        || (m->bias >= 0 && fabs(m->bias - lin->bias) > 1e-12))
    {
        MISMATCH("bias %g in the manifest, %g in the model", m->bias,
                 lin->bias);
    }
    get_labels(lin, got);
    if (got[0] != labels[0] || got[1] != labels[1]) {
        MISMATCH("labels [%d, %d] in the manifest, [%d, %d] in the model",
                 labels[0], labels[1], got[0], got[1]);
    }
    if (lin->param.solver_type != solver) {
        MISMATCH("solver %s in the manifest, %s in the model",
                 sk_solver_name(solver),
                 sk_solver_name(lin->param.solver_type));
    }
#undef MISMATCH

    m->kind = SK_MODEL_LINEAR;
    m->lin = lin;
    m->play_index = got[0] == 1 ? 0 : 1;
    m->probability = (solver == L2R_LR || solver == L2R_LR_DUAL);
    return 0;
}

void
sk_model_naive(sk_model *m)
{
    memset(m, 0, sizeof(*m));
    m->kind = SK_MODEL_NAIVE;
    strcpy(m->name, "naive");
    strcpy(m->version, "1");
    m->bias = -1;
    m->threshold = 0.5;
    sk_priors_default(&m->plan.priors);
}

/*
 * A two-class linear model's decision value, as liblinear's predict_values
 * computes it for the nodes sk_features_nodes() builds: the same products,
 * summed in the same order (so the same double), without building the
 * nodes and without its per-node index checks and class loop (the module
 * spent ~1,400 instructions a request there, callgrind).  Features past
 * the model's nr_feature count nothing there, and nothing here.
 */
static double
sk_model_dot(const sk_model *m, const double *raw)
{
    const sk_feature_plan *plan = &m->plan;
    const double          *w = m->lin->w;
    int                    n, i;
    double                 dec = 0.0, v;

    n = m->lin->bias >= 0 ? m->lin->nr_feature + 1 : m->lin->nr_feature;
    for (i = 0; i < plan->n && i + 1 <= n; i++) {
        v = (raw[i] - plan->mean[i]) / plan->scale[i];
        dec += w[i] * v;
    }
    if (m->bias >= 0 && plan->n + 1 <= n) {
        dec += w[plan->n] * m->bias;
    }
    return dec;
}

double
sk_model_margin(const sk_model *m, const double *raw)
{
    struct feature_node  x[SK_MAX_FEATURES + 2];
    double               dec = 0.0;

    if (m->lin->nr_class == 2 && m->lin->param.solver_type != MCSVM_CS) {
        dec = sk_model_dot(m, raw);
    } else {
        sk_features_nodes(&m->plan, raw, m->bias, x);
        predict_values(m->lin, x, &dec);
    }
    /* dec is the decision value of labels[0]; turn it towards "play". */
    return m->play_index == 0 ? dec : -dec;
}

double
sk_model_score(const sk_model *m, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx)
{
    return sk_model_score_ext(m, u, t, ctx, NULL, NULL);
}

double
sk_model_score_ext(const sk_model *m, const sk_user_rec *u,
    const sk_track_rec *t, const sk_context *ctx, const sk_taste *taste,
    const sk_session *sess)
{
    double raw[SK_MAX_FEATURES];

    if (m->kind == SK_MODEL_NAIVE || m->lin == NULL) {
        return (u->fav & t->genres) ? 1.0 : 0.0;
    }
    sk_features_raw_ext(&m->plan, u, t, ctx, taste, sess, raw);
    return 1.0 / (1.0 + exp(-sk_model_margin(m, raw)));
}

int
sk_model_decide(const sk_model *m, double score)
{
    return score >= m->threshold ? 1 : 0;
}

void
sk_model_free(sk_model *m)
{
    if (m->lin) {
        free_and_destroy_model(&m->lin);
    }
    m->lin = NULL;
}
