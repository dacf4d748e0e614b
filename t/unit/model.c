/*
 * Model files: manifest round trip, the loader's refusals (each naming the
 * file), and scoring equal to liblinear's own predict on the same nodes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "core/featurize.h"
#include "core/genres.h"
#include "train/manifest.h"
#include "core/model.h"
#include "tap.h"

static char dir[256], mpath[512], jpath[512];

static void
random_recs(unsigned *seed, sk_user_rec *u, sk_track_rec *t)
{
    memset(u, 0, sizeof(*u));
    memset(t, 0, sizeof(*t));
    u->fav = (1ULL << (rand_r(seed) % 50)) | (1ULL << (rand_r(seed) % 50));
    u->premium = rand_r(seed) % 2;
    u->plays = rand_r(seed) % 300;
    u->skips = rand_r(seed) % 200;
    u->fav_plays = u->plays / 3;
    u->fav_skips = u->skips / 4;
    t->genres = 1ULL << (rand_r(seed) % 50);
    t->n_genres = 1 + rand_r(seed) % 5;
    t->plays = rand_r(seed) % 50;
    t->skips = rand_r(seed) % 30;
    t->popularity = rand_r(seed) % 100;
    t->duration_ms = 60000 + rand_r(seed) % 400000;
    t->explicit_ = rand_r(seed) % 2;
    t->year = 1950 + rand_r(seed) % 70;
    t->danceability = (rand_r(seed) % 1000) / 1000.0;
    t->energy = (rand_r(seed) % 1000) / 1000.0;
    t->loudness = -(rand_r(seed) % 30);
    t->tempo = 60 + rand_r(seed) % 120;
    t->mode = rand_r(seed) % 3 - 1;
}

/* Train a small model on the "full" set and save it with its manifest. */
static struct model *
train_small(int solver, sk_feature_plan *plan)
{
    const char *const   *names;
    int                  n, l = 400, i, j;
    struct problem       prob;
    struct parameter     param;
    struct feature_node *pool;
    double               raw[SK_MAX_FEATURES];
    unsigned             seed = 7;
    sk_user_rec          u;
    sk_track_rec         t;
    sk_context           ctx = { -1, -1, NULL };
    char                 err[256];
    struct model        *lin;
    sk_manifest_info     info;

    names = sk_feature_set("full", &n);
    sk_feature_plan_init(plan, names, n, err, sizeof(err));
    for (j = 0; j < n; j++) {
        plan->mean[j] = 0.1 * j;
        plan->scale[j] = 1 + 0.5 * j;
    }
    plan->priors.global_skip_rate = 0.35;
    pool = calloc((size_t) l * (n + 2), sizeof(*pool));
    prob.l = l;
    prob.n = n + 1;
    prob.bias = 1;
    prob.y = calloc(l, sizeof(double));
    prob.x = calloc(l, sizeof(*prob.x));
    for (i = 0; i < l; i++) {
        random_recs(&seed, &u, &t);
        ctx.hour = rand_r(&seed) % 24;
        ctx.position = rand_r(&seed) % 40;
        sk_features_raw(plan, &u, &t, &ctx, raw);
        prob.x[i] = pool + (size_t) i * (n + 2);
        sk_features_nodes(plan, raw, 1, prob.x[i]);
        prob.y[i] = (u.skips / (u.plays + u.skips + 1) + (rand_r(&seed) % 100)
                     / 200.0) < 0.6;
    }
    memset(&param, 0, sizeof(param));
    param.solver_type = solver;
    param.C = 1;
    param.eps = 0.01;
    lin = train(&prob, &param);

    memset(&info, 0, sizeof(info));
    info.name = "unit";
    info.feature_set = "full";
    info.plan = plan;
    info.threshold = 0.5;
    info.C = 1;
    info.training = cJSON_CreateObject();
    cJSON_AddNumberToObject(info.training, "rows", l);
    if (sk_model_save(mpath, lin, &info, err, sizeof(err)) != 0) {
        diag("save: %s", err);
    }
    free(pool);
    free(prob.y);
    free(prob.x);
    return lin;
}

static cJSON *
read_json(const char *path)
{
    FILE  *f = fopen(path, "r");
    char   buf[1 << 16];
    size_t n;

    if (f == NULL) {
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

static void
write_json(const char *path, cJSON *j)
{
    char *s = cJSON_Print(j);
    FILE *f = fopen(path, "w");

    fputs(s, f);
    fclose(f);
    free(s);
}

static void
copy_file(const char *from, const char *to)
{
    FILE  *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char   buf[65536];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), a)) > 0) {
        fwrite(buf, 1, n, b);
    }
    fclose(a);
    fclose(b);
}

