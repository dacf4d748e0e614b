/*
 * skipctl predict: score one (user, track) pair with a saved model, from the
 * records a dataset's whole history gives (what `skipctl features load`
 * would put in Redis), through the same sk_model_score the module calls.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <linear.h>

#include "cli.h"
#include "../data/history.h"
#include "../data/taste_hist.h"
#include "../core/model.h"
#include "../core/session_live.h"

static void
usage(FILE *out)
{
    fprintf(out,
"usage: skipctl predict --model FILE.model --data DIR [OPTIONS] USER TRACK\n"
"\n"
"Print P(play) and the decision of a saved model for USER (a user_id of\n"
"DIR/users.jsonl) starting TRACK (a track id of DIR/tracks.jsonl).  The\n"
"user and track records are built from every session in DIR, as\n"
"`skipctl features load` builds them for Redis, and scored with the\n"
"function the nginx module calls.  A model that reads the listener's\n"
"taste gets the genre and hour counts of every session in DIR, as\n"
"`skipctl features load` stores them, and no artist counts (the artist\n"
"features abstain), as the module serves them (docs/taste-features.md).\n"
"\n"
"Output: \"score S\" (P(play), 6 decimals) and \"decision play|skip\";\n"
"with --json also \"session_expect\", the expected P(skip) of the pair\n"
"that a session's residual measures its outcome against (what the module\n"
"leaves in the session's hash when it serves the track).\n"
"\n"
"Options:\n"
"  --model FILE   the .model file (its manifest FILE.json next to it), or\n"
"                 \"naive\" for the built-in genre rule (required)\n"
"  --data DIR     dataset directory (required)\n"
"  --hour H       local hour of the request 0..23 (default: now, local\n"
"                 time, as the module would use); -1 = unknown\n"
"  --position N   plays before this one in the listening session (0 =\n"
"                 the first), as the player sends it to the module\n"
"                 (skip_position); default unknown: the model scores the\n"
"                 average position of its training data\n"
"  --session-plays N, --session-skips N\n"
"                 the session context (taste+session models): tracks of\n"
"                 this listening session played in full and skipped\n"
"                 before this one, as the module reads them from the\n"
"                 session's hash or the player's counts\n"
"                 (skip_session, skip_session_counts); both or neither.\n"
"                 Default: unknown, the session features abstain\n"
"  --session-prev play|skip|none\n"
"                 the previous track's outcome (none: the first track;\n"
"                 required when plays + skips > 0)\n"
"  --session-resid R, --session-prev-expect E\n"
"                 the session's residual (its skips less their expected\n"
"                 P(skip)) and the previous track's expected P(skip), as\n"
"                 the hash's fields r and e hold them (\"%%.17g\", or\n"
"                 \"unknown\"); default 0 (no track before)\n"
"  --explain      also print every feature: raw value, standardised value,\n"
"                 weight and contribution to the margin\n"
"  --json         print JSON (score with all digits, features)\n"
"  --help         this text\n"
"\n"
"Exit status: 0 success, 1 failure (unknown user or track, bad files),\n"
"2 usage error.\n");
}

/*
 * The records and, when taste is not NULL, the listener's taste as the
 * module gets them from a snapshot of DIR (cmd_features_load.c counts the
 * same rows with the same rules).  0, or -1 with err.
 */
static int
build_inputs(sk_history *h, const sk_dataset *ds, const char *dir,
    uint32_t user, uint32_t track, int hour, sk_taste *taste, char *err,
    size_t errlen)
{
    sk_labels     l;
    sk_taste_hist th;
    size_t        i;

    if (sk_history_init(h, ds) != 0) {
        snprintf(err, errlen, "out of memory for %zu users, %zu tracks",
                 ds->n_users, ds->n_tracks);
        return -1;
    }
    sk_labels_init(&l);
    if (sk_labels_read(&l, ds, dir, NULL, NULL, err, errlen) != 0) {
        sk_labels_free(&l);
        return -1;
    }
    sk_history_add_rows(h, l.rows, l.n, -1);
    if (taste != NULL) {
        if (sk_taste_hist_init(&th, ds->n_users, 0) != 0) {
            snprintf(err, errlen, "out of memory for the taste history");
            sk_labels_free(&l);
            return -1;
        }
        for (i = 0; i < l.n; i++) {
            const sk_labelled *r = &l.rows[i];

            if (r->user == user) {
                (void) sk_taste_hist_add(&th, r->user, UINT32_MAX,
                                         ds->tracks[r->track].genre_mask,
                                         sk_labelled_hour(r), 0, r->label);
            }
        }
        sk_taste_hist_get(&th, user, UINT32_MAX, ds->tracks[track].genre_mask,
                          hour, -1, taste);
        taste->artist[0] = -1;      /* not served (taste_stored.h) */
        sk_taste_hist_free(&th);
    }
    sk_labels_free(&l);
    return 0;
}

/* Weight of feature j (0-based; j == n: the bias) towards "play". */
static double
weight_of(const sk_model *m, int j)
{
    double w = m->lin->w[j];

    return m->play_index == 0 ? w : -w;
}

