/*
 * skipctl features: the Redis feature store (docs/feature-store.md).
 *
 * This file: dispatch, the option parser the subcommands share, and the
 * small operator commands (get, set, status, activate).  load and gc are in
 * cmd_features_load.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_features.h"
#include "../core/event_rule.h"
#include "../core/featurize.h"
#include "../core/genres.h"
#include "../core/model.h"
#include "../core/records.h"
#include "../store/store.h"
#include "../core/store_scripts.h"
#include "../core/store_scripts_cluster.h"
#include "../core/journal.h"
#include "../core/session_live.h"
#include "../core/taste_stored.h"

const char feat_store_help[] =
"Redis options (all subcommands):\n"
"  --redis ADDR      HOST:PORT, [IPV6]:PORT, PORT or unix:PATH\n"
"                    (default 127.0.0.1:6379)\n"
"  --password PW     AUTH password; default $SKIP_REDIS_PASSWORD, which\n"
"                    keeps it out of the process list\n"
"  --db N            SELECT database N (default 0)\n"
"  --prefix P        key prefix, 1..32 of [A-Za-z0-9_.-] (default skip;\n"
"                    nginx: skip_redis_prefix)\n"
"  --timeout MS      connect and per-reply timeout (default 5000)\n"
"  --cluster         Redis Cluster: --redis is any node (a seed); commands\n"
"                    go to the primary of their key, loads pipeline per\n"
"                    primary, gc SCANs every primary, activate is a checked\n"
"                    SET after catching the snapshot up with the events\n"
"                    journal; live events (the module, `features event`)\n"
"                    are journaled per listener shard and counted by\n"
"                    `features apply`\n";

static void
help_main(FILE *out)
{
    fprintf(out,
"usage: skipctl features SUBCOMMAND [OPTIONS]\n"
"\n"
"The Redis feature store the nginx module reads: one hash per user and per\n"
"track, inside versioned snapshots; <prefix>:active names the snapshot\n"
"being served.  Schema and protocol: docs/feature-store.md.\n"
"\n"
"Subcommands:\n"
"  load      compute the records from a dataset, write a new snapshot,\n"
"            catch it up with the live events and make it active\n"
"  get       print a user's / a track's records (and the model's view)\n"
"  set       change one field of one record, validated\n"
"  status    the active snapshot, every snapshot's meta, the event stream\n"
"  activate  make another complete snapshot active (rollback)\n"
"  gc        delete old and abandoned snapshots, trim the event stream\n"
"  event     apply one live play/skip event (as the module does)\n"
"  apply     a Redis Cluster's journaled events into the records\n"
"  script    print one of the store's Lua scripts or its SHA1\n"
"\n"
"Run `skipctl features SUBCOMMAND --help` for its options.\n"
"\n%s\n"
"Exit status: 0 success, 1 failure (Redis, data, a missing or malformed\n"
"record), 2 usage error.\n", feat_store_help);
}

/* ---- shared helpers ------------------------------------------------- */

static int
store_opt_takes_value(const char *name)
{
    return strcmp(name, "--redis") == 0 || strcmp(name, "--password") == 0
           || strcmp(name, "--db") == 0 || strcmp(name, "--prefix") == 0
           || strcmp(name, "--timeout") == 0;
}

int
feat_parse(const char *sub, int argc, char **argv, sk_store_opts *so,
    const feat_opt *opts, const char **pos, int maxpos, int *npos,
    void (*help)(FILE *))
{
    char        name[64], err[512];
    const char *a, *eq, *val;
    const feat_opt *o;
    int         i, rc;

    *npos = 0;
    for (i = 1; i < argc; i++) {
        a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help(stdout);
            return -1;
        }
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (*npos >= maxpos) {
                    goto too_many;
                }
                pos[(*npos)++] = argv[i];
            }
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (*npos >= maxpos) {
                goto too_many;
            }
            pos[(*npos)++] = a;
            continue;
        }
        eq = strchr(a, '=');
        snprintf(name, sizeof(name), "%.*s",
                 (int) (eq ? (size_t) (eq - a) : strlen(a)), a);
        if (strcmp(name, "--cluster") == 0 && !eq) {
            so->cluster = 1;
            continue;
        }
        for (o = opts; o && o->name; o++) {
            if (strcmp(o->name, name) == 0) {
                break;
            }
        }
        if (o && o->name && o->flag) {
            if (eq) {
                sk_errorf(FEAT_CMD, "%s: %s takes no value", sub, name);
                goto usage;
            }
            *o->flag = 1;
            continue;
        }
        if ((o && o->name) || store_opt_takes_value(name)) {
            if (eq) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                sk_errorf(FEAT_CMD, "%s: %s needs a value", sub, name);
                goto usage;
            }
            if (o && o->name) {
                *o->str = val;
                continue;
            }
            rc = sk_store_opt(so, name, val, err, sizeof(err));
            if (rc < 0) {
                sk_errorf(FEAT_CMD, "%s: %s", sub, err);
                goto usage;
            }
            continue;
        }
        sk_errorf(FEAT_CMD, "%s: unknown option %s", sub, a);
        goto usage;
    }
    return 0;

too_many:
    sk_errorf(FEAT_CMD, "%s: unexpected argument \"%s\"", sub, argv[i]);
usage:
    fprintf(stderr, "Run `skipctl features %s --help` for usage.\n", sub);
    return SK_EXIT_USAGE;
}

long
feat_count(const char *sub, const char *opt, const char *v)
{
    char *end;
    long  n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno == ERANGE || n < 0) {
        sk_errorf(FEAT_CMD, "%s: %s %s: expected a non-negative integer",
                  sub, opt, v);
        return -1;
    }
    return n;
}

