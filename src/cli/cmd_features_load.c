/*
 * skipctl features load / gc (see cmd_features.c for the rest).
 *
 * load: dataset -> records (src/history.c, the trainer's own code path) ->
 * a new snapshot written with pipelining -> marked complete -> caught up
 * with the live event stream and made active by one atomic script.  Until
 * that script runs, <prefix>:active still names the previous snapshot,
 * which a load never writes to: a failure anywhere leaves it serving,
 * untouched.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli.h"
#include "cmd_features.h"
#include "../core/dataset.h"
#include "../core/event_rule.h"
#include "../core/journal.h"
#include "../data/history.h"
#include "../data/labels.h"
#include "../data/taste_hist.h"
#include "../store/load_guard.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../core/timeparse.h"

#define GC_DEFAULT_KEEP         2
#define GC_DEFAULT_GRACE        3600      /* s: abandoned loads */
#define GC_DEFAULT_EVENTS_KEEP  86400     /* s: stream kept for new loads */

static double
now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double) tv.tv_sec + tv.tv_usec / 1e6;
}

static void
help_load(FILE *out)
{
    fprintf(out,
"usage: skipctl features load --data DIR --model M [--keep N] [--batch N]\n"
"                             [--max-bad F] [--min-ratio F] [--force]\n"
"                             [--quiet] [REDIS OPTIONS]\n"
"\n"
"Compute every user's and every track's record from the dataset in DIR\n"
"(users, tracks, artists, track_storage; history counts from ALL sessions\n"
"in sessions.jsonl, by the same code the trainer uses) and write them to\n"
"Redis as a new snapshot:\n"
"\n"
"  1. reserve a snapshot id s<yyyymmddHHMMSS>[-N] (UTC), meta state\n"
"     \"loading\", as_of = the dataset's last Play/Skip time (see below);\n"
"  2. HSET every record, pipelined in batches of --batch commands;\n"
"  3. mark it \"complete\";\n"
"  4. replay the live events journaled in <prefix>:events whose event time\n"
"     is after as_of into the new records, in bounded script calls, and\n"
"     finally in one atomic script: replay the tail and SET <prefix>:active.\n"
"\n"
"as_of is robust: rows before 1970 or more than --max-skew ahead of this\n"
"clock are rejected (counted on stderr); a row after this clock, or more\n"
"than --max-skew after every other event (a wrong device clock), does not\n"
"set as_of: it is held out of the snapshot (named on stderr) and left to\n"
"the live journal, like every row after as_of.  So one bad row cannot\n"
"move as_of.\n"
"\n"
"Live events are thereby counted exactly once across the switch.  If\n"
"anything fails before step 4 completes (Redis down, a bad id, a write\n"
"error), the previous snapshot stays active and untouched; the half-written\n"
"one stays \"loading\" until `skipctl features gc` removes it.\n"
"\n"
"Nothing is written, and the previous snapshot stays active, when the data\n"
"looks unusable (exit 1, one line per finding on stderr):\n"
"  - a file with no valid rows (e.g. an empty users.jsonl);\n"
"  - a file whose rejected lines exceed --max-bad of its lines;\n"
"  - fewer users or tracks than --min-ratio times the active snapshot's.\n"
"--force loads and activates it anyway.  Rejected lines and non-key fields\n"
"with a bad value (taken as missing, i.e. 0 or the mean in the records)\n"
"are reported as FILE:LINE: ... (the first few) and counted per field.\n"
"\n"
"Options:\n"
"  --data DIR      dataset directory (skipctl gen's layout, data-format.md)\n"
"  --model M       models/NAME.model the module will serve (its manifest is\n"
"                  checked and its name@version recorded in the meta), or\n"
"                  \"naive\"\n"
"  --keep N        afterwards run gc keeping the N newest complete\n"
"                  snapshots (default: no gc)\n"
"  --batch N       commands per pipeline round trip (default 1000)\n"
"  --max-bad F     largest share of rejected lines per file (default %g)\n"
"  --min-ratio F   smallest new/active ratio of users and of tracks\n"
"                  (default %g; 0 turns the comparison off)\n"
"  --force         activate even when the checks above fail\n"
"  --max-skew S    seconds an event may be dated ahead of this machine's\n"
"                  clock (default 600, as skip_events_max_skew); rows\n"
"                  further ahead, and rows before 1970, are rejected and\n"
"                  counted (the event rule of the live endpoint)\n"
"  --quiet         no progress on stderr\n"
"\n%s\n"
"Output: one line on stdout, \"snapshot ID active: ...\".  Timings go to\n"
"stderr.\n"
"\n"
"Exit status: 0 the new snapshot is active; 1 failure (the previous\n"
"snapshot is still active); 2 usage.\n", SK_GUARD_MAX_BAD, SK_GUARD_MIN_RATIO,
    feat_store_help);
}