int
cmd_predict(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "model", required_argument, NULL, 'm' },
        { "data", required_argument, NULL, 'd' },
        { "hour", required_argument, NULL, 'H' },
        { "position", required_argument, NULL, 'p' },
        { "session-plays", required_argument, NULL, 'P' },
        { "session-skips", required_argument, NULL, 'S' },
        { "session-prev", required_argument, NULL, 'L' },
        { "session-resid", required_argument, NULL, 'R' },
        { "session-prev-expect", required_argument, NULL, 'E' },
        { "explain", no_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char   *model = NULL, *dir = NULL, *user_s, *track_s;
    char          err[1024], *end;
    int           ch, explain = 0, json = 0, rc = SK_EXIT_FAIL, j;
    long          hour = -2, position = -1, ui, ti;
    long long     user_id;
    sk_model      m;
    sk_dataset    ds;
    sk_history    h;
    sk_context    ctx;
    sk_taste      taste, *tp = NULL;
    sk_session    sess, *sp = NULL;
    int           s_plays = -1, s_skips = -1, s_prev = -2;
    double        s_resid = 0, s_expect = 0;
    double        score, raw[SK_MAX_FEATURES];
    cJSON        *r, *fa, *f;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm': model = optarg; break;
        case 'd': dir = optarg; break;
        case 'H':
            errno = 0;
            hour = strtol(optarg, &end, 10);
            if (*end || errno || hour < -1 || hour > 23) {
                sk_errorf("predict", "--hour %s: 0..23, or -1", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'p':
            errno = 0;
            position = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || errno || position < 0
                || position > 1000000)
            {
                sk_errorf("predict", "--position %s: a count of plays, "
                          "0 or more", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'P':
        case 'S':
            j = sk_session_count(optarg, strlen(optarg));
            if (j < 0) {
                sk_errorf("predict", "--session-%s %s: a count, 0..%d",
                          ch == 'P' ? "plays" : "skips", optarg,
                          SK_SESS_COUNT_MAX);
                return SK_EXIT_USAGE;
            }
            *(ch == 'P' ? &s_plays : &s_skips) = j;
            break;
        case 'L':
            s_prev = sk_session_prev(optarg, strlen(optarg));
            if (s_prev < -1) {
                sk_errorf("predict", "--session-prev %s: play, skip or none",
                          optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case 'R':
        case 'E':
            /* the module's parser: the same text, the same double */
            if (sk_session_real(optarg, strlen(optarg),
                                ch == 'R' ? &s_resid : &s_expect) != 0
                || (ch == 'E' && (s_expect < 0 || s_expect > 1)))
            {
                sk_errorf("predict", "--session-%s %s: %s, or unknown",
                          ch == 'R' ? "resid" : "prev-expect", optarg,
                          ch == 'R' ? "a number" : "a probability 0..1");
                return SK_EXIT_USAGE;
            }
            break;
        case 'e': explain = 1; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return SK_EXIT_OK;
        default: usage(stderr); return SK_EXIT_USAGE;
        }
    }
    if (model == NULL || dir == NULL || argc - optind != 2) {
        sk_errorf("predict", "need --model FILE, --data DIR, USER and TRACK "
                  "(see --help)");
        return SK_EXIT_USAGE;
    }
    if ((s_plays < 0) != (s_skips < 0)) {
        sk_errorf("predict", "--session-plays and --session-skips go "
                  "together");
        return SK_EXIT_USAGE;
    }
    if (s_plays >= 0) {
        if (s_prev == -2) {
            if (s_plays + s_skips > 0) {
                sk_errorf("predict", "--session-prev: play or skip, the "
                          "previous track's outcome");
                return SK_EXIT_USAGE;
            }
            s_prev = -1;
        }
        if (!sk_session_counts_ok(s_plays, s_skips, s_prev)) {
            sk_errorf("predict", "--session-prev %s with %d plays and %d "
                      "skips: none exactly for the first track (0 and 0)",
                      s_prev == 1 ? "play" : s_prev == 0 ? "skip" : "none",
                      s_plays, s_skips);
            return SK_EXIT_USAGE;
        }
        sess.plays = s_plays;
        sess.skips = s_skips;
        sess.prev = s_prev;
        sess.resid = s_resid;
        sess.prev_expect = s_expect;
        sp = &sess;
    } else if (s_prev != -2) {
        sk_errorf("predict", "--session-prev needs --session-plays and "
                  "--session-skips");
        return SK_EXIT_USAGE;
    }
    user_s = argv[optind];
    track_s = argv[optind + 1];
    errno = 0;
    user_id = strtoll(user_s, &end, 10);
    if (*user_s == '\0' || *end || errno) {
        sk_errorf("predict", "USER '%s': a numeric user_id", user_s);
        return SK_EXIT_USAGE;
    }
    if (hour == -2) {
        time_t    now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        hour = tm.tm_hour;
    }
    ctx.hour = (int) hour;
    ctx.position = (int) position;
    ctx.admit = NULL;

    /* as the module does: the session unknown unless given */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    if (strcmp(model, "naive") == 0) {
        sk_model_naive(&m);
    } else if (sk_model_load(&m, model, err, sizeof(err)) != 0) {
        sk_errorf("predict", "%s", err);
        return SK_EXIT_FAIL;
    }
    memset(&h, 0, sizeof(h));
    if (sk_dataset_load(dir, &ds, NULL) != 0) {
        sk_errorf("predict", "%s", ds.error);
        goto done;
    }
    ui = sk_dataset_find_user(&ds, (int64_t) user_id);
    if (ui < 0) {
        sk_errorf("predict", "user %lld is not in %s/users.jsonl", user_id,
                  dir);
        goto done;
    }
    ti = sk_dataset_find_track(&ds, track_s, strlen(track_s));
    if (ti < 0) {
        sk_errorf("predict", "track '%s' is not in %s/tracks.jsonl", track_s,
                  dir);
        goto done;
    }
    if (m.kind == SK_MODEL_LINEAR
        && (sk_feature_plan_inputs(&m.plan) & SK_INPUT_TASTE))
    {
        tp = &taste;
    }
    if (build_inputs(&h, &ds, dir, (uint32_t) ui, (uint32_t) ti, ctx.hour,
                     tp, err, sizeof(err)) != 0)
    {
        sk_errorf("predict", "%s", err);
        goto done;
    }

    score = sk_model_score_ext(&m, &h.users[ui], &h.tracks[ti], &ctx, tp,
                               sp);
    if (m.kind == SK_MODEL_LINEAR) {
        sk_features_raw_ext(&m.plan, &h.users[ui], &h.tracks[ti], &ctx, tp,
                            sp, raw);
    }
    if (json) {
        r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "model", m.name);
        cJSON_AddStringToObject(r, "version", m.version);
        cJSON_AddNumberToObject(r, "user", (double) user_id);
        cJSON_AddStringToObject(r, "track", track_s);
        cJSON_AddNumberToObject(r, "hour", ctx.hour);
        if (ctx.position >= 0) {
            cJSON_AddNumberToObject(r, "position", ctx.position);
        } else {
            cJSON_AddNullToObject(r, "position");
        }
        {
            char buf[32];

            snprintf(buf, sizeof(buf), "%.17g", score);
            cJSON_AddRawToObject(r, "score", buf);
        }
        cJSON_AddStringToObject(r, "decision",
                                sk_model_decide(&m, score) ? "play" : "skip");
        if (m.kind == SK_MODEL_LINEAR) {
            char buf[32];

            /* what the module leaves in the session's hash for this
             * track (e:<track>): the residual's expectation */
            snprintf(buf, sizeof(buf), "%.17g",
                     sk_session_expect(&m.plan.priors, &h.users[ui],
                                       &h.tracks[ti]));
            cJSON_AddRawToObject(r, "session_expect", buf);
        }
        if (m.kind == SK_MODEL_LINEAR) {
            fa = cJSON_AddArrayToObject(r, "features");
            for (j = 0; j < m.plan.n; j++) {
                char buf[32];

                f = cJSON_CreateObject();
                cJSON_AddStringToObject(f, "name",
                                        sk_feature_name(m.plan.id[j]));
                snprintf(buf, sizeof(buf), "%.17g", raw[j]);
                cJSON_AddRawToObject(f, "raw", buf);
                cJSON_AddItemToArray(fa, f);
            }
        }
        {
            char *txt = cJSON_Print(r);

            printf("%s\n", txt);
            free(txt);
        }
        cJSON_Delete(r);
    } else {
        printf("score %.6f\n", score);
        printf("decision %s\n", sk_model_decide(&m, score) ? "play" : "skip");
        if (explain && m.kind == SK_MODEL_LINEAR) {
            double margin = 0;

            printf("\nmodel %s@%s, hour %d, position %d; margin towards "
                   "play:\n", m.name, m.version, ctx.hour, ctx.position);
            printf("%-26s %14s %10s %10s %10s\n", "feature", "raw",
                   "scaled", "weight", "contrib");
            for (j = 0; j < m.plan.n; j++) {
                double z = (raw[j] - m.plan.mean[j]) / m.plan.scale[j];
                double w = weight_of(&m, j);

                margin += w * z;
                printf("%-26s %14.6g %10.4f %10.4f %10.4f\n",
                       sk_feature_name(m.plan.id[j]), raw[j], z, w, w * z);
            }
            if (m.bias >= 0) {
                double w = weight_of(&m, m.plan.n);

                margin += w * m.bias;
                printf("%-26s %14.6g %10.4f %10.4f %10.4f\n", "(bias)",
                       m.bias, m.bias, w, w * m.bias);
            }
            printf("margin %.6f -> P(play) %.6f\n", margin,
                   1 / (1 + exp(-margin)));
        }
    }
    rc = SK_EXIT_OK;

done:
    sk_history_free(&h);
    sk_dataset_free(&ds);
    sk_model_free(&m);
    return rc;
}