int
feat_connect(sk_store *s, const sk_store_opts *so)
{
    if (sk_store_connect(s, so) != 0) {
        sk_errorf(FEAT_CMD, "%s", s->err);
        sk_store_close(s);
        return -1;
    }
    return 0;
}

int
feat_snapshot(sk_store *s, const char *want, char *snap, size_t size)
{
    if (want) {
        if (!sk_snapshot_valid(want, strlen(want))) {
            sk_errorf(FEAT_CMD, "--snapshot %s: not a snapshot id", want);
            return -1;
        }
        snprintf(snap, size, "%s", want);
        return 0;
    }
    if (sk_snapshot_active(s, snap, size) != 0) {
        sk_errorf(FEAT_CMD, "%s", s->err);
        return -1;
    }
    if (snap[0] == '\0') {
        sk_errorf(FEAT_CMD, "no active snapshot (%s:active is not set); "
                  "run `skipctl features load` first", s->opts.prefix);
        return -1;
    }
    if (!sk_snapshot_valid(snap, strlen(snap))) {
        sk_errorf(FEAT_CMD, "%s:active holds \"%s\", not a snapshot id",
                  s->opts.prefix, snap);
        return -1;
    }
    return 0;
}

static int
check_id(const char *what, const char *id)
{
    if (!sk_id_valid(id, strlen(id))) {
        sk_errorf(FEAT_CMD, "%s id \"%s\": expected 1..%d characters of "
                  "[A-Za-z0-9_.-]", what, id, SK_ID_MAX);
        return -1;
    }
    return 0;
}

/* ---- get ------------------------------------------------------------ */

static void
help_get(FILE *out)
{
    fprintf(out,
"usage: skipctl features get [--model M] [--hour H] [--position N]\n"
"                            [--session ID] [--snapshot S] [REDIS OPTIONS]\n"
"                            USER [TRACK]\n"
"\n"
"Print the user's record and, given TRACK, the track's record, field by\n"
"field in readable form, from the active snapshot (Redis keeps most fields\n"
"packed in one binary field \"b\", see docs/feature-store.md), and whether\n"
"the module can use them: \"ok\", \"missing\" (no such record: the module\n"
"falls back) or \"malformed\" with the field and value the decoder rejects\n"
"(the module falls back, counted in metrics).\n"
"\n"
"With --model and a TRACK, also the feature vector the model sees, in the\n"
"manifest's order: name, raw value, standardised value; then P(play) and\n"
"the decision at the model's threshold.  Computed by the same code as the\n"
"module (src/core/featurize.c, src/core/model.c).\n"
"\n"
"Options:\n"
"  --model M       models/NAME.model (with NAME.json next to it), or\n"
"                  \"naive\" for the built-in genre rule\n"
"  --hour H        local hour of the request 0..23 for time-of-day\n"
"                  features (default: unknown, as the module without a\n"
"                  clock would see it)\n"
"  --position N    plays before this one in the listening session, as the\n"
"                  player sends it (skip_position); default unknown: the\n"
"                  model scores its training data's average position\n"
"  --session ID    also the listening session's live context, as the\n"
"                  module reads it for skip_session (the hash\n"
"                  <prefix>:sess:ID that the events script keeps; not in a\n"
"                  snapshot), and a model that reads the session scores\n"
"                  with it; without it the session features abstain\n"
"                  (docs/taste-features.md)\n"
"  --snapshot S    read snapshot S instead of the active one\n"
"\n%s\n"
"Exit status: 0 every record asked for is usable; 1 a record is missing or\n"
"malformed, or Redis failed; 2 usage.\n", feat_store_help);
}

static void
print_record(const char *kind, const char *key, const char *const *fields,
    int n, char vals[][SK_REC_VALMAX], const int *present, int rc,
    const char *derr)
{
    int i;

    printf("%s %s\n", kind, key);
    if (rc == SK_REC_MISSING) {
        printf("  (missing: no such record; the module falls back)\n");
        return;
    }
    for (i = 0; i < n; i++) {
        printf("  %-17s %s\n", fields[i], present[i] ? vals[i] : "(nil)");
    }
    if (rc == SK_REC_OK) {
        printf("  status            ok\n");
    } else {
        printf("  status            malformed: %s\n", derr);
    }
}

static int
feat_load_model(sk_model *m, const char *path)
{
    char err[512];

    if (strcmp(path, "naive") == 0) {
        sk_model_naive(m);
        return 0;
    }
    if (sk_model_load(m, path, err, sizeof(err)) != 0) {
        sk_errorf(FEAT_CMD, "%s", err);
        return -1;
    }
    return 0;
}

static void
print_vector(const sk_model *m, const sk_user_rec *u, const sk_track_rec *t,
    const sk_context *ctx, const sk_taste *taste, const sk_session *sess)
{
    double               raw[SK_MAX_FEATURES];
    struct feature_node  x[SK_MAX_FEATURES + 2];
    double               score;
    int                  i;

    printf("model %s@%s\n", m->name, m->version);
    if (m->kind == SK_MODEL_LINEAR && m->lin) {
        sk_features_raw_ext(&m->plan, u, t, ctx, taste, sess, raw);
        sk_features_nodes(&m->plan, raw, m->bias, x);
        printf("  %-3s %-26s %14s %14s\n", "#", "feature", "raw",
               "standardised");
        for (i = 0; i < m->plan.n; i++) {
            printf("  %-3d %-26s %14.6g %14.6g\n", i + 1,
                   sk_feature_name(m->plan.id[i]), raw[i], x[i].value);
        }
    } else {
        printf("  (built-in rule: play iff the track's genres meet the "
               "user's favourites)\n");
    }
    score = sk_model_score_ext(m, u, t, ctx, taste, sess);
    printf("score %.4f\n", score);
    printf("decision %s (threshold %.4g)\n",
           sk_model_decide(m, score) ? "play" : "skip", m->threshold);
}