/* Records of every user and track, and the dataset's last event time. */
typedef struct {
    sk_dataset   ds;
    sk_history   h;
    sk_taste_hist taste;           /* genre and hour counts per listener */
    int64_t      as_of;
    long         events;
    sk_read_stats sess;            /* sessions.jsonl, for the guard */
} load_data;

/*
 * as_of candidates: the latest few event times at or before the load's
 * clock, newest first, with their lines (to name a held-out row).
 */
#define ASOF_TOP  8

typedef struct {
    int64_t  ts;
    long     line;
} asof_cand;

static void
asof_note(asof_cand *top, int *k, int64_t ts, long line)
{
    int i;

    if (*k == ASOF_TOP && ts <= top[ASOF_TOP - 1].ts) {
        return;
    }
    i = *k < ASOF_TOP ? (*k)++ : ASOF_TOP - 1;
    for (; i > 0 && top[i - 1].ts < ts; i--) {
        top[i] = top[i - 1];
    }
    top[i].ts = ts;
    top[i].line = line;
}

static void
print_time(FILE *out, int64_t ms)
{
    char buf[SK_TIME_BUF];

    sk_time_format(ms, 0, buf);
    fputs(buf, out);
}

/*
 * The listener's taste (docs/taste-features.md) from the same labelled
 * plays as the records, with the trainer's counting rules (taste_hist.c).
 * No artist: the snapshot does not store artist counts (taste_stored.h).
 */
static int
taste_add_rows(sk_taste_hist *th, const sk_dataset *ds, const sk_labels *l)
{
    size_t i;

    if (sk_taste_hist_init(th, ds->n_users, 0) != 0) {
        return -1;
    }
    for (i = 0; i < l->n; i++) {
        const sk_labelled *r = &l->rows[i];

        (void) sk_taste_hist_add(th, r->user, UINT32_MAX,
                                 ds->tracks[r->track].genre_mask,
                                 sk_labelled_hour(r), 0, r->label);
    }
    return 0;
}

