/*
 * Label rules (a Skip beside a Play means skipped; Play = 1, Skip = 0) and
 * leakage-free splits: a feature computed for a test row never sees that
 * row or any other test-window row, and a training row never sees its own
 * label.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/featurize.h"
#include "data/history.h"
#include "data/labels.h"
#include "data/split.h"
#include "tap.h"
#include "train/trainer.h"

#define NT 12          /* tracks */
#define NU 4           /* users */
#define NS 50          /* sessions */

static char dir[256];

static const char *
track_id(int i)
{
    static char ids[NT][23];

    snprintf(ids[i], sizeof(ids[i]), "TRACK%017d", i);
    return ids[i];
}

static void
write_file(const char *name, const char *text)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Artists, tracks, users, storage: small, fixed. */
static void
write_tables(void)
{
    char  buf[8192];
    size_t o = 0;
    int   i;

    write_file("artists.jsonl",
        "{\"id\":\"ARTIST0000000000000000\",\"name\":\"A\","
        "\"genres\":[\"rock\",\"indie\"]}\n"
        "{\"id\":\"ARTIST0000000000000001\",\"name\":\"B\","
        "\"genres\":[\"vocal jazz\"]}\n");
    for (i = 0; i < NT; i++) {
        o += snprintf(buf + o, sizeof(buf) - o,
            "{\"id\":\"%s\",\"artist_id\":\"ARTIST000000000000000%d\","
            "\"name\":\"t\",\"popularity\":%d,\"duration_ms\":%d,"
            "\"explicit\":%d,\"release_date\":\"1999\",\"danceability\":0.5,"
            "\"energy\":0.5,\"key\":1,\"mode\":null,\"loudness\":-5,"
            "\"speechiness\":0.1,\"acousticness\":0.1,"
            "\"instrumentalness\":0.1,\"liveness\":0.1,\"valence\":0.1,"
            "\"tempo\":100,\"time_signature\":4}\n", track_id(i), i % 2,
            10 * i, 200000 + 20000 * i, i % 3 == 0);
    }
    write_file("tracks.jsonl", buf);
    o = 0;
    for (i = 0; i < NT; i++) {
        o += snprintf(buf + o, sizeof(buf) - o,
            "{\"track_id\":\"%s\",\"storage_class\":\"Slow\","
            "\"daily_cost\":0.01}\n", track_id(i));
    }
    write_file("track_storage.jsonl", buf);
    o = 0;
    for (i = 0; i < NU; i++) {
        o += snprintf(buf + o, sizeof(buf) - o,
            "{\"user_id\":%d,\"name\":\"U\",\"city\":\"C\",\"street\":\"S\","
            "\"favourite_genres\":[\"%s\",\"pop\",\"soul\"],"
            "\"premium_user\":%s}\n", 101 + i, i % 2 ? "rock" : "vocal jazz",
            i % 2 ? "true" : "false");
    }
    write_file("users.jsonl", buf);
}

/*
 * Sessions: session s (id 200 + s) starts at minute 10 * s, user s % NU,
 * plays tracks (s + k) % NT for k < 5; play k is skipped when bit k of
 * skips[s] is set (flip_test: the labels of the last 10 sessions are
 * inverted; flip_one: the label of session 3's first play is inverted).
 */
static void
write_sessions(const unsigned *skips, int flip_test, int flip_one)
{
    static char buf[1 << 20];
    size_t      o = 0;
    int         s, k;

    for (s = 0; s < NS; s++) {
        long ms = (long) s * 600000;

        for (k = 0; k < 5; k++) {
            int  skip = (skips[s] >> k) & 1;
            long t = ms + k * 60000;

            if (flip_test && s >= NS - 10) {
                skip = !skip;
            }
            if (flip_one && s == 3 && k == 0) {
                skip = !skip;
            }
            o += snprintf(buf + o, sizeof(buf) - o,
                "{\"timestamp\":\"2024-02-05 %02ld:%02ld:%02ld.0 +02:00:00\","
                "\"user_id\":%d,\"track_id\":\"%s\",\"event_type\":\"Play\","
                "\"session_id\":%d}\n", t / 3600000 % 24, t / 60000 % 60,
                t / 1000 % 60, 101 + s % NU, track_id((s + k) % NT), 200 + s);
            if (skip) {
                t += 30000;
                o += snprintf(buf + o, sizeof(buf) - o,
                    "{\"timestamp\":\"2024-02-05 %02ld:%02ld:%02ld.0 "
                    "+02:00:00\",\"user_id\":%d,\"track_id\":\"%s\","
                    "\"event_type\":\"Skip\",\"session_id\":%d}\n",
                    t / 3600000 % 24, t / 60000 % 60, t / 1000 % 60,
                    101 + s % NU, track_id((s + k) % NT), 200 + s);
            }
        }
        /* An ad and a like: not labels. */
        o += snprintf(buf + o, sizeof(buf) - o,
            "{\"timestamp\":\"2024-02-05 00:00:01.0 +02:00:00\",\"user_id\":%d,"
            "\"track_id\":\"\",\"event_type\":\"Advertisement\","
            "\"session_id\":%d}\n", 101 + s % NU, 200 + s);
    }
    write_file("sessions.jsonl", buf);
}