/* Load, expecting failure whose message contains want (and the file). */
static void
refuses(const char *path, const char *want, const char *what)
{
    sk_model m;
    char     err[1024] = "";
    int      rc = sk_model_load(&m, path, err, sizeof(err));

    ok(rc == -1 && strstr(err, want) != NULL, "refuses %s", what);
    if (rc != -1 || strstr(err, want) == NULL) {
        diag("rc %d err \"%s\", want \"%s\"", rc, err, want);
    }
    if (rc == 0) {
        sk_model_free(&m);
    }
}

int
main(void)
{
    sk_feature_plan     plan;
    struct model       *lin;
    sk_model            m, nv;
    char                err[1024], bad[600], badj[600];
    int                 i, same, solver;
    unsigned            seed = 99;
    sk_user_rec         u;
    sk_track_rec        t;
    sk_context          ctx = { -1, -1, NULL };
    double              raw[SK_MAX_FEATURES], dec, want, got, prob[2];
    struct feature_node x[SK_MAX_FEATURES + 2];
    cJSON              *j;
    FILE               *f;

    sk_model_quiet();
    snprintf(dir, sizeof(dir), "/tmp/skip-unit-model.%ld", (long) getpid());
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 1;
    }
    snprintf(mpath, sizeof(mpath), "%s/unit.model", dir);
    snprintf(jpath, sizeof(jpath), "%s/unit.json", dir);

    for (solver = 0; solver <= 2; solver += 2) {
        lin = train_small(solver == 0 ? L2R_LR : L2R_L2LOSS_SVC, &plan);
        ok(sk_model_load(&m, mpath, err, sizeof(err)) == 0,
           "%s: load what was saved", sk_solver_name(solver));
        if (m.lin == NULL) {
            diag("%s", err);
            return done_testing();
        }
        is_str(m.name, "unit", "name round trip");
        is_int(strlen(m.version), 16, "version is the model hash");
        is_int(m.plan.n, plan.n, "feature count round trip");
        for (i = 0, same = 1; i < plan.n; i++) {
            same &= m.plan.id[i] == plan.id[i]
                    && m.plan.mean[i] == plan.mean[i]
                    && m.plan.scale[i] == plan.scale[i];
        }
        ok(same, "names, means and scales round trip exactly");
        ok(m.plan.priors.global_skip_rate == 0.35
           && m.plan.priors.user_weight == plan.priors.user_weight,
           "priors round trip");
        is_near(m.bias, 1, 0, "bias");
        is_int(m.probability, solver == 0, "probability flag");

        /* Score == liblinear's predict on the same nodes, model from file. */
        for (i = 0, same = 1; i < 500; i++) {
            random_recs(&seed, &u, &t);
            ctx.hour = rand_r(&seed) % 25 - 1;
            ctx.position = rand_r(&seed) % 42 - 1;   /* -1: not sent */
            got = sk_model_score(&m, &u, &t, &ctx);
            sk_features_raw(&m.plan, &u, &t, &ctx, raw);
            sk_features_nodes(&m.plan, raw, m.bias, x);
            predict_values(m.lin, x, &dec);
            want = 1 / (1 + exp(m.lin->label[0] == 1 ? -dec : dec));
            if (solver == 0) {
                predict_probability(m.lin, x, prob);
                if (fabs(prob[m.play_index] - want) > 1e-12) {
                    same = 0;
                }
            }
            if (got != want
                || sk_model_decide(&m, got) != (predict(m.lin, x) == 1))
            {
                if (!(fabs(dec) < 1e-12)) {
                    same = 0;
                }
            }
            /* Trained model in memory: the file kept every digit. */
            predict_values(lin, x, &dec);
            if (fabs(1 / (1 + exp(lin->label[0] == 1 ? -dec : dec)) - got)
                > 1e-12)
            {
                same = 0;
            }
        }
        ok(same, "sk_model_score == liblinear predict on the same nodes "
           "(500 random pairs)");
        {
            struct timespec a, b;
            double          acc = 0, ns;
            int             reps = 200000;

            clock_gettime(CLOCK_MONOTONIC, &a);
            for (i = 0; i < reps; i++) {
                u.plays = i & 255;
                acc += sk_model_score(&m, &u, &t, &ctx);
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / reps;
            diag("sk_model_score, %d features: %.0f ns per score (%g)",
                 m.plan.n, ns, acc);
            /* Loose: sanitizer builds are ~10x slower. */
            ok(ns < 20000, "scoring is cheap (%.0f ns)", ns);
        }
        sk_model_free(&m);
        free_and_destroy_model(&lin);
    }

    /* Refusals, each naming the file. */
    refuses("/nonexistent/x.model", "/nonexistent/x.json", "missing manifest");

    snprintf(bad, sizeof(bad), "%s/bad.model", dir);
    snprintf(badj, sizeof(badj), "%s/bad.json", dir);
    copy_file(jpath, badj);
    refuses(bad, "bad.model", "missing model file");

    /* Corrupt model: one byte changed -> the hash check names the file. */
    copy_file(mpath, bad);
    f = fopen(bad, "r+b");
    fseek(f, -3, SEEK_END);
    fputc('9', f);
    fclose(f);
    refuses(bad, "bad.model: hash", "corrupt model (hash)");

    /* Garbage model whose hash the manifest claims: liblinear rejects. */
    f = fopen(bad, "w");
    fputs("this is not a model\n", f);
    fclose(f);
    j = read_json(jpath);
    {
        char h[17];
        sk_file_hash(bad, h);
        cJSON_ReplaceItemInObject(j, "model_hash", cJSON_CreateString(h));
    }
    write_json(badj, j);
    cJSON_Delete(j);
    {
        /* liblinear says "unknown text in model file" on stderr itself. */
        int saved = dup(2), null = open("/dev/null", O_WRONLY);

        dup2(null, 2);
        refuses(bad, "not a valid liblinear model", "garbage model");
        dup2(saved, 2);
        close(null);
        close(saved);
    }

    /* Manifest/model mismatches (model untouched, hash still right). */
    copy_file(mpath, bad);
    j = read_json(jpath);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(j, "features"), 0);
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "features, the model has", "feature count mismatch");

    j = read_json(jpath);
    cJSON_ReplaceItemInObject(j, "bias", cJSON_CreateNumber(-1));
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "bias", "bias mismatch");

    j = read_json(jpath);
    {
        cJSON *lab = cJSON_GetObjectItem(j, "labels");
        int    a = cJSON_GetArrayItem(lab, 0)->valueint;
        cJSON_ReplaceItemInArray(lab, 0, cJSON_CreateNumber(1 - a));
        cJSON_ReplaceItemInArray(lab, 1, cJSON_CreateNumber(a));
    }
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "labels", "labels mismatch");

    j = read_json(jpath);
    cJSON_ReplaceItemInObject(j, "solver", cJSON_CreateString("l2r_lr"));
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "solver", "solver mismatch");

    j = read_json(jpath);
    cJSON_ReplaceItemInObject(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 2), "name",
        cJSON_CreateString("from_the_future"));
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "from_the_future", "a feature this build cannot compute");

    j = read_json(jpath);
    cJSON_ReplaceItemInObject(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "features"), 1), "scale",
        cJSON_CreateNumber(0));
    write_json(badj, j);
    cJSON_Delete(j);
    refuses(bad, "scale", "scale 0");

    f = fopen(badj, "w");
    fputs("{\"format_version\": 1, \"name\": ", f);
    fclose(f);
    refuses(bad, "bad.json: not a JSON object", "truncated manifest");

    /* The naive model. */
    sk_model_naive(&nv);
    memset(&u, 0, sizeof(u));
    memset(&t, 0, sizeof(t));
    u.fav = 1ULL << 3;
    t.genres = 1ULL << 3;
    ctx.hour = 1;
    ctx.position = -1;
    is_near(sk_model_score(&nv, &u, &t, &ctx), 1, 0, "naive: match -> 1");
    is_int(sk_model_decide(&nv, 1), 1, "naive: match -> play");
    t.genres = 1ULL << 4;
    is_int(sk_model_decide(&nv, sk_model_score(&nv, &u, &t, &ctx)), 0,
           "naive: no match -> skip");
    is_str(nv.name, "naive", "naive name");

    unlink(mpath);
    unlink(jpath);
    unlink(bad);
    unlink(badj);
    rmdir(dir);
    return done_testing();
}