static int
compute_records(load_data *d, const char *dir, int quiet, long skew_s)
{
    sk_reader       *rd;
    sk_row           row;
    sk_labels        l;
    char             err[512], why[200], uid[32], path[1024];
    int              rc, k = 0, i, n;
    int64_t          now_ms, skew_ms = (int64_t) skew_s * 1000;
    long             old = 0, future = 0, ahead = 0, first_bad = 0;
    long             ahead_line[3];
    size_t           held;
    asof_cand        top[ASOF_TOP];
    const char      *field;
    sk_event_verdict v;
    sk_read_opts     ro;

    memset(d, 0, sizeof(*d));
    memset(&ro, 0, sizeof(ro));
    ro.log = quiet ? NULL : stderr;      /* FILE:LINE: of bad lines/values */
    if (sk_dataset_load(dir, &d->ds, &ro) != 0) {
        sk_errorf(FEAT_CMD, "load: %s", d->ds.error);
        return -1;
    }
    /*
     * The labelled plays via the one labelling code path (labels.c), read
     * with the one reader.  We stream the events ourselves (sk_labels_read
     * does exactly this loop) only to also note the last Play/Skip time:
     * as_of must cover the Skip that ends a session, not only its Play.
     */
    sk_labels_init(&l);
    rd = sk_reader_open_dir(dir, SK_FILE_SESSIONS, &ro, err, sizeof(err));
    if (rd == NULL) {
        sk_errorf(FEAT_CMD, "load: %s", err);
        return -1;
    }
    snprintf(path, sizeof(path), "%s", sk_reader_path(rd));
    now_ms = (int64_t) (now_s() * 1000.0);
    while ((rc = sk_read_next(rd, &row)) == 1) {
        if (row.event.type == SK_EV_PLAY || row.event.type == SK_EV_SKIP) {
            /*
             * The live endpoint's rule (event_rule.h): what it would refuse
             * is not an event of the snapshot either.  Bad ids are left to
             * the labels, which drop ids the tables do not have.
             */
            n = snprintf(uid, sizeof(uid), "%" PRId64, row.event.user_id);
            v = sk_event_check(uid, (size_t) n, row.event.track_id,
                               strlen(row.event.track_id), row.event.ts_ms,
                               now_ms, skew_ms, &field, why, sizeof(why));
            if (v != SK_EVENT_OK && strcmp(field, "timestamp") == 0) {
                v == SK_EVENT_FUTURE ? future++ : old++;
                if (first_bad == 0) {
                    first_bad = row.line;
                }
                continue;
            }
            if (row.event.ts_ms > now_ms) {
                /* within the skew, but after this clock: not as_of */
                if (ahead < 3) {
                    ahead_line[ahead] = row.line;
                }
                ahead++;
            } else {
                asof_note(top, &k, row.event.ts_ms, row.line);
            }
            d->events++;
        }
        if (sk_labels_add(&l, &d->ds, &row.event) != 0) {
            sk_errorf(FEAT_CMD, "load: %s: out of memory", sk_reader_path(rd));
            sk_reader_close(rd);
            sk_labels_free(&l);
            return -1;
        }
    }
    if (rc < 0) {
        sk_errorf(FEAT_CMD, "load: %s", sk_reader_error(rd));
        sk_reader_close(rd);
        sk_labels_free(&l);
        return -1;
    }
    if (!quiet) {
        sk_reader_summary(rd, stderr);
    }
    d->sess = *sk_reader_stats(rd);
    sk_reader_close(rd);

    if (old + future > 0) {
        fprintf(stderr, "skipctl features: %ld rows rejected: %ld before "
                "1970, %ld more than %ld s ahead of this clock (first: "
                "%s:%ld)\n", old + future, old, future, skew_s, path,
                first_bad);
    }
    /*
     * as_of: the latest event at or before this clock that is not more
     * than the skew after every other one.  A row that is (a wrong clock,
     * or a very sparse end) is held out with everything after as_of: the
     * live journal has those events if they happened.
     */
    for (i = 0; i < ahead && i < 3; i++) {
        fprintf(stderr, "skipctl features: %s:%ld: dated after this clock: "
                "held out of the snapshot, left to the live journal\n",
                path, ahead_line[i]);
    }
    for (i = 0; i + 1 < k && top[i].ts - top[i + 1].ts > skew_ms; i++) {
        fprintf(stderr, "skipctl features: %s:%ld: ", path, top[i].line);
        print_time(stderr, top[i].ts);
        fprintf(stderr, " is more than %ld s after every other event: held "
                "out of the snapshot, left to the live journal\n", skew_s);
    }
    d->as_of = k > 0 ? top[i].ts : 0;
    held = sk_labels_drop_after(&l, d->as_of);
    if (held > 0 && !quiet) {
        fprintf(stderr, "skipctl features: %zu events after as_of ", held);
        print_time(stderr, d->as_of);
        fprintf(stderr, " held out\n");
    }

    if (sk_labels_finish(&l) != 0) {
        sk_errorf(FEAT_CMD, "load: out of memory numbering session plays");
        sk_labels_free(&l);
        return -1;
    }

    if (sk_history_init(&d->h, &d->ds) != 0) {
        sk_errorf(FEAT_CMD, "load: out of memory for %zu users, %zu tracks",
                  d->ds.n_users, d->ds.n_tracks);
        sk_labels_free(&l);
        return -1;
    }
    sk_history_add_rows(&d->h, l.rows, l.n, -1);
    if (taste_add_rows(&d->taste, &d->ds, &l) != 0) {
        sk_errorf(FEAT_CMD, "load: out of memory for the taste of %zu users",
                  d->ds.n_users);
        sk_labels_free(&l);
        return -1;
    }
    if (!quiet) {
        fprintf(stderr, "skipctl features: %zu labelled plays from %ld "
                "Play/Skip events (%ld unknown user, %ld unknown track)\n",
                l.n, d->events, l.unknown_user, l.unknown_track);
    }
    sk_labels_free(&l);
    return 0;
}