/*
 * The session's hash as the module reads it (HMGET p s l r e), printed;
 * 0 with *out usable, -1 when it is not (malformed, an error reply).
 */
static int
feat_session(sk_store *s, const char *prefix, const char *id,
    sk_session *out)
{
    char         key[SK_KEY_MAX], err[256];
    const char  *argv[2 + SK_SESS_NFETCH], *vals[SK_SESS_NFETCH];
    size_t       lens[SK_SESS_NFETCH];
    redisReply  *r;
    int          i, rc;

    sk_key_session(key, sizeof(key), prefix, id, strlen(id));
    printf("session %s\n", key);
    argv[0] = "HMGET";
    argv[1] = key;
    for (i = 0; i < SK_SESS_NFETCH; i++) {
        argv[2 + i] = sk_session_fields[i];
    }
    r = sk_store_cmd(s, 2 + SK_SESS_NFETCH, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY
        || r->elements != SK_SESS_NFETCH)
    {
        printf("  status            error: %s (the session features "
               "abstain)\n", r == NULL ? s->err : "not an HMGET answer");
        if (r) {
            freeReplyObject(r);
        }
        return -1;
    }
    for (i = 0; i < SK_SESS_NFETCH; i++) {
        redisReply *f = r->element[i];

        vals[i] = f->type == REDIS_REPLY_STRING ? f->str : NULL;
        lens[i] = f->type == REDIS_REPLY_STRING ? f->len : 0;
        printf("  %-17s %.*s\n", sk_session_fields[i],
               vals[i] ? (int) lens[i] : 5, vals[i] ? vals[i] : "(nil)");
    }
    err[0] = '\0';
    rc = sk_session_decode(out, vals, lens, err, sizeof(err));
    freeReplyObject(r);
    if (rc != SK_REC_OK) {
        printf("  status            malformed: %s (the session features "
               "abstain)\n", err);
        return -1;
    }
    printf("  status            ok: %d played, %d skipped, previous %s\n",
           out->plays, out->skips,
           out->prev == 1 ? "played" : out->prev == 0 ? "skipped" : "none");
    return 0;
}