/* Every row's full feature vector, in label order. */
static double *
features_of(sk_prepared *p, const sk_feature_plan *plan)
{
    double *out = malloc(p->labels.n * plan->n * sizeof(double));
    size_t  i;

    for (i = 0; i < p->labels.n; i++) {
        sk_row_features(p, &p->labels.rows[i], plan, out + i * plan->n);
    }
    return out;
}

/* Does a session play track t or belong to user u?  (Its rows' expected
 * skip rates, which the session residual uses, then depend on them.) */
static int
touches(const sk_prepared *p, int64_t session, uint32_t u, uint32_t t)
{
    size_t i;

    for (i = 0; i < p->labels.n; i++) {
        const sk_labelled *r = &p->labels.rows[i];

        if (r->session_id == session && (r->user == u || r->track == t)) {
            return 1;
        }
    }
    return 0;
}

static sk_event_row
ev(int64_t session, int user, int track, sk_event_type type, int64_t ts)
{
    sk_event_row e;

    memset(&e, 0, sizeof(e));
    e.session_id = session;
    e.user_id = user;
    e.type = type;
    e.ts_ms = ts;
    e.tz_min = 120;
    snprintf(e.track_id, sizeof(e.track_id), "%s",
             track < 0 ? "" : track_id(track));
    return e;
}