/*
 * Refuse to activate unusable data (load_guard.h) unless forced: 0 go on,
 * -1 refused (nothing written yet).  Bad field values are summarised.
 */
static int
guard_load(sk_store *s, const sk_guard_opts *o, const load_data *d,
    const char *prev, int force, int quiet)
{
    sk_snapshot_info *list;
    const char       *pfx;
    long              old_users = 0, old_tracks = 0;
    int               n, i, bad;

    if (!quiet) {
        sk_guard_bad_fields(&d->ds, &d->sess, "skipctl features: ", stderr);
    }
    if (prev[0] && (n = sk_snapshot_list(s, &list)) >= 0) {
        for (i = 0; i < n; i++) {
            if (strcmp(list[i].id, prev) == 0) {
                old_users = list[i].users;
                old_tracks = list[i].tracks;
            }
        }
        free(list);
    }
    pfx = force ? "skipctl features: load: warning: "
                : "skipctl features: load refused: ";
    bad = sk_guard_files(o, &d->ds, &d->sess, pfx, stderr)
          + sk_guard_sizes(o, (long) d->ds.n_users, (long) d->ds.n_tracks,
                           prev, old_users, old_tracks, pfx, stderr);
    if (bad == 0) {
        return 0;
    }
    if (force) {
        fprintf(stderr, "skipctl features: load: --force: activating it "
                "anyway\n");
        return 0;
    }
    sk_errorf(FEAT_CMD, "load: nothing written; --force activates this data "
              "anyway (or see --max-bad, --min-ratio)");
    return -1;
}

static void
load_data_free(load_data *d)
{
    sk_history_free(&d->h);
    sk_taste_hist_free(&d->taste);
    sk_dataset_free(&d->ds);
}

/* Pipelined HSET of every record.  0 or -1 (s->err). */
static int
write_records(sk_store *s, const char *snap, const load_data *d, int batch)
{
    sk_bulk b;
    char    id[32];
    size_t  i;
    int     n;

    sk_bulk_init(&b, s, batch);
    for (i = 0; i < d->ds.n_users; i++) {
        n = snprintf(id, sizeof(id), "%" PRId64, d->ds.users[i].user_id);
        if (sk_store_put_user(&b, snap, id, (size_t) n, &d->h.users[i]) != 0
            || sk_store_put_taste(&b, snap, id, (size_t) n,
                                  sk_taste_hist_totals(&d->taste,
                                                       (uint32_t) i)) != 0)
        {
            return -1;
        }
    }
    for (i = 0; i < d->ds.n_tracks; i++) {
        const char *tid = d->ds.tracks[i].id;

        if (sk_store_put_track(&b, snap, tid, strlen(tid), &d->h.tracks[i])
            != 0)
        {
            return -1;
        }
    }
    return sk_bulk_flush(&b);
}