static int
feat_get(int argc, char **argv)
{
    sk_store_opts  so;
    sk_store       s;
    const char    *pos[2], *model = NULL, *hour = NULL, *want = NULL;
    const char    *position = NULL, *session = NULL;
    int            npos, rc, urc, trc = SK_REC_OK, status = SK_EXIT_OK;
    sk_session     sess, *sp = NULL;
    char           snap[SK_SNAP_MAX + 8], key[SK_KEY_MAX], derr[256];
    char           uvals[SK_USER_NFIELDS][SK_REC_VALMAX];
    char           tvals[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    int            upres[SK_USER_NFIELDS], tpres[SK_TRACK_NFIELDS];
    sk_user_rec    u;
    sk_track_rec   t;
    sk_model       m;
    sk_context     ctx = { -1, -1, NULL };
    sk_taste       taste;
    size_t         tn = 0;
    int            tsrc;
    char           ttxt[SK_TASTE_TEXTMAX];
    const feat_opt opts[] = {
        { "--model", &model, NULL }, { "--hour", &hour, NULL },
        { "--position", &position, NULL }, { "--snapshot", &want, NULL },
        { "--session", &session, NULL }, { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("get", argc, argv, &so, opts, pos, 2, &npos, help_get);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (npos < 1) {
        sk_errorf(FEAT_CMD, "get: USER is required");
        fprintf(stderr, "Run `skipctl features get --help` for usage.\n");
        return SK_EXIT_USAGE;
    }
    if (check_id("user", pos[0]) != 0
        || (npos > 1 && check_id("track", pos[1]) != 0)
        || (session && check_id("session", session) != 0))
    {
        return SK_EXIT_USAGE;
    }
    if (hour) {
        long h = feat_count("get", "--hour", hour);

        if (h < 0 || h > 23) {
            sk_errorf(FEAT_CMD, "get: --hour %s: expected 0..23", hour);
            return SK_EXIT_USAGE;
        }
        ctx.hour = (int) h;
    }
    if (position) {
        long n = feat_count("get", "--position", position);

        if (n < 0) {
            return SK_EXIT_USAGE;
        }
        ctx.position = n > SK_POSITION_MAX ? SK_POSITION_MAX : (int) n;
    }
    memset(&m, 0, sizeof(m));
    /* read below, as the module reads them */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    if (model && feat_load_model(&m, model) != 0) {
        return SK_EXIT_FAIL;
    }
    if (feat_connect(&s, &so) != 0) {
        sk_model_free(&m);
        return SK_EXIT_FAIL;
    }
    if (feat_snapshot(&s, want, snap, sizeof(snap)) != 0) {
        status = SK_EXIT_FAIL;
        goto done;
    }
    printf("snapshot %s\n", snap);

    urc = sk_store_get_user(&s, snap, pos[0], &u, uvals, upres, derr,
                            sizeof(derr));
    if (urc == SK_STORE_IOERR) {
        sk_errorf(FEAT_CMD, "%s", s.err);
        status = SK_EXIT_FAIL;
        goto done;
    }
    sk_key_user(key, sizeof(key), so.prefix, snap, pos[0], strlen(pos[0]));
    print_record("user", key, sk_user_fields, SK_USER_NFIELDS, uvals, upres,
                 urc, derr);
    if (urc != SK_REC_OK) {
        status = SK_EXIT_FAIL;
    }
    tsrc = sk_store_get_taste(&s, snap, pos[0], &taste, &tn, ttxt,
                              sizeof(ttxt), derr, sizeof(derr));
    if (tsrc == SK_STORE_IOERR) {
        sk_errorf(FEAT_CMD, "%s", s.err);
        status = SK_EXIT_FAIL;
        goto done;
    }
    sk_key_taste(key, sizeof(key), so.prefix, snap, pos[0], strlen(pos[0]));
    printf("taste %s\n", key);
    if (tsrc != SK_REC_OK) {
        printf("  status            malformed: %s (taste features "
               "abstain)\n", derr);
    } else if (tn == 0) {
        printf("  (none: %s)\n", urc == SK_REC_OK && (u.plays > 0 || u.skips > 0)
               ? "not loaded, the taste features abstain"
               : "no history");
    } else {
        printf("  %zu entries: %s\n", tn, ttxt);
    }
    if (session && feat_session(&s, so.prefix, session, &sess) == 0) {
        sp = &sess;
    }
    if (npos > 1) {
        trc = sk_store_get_track(&s, snap, pos[1], &t, tvals, tpres, derr,
                                 sizeof(derr));
        if (trc == SK_STORE_IOERR) {
            sk_errorf(FEAT_CMD, "%s", s.err);
            status = SK_EXIT_FAIL;
            goto done;
        }
        sk_key_track(key, sizeof(key), so.prefix, snap, pos[1],
                     strlen(pos[1]));
        print_record("track", key, sk_track_fields, SK_TRACK_NFIELDS, tvals,
                     tpres, trc, derr);
        if (trc != SK_REC_OK) {
            status = SK_EXIT_FAIL;
        }
    }
    if (model) {
        if (npos < 2) {
            printf("model: give a TRACK to see the feature vector\n");
        } else if (urc != SK_REC_OK || trc != SK_REC_OK) {
            printf("model: no vector: the module would use its fallback "
                   "decision\n");
        } else {
            print_vector(&m, &u, &t, &ctx,
                         sk_taste_usable(tsrc, tn, u.plays, u.skips)
                         ? &taste : NULL, sp);
        }
    }

done:
    sk_store_close(&s);
    sk_model_free(&m);
    return status;
}

/* ---- set ------------------------------------------------------------ */

static void
help_set(FILE *out)
{
    fprintf(out,
"usage: skipctl features set [--snapshot S] [REDIS OPTIONS] USER FIELD VALUE\n"
"       skipctl features set [--snapshot S] [REDIS OPTIONS] --track TRACK\n"
"                            FIELD VALUE\n"
"\n"
"One-off operator fix: set one field of one existing record in the active\n"
"snapshot (or S).  The record is read back, the field replaced, and the\n"
"whole record run through the module's decoder (src/core/records.c) before\n"
"anything is written, so a value the module would reject is refused, with\n"
"the field and the reason.  The value is stored in canonical form (\"Fast\"\n"
"-> \"fast\", \"1e2\" -> \"100\"); genre lists must name known genres only.\n"
"A counter is written alone; any other field rewrites the packed \"b\" and\n"
"the text genre list together, in one command.\n"
"Records are never created: set changes existing ones.\n"
"\n"
"User fields: fav premium plays skips fav_plays fav_skips\n"
"Track fields: genres n_genres plays skips popularity duration_ms explicit\n"
"  year danceability energy key mode loudness speechiness acousticness\n"
"  instrumentalness liveness valence tempo time_signature storage daily_cost\n"
"(meanings and ranges: docs/feature-store.md)\n"
"\n"
"Options:\n"
"  --track TRACK   change the track record TRACK instead of a user record\n"
"  --snapshot S    change snapshot S instead of the active one\n"
"\n%s\n"
"A live event may increment plays/skips between the read and the write;\n"
"set is for fixes, not for counters under traffic.\n"
"\n"
"Exit status: 0 written; 1 refused (no such record, value rejected) or\n"
"Redis failed; 2 usage.\n", feat_store_help);
}

/*
 * What set accepts as a number, before the decoder sees it: decimal
 * notation only ([-+]digits[.digits][e[-+]digits]; strtod would also take
 * "0x10", "inf" and "nan"), and a whole number for the counters (plays,
 * skips and their subsets), which the event script increments by 1.
 * NULL when fine, else why not.
 */
static const char *
set_number_problem(const char *field, const char *v)
{
    const char *p = v;
    int         digits = 0;
    double      d;

    if (*p == '+' || *p == '-') {
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        digits++;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            digits++;
        }
    }
    if (digits && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!(*p >= '0' && *p <= '9')) {
            return "not a decimal number";
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (!digits || *p != '\0') {
        return "not a decimal number";
    }
    d = strtod(v, NULL);
    if ((strstr(field, "plays") || strstr(field, "skips")) && d != floor(d)) {
        return "not a whole number (a counter)";
    }
    return NULL;
}

static int
field_index(const char *const *fields, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(fields[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

/*
 * Write one changed field in the stored form (records.h): a counter is its
 * own hash field; anything else lives in "b", rewritten whole together with
 * the text genre list in one HSET, so a reader never sees them disagree.
 * The events script touches only the counters, so nothing it writes
 * meanwhile is overwritten.
 */
static redisReply *
set_stored(sk_store *s, const char *key, int is_track, const char *field,
    const char *value, char packed[][SK_REC_VALMAX], const size_t *plens)
{
    const char *const *stored = is_track ? sk_track_stored : sk_user_stored;
    const char        *argv[6];
    size_t             lens[6];
    int                i;

    argv[0] = "HSET";
    argv[1] = key;
    for (i = 1; i < SK_REC_NFETCH; i++) {
        if (strcmp(field, stored[i]) == 0) {
            argv[2] = field;
            argv[3] = value;
            return sk_store_cmd(s, 4, argv, NULL);
        }
    }
    argv[2] = stored[0];
    lens[2] = strlen(stored[0]);
    argv[3] = packed[0];
    lens[3] = plens[0];
    argv[4] = stored[SK_REC_NFETCH];
    lens[4] = strlen(stored[SK_REC_NFETCH]);
    argv[5] = packed[SK_REC_NFETCH];
    lens[5] = plens[SK_REC_NFETCH];
    lens[0] = 4;
    lens[1] = strlen(key);
    return sk_store_cmd(s, 6, argv, lens);
}

static int
feat_set(int argc, char **argv)
{
    sk_store_opts  so;
    sk_store       s;
    const char    *pos[3], *track = NULL, *want = NULL, *id, *field, *value;
    const char    *const *fields;
    const char    *ptrs[SK_TRACK_NFIELDS];
    size_t         lens[SK_TRACK_NFIELDS];
    char           vals[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    char           canon[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    char           packed[SK_TRACK_NSTORED][SK_REC_VALMAX];
    char           snap[SK_SNAP_MAX + 8], key[SK_KEY_MAX], derr[256];
    size_t         plens[SK_TRACK_NSTORED];
    int            present[SK_TRACK_NFIELDS], npos, rc, nf, fi, unknown = 0;
    int            need = 3, status = SK_EXIT_FAIL, is_track;
    sk_user_rec    u;
    sk_track_rec   t;
    redisReply    *r;
    uint64_t       mask;
    const feat_opt opts[] = {
        { "--track", &track, NULL }, { "--snapshot", &want, NULL },
        { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("set", argc, argv, &so, opts, pos, 3, &npos, help_set);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    is_track = track != NULL;
    if (is_track) {
        need = 2;
    }
    if (npos != need) {
        sk_errorf(FEAT_CMD, "set: expected %s FIELD VALUE",
                  is_track ? "--track TRACK" : "USER");
        fprintf(stderr, "Run `skipctl features set --help` for usage.\n");
        return SK_EXIT_USAGE;
    }
    id = is_track ? track : pos[0];
    field = pos[need - 2];
    value = pos[need - 1];
    if (check_id(is_track ? "track" : "user", id) != 0) {
        return SK_EXIT_USAGE;
    }
    fields = is_track ? sk_track_fields : sk_user_fields;
    nf = is_track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS;
    fi = field_index(fields, nf, field);
    if (fi < 0) {
        sk_errorf(FEAT_CMD, "set: \"%s\" is not a %s record field (see "
                  "`skipctl features set --help`)", field,
                  is_track ? "track" : "user");
        return SK_EXIT_USAGE;
    }
    if (strlen(value) >= SK_REC_VALMAX) {
        sk_errorf(FEAT_CMD, "set: value longer than %d bytes",
                  SK_REC_VALMAX - 1);
        return SK_EXIT_FAIL;
    }
    if (strcmp(field, is_track ? "genres" : "fav") != 0
        && !(is_track && strcmp(field, "storage") == 0)
        && set_number_problem(field, value) != NULL)
    {
        sk_errorf(FEAT_CMD, "set: field \"%s\": \"%s\" is %s; nothing "
                  "written", field, value, set_number_problem(field, value));
        return SK_EXIT_FAIL;
    }
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    if (feat_snapshot(&s, want, snap, sizeof(snap)) != 0) {
        goto done;
    }
    if (is_track) {
        sk_key_track(key, sizeof(key), so.prefix, snap, id, strlen(id));
        rc = sk_store_get_track(&s, snap, id, &t, vals, present, derr,
                                sizeof(derr));
    } else {
        sk_key_user(key, sizeof(key), so.prefix, snap, id, strlen(id));
        rc = sk_store_get_user(&s, snap, id, &u, vals, present, derr,
                               sizeof(derr));
    }
    if (rc == SK_STORE_IOERR) {
        sk_errorf(FEAT_CMD, "%s", s.err);
        goto done;
    }
    if (rc == SK_REC_MISSING) {
        sk_errorf(FEAT_CMD, "set: %s does not exist; set changes existing "
                  "records only (a new one comes with the next load)", key);
        goto done;
    }

    /* The record with the new value, through the module's decoder. */
    snprintf(vals[fi], SK_REC_VALMAX, "%s", value);
    present[fi] = 1;
    for (rc = 0; rc < nf; rc++) {
        ptrs[rc] = present[rc] ? vals[rc] : NULL;
        lens[rc] = present[rc] ? strlen(vals[rc]) : 0;
    }
    rc = is_track ? sk_track_rec_decode(&t, ptrs, lens, derr, sizeof(derr))
                  : sk_user_rec_decode(&u, ptrs, lens, derr, sizeof(derr));
    if (rc != SK_REC_OK) {
        sk_errorf(FEAT_CMD, "set: %s: rejected, the module could not use "
                  "the record: %s", key, derr);
        goto done;
    }
    if (strcmp(field, is_track ? "genres" : "fav") == 0) {
        sk_genre_mask_parse(value, strlen(value), &mask, &unknown);
        if (unknown) {
            sk_errorf(FEAT_CMD, "set: %s: rejected: %d unknown genre "
                      "name(s) in \"%s\" (the 50 user genres of "
                      "data-format.md only)", key, unknown, value);
            goto done;
        }
    }
    if (is_track) {
        sk_track_rec_encode(&t, canon);
        sk_track_rec_pack(&t, packed, plens);
    } else {
        sk_user_rec_encode(&u, canon);
        sk_user_rec_pack(&u, packed, plens);
    }
    r = set_stored(&s, key, is_track, field, canon[fi], packed, plens);
    if (r == NULL) {
        sk_errorf(FEAT_CMD, "%s", s.err);
        goto done;
    }
    freeReplyObject(r);
    printf("%s %s %s\n", key, field, canon[fi]);
    status = SK_EXIT_OK;

done:
    sk_store_close(&s);
    return status;
}

/* ---- status --------------------------------------------------------- */

static void
help_status(FILE *out)
{
    fprintf(out,
"usage: skipctl features status [REDIS OPTIONS]\n"
"\n"
"Print the active snapshot, then every snapshot listed in\n"
"<prefix>:snapshots, newest first, with its meta: state (loading,\n"
"complete, deleting), creation time, as_of (last event of its dataset),\n"
"record counts, model, replayed_to (stream cursor of the live catch-up)\n"
"and when it was last activated; then the length of the event stream.\n"
"\"*\" marks the active snapshot.  With --cluster also the events journal:\n"
"its entries, and how many of them the active snapshot has not had\n"
"applied yet (`features apply`'s lag; counted up to 10000 per shard).\n"
"\n%s\n"
"Exit status: 0 success, 1 Redis failed, 2 usage.\n", feat_store_help);
}

static void
fmt_time(char *buf, size_t size, double secs)
{
    time_t    t = (time_t) secs;
    struct tm tm;

    if (secs <= 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "-");
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
feat_status(int argc, char **argv)
{
    sk_store_opts      so;
    sk_store           s;
    const char        *pos[1];
    int                npos, rc, n, i;
    char               active[SK_SNAP_MAX + 8], events[SK_KEY_MAX];
    char               created[32], as_of[32], activated[32];
    sk_snapshot_info  *list;
    redisReply        *r;

    sk_store_opts_init(&so);
    rc = feat_parse("status", argc, argv, &so, NULL, pos, 0, &npos,
                    help_status);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    if (sk_snapshot_active(&s, active, sizeof(active)) != 0
        || (n = sk_snapshot_list(&s, &list)) < 0)
    {
        sk_errorf(FEAT_CMD, "%s", s.err);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }
    printf("active %s\n", active[0] ? active : "(none)");
    printf("snapshots %d\n", n);
    if (n > 0) {
        printf("  %-20s %-9s %-20s %-24s %7s %8s %-16s %-20s %s\n", "id",
               "state", "created", "as_of", "users", "tracks",
               "replayed_to", "activated", "model");
    }
    for (i = 0; i < n; i++) {
        sk_snapshot_info *in = &list[i];

        fmt_time(created, sizeof(created), in->created);
        fmt_time(activated, sizeof(activated), (double) in->activated);
        if (in->as_of > 0) {
            time_t    t = (time_t) (in->as_of / 1000);
            struct tm tm;
            size_t    len;

            gmtime_r(&t, &tm);
            len = strftime(as_of, sizeof(as_of), "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(as_of + len, sizeof(as_of) - len, ".%03dZ",
                     (int) (in->as_of % 1000));
        } else {
            snprintf(as_of, sizeof(as_of), "-");
        }
        printf("%c %-20s %-9s %-20s %-24s %7ld %8ld %-16s %-20s %s\n",
               strcmp(in->id, active) == 0 ? '*' : ' ', in->id,
               in->state[0] ? in->state : "(no meta)", created, as_of,
               in->users, in->tracks,
               in->replayed_to[0] ? in->replayed_to : "-", activated,
               in->model[0] ? in->model : "-");
    }
    free(list);
    snprintf(events, sizeof(events), "%s:events", so.prefix);
    r = sk_store_cmdl(&s, "XLEN", events, NULL);
    if (r == NULL) {
        sk_errorf(FEAT_CMD, "%s", s.err);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }
    printf("events %lld\n", r->integer);
    freeReplyObject(r);
    if (so.cluster) {
        long entries, pending;
        int  capped;

        if (sk_journal_backlog(&s, active, &entries, &pending, &capped)
            != 0)
        {
            sk_errorf(FEAT_CMD, "%s", s.err);
            sk_store_close(&s);
            return SK_EXIT_FAIL;
        }
        /* the applier's lag: what `features apply` has still to count */
        printf("journal %ld entries in %d shards, %ld%s not applied to "
               "the active snapshot\n", entries, SK_JOURNAL_SHARDS, pending,
               capped ? " or more" : "");
    }
    sk_store_close(&s);
    return SK_EXIT_OK;
}

/* ---- activate ------------------------------------------------------- */

static void
help_activate(FILE *out)
{
    fprintf(out,
"usage: skipctl features activate [REDIS OPTIONS] SNAPSHOT\n"
"\n"
"Make a complete snapshot active, e.g. roll back to the previous one.  The\n"
"same hand-over as `load`: the snapshot is first caught up with the live\n"
"events it has not seen (stream entries after its meta.replayed_to whose\n"
"event time is after its as_of), then one atomic script replays the tail\n"
"and sets <prefix>:active.  The snapshot that was active gets the stream\n"
"position of the switch as its replayed_to, so switching back to it later\n"
"counts every event exactly once as well.\n"
"\n%s\n"
"Exit status: 0 active; 1 refused (not complete, unknown) or Redis failed;\n"
"2 usage.\n", feat_store_help);
}

static int
feat_activate(int argc, char **argv)
{
    sk_store_opts       so;
    sk_store            s;
    const char         *pos[1];
    int                 npos, rc;
    sk_handover_result  res;

    sk_store_opts_init(&so);
    rc = feat_parse("activate", argc, argv, &so, NULL, pos, 1, &npos,
                    help_activate);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (npos != 1) {
        sk_errorf(FEAT_CMD, "activate: SNAPSHOT is required");
        return SK_EXIT_USAGE;
    }
    if (!sk_snapshot_valid(pos[0], strlen(pos[0]))) {
        sk_errorf(FEAT_CMD, "activate: \"%s\" is not a snapshot id", pos[0]);
        return SK_EXIT_USAGE;
    }
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    if (sk_snapshot_handover(&s, pos[0], 1, SK_HANDOVER_BUDGET_US, &res) != 0) {
        sk_errorf(FEAT_CMD, "activate %s: %s", pos[0], s.err);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }
    if (strcmp(res.previous, pos[0]) == 0) {
        printf("snapshot %s was already active\n", pos[0]);
    } else {
        printf("snapshot %s active (previous %s), %ld live events replayed\n",
               pos[0], res.previous[0] ? res.previous : "none", res.applied);
    }
    sk_store_close(&s);
    return SK_EXIT_OK;
}

/* ---- event, script -------------------------------------------------- */

static void
help_event(FILE *out)
{
    fprintf(out,
"usage: skipctl features event [--ts MS] [--session ID] [--hour H]\n"
"                              [--stream-cap N]\n"
"                              [REDIS OPTIONS] USER TRACK play|skip\n"
"\n"
"Apply one live play/skip event exactly as the nginx module's events\n"
"handler does: one atomic script (skipctl features script event) that\n"
"follows the dataset's labelling rule per (session, track), updates the\n"
"active snapshot's user and track counters when both records exist, and\n"
"journals the event in <prefix>:events for the next snapshot hand-over.\n"
"For operators replaying events lost elsewhere, and for tests.\n"
"\n"
"With --cluster it does what the module does on a Redis Cluster: the\n"
"event is labelled and journaled on its listener's shard (one slot), then\n"
"WAIT 1 confirms a replica has it; `skipctl features apply --cluster`\n"
"counts it in the records.  The output's SNAPSHOT is then \"-\" and\n"
"applied 0, the STREAM-ID the journal entry's.\n"
"\n"
"Options:\n"
"  --ts MS          event time, ms since the epoch (default: now)\n"
"  --hour H         its local hour 0..23, counted in the listener's taste\n"
"                   as the module counts it (default: unknown, not counted)\n"
"  --session ID     listening session; without it every event counts on\n"
"                   its own (a Play as listened in full)\n"
"  --stream-cap N   XADD MAXLEN ~ N (default 0: no cap; gc trims)\n"
"\n%s\n"
"Output: \"SNAPSHOT dp ds applied STREAM-ID\" (dp/ds: the play/skip\n"
"deltas; applied 0 when a record is missing or nothing is active).\n"
"Exit status: 0 accepted, 1 Redis refused or failed, 2 usage.\n",
    feat_store_help);
}

/*
 * On a Redis Cluster: the module's write path (store_scripts_cluster.h):
 * labelled and journaled on the listener's shard, WAIT 1, and counted in
 * the records by `features apply`.
 */
static int
event_journal(sk_store *s, const char **pos, const char *ts,
    const char *session, const char *ttl, const char *hour)
{
    char          jkey[SK_JOURNAL_KEY_MAX], okey[SK_JOURNAL_KEY_MAX];
    const char   *args[9];
    unsigned      j;
    redisReply   *r;

    j = sk_journal_shard(pos[0], strlen(pos[0]));
    sk_key_journal(jkey, sizeof(jkey), s->opts.prefix, j);
    if (session[0]) {
        sk_key_journal_open(okey, sizeof(okey), s->opts.prefix, j, session,
                            strlen(session), pos[1], strlen(pos[1]));
    } else {
        snprintf(okey, sizeof(okey), "%s", jkey);
    }
    args[0] = jkey;
    args[1] = okey;
    args[2] = pos[0];
    args[3] = pos[1];
    args[4] = pos[2];
    args[5] = ts;
    args[6] = session;
    args[7] = ttl;
    args[8] = hour;
    r = sk_store_eval(s, sk_script_journal, SK_SCRIPT_JOURNAL_NKEYS, 9, args);
    if (r == NULL) {
        sk_errorf(FEAT_CMD, "event: %s", s->err);
        return SK_EXIT_FAIL;
    }
    if (sk_store_wait_one(s) != 0) {
        sk_errorf(FEAT_CMD, "event: journaled, not confirmed by a replica "
                  "(send it again: a repeat counts nothing): %s", s->err);
        freeReplyObject(r);
        return SK_EXIT_FAIL;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        printf("- %lld %lld 0 %s\n", r->element[0]->integer,
               r->element[1]->integer,
               r->element[2]->str && r->element[2]->str[0]
                   ? r->element[2]->str : "-");
    }
    freeReplyObject(r);
    return SK_EXIT_OK;
}

static int
feat_event(int argc, char **argv)
{
    sk_store_opts   so;
    sk_store        s;
    const char     *pos[3], *ts = NULL, *session = "", *cap = NULL;
    const char     *hour = "";
    const char     *args[11];
    char            active[SK_KEY_MAX], events[SK_KEY_MAX], now[32];
    char            ttl[16], why[200];
    const char     *field;
    int64_t         now_ms;
    struct timespec tv;
    redisReply     *r;
    int             npos, rc;
    const feat_opt  opts[] = {
        { "--ts", &ts, NULL }, { "--session", &session, NULL },
        { "--stream-cap", &cap, NULL }, { "--hour", &hour, NULL },
        { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("event", argc, argv, &so, opts, pos, 3, &npos,
                    help_event);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (npos != 3 || (strcmp(pos[2], "play") != 0
                      && strcmp(pos[2], "skip") != 0))
    {
        sk_errorf(FEAT_CMD, "event: expected USER TRACK play|skip");
        return SK_EXIT_USAGE;
    }
    if (check_id("user", pos[0]) != 0 || check_id("track", pos[1]) != 0
        || (session[0] && check_id("session", session) != 0)
        || (ts && feat_count("event", "--ts", ts) < 0)
        || (cap && feat_count("event", "--stream-cap", cap) < 0)
        || (hour[0] && feat_count("event", "--hour", hour) < 0))
    {
        return SK_EXIT_USAGE;
    }
    if (hour[0] && atoi(hour) > 23) {
        sk_errorf(FEAT_CMD, "event: --hour %s: a local hour 0..23", hour);
        return SK_EXIT_USAGE;
    }
    clock_gettime(CLOCK_REALTIME, &tv);
    now_ms = (int64_t) tv.tv_sec * 1000 + tv.tv_nsec / 1000000;
    if (ts == NULL) {
        snprintf(now, sizeof(now), "%lld", (long long) now_ms);
        ts = now;
    }
    /* the endpoint's rule (event_rule.h): what it would refuse, we do */
    if (sk_event_check(pos[0], strlen(pos[0]), pos[1], strlen(pos[1]),
                       strtoll(ts, NULL, 10), now_ms,
                       SK_EVENT_SKEW_DEFAULT_MS, &field, why, sizeof(why))
        != SK_EVENT_OK)
    {
        sk_errorf(FEAT_CMD, "event: %s: %s", field, why);
        return SK_EXIT_USAGE;
    }
    snprintf(ttl, sizeof(ttl), "%d", SK_OPEN_PLAY_TTL);
    sk_key_active(active, sizeof(active), so.prefix);
    snprintf(events, sizeof(events), "%s:events", so.prefix);
    args[0] = active;
    args[1] = events;
    args[2] = so.prefix;
    args[3] = pos[0];
    args[4] = pos[1];
    args[5] = pos[2];
    args[6] = ts;
    args[7] = session;
    args[8] = ttl;
    args[9] = cap ? cap : "0";
    args[10] = hour;
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    if (so.cluster) {
        rc = event_journal(&s, pos, ts, session, ttl, hour);
        sk_store_close(&s);
        return rc;
    }
    r = sk_store_eval(&s, sk_script_event, SK_SCRIPT_EVENT_NKEYS, 11, args);
    if (r == NULL) {
        sk_errorf(FEAT_CMD, "event: %s", s.err);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
        printf("%s %lld %lld %lld %s\n",
               r->element[0]->str && r->element[0]->str[0]
                   ? r->element[0]->str : "-",
               r->element[1]->integer, r->element[2]->integer,
               r->element[3]->integer,
               r->element[4]->str && r->element[4]->str[0]
                   ? r->element[4]->str : "-");
    }
    freeReplyObject(r);
    sk_store_close(&s);
    return SK_EXIT_OK;
}

static void
help_script(FILE *out)
{
    fprintf(out,
"usage: skipctl features script [--sha] event|handover|finish\n"
"\n"
"Print a Lua script of the feature store (src/store_scripts.c; KEYS and\n"
"ARGV are documented in src/store_scripts.h and docs/feature-store.md),\n"
"e.g. for SCRIPT LOAD from another client, or with --sha its SHA1 (what\n"
"EVALSHA takes).  Needs no Redis.\n"
"\n"
"Exit status: 0 success, 2 usage.\n");
}

static int
feat_script(int argc, char **argv)
{
    sk_store_opts   so;
    const char     *pos[1], *body;
    char            sha[41];
    int             npos, rc, want_sha = 0;
    const feat_opt  opts[] = {
        { "--sha", NULL, &want_sha }, { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("script", argc, argv, &so, opts, pos, 1, &npos,
                    help_script);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (npos != 1) {
        sk_errorf(FEAT_CMD, "script: expected event, handover or finish");
        return SK_EXIT_USAGE;
    }
    if (strcmp(pos[0], "event") == 0) {
        body = sk_script_event;
    } else if (strcmp(pos[0], "handover") == 0) {
        body = sk_script_handover;
    } else if (strcmp(pos[0], "finish") == 0) {
        body = sk_script_finish;
    } else {
        sk_errorf(FEAT_CMD, "script: unknown script \"%s\"", pos[0]);
        return SK_EXIT_USAGE;
    }
    if (want_sha) {
        sk_script_sha1(body, sha);
        printf("%s\n", sha);
    } else {
        fputs(body, stdout);
    }
    return SK_EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------- */

int
cmd_features(int argc, char **argv)
{
    static const struct {
        const char *name;
        int       (*run)(int, char **);
    } subs[] = {
        { "load", feat_load }, { "get", feat_get }, { "set", feat_set },
        { "status", feat_status }, { "activate", feat_activate },
        { "gc", feat_gc }, { "event", feat_event }, { "apply", feat_apply },
        { "script", feat_script }, { NULL, NULL }
    };
    int i;

    if (argc < 2) {
        help_main(stderr);
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0)
    {
        help_main(stdout);
        return SK_EXIT_OK;
    }
    for (i = 0; subs[i].name; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            return subs[i].run(argc - 1, argv + 1);
        }
    }
    sk_errorf(FEAT_CMD, "unknown subcommand \"%s\"", argv[1]);
    fprintf(stderr, "Run `skipctl features --help` for the list.\n");
    return SK_EXIT_USAGE;
}