int
main(void)
{
    sk_dataset       ds;
    sk_labels        l;
    sk_event_row     e;
    sk_train_opts    o;
    sk_prepared      p, q;
    sk_feature_plan  plan;
    const char *const *names;
    unsigned         skips[NS];
    double          *fa, *fb;
    char             err[512];
    int              n, s, same, k, set;
    size_t           i;
    long             r;

    snprintf(dir, sizeof(dir), "/tmp/skip-unit-labels.%ld", (long) getpid());
    mkdir(dir, 0700);
    write_tables();
    srand(5);
    for (s = 0; s < NS; s++) {
        skips[s] = (unsigned) rand();
    }
    write_sessions(skips, 0, 0);
    if (sk_dataset_load(dir, &ds, NULL) != 0) {
        diag("%s", ds.error);
        return 1;
    }

    /* ---- the label rules ---- */
    sk_labels_init(&l);
    e = ev(1, 101, 0, SK_EV_PLAY, 1000);   sk_labels_add(&l, &ds, &e);
    e = ev(1, 101, 0, SK_EV_SKIP, 5000);   sk_labels_add(&l, &ds, &e);
    e = ev(1, 101, 1, SK_EV_PLAY, 5000);   sk_labels_add(&l, &ds, &e);
    e = ev(1, 101, 1, SK_EV_LIKE, 6000);   sk_labels_add(&l, &ds, &e);
    e = ev(1, 101, -1, SK_EV_ADVERTISEMENT, 7000); sk_labels_add(&l, &ds, &e);
    e = ev(2, 102, 2, SK_EV_SKIP, 9000);   sk_labels_add(&l, &ds, &e);
    e = ev(2, 102, 0, SK_EV_PLAY, 8000);   sk_labels_add(&l, &ds, &e);
    e = ev(2, 102, 0, SK_EV_PLAY, 9500);   sk_labels_add(&l, &ds, &e);
    e = ev(3, 101, 0, SK_EV_SKIP, 20000);  sk_labels_add(&l, &ds, &e);
    e = ev(3, 101, 0, SK_EV_PLAY, 19000);  sk_labels_add(&l, &ds, &e);
    e = ev(3, 999, 0, SK_EV_PLAY, 19000);  sk_labels_add(&l, &ds, &e);
    e = ev(3, 101, 0, SK_EV_PLAY, 19000);
    memcpy(e.track_id, "NOSUCHTRACK00000000000", 22);
    sk_labels_add(&l, &ds, &e);
    ok(sk_labels_finish(&l) == 0, "labels finish");

    is_int(l.n, 5, "5 labelled plays from 12 events");
    is_int(l.unknown_user, 1, "unknown user dropped and counted");
    is_int(l.unknown_track, 1, "unknown track dropped and counted");
    r = sk_labels_find(&l, 1, 0);
    ok(r >= 0 && l.rows[r].label == 0, "Skip beside a Play -> skipped (0)");
    ok(r >= 0 && l.rows[r].ts_ms == 1000, "request time is the Play's");
    r = sk_labels_find(&l, 1, 1);
    ok(r >= 0 && l.rows[r].label == 1, "Play alone -> listened (1)");
    r = sk_labels_find(&l, 2, 2);
    ok(r >= 0 && l.rows[r].label == 0, "Skip without a Play -> 0");
    ok(r >= 0 && l.rows[r].ts_ms == 9000, "... at the Skip's time");
    r = sk_labels_find(&l, 2, 0);
    ok(r >= 0 && l.rows[r].label == 1 && l.rows[r].ts_ms == 8000,
       "two Plays of one track in a session -> one row, the first");
    r = sk_labels_find(&l, 3, 0);
    ok(r >= 0 && l.rows[r].label == 0, "Skip before Play in file order");
    is_int(l.skipped_with_play, 2, "pairs with Play and Skip");
    is_int(l.skip_only, 1, "pairs with a Skip only");
    ok(sk_labels_find(&l, 1, 2) < 0, "no row for an unseen pair");
    /* Positions: request order within the session, Skip-only rows too. */
    r = sk_labels_find(&l, 1, 0);
    is_int(r >= 0 ? l.rows[r].position : -1, 0, "first play: position 0");
    r = sk_labels_find(&l, 1, 1);
    is_int(r >= 0 ? l.rows[r].position : -1, 1, "second play: position 1");
    r = sk_labels_find(&l, 2, 0);
    is_int(r >= 0 ? l.rows[r].position : -1, 0,
           "a repeated track keeps its first request's place");
    r = sk_labels_find(&l, 2, 2);
    is_int(r >= 0 ? l.rows[r].position : -1, 1,
           "a Skip-only pair counts at the Skip's time");
    r = sk_labels_find(&l, 3, 0);
    is_int(r >= 0 ? l.rows[r].position : -1, 0,
           "positions restart in every session");
    is_int(sk_labelled_hour(&l.rows[0]), 2, "hour as written (+02:00)");
    sk_labels_free(&l);
    sk_dataset_free(&ds);

    /* ---- leakage-free time split: the records, then the taste ---- */
    for (set = 0; set < 2; set++) {
    write_sessions(skips, 0, 0);
    names = sk_feature_set(set ? "taste" : "full", &n);
    sk_feature_plan_init(&plan, names, n, err, sizeof(err));
    diag("feature set %s", set ? "taste" : "full");
    sk_train_opts_default(&o);
    o.data_dir = dir;
    o.inputs = sk_feature_plan_inputs(&plan);
    ok(sk_prepare(&p, &o, err, sizeof(err)) == 0, "prepare (time split)");
    is_int(p.labels.n, NS * 5, "one row per play");
    is_int(p.n_test, 10 * 5, "the last 10 of 50 sessions test");
    for (i = 0, same = 1; i < p.labels.n; i++) {
        const sk_labelled *x = &p.labels.rows[i];
        same &= (x->split == SK_ROW_TEST) == (x->session_id >= 200 + NS - 10);
    }
    ok(same, "test rows are exactly the latest sessions");
    fa = features_of(&p, &plan);

    /* Test rows' records = counts over training rows, brute force. */
    for (i = 0, same = 1; i < p.labels.n; i++) {
        const sk_labelled *x = &p.labels.rows[i];
        sk_user_rec  u;
        sk_track_rec t;
        sk_context   c;
        double       up = 0, us = 0, tp = 0, ts = 0;
        size_t       j;

        if (x->split != SK_ROW_TEST) {
            continue;
        }
        for (j = 0; j < p.labels.n; j++) {
            const sk_labelled *y = &p.labels.rows[j];

            if (y->split != SK_ROW_TRAIN) {
                continue;
            }
            if (y->user == x->user) {
                up += y->label;
                us += !y->label;
            }
            if (y->track == x->track) {
                tp += y->label;
                ts += !y->label;
            }
        }
        sk_row_inputs(&p, x, &u, &t, &c);
        same &= u.plays == up && u.skips == us && t.plays == tp
                && t.skips == ts;
    }
    ok(same, "a test row's history counts only training rows");

    /* Invert every test-window label: no feature of any row may move. */
    write_sessions(skips, 1, 0);
    ok(sk_prepare(&q, &o, err, sizeof(err)) == 0, "prepare, test flipped");
    fb = features_of(&q, &plan);
    for (i = 0, same = 1, k = 0; i < p.labels.n; i++) {
        same &= memcmp(fa + i * n, fb + i * n, n * sizeof(double)) == 0;
        k += p.labels.rows[i].label != q.labels.rows[i].label;
    }
    is_int(k, 50, "50 labels inverted");
    ok(same, "features of every row ignore all test-window labels");
    free(fb);
    sk_prepared_free(&q);

    /* Invert one training label: that row's own features stay put. */
    write_sessions(skips, 0, 1);
    sk_prepare(&q, &o, err, sizeof(err));
    fb = features_of(&q, &plan);
    for (i = 0, k = -1; i < q.labels.n; i++) {
        if (q.labels.rows[i].session_id == 203
            && q.labels.rows[i].track == (uint32_t) (3 % NT))
        {
            k = (int) i;
        }
    }
    ok(k >= 0 && p.labels.rows[k].label != q.labels.rows[k].label,
       "the training row's label was inverted");
    ok(k >= 0 && memcmp(fa + k * n, fb + k * n, n * sizeof(double)) == 0,
       "a training row's features never contain its own label");
    for (i = 0, same = 1; i < q.labels.n; i++) {
        if (q.labels.rows[i].split == SK_ROW_TEST) {
            same &= memcmp(fa + i * n, fb + i * n, n * sizeof(double)) == 0;
        }
    }
    ok(!same, "(while test rows do see the training label)");
    free(fb);
    sk_prepared_free(&q);
    free(fa);
    sk_prepared_free(&p);
    }
    write_sessions(skips, 0, 0);

    /* ---- session context: earlier plays of the session only ---- */
    names = sk_feature_set("taste+session", &n);
    sk_feature_plan_init(&plan, names, n, err, sizeof(err));
    sk_train_opts_default(&o);
    o.data_dir = dir;
    o.inputs = sk_feature_plan_inputs(&plan);
    ok(o.inputs == (SK_INPUT_TASTE | SK_INPUT_SESSION),
       "taste+session needs both inputs");
    ok(sk_prepare(&p, &o, err, sizeof(err)) == 0, "prepare (taste+session)");
    fa = features_of(&p, &plan);
    write_sessions(skips, 0, 1);       /* session 203's first play flipped */
    sk_prepare(&q, &o, err, sizeof(err));
    fb = features_of(&q, &plan);
    {
        int      own_same = 1, later_moved = 1, others_same = 1;
        uint32_t uj = 0, tj = 0;

        for (i = 0; i < q.labels.n; i++) {
            if (q.labels.rows[i].session_id == 203
                && q.labels.rows[i].position == 0)
            {
                uj = q.labels.rows[i].user;
                tj = q.labels.rows[i].track;
            }
        }
        for (i = 0; i < q.labels.n; i++) {
            const sk_labelled *x = &q.labels.rows[i];
            int eq = memcmp(fa + i * n, fb + i * n, n * sizeof(double)) == 0;

            if (x->session_id == 203 && x->position == 0) {
                own_same &= eq;
            } else if (x->session_id == 203) {
                later_moved &= !eq;
            } else if (!touches(&q, x->session_id, uj, tj)) {
                /* All but the session residuals, which are measured
                 * against expected skip rates and so against the global
                 * skip rate: every training label moves that. */
                int f;

                for (f = 0; f < n; f++) {
                    if (strstr(sk_feature_name(plan.id[f]), "resid") == NULL)
                    {
                        others_same &= fa[i * n + f] == fb[i * n + f];
                    }
                }
            }
        }
        ok(own_same, "session: a play's features never contain its own "
           "label");
        ok(later_moved, "session: the later plays of the session see it");
        ok(others_same, "sessions without that listener or track do not");
    }
    free(fb);
    sk_prepared_free(&q);
    free(fa);
    sk_prepared_free(&p);

    /* Random split: the original's, leaky by design; marked as such. */
    o.split_random = 1;
    ok(sk_prepare(&p, &o, err, sizeof(err)) == 0, "prepare (random split)");
    is_int(p.folds, 0, "random split: in-sample history (the original's)");
    ok(p.n_test > 0 && p.n_train > 0, "random split has both sides");
    sk_prepared_free(&p);

    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            diag("could not remove %s", dir);
        }
    }
    return done_testing();
}