int
feat_load(int argc, char **argv)
{
    sk_store_opts       so;
    sk_store            s;
    sk_model            m;
    load_data           d;
    sk_handover_result  res;
    const char         *pos[1], *data = NULL, *model = NULL;
    const char         *keep_s = NULL, *batch_s = NULL, *skew_s = NULL;
    const char         *max_bad_s = NULL, *min_ratio_s = NULL;
    char                snap[SK_SNAP_MAX + 8], prev[SK_SNAP_MAX + 8];
    char                mname[160], err[512];
    int                 npos, rc, quiet = 0, force = 0;
    int                 status = SK_EXIT_FAIL;
    sk_guard_opts       guard = { SK_GUARD_MAX_BAD, SK_GUARD_MIN_RATIO };
    long                keep = -1, batch = 1000;
    long                skew = SK_EVENT_SKEW_DEFAULT_MS / 1000;
    double              t0, t_read, t_write, t_done;
    const feat_opt      opts[] = {
        { "--data", &data, NULL }, { "--model", &model, NULL },
        { "--keep", &keep_s, NULL }, { "--batch", &batch_s, NULL },
        { "--quiet", NULL, &quiet }, { "--max-bad", &max_bad_s, NULL },
        { "--min-ratio", &min_ratio_s, NULL }, { "--force", NULL, &force },
        { "--max-skew", &skew_s, NULL },
        { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("load", argc, argv, &so, opts, pos, 0, &npos, help_load);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (data == NULL || model == NULL) {
        sk_errorf(FEAT_CMD, "load: --data DIR and --model M are required");
        fprintf(stderr, "Run `skipctl features load --help` for usage.\n");
        return SK_EXIT_USAGE;
    }
    if ((keep_s && (keep = feat_count("load", "--keep", keep_s)) < 0)
        || (skew_s && (skew = feat_count("load", "--max-skew", skew_s)) < 0)
        || (batch_s && (batch = feat_count("load", "--batch", batch_s)) < 1))
    {
        if (batch == 0) {
            sk_errorf(FEAT_CMD, "load: --batch must be at least 1");
        }
        return SK_EXIT_USAGE;
    }
    if ((max_bad_s && sk_opt_number("features load", "--max-bad", max_bad_s,
                                    0, 1, &guard.max_bad) != 0)
        || (min_ratio_s
            && sk_opt_number("features load", "--min-ratio", min_ratio_s, 0,
                             1, &guard.min_ratio) != 0))
    {
        return SK_EXIT_USAGE;
    }

    t0 = now_s();
    memset(&m, 0, sizeof(m));
    /* only its name is read: any model the module may serve is fine */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    if (strcmp(model, "naive") == 0) {
        sk_model_naive(&m);
    } else if (sk_model_load(&m, model, err, sizeof(err)) != 0) {
        sk_errorf(FEAT_CMD, "load: %s", err);
        return SK_EXIT_FAIL;
    }
    snprintf(mname, sizeof(mname), "%s@%s", m.name, m.version);
    sk_model_free(&m);

    /* Connect first: no point reading a large dataset for a dead Redis. */
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    if (sk_snapshot_active(&s, prev, sizeof(prev)) != 0) {
        sk_errorf(FEAT_CMD, "load: %s", s.err);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }

    if (!quiet) {
        fprintf(stderr, "skipctl features: reading %s\n", data);
    }
    if (compute_records(&d, data, quiet, skew) != 0) {
        load_data_free(&d);
        sk_store_close(&s);
        return SK_EXIT_FAIL;
    }
    t_read = now_s();

    if (guard_load(&s, &guard, &d, prev, force, quiet) != 0) {
        goto failed_early;
    }

    if (sk_snapshot_create(&s, time(NULL), d.as_of, mname, data, snap,
                           sizeof(snap)) != 0)
    {
        sk_errorf(FEAT_CMD, "load: creating a snapshot: %s", s.err);
        goto failed_early;
    }
    if (!quiet) {
        fprintf(stderr, "skipctl features: writing snapshot %s: %zu users, "
                "%zu tracks\n", snap, d.ds.n_users, d.ds.n_tracks);
    }
    if (write_records(&s, snap, &d, (int) batch) != 0
        || sk_snapshot_finish(&s, snap, (long) d.ds.n_users,
                              (long) d.ds.n_tracks) != 0)
    {
        goto failed;
    }
    t_write = now_s();
    if (sk_snapshot_handover(&s, snap, 1, SK_HANDOVER_BUDGET_US, &res) != 0) {
        goto failed;
    }
    t_done = now_s();

    printf("snapshot %s active: %zu users, %zu tracks, as_of %" PRId64
           ", %ld live events replayed, previous %s\n", snap, d.ds.n_users,
           d.ds.n_tracks, d.as_of, res.applied,
           res.previous[0] ? res.previous : "none");
    fflush(stdout);
    if (!quiet) {
        fprintf(stderr, "skipctl features: read+compute %.2f s, write %.2f s "
                "(%.0f records/s), hand-over %.3f s (%ld stream entries, %ld "
                "script calls), total %.2f s\n", t_read - t0,
                t_write - t_read,
                (double) (d.ds.n_users + d.ds.n_tracks)
                    / (t_write - t_read > 0 ? t_write - t_read : 1e-9),
                t_done - t_write, res.read, res.calls, t_done - t0);
    }
    status = SK_EXIT_OK;
    if (keep >= 0
        && feat_gc_run(&s, keep, GC_DEFAULT_GRACE, GC_DEFAULT_EVENTS_KEEP, 0)
           != 0)
    {
        status = SK_EXIT_FAIL;
    }
    load_data_free(&d);
    sk_store_close(&s);
    return status;

failed:
    sk_errorf(FEAT_CMD, "load failed: %s", s.err);
    sk_errorf(FEAT_CMD, "snapshot %s is incomplete and was not activated; "
              "`skipctl features gc` removes it", snap);
failed_early:
    sk_errorf(FEAT_CMD, "%s", prev[0]
              ? "the previous snapshot is still active, untouched:"
              : "no snapshot was active before, none is now");
    if (prev[0]) {
        fprintf(stderr, "  %s:active = %s\n", so.prefix, prev);
    }
    load_data_free(&d);
    sk_store_close(&s);
    return SK_EXIT_FAIL;
}


/* ---- gc ------------------------------------------------------------- */

static void
help_gc(FILE *out)
{
    fprintf(out,
"usage: skipctl features gc [--keep N] [--grace SECONDS]\n"
"                           [--events-keep SECONDS] [--dry-run]\n"
"                           [REDIS OPTIONS]\n"
"\n"
"Delete snapshots nobody needs, then trim the event stream:\n"
"\n"
"  - complete snapshots beyond the N newest (the active one counts as one\n"
"    of them, and is kept even when it is not among them, e.g. after a\n"
"    rollback);\n"
"  - \"loading\" snapshots older than the grace period (abandoned loads);\n"
"  - \"deleting\" snapshots (a gc that was cut short) and listed ids whose\n"
"    meta is gone, older than the grace period.\n"
"\n"
"The active snapshot is never deleted.  Keys go with SCAN MATCH\n"
"<prefix>:<snap>:[ut]*:* (records, taste) and UNLINK in batches (Redis frees memory in the\n"
"background); the meta goes last, so an interrupted gc can just be run\n"
"again.\n"
"\n"
"The stream <prefix>:events keeps every entry a kept snapshot may still\n"
"replay (after its replayed_to, or after its as_of if never caught up) and\n"
"at least the last --events-keep seconds, for a load whose dataset ends\n"
"then; older entries are trimmed (XTRIM MINID).  On a Redis Cluster\n"
"(--cluster) also each shard of the events journal, before what every\n"
"kept snapshot has applied there (its cursor; without one, its as_of less\n"
"an hour) and before --events-keep; a deleted snapshot's tastes' marks\n"
"and cursors go with its records.\n"
"\n"
"Options:\n"
"  --keep N              complete snapshots to keep, newest first\n"
"                        (default %d; 0 keeps only the active one)\n"
"  --grace SECONDS       age before a loading snapshot counts as abandoned\n"
"                        (default %d)\n"
"  --events-keep SECONDS stream history always kept (default %d)\n"
"  --dry-run             print what would be deleted, delete nothing\n"
"\n%s\n"
"Output: one line per snapshot deleted or kept, then the stream trim.\n"
"Exit status: 0 success, 1 Redis failed, 2 usage.\n",
    GC_DEFAULT_KEEP, GC_DEFAULT_GRACE, GC_DEFAULT_EVENTS_KEEP,
    feat_store_help);
}

/* "<ms>-<seq>" -> ms, or -1. */
static int64_t
stream_ms(const char *id)
{
    char   *end;
    int64_t ms = strtoll(id, &end, 10);

    return end != id && (*end == '-' || *end == '\0') ? ms : -1;
}

int
feat_gc_run(sk_store *s, long keep, long grace_s, long events_keep_s,
    int dry_run)
{
    sk_snapshot_info *list;
    char              active[SK_SNAP_MAX + 8], events[SK_KEY_MAX];
    char              minid[48];
    int               n, i, complete_seen = 0, doomed, nkept = 0;
    long              deleted, total = 0, trimmed;
    double            now = now_s();
    int64_t           need, min_ms;
    redisReply       *r;

    if (sk_snapshot_active(s, active, sizeof(active)) != 0
        || (n = sk_snapshot_list(s, &list)) < 0)
    {
        sk_errorf(FEAT_CMD, "gc: %s", s->err);
        return -1;
    }
    min_ms = (int64_t) ((now - (double) events_keep_s) * 1000.0);
    for (i = 0; i < n; i++) {
        sk_snapshot_info *in = &list[i];
        int               is_active = strcmp(in->id, active) == 0;
        int               old = in->created < now - (double) grace_s;
        const char       *why = NULL;

        doomed = 0;
        if (is_active) {
            if (strcmp(in->state, SK_SNAP_COMPLETE) == 0) {
                complete_seen++;
            }
        } else if (strcmp(in->state, SK_SNAP_COMPLETE) == 0) {
            if (++complete_seen > keep) {
                doomed = 1;
                why = "beyond --keep";
            }
        } else if (strcmp(in->state, SK_SNAP_LOADING) == 0) {
            if (old) {
                doomed = 1;
                why = "abandoned load";
            }
        } else if (old) {             /* deleting, or no meta */
            doomed = 1;
            why = in->state[0] ? "unfinished deletion" : "no meta";
        }

        if (!doomed) {
            /* the journal of a cluster keeps what it has not applied */
            list[nkept++] = *in;
            printf("keep   %s %s%s\n", in->id,
                   in->state[0] ? in->state : "(no meta)",
                   is_active ? " (active)" : "");
            /* What this snapshot may still replay from the stream. */
            if (!is_active) {
                need = (in->replayed_to[0]
                        && strcmp(in->replayed_to, "0-0") != 0)
                       ? stream_ms(in->replayed_to) : in->as_of;
                if (need >= 0 && need < min_ms) {
                    min_ms = need;
                }
            }
            continue;
        }
        if (dry_run) {
            printf("would delete %s %s (%s)\n", in->id, in->state, why);
            continue;
        }
        if (sk_snapshot_delete(s, in->id, &deleted) != 0) {
            sk_errorf(FEAT_CMD, "gc: deleting %s: %s", in->id, s->err);
            free(list);
            return -1;
        }
        total += deleted;
        printf("delete %s %s (%s): %ld keys\n", in->id, in->state, why,
               deleted);
    }
    if (s->cl && !dry_run) {
        if (sk_journal_trim(s, list, nkept, min_ms, &trimmed) != 0) {
            sk_errorf(FEAT_CMD, "gc: the events journal: %s", s->err);
            free(list);
            return -1;
        }
        printf("trim   the events journal (%d shards): %ld entries\n",
               SK_JOURNAL_SHARDS, trimmed);
    }
    free(list);

    if (min_ms < 0) {
        min_ms = 0;
    }
    snprintf(events, sizeof(events), "%s:events", s->opts.prefix);
    snprintf(minid, sizeof(minid), "%" PRId64 "-0", min_ms);
    if (dry_run) {
        printf("would trim %s before %s\n", events, minid);
        return 0;
    }
    r = sk_store_cmdl(s, "XTRIM", events, "MINID", minid, NULL);
    if (r == NULL) {
        sk_errorf(FEAT_CMD, "gc: %s", s->err);
        return -1;
    }
    printf("trim   %s before %s: %lld entries\n", events, minid, r->integer);
    freeReplyObject(r);
    fflush(stdout);
    return 0;
}

int
feat_gc(int argc, char **argv)
{
    sk_store_opts   so;
    sk_store        s;
    const char     *pos[1], *keep_s = NULL, *grace_s = NULL, *ev_s = NULL;
    int             npos, rc, dry = 0;
    long            keep = GC_DEFAULT_KEEP, grace = GC_DEFAULT_GRACE;
    long            evkeep = GC_DEFAULT_EVENTS_KEEP;
    const feat_opt  opts[] = {
        { "--keep", &keep_s, NULL }, { "--grace", &grace_s, NULL },
        { "--events-keep", &ev_s, NULL }, { "--dry-run", NULL, &dry },
        { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("gc", argc, argv, &so, opts, pos, 0, &npos, help_gc);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if ((keep_s && (keep = feat_count("gc", "--keep", keep_s)) < 0)
        || (grace_s && (grace = feat_count("gc", "--grace", grace_s)) < 0)
        || (ev_s && (evkeep = feat_count("gc", "--events-keep", ev_s)) < 0))
    {
        return SK_EXIT_USAGE;
    }
    if (feat_connect(&s, &so) != 0) {
        return SK_EXIT_FAIL;
    }
    rc = feat_gc_run(&s, keep, grace, evkeep, dry);
    sk_store_close(&s);
    return rc == 0 ? SK_EXIT_OK : SK_EXIT_FAIL;
}
