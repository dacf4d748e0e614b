/*
 * skipctl replay: play held-out listening sessions through nginx as the
 * listeners would have: for every labelled play, GET the track with the
 * user's header, then report what the listener did (one Play or Skip event
 * per listen) to the events handler in batches.
 *
 * The held-out sessions are chosen with the trainer's own time split
 * (split.h: sessions ranked by start, the last share tests), on the same
 * labelled plays (labels.h), so the replay is exactly the test set the
 * models were evaluated on offline.
 *
 * N connections in N threads, plain blocking sockets with keep-alive; the
 * HTTP client (src/replay/httpc.c) is deliberately minimal (httpc.h says
 * why it is not libcurl).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../core/dataset.h"
#include "../replay/httpc.h"
#include "../data/labels.h"
#include "../data/listened.h"
#include "../replay/replay_player.h"
#include "../replay/replay_report.h"
#include "../data/split.h"
#include "../core/timeparse.h"

#define CMD          "replay"
#define MAX_HEADERS  4            /* response headers whose values we count */
#define MAX_VALUES   16           /* distinct values counted per header */

static const char usage_text[] =
"usage: skipctl replay --data DIR --url http://HOST:PORT [options]\n"
"       skipctl replay --data DIR --url http://HOST:PORT --player\n"
"                      [--kbps N] [--slice SIZE] [--time-scale F]\n"
"                      [--origin-log FILE] [options]\n"
"       skipctl replay --data DIR --write-train FILE [split options]\n"
"       skipctl replay --data DIR --write-sizes FILE [--kbps N]\n"
"\n"
"Replay the held-out listening sessions of a dataset through nginx, as the\n"
"listeners would have played them, and print what nginx answered.\n"
"\n"
"WHAT IS REPLAYED\n"
"  The labelled plays of DIR (Play/Skip events, one per (session, track),\n"
"  skipped when a Skip is among them; users and tracks must be in DIR's\n"
"  tables) of the test sessions.  By default the test sessions are those of\n"
"  the trainer's time split (skipctl train): sessions ranked by start, the\n"
"  last 20 % test.  Sessions are replayed in order of start.\n"
"  --test-split F         share of sessions held out (default 0.2)\n"
"  --from-session-time T  instead: every session starting at or after T\n"
"                         (any timestamp the dataset reader accepts)\n"
"  --limit N              stop after N plays (default: all)\n"
"  --write-train FILE     do not replay: write the events of the OTHER\n"
"                         sessions (the training window, every event type,\n"
"                         Pozytywka v2 JSONL) to FILE and exit.  Load the\n"
"                         feature store from those, so that the records\n"
"                         served during the replay hold no outcome of a\n"
"                         replayed session (make demo does this).\n"
"\n"
"HOW\n"
"  For each play: GET <base><tracks-path><track_id> with the headers\n"
"  X-User-Id: <user_id>, X-Session-Position: <plays before this one in\n"
"  its session> (what a player knows; nginx passes it to the model with\n"
"  skip_position) and X-Local-Hour: <the play's local hour as written in\n"
"  the dataset> (the replayed listener's clock, not the replay's; for\n"
"  skip_hour) on a keep-alive connection; then the listen's\n"
"  outcome is queued as one JSON event in the Pozytywka format,\n"
"    {\"timestamp\":\"...\",\"user_id\":U,\"track_id\":\"T\",\n"
"     \"event_type\":\"Play\"|\"Skip\",\"session_id\":S}\n"
"  (Play = listened in full, Skip = skipped) and posted to the events URL\n"
"  as JSONL batches (Content-Type: application/x-ndjson).  The timestamp is\n"
"  the wall-clock time the outcome became known (UTC), so that events and\n"
"  nginx's access log share a clock (skipctl abreport joins them).  A 503\n"
"  answer is retried after its Retry-After (at most 5 s, 5 attempts); a\n"
"  batch still unacknowledged then is counted as lost.\n"
"  Each connection replays whole sessions one after the other; sessions are\n"
"  handed to connections in order of start.\n"
"  --url URL              http://HOST[:PORT][/base] of nginx (required)\n"
"  --tracks-path P        default /tracks/\n"
"  --events-url PATH      default /skip/events; \"none\" posts nothing\n"
"  --events-token-file F  send \"Authorization: Bearer <first line of F>\"\n"
"                         with every batch (nginx's skip_events_token).\n"
"                         Or set $SKIP_EVENTS_TOKEN; a file or the\n"
"                         environment keeps the secret out of ps\n"
"  --user-header NAME     default X-User-Id\n"
"  --position-header NAME default X-Session-Position; \"none\" sends no\n"
"                         position (the model then scores the average)\n"
"  --hour-header NAME     default X-Local-Hour; \"none\" sends no hour\n"
"  --concurrency N        connections and threads (default 4)\n"
"  --batch N              events per POST (default 50; a batch is also sent\n"
"                         at the end of each session)\n"
"  --speedup X            keep the sessions' timing, X times faster: a play\n"
"                         is requested at its (scaled) time and its outcome\n"
"                         posted when the listen (scaled) ends.  Default 0:\n"
"                         as fast as possible, outcome right after the GET.\n"
"  --original-timestamps  events carry the play's dataset time instead\n"
"  --events-log FILE      also write every outcome event (JSONL) to FILE,\n"
"                         whether the server acknowledged it or not: the\n"
"                         truth for skipctl abreport --events\n"
"  --timeout SEC          per request (default 10)\n"
"\n"
"PLAYER MODE (--player)\n"
"  Instead of one GET per play, stream each play as a player would: the\n"
"  track (duration_ms x kbps / 8 bytes, rounded; a track without a\n"
"  duration gets the dataset's median) is asked in slices with\n"
"  Range: bytes=S-E, S a multiple of the slice size, E = min(S + slice - 1,\n"
"  size - 1), slice k when the listener has listened up to its first\n"
"  byte (slice 0 at once), along the listening time compressed by\n"
"  --time-scale.  A play starts at its time in the dataset relative to\n"
"  its session's first play (scaled the same way); sessions still run\n"
"  one after the other on each connection.  The listen stops where the\n"
"  listener stopped: a full play (Play) listens to the whole track; a\n"
"  skipped one until its Skip event (the earliest Skip of the same\n"
"  session and track after the play's request), or 60 % of the track\n"
"  when the dataset has no Skip time (counted on stderr; the rule\n"
"  skipctl simulate uses).  A slice starting exactly at the skip point is\n"
"  not asked.  Each request also carries CMCD (CTA-5004) headers:\n"
"    CMCD-Request: nor=\"<next track id>\"  the next play of the session,\n"
"                  relative to the current URL (omitted for the last)\n"
"    CMCD-Session: sid=\"<session_id>\"\n"
"  Per slice the player records the status, X-Cache-Status, body bytes\n"
"  and time to first byte (request sent to first answer byte); a 206\n"
"  whose Content-Range is not the range asked (or not of the track's\n"
"  size) is counted as an error.  The outcome event is posted when the\n"
"  listen (scaled) ends.\n"
"  --kbps N               bitrate that sizes tracks (default 160)\n"
"  --slice SIZE           slice size, bytes or with k/m (x 1024, x 1024^2;\n"
"                         default 1m); match nginx's `slice`\n"
"  --time-scale F         wall seconds per second of listening (default\n"
"                         0.001: 1 s of listening = 1 ms); 0: no waiting\n"
"  --origin-log FILE      the origin's access log, JSON lines\n"
"                           {\"uri\":\"$uri\",\"range\":\"$http_range\",\n"
"                            \"status\":$status,\"bytes\":$body_bytes_sent,\n"
"                            \"prefetch\":\"$http_x_skip_prefetch\",\n"
"                            \"arm\":\"$http_x_skip_arm\"}\n"
"                         (log_format ... escape=json; \"arm\" optional: the\n"
"                         edge sends X-Skip-Arm $skip_arm upstream).  Only\n"
"                         lines written during the run count (from the\n"
"                         file's size at the start); after the run the\n"
"                         replay waits until FILE has not grown for 1 s\n"
"                         (at most 30 s).  Reported: origin bytes, listener-\n"
"                         vs prefetch-triggered (prefetch \"1\", the edge's\n"
"                         prefetch location sends X-Skip-Prefetch: 1), and\n"
"                         bytes prefetched and never listened: prefetch\n"
"                         fetches of a (track, first byte) no player asked\n"
"                         for during the run\n"
"  --write-sizes FILE     do not replay: write \"<track_id> <bytes>\" for\n"
"                         every track the replay would ask for, and exit\n"
"                         (an origin makes files of those sizes)\n"
"\n"
"OUTPUT\n"
"  Progress on stderr (--quiet: none).  On stdout a summary: requests,\n"
"  status counts, counts of the X-Cache-Status, X-Skip-Decision and\n"
"  X-Skip-Arm header values, cache hit ratio (HIT / requests with\n"
"  X-Cache-Status), latency p50/p90/p99/max (request sent to last body byte),\n"
"  events posted/accepted/rejected/lost.  --json: one JSON object instead.\n"
"  With --player the counts are per slice request, followed by a table of\n"
"  groups: all plays, each X-Skip-Arm value and each X-Skip-Decision value\n"
"  of a play's first slice, with plays, full plays, slices, HITs, slices\n"
"  from the origin (anything but HIT), later-HIT(play,full) (the share of\n"
"  HITs among the slices after the first of plays decided \"play\" and\n"
"  listened to the end), bytes served to the player, TTFB p50/p99 (ms),\n"
"  wrong ranges and errors; with --origin-log the origin table per arm and\n"
"  the listened bytes of full plays that were HITs of prefetched slices.\n"
"  In --json these are the \"player\" member.\n"
"\n"
"EXIT STATUS\n"
"  0 the replay ran (whatever HTTP statuses nginx answered); 1 the data\n"
"  could not be read, there was nothing to replay, nginx could not be\n"
"  reached, or a request got no HTTP answer; 2 usage error.\n"
"\n"
"EXAMPLES\n"
"  skipctl replay --data data --url http://127.0.0.1:8080 --concurrency 8 \\\n"
"      --events-log out/events.jsonl\n"
"  skipctl replay --data data --url http://127.0.0.1:8080 --player \\\n"
"      --slice 1m --origin-log origin/access.jsonl --events-url none\n"
"  (bench/prefetch.sh runs the player against three prefetch settings)\n";

/* One play to replay, in session order. */
typedef struct {
    int64_t  session_id;
    int64_t  user_id;
    int64_t  ts_ms;                 /* request time in the dataset */
    int64_t  end_ms;                /* when the listen ended (next play, or
                                       start + duration for the last) */
    char     track[SK_ID_LEN + 1];
    int      label;                 /* 1 play, 0 skip */
    int      position;              /* plays before it in its session */
    int      hour;                  /* local hour as written, 0..23 */
    int64_t  duration_ms;           /* the track's, or the median (player) */
    double   listened_ms;           /* listened of it (player, listened.h) */
} play;

typedef struct {
    size_t   first, count;
} session;

typedef struct {
    char     value[32];
    long     n;
} value_count;

typedef struct {
    long         status[600];       /* [0] = no HTTP answer */
    long         ev_status[600];
    double      *lat_ms;
    size_t       n_lat, cap_lat;
    value_count  hv[MAX_HEADERS][MAX_VALUES];
    long         hv_other[MAX_HEADERS];
    long         ev_accepted, ev_rejected, ev_lost, ev_retried, batches;
    char         first_error[256];
} tally;

typedef struct replay_s replay_t;

typedef struct {
    replay_t    *rp;
    int          id;
    pthread_t    tid;
    sk_http     *conn;
    tally        t;
    char        *batch;             /* JSONL being built */
    size_t       batch_len, batch_cap;
    int          batch_n;
    sk_slice_rec *recs;             /* --player: every slice asked */
    size_t       n_recs, cap_recs;
} worker;

struct replay_s {
    /* options */
    const char       *data_dir, *url, *tracks_path, *events_path,
                     *user_header, *position_header, *hour_header,
                     *events_log,
                     *from_time, *write_train, *token_file;
    char             *auth;         /* "Bearer <token>", or NULL */
    double            test_fraction, speedup, timeout_s;
    long              limit;
    int               concurrency, batch, json, quiet, original_ts;

    /* --player */
    int               player;
    double            kbps, time_scale;
    int64_t           slice;
    const char       *origin_log, *write_sizes;
    sk_play_rec      *play_recs;    /* [n_plays] */
    long              listened_assumed;

    sk_url            base;
    play             *plays;
    size_t            n_plays;
    session          *sessions;
    size_t            n_sessions;
    int64_t           data_t0;      /* first replayed play's time */
    double            wall_t0;      /* monotonic seconds at start */

    atomic_size_t     next_session;
    atomic_long       done_requests, done_plays, done_events, errors;
    atomic_int        finished;
    pthread_mutex_t   log_lock;
    FILE             *log_fp;
    worker           *workers;
};

static const char *const counted_headers[MAX_HEADERS] = {
    "X-Cache-Status", "X-Skip-Decision", "X-Skip-Arm", NULL
};

static double
mono_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep until the dataset time data_ms, scaled by the speedup. */
static void
wait_until(replay_t *rp, int64_t data_ms)
{
    double  due, now;

    if (rp->speedup <= 0.0) {
        return;
    }
    due = rp->wall_t0 + (double) (data_ms - rp->data_t0) / 1000.0
          / rp->speedup;
    now = mono_s();
    if (due > now) {
        struct timespec  ts;
        double           d = due - now;

        ts.tv_sec = (time_t) d;
        ts.tv_nsec = (long) ((d - (double) ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

/* ---- selecting the plays ---------------------------------------------- */

static int
cmp_play(const void *a, const void *b)
{
    const play  *x = a, *y = b;

    if (x->session_id != y->session_id) {
        return x->session_id < y->session_id ? -1 : 1;
    }
    return (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

typedef struct {
    int64_t  start;
    size_t   first, count;
    int64_t  session_id;
} span;

static int
cmp_span(const void *a, const void *b)
{
    const span  *x = a, *y = b;

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->session_id > y->session_id) - (x->session_id < y->session_id);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t  x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}

/* 1 when the session has labelled plays (lab->rows sorted by session). */
static int
has_labels(const sk_labels *lab, int64_t session_id)
{
    size_t  lo = 0, hi = lab->n;

    while (lo < hi) {
        size_t  mid = lo + (hi - lo) / 2;

        if (lab->rows[mid].session_id < session_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < lab->n && lab->rows[lo].session_id == session_id;
}

/*
 * --write-train: every event of DIR/sessions.jsonl whose session is not
 * replayed.  Sessions with labelled plays are decided by the split (train);
 * those without (only ads, unknown users) by their events' time < cut_ms.
 */
static int
write_train(replay_t *rp, const sk_labels *lab, int64_t cut_ms,
    int64_t from_ms)
{
    int64_t       *ids, start = 0;
    size_t         n = 0, i;
    sk_reader     *rd;
    sk_row         row;
    FILE          *out;
    char           err[512], ts[SK_TIME_BUF];
    long           written = 0;
    int            rc;

    ids = malloc((lab->n ? lab->n : 1) * sizeof(*ids));
    if (ids == NULL) {
        sk_errorf(CMD, "out of memory");
        return -1;
    }
    /* rows are sorted by session id: one decision per run */
    for (i = 0; i < lab->n; i++) {
        const sk_labelled  *r = &lab->rows[i];
        int                 first = i == 0
                                    || r->session_id != lab->rows[i - 1].session_id;

        if (rp->from_time == NULL) {
            if (first && r->split == SK_ROW_TRAIN) {
                ids[n++] = r->session_id;
            }
            continue;
        }
        if (first) {
            start = r->ts_ms;
        } else if (r->ts_ms < start) {
            start = r->ts_ms;
        }
        if (i + 1 == lab->n || lab->rows[i + 1].session_id != r->session_id) {
            if (start < from_ms) {
                ids[n++] = r->session_id;
            }
        }
    }
    if (n > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(ids, n, sizeof(*ids), cmp_i64);
    }
    if (rp->from_time != NULL) {
        cut_ms = from_ms;
    }

    rd = sk_reader_open_dir(rp->data_dir, SK_FILE_SESSIONS, NULL, err,
                            sizeof(err));
    if (rd == NULL) {
        sk_errorf(CMD, "%s", err);
        free(ids);
        return -1;
    }
    out = fopen(rp->write_train, "w");
    if (out == NULL) {
        sk_errorf(CMD, "%s: %s", rp->write_train, strerror(errno));
        sk_reader_close(rd);
        free(ids);
        return -1;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        const sk_event_row  *ev = &row.event;
        int                  ranked, train;

        ranked = has_labels(lab, ev->session_id);
        if (ranked) {
            train = bsearch(&ev->session_id, ids, n, sizeof(*ids), cmp_i64)
                    != NULL;
        } else {
            train = ev->ts_ms < cut_ms;
        }
        if (!train) {
            continue;
        }
        sk_time_format(ev->ts_ms, ev->tz_min, ts);
        fprintf(out, "{\"timestamp\":\"%s\",\"user_id\":%lld,"
                "\"track_id\":\"%s\",\"event_type\":\"%s\","
                "\"session_id\":%lld}\n", ts, (long long) ev->user_id,
                ev->track_id, sk_event_name(ev->type),
                (long long) ev->session_id);
        written++;
    }
    if (rc < 0) {
        sk_errorf(CMD, "%s", sk_reader_error(rd));
    }
    sk_reader_close(rd);
    free(ids);
    if (fclose(out) != 0 || rc < 0) {
        if (rc >= 0) {
            sk_errorf(CMD, "%s: %s", rp->write_train, strerror(errno));
        }
        return -1;
    }
    if (!rp->quiet) {
        fprintf(stderr, "skipctl %s: %s: %ld events of %zu training "
                "sessions\n", CMD, rp->write_train, written, n);
    }
    printf("%s: %ld events, %zu sessions with labelled plays\n",
           rp->write_train, written, n);
    return 0;
}

static int
load_plays(replay_t *rp)
{
    sk_dataset     ds;
    sk_labels      lab;
    sk_read_opts   opts;
    char           err[512];
    size_t         i, n_train = 0, k = 0, ns = 0, total = 0;
    int64_t        cut_ms = 0, from_ms = 0;
    play          *all = NULL;
    span          *sp = NULL;
    int64_t       *skip_ms = NULL, median = 0;
    int            rc = -1;

    memset(&opts, 0, sizeof(opts));
    memset(&ds, 0, sizeof(ds));
    sk_labels_init(&lab);
    opts.optional_files = 1u << SK_FILE_STORAGE;

    if (rp->from_time != NULL
        && sk_time_parse(rp->from_time, strlen(rp->from_time), &from_ms,
                         NULL, NULL) != 0)
    {
        sk_errorf(CMD, "--from-session-time: not a timestamp: \"%s\"",
                  rp->from_time);
        return -2;
    }

    if (!rp->quiet) {
        fprintf(stderr, "skipctl %s: reading %s\n", CMD, rp->data_dir);
    }
    if (sk_dataset_load(rp->data_dir, &ds, &opts) != 0) {
        sk_errorf(CMD, "%s", ds.error);
        goto done;
    }
    if (sk_labels_read(&lab, &ds, rp->data_dir, &opts, NULL, err,
                       sizeof(err)) != 0)
    {
        sk_errorf(CMD, "%s", err);
        goto done;
    }
    if (lab.n == 0) {
        sk_errorf(CMD, "%s/sessions.jsonl: no labelled plays", rp->data_dir);
        goto done;
    }
    if (rp->from_time == NULL) {
        size_t  nsess = sk_split_time(lab.rows, lab.n, rp->test_fraction,
                                      &n_train, &cut_ms);
        if (!rp->quiet) {
            fprintf(stderr, "skipctl %s: time split: %zu sessions, the last "
                    "%zu held out\n", CMD, nsess, nsess - n_train);
        }
    }

    if (rp->write_train != NULL) {
        rc = write_train(rp, &lab, cut_ms, from_ms) == 0 ? 1 : -1;
        goto done;
    }

    all = malloc(lab.n * sizeof(*all));
    if (all == NULL) {
        sk_errorf(CMD, "out of memory");
        goto done;
    }
    if (rp->player || rp->write_sizes) {
        /* where each listen stopped: the rule skipctl simulate uses */
        skip_ms = malloc(lab.n * sizeof(*skip_ms));
        if (skip_ms == NULL) {
            sk_errorf(CMD, "out of memory");
            goto done;
        }
        if (sk_skip_times_read(rp->data_dir, &ds, &lab, skip_ms, err,
                               sizeof(err)) != 0)
        {
            sk_errorf(CMD, "%s", err);
            goto done;
        }
        median = sk_median_duration(&ds);
    }
    for (i = 0; i < lab.n; i++) {
        const sk_labelled  *r = &lab.rows[i];

        if (rp->from_time == NULL ? r->split != SK_ROW_TEST : 0) {
            continue;
        }
        play *p = &all[k++];
        p->session_id = r->session_id;
        p->user_id = ds.users[r->user].user_id;
        p->ts_ms = r->ts_ms;
        p->end_ms = r->ts_ms + (ds.tracks[r->track].duration_ms > 0
                                ? ds.tracks[r->track].duration_ms : 0);
        memcpy(p->track, ds.tracks[r->track].id, sizeof(p->track));
        p->label = r->label;
        p->position = r->position;
        p->hour = sk_labelled_hour(r);
        p->duration_ms = ds.tracks[r->track].duration_ms > 0
                         ? ds.tracks[r->track].duration_ms : median;
        p->listened_ms = 0;
        if (skip_ms != NULL) {
            int  assumed;

            p->listened_ms = sk_listened_share(r->label, r->ts_ms, skip_ms[i],
                                               ds.tracks[r->track].duration_ms,
                                               &assumed)
                             * (double) p->duration_ms;
            rp->listened_assumed += assumed;
        }
    }
    if (k > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(all, k, sizeof(*all), cmp_play);
    }

    /* Sessions: runs of one session id; a listen ends when the next play of
     * its session starts (the generator's and the real data's rule). */
    sp = malloc((k ? k : 1) * sizeof(*sp));
    if (sp == NULL) {
        sk_errorf(CMD, "out of memory");
        goto done;
    }
    for (i = 0; i < k; i++) {
        if (i > 0 && all[i].session_id == all[i - 1].session_id) {
            all[i - 1].end_ms = all[i].ts_ms;
            sp[ns - 1].count++;
            continue;
        }
        sp[ns].start = all[i].ts_ms;
        sp[ns].first = i;
        sp[ns].count = 1;
        sp[ns].session_id = all[i].session_id;
        ns++;
    }
    if (rp->from_time != NULL) {
        size_t  kept = 0;

        for (i = 0; i < ns; i++) {
            if (sp[i].start >= from_ms) {
                sp[kept++] = sp[i];
            }
        }
        ns = kept;
    }
    if (ns > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(sp, ns, sizeof(*sp), cmp_span);
    }

    /* Copy in replay order, honouring --limit. */
    rp->plays = malloc((k ? k : 1) * sizeof(*rp->plays));
    rp->sessions = malloc((ns ? ns : 1) * sizeof(*rp->sessions));
    if (rp->plays == NULL || rp->sessions == NULL) {
        sk_errorf(CMD, "out of memory");
        goto done;
    }
    for (i = 0; i < ns; i++) {
        size_t  c = sp[i].count;

        if (rp->limit > 0 && total + c > (size_t) rp->limit) {
            c = (size_t) rp->limit - total;
        }
        if (c == 0) {
            break;
        }
        memcpy(&rp->plays[total], &all[sp[i].first], c * sizeof(play));
        rp->sessions[rp->n_sessions].first = total;
        rp->sessions[rp->n_sessions].count = c;
        rp->n_sessions++;
        total += c;
    }
    rp->n_plays = total;
    if (total == 0) {
        sk_errorf(CMD, "%s: no held-out plays to replay", rp->data_dir);
        goto done;
    }
    rp->data_t0 = rp->plays[rp->sessions[0].first].ts_ms;
    rc = 0;

done:
    free(all);
    free(sp);
    free(skip_ms);
    sk_labels_free(&lab);
    sk_dataset_free(&ds);
    return rc;
}

/* ---- counting --------------------------------------------------------- */

static void
count_header_n(tally *t, int h, const char *v, long n)
{
    value_count  *vc = t->hv[h];

    if (v == NULL) {
        return;
    }
    for (int i = 0; i < MAX_VALUES; i++) {
        if (vc[i].n == 0) {
            snprintf(vc[i].value, sizeof(vc[i].value), "%s", v);
            vc[i].n = n;
            return;
        }
        if (strcmp(vc[i].value, v) == 0) {
            vc[i].n += n;
            return;
        }
    }
    t->hv_other[h] += n;
}

static void
count_header(tally *t, int h, const char *v)
{
    count_header_n(t, h, v, 1);
}

static void
add_latency(tally *t, double ms)
{
    if (t->n_lat == t->cap_lat) {
        size_t   cap = t->cap_lat ? t->cap_lat * 2 : 4096;
        double  *p = realloc(t->lat_ms, cap * sizeof(*p));

        if (p == NULL) {
            return;                 /* a missing sample is better than a crash */
        }
        t->lat_ms = p;
        t->cap_lat = cap;
    }
    t->lat_ms[t->n_lat++] = ms;
}

static void
note_error(worker *w, const char *what)
{
    if (w->t.first_error[0] == '\0') {
        snprintf(w->t.first_error, sizeof(w->t.first_error), "%s", what);
    }
    atomic_fetch_add(&w->rp->errors, 1);
}

/* ---- events ----------------------------------------------------------- */

static int
append(worker *w, const char *s, size_t len)
{
    if (w->batch_len + len + 1 > w->batch_cap) {
        size_t  cap = w->batch_cap ? w->batch_cap * 2 : 16384;
        char   *p;

        while (cap < w->batch_len + len + 1) {
            cap *= 2;
        }
        p = realloc(w->batch, cap);
        if (p == NULL) {
            return -1;
        }
        w->batch = p;
        w->batch_cap = cap;
    }
    memcpy(w->batch + w->batch_len, s, len);
    w->batch_len += len;
    w->batch[w->batch_len] = '\0';
    return 0;
}

static void
flush_events(worker *w)
{
    replay_t     *rp = w->rp;
    sk_http_res   res;
    char          err[256];
    int           attempt;

    if (w->batch_n == 0) {
        return;
    }
    if (rp->events_path == NULL) {
        w->batch_len = 0;
        w->batch_n = 0;
        return;
    }
    w->t.batches++;
    for (attempt = 1; ; attempt++) {
        const char *an[2] = { "Authorization", NULL };
        const char *av[2] = { rp->auth, NULL };

        if (sk_http_request(w->conn, "POST", rp->events_path,
                            rp->auth ? an : NULL, rp->auth ? av : NULL,
                            "application/x-ndjson", w->batch, w->batch_len,
                            NULL, &res, err, sizeof(err)) != 0)
        {
            note_error(w, err);
            w->t.ev_status[0]++;
            w->t.ev_lost += w->batch_n;
            break;
        }
        w->t.ev_status[res.status < 600 ? res.status : 0]++;
        if (res.status >= 200 && res.status < 300) {
            w->t.ev_accepted += w->batch_n;
            break;
        }
        if (res.status == 503 && attempt < 5) {
            /* The server keeps nothing it did not acknowledge: wait and
             * send the same batch again. */
            double  d = res.retry_after > 0 ? res.retry_after : 1.0;

            w->t.ev_retried++;
            usleep((useconds_t) (fmin(d, 5.0) * 1e6));
            continue;
        }
        if (res.status == 503) {
            w->t.ev_lost += w->batch_n;
        } else {
            w->t.ev_rejected += w->batch_n;
        }
        break;
    }
    atomic_fetch_add(&rp->done_events, w->batch_n);
    w->batch_len = 0;
    w->batch_n = 0;
}

static void
queue_outcome(worker *w, const play *p)
{
    replay_t  *rp = w->rp;
    char       line[256], ts[SK_TIME_BUF];
    int        n;

    sk_time_format(rp->original_ts ? p->ts_ms : wall_ms(), 0, ts);
    n = snprintf(line, sizeof(line), "{\"timestamp\":\"%s\",\"user_id\":%lld,"
                 "\"track_id\":\"%s\",\"event_type\":\"%s\","
                 "\"session_id\":%lld}\n", ts, (long long) p->user_id,
                 p->track, p->label ? "Play" : "Skip",
                 (long long) p->session_id);
    if (rp->log_fp != NULL) {
        pthread_mutex_lock(&rp->log_lock);
        fwrite(line, 1, (size_t) n, rp->log_fp);
        pthread_mutex_unlock(&rp->log_lock);
    }
    if (append(w, line, (size_t) n) != 0) {
        note_error(w, "out of memory queueing events");
        return;
    }
    w->batch_n++;
    if (w->batch_n >= rp->batch) {
        flush_events(w);
    }
}

/* ---- the workers ------------------------------------------------------ */

static void
replay_play(worker *w, const play *p)
{
    replay_t     *rp = w->rp;
    sk_http_res   res;
    char          path[512], user[32], pos[16], hour[16], err[256];
    const char   *hdr_names[4], *hdr_values[4];
    int           nh = 0;
    double        t0;

    snprintf(path, sizeof(path), "%s%s%s", rp->base.path, rp->tracks_path,
             p->track);
    snprintf(user, sizeof(user), "%lld", (long long) p->user_id);
    snprintf(pos, sizeof(pos), "%d", p->position);
    snprintf(hour, sizeof(hour), "%d", p->hour);
    hdr_names[nh] = rp->user_header;
    hdr_values[nh++] = user;
    if (rp->position_header) {
        hdr_names[nh] = rp->position_header;
        hdr_values[nh++] = pos;
    }
    if (rp->hour_header) {
        hdr_names[nh] = rp->hour_header;
        hdr_values[nh++] = hour;
    }
    hdr_names[nh] = NULL;
    hdr_values[nh] = NULL;

    wait_until(rp, p->ts_ms);
    t0 = mono_s();
    if (sk_http_request(w->conn, "GET", path, hdr_names, hdr_values, NULL,
                        NULL, 0, counted_headers, &res, err,
                        sizeof(err)) != 0)
    {
        w->t.status[0]++;
        note_error(w, err);
    } else {
        add_latency(&w->t, (mono_s() - t0) * 1000.0);
        w->t.status[res.status < 600 ? res.status : 0]++;
        for (int h = 0; h < MAX_HEADERS && counted_headers[h]; h++) {
            count_header(&w->t, h, res.header[h]);
        }
    }
    atomic_fetch_add(&rp->done_requests, 1);

    /* The outcome is known when the listen ends. */
    wait_until(rp, p->end_ms);
    queue_outcome(w, p);
}

/* ---- the player (--player) ------------------------------------------- */

static const char *const player_capture[] = {
    "X-Cache-Status", "X-Skip-Decision", "X-Skip-Arm", "Content-Range", NULL
};

static void
sleep_until(double due)
{
    double  now = mono_s();

    if (due > now) {
        struct timespec  ts;
        double           d = due - now;

        ts.tv_sec = (time_t) d;
        ts.tv_nsec = (long) ((d - (double) ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

static sk_slice_rec *
new_rec(worker *w)
{
    if (w->n_recs == w->cap_recs) {
        size_t         cap = w->cap_recs ? w->cap_recs * 2 : 4096;
        sk_slice_rec  *p = realloc(w->recs, cap * sizeof(*p));

        if (p == NULL) {
            return NULL;
        }
        w->recs = p;
        w->cap_recs = cap;
    }
    memset(&w->recs[w->n_recs], 0, sizeof(w->recs[0]));
    return &w->recs[w->n_recs++];
}

/* 1 when a 206 answers exactly bytes start-end of a size-byte track. */
static int
range_matches(const char *content_range, int64_t start, int64_t end,
    int64_t size)
{
    int64_t  s, e, total;

    if (content_range == NULL
        || sk_content_range_parse(content_range, &s, &e, &total) != 0)
    {
        return 0;
    }
    return s == start && e == end && (total < 0 || total == size);
}

/*
 * One play as a player streams it: slice by slice along its listening
 * time (scaled by --time-scale from the session's start t0 / ts0), until
 * the listen stops; next: the session's next play (CMCD nor) or NULL.
 */
static void
player_play(worker *w, const play *p, const play *next, double t0,
    int64_t ts0)
{
    replay_t       *rp = w->rp;
    size_t          idx = (size_t) (p - rp->plays);
    sk_play_rec    *pr = &rp->play_recs[idx];
    int64_t         size = sk_track_bytes(p->duration_ms, rp->kbps);
    sk_slice_req   *req;
    size_t          n, k;
    char            path[512], next_path[512], user[32], pos[16], hour[16];
    char            range[64], nor[600], sid[80], sidv[32], err[256];
    const char     *names[8], *values[8];
    int             nh = 0;
    double          start = t0 + (double) (p->ts_ms - ts0) * rp->time_scale
                                 / 1000.0;

    memcpy(pr->track, p->track, sizeof(pr->track));
    pr->full = p->label == 1;

    n = sk_slice_schedule(size, rp->slice, p->duration_ms, p->listened_ms,
                          NULL, 0);
    req = malloc(n * sizeof(*req));
    if (req == NULL) {
        note_error(w, "out of memory scheduling slices");
        return;
    }
    sk_slice_schedule(size, rp->slice, p->duration_ms, p->listened_ms, req, n);

    snprintf(path, sizeof(path), "%s%s%s", rp->base.path, rp->tracks_path,
             p->track);
    snprintf(user, sizeof(user), "%lld", (long long) p->user_id);
    snprintf(pos, sizeof(pos), "%d", p->position);
    snprintf(hour, sizeof(hour), "%d", p->hour);
    snprintf(sidv, sizeof(sidv), "%lld", (long long) p->session_id);
    names[nh] = rp->user_header;
    values[nh++] = user;
    if (rp->position_header) {
        names[nh] = rp->position_header;
        values[nh++] = pos;
    }
    if (rp->hour_header) {
        names[nh] = rp->hour_header;
        values[nh++] = hour;
    }
    if (next != NULL) {
        snprintf(next_path, sizeof(next_path), "%s%s%s", rp->base.path,
                 rp->tracks_path, next->track);
        if (sk_cmcd_request(nor, sizeof(nor), path, next_path) == 0) {
            names[nh] = "CMCD-Request";
            values[nh++] = nor;
        }
    }
    if (sk_cmcd_session(sid, sizeof(sid), sidv) == 0) {
        names[nh] = "CMCD-Session";
        values[nh++] = sid;
    }
    names[nh] = "Range";
    values[nh++] = range;
    names[nh] = NULL;
    values[nh] = NULL;

    for (k = 0; k < n; k++) {
        sk_slice_rec  *rec;
        sk_http_res    res;
        double         ts;

        sleep_until(start + req[k].at_ms * rp->time_scale / 1000.0);
        snprintf(range, sizeof(range), "bytes=%lld-%lld",
                 (long long) req[k].start, (long long) req[k].end);
        rec = new_rec(w);
        if (rec == NULL) {
            note_error(w, "out of memory recording slices");
            break;
        }
        rec->play = (uint32_t) idx;
        rec->slice = (uint32_t) (req[k].start / rp->slice);
        rec->start = req[k].start;
        rec->ttfb_ms = -1;
        ts = mono_s();
        if (sk_http_request(w->conn, "GET", path, names, values, NULL, NULL,
                            0, player_capture, &res, err, sizeof(err)) != 0)
        {
            w->t.status[0]++;
            note_error(w, err);
        } else {
            add_latency(&w->t, (mono_s() - ts) * 1000.0);
            w->t.status[res.status < 600 ? res.status : 0]++;
            for (int h = 0; h < 3; h++) {
                count_header(&w->t, h, res.header[h]);
            }
            rec->status = (int16_t) res.status;
            rec->bytes = res.body_bytes;
            rec->ttfb_ms = (float) res.ttfb_ms;
            rec->hit = res.header[0] != NULL
                       && strcasecmp(res.header[0], "HIT") == 0;
            if (res.status == 206
                && !range_matches(res.header[3], req[k].start, req[k].end,
                                  size))
            {
                rec->bad_range = 1;
                snprintf(err, sizeof(err), "%.120s %s: 206 with "
                         "Content-Range \"%s\"", path, range,
                         res.header[3] ? res.header[3] : "(none)");
                note_error(w, err);
            }
            if (k == 0) {
                snprintf(pr->decision, sizeof(pr->decision), "%s",
                         res.header[1] ? res.header[1] : "");
                snprintf(pr->arm, sizeof(pr->arm), "%s",
                         res.header[2] ? res.header[2] : "");
            }
        }
        atomic_fetch_add(&rp->done_requests, 1);
    }
    free(req);

    /* The outcome is known when the listen ends. */
    sleep_until(start + p->listened_ms * rp->time_scale / 1000.0);
    queue_outcome(w, p);
}

static void *
worker_main(void *arg)
{
    worker    *w = arg;
    replay_t  *rp = w->rp;
    size_t     s;

    for ( ;; ) {
        s = atomic_fetch_add(&rp->next_session, 1);
        if (s >= rp->n_sessions) {
            break;
        }
        const play  *sp = &rp->plays[rp->sessions[s].first];
        size_t       n = rp->sessions[s].count;
        double       t0 = mono_s();

        for (size_t i = 0; i < n; i++) {
            if (rp->player) {
                player_play(w, &sp[i], i + 1 < n ? &sp[i + 1] : NULL, t0,
                            sp[0].ts_ms);
            } else {
                replay_play(w, &sp[i]);
            }
            atomic_fetch_add(&rp->done_plays, 1);
        }
        flush_events(w);
    }
    flush_events(w);
    return NULL;
}

/* ---- progress and summary --------------------------------------------- */

static void *
progress_main(void *arg)
{
    replay_t  *rp = arg;
    int        tty = isatty(2), tick = 0;
    long       last = 0;

    while (!atomic_load(&rp->finished)) {
        usleep(100000);
        if (++tick % (tty ? 10 : 50) != 0 || atomic_load(&rp->finished)) {
            continue;
        }
        long  n = atomic_load(&rp->done_requests);
        long  np = atomic_load(&rp->done_plays);
        fprintf(stderr, "%sskipctl %s: %ld/%zu plays (%.0f%%), %ld requests, "
                "%ld events, %ld errors, %.0f req/s%s", tty ? "\r" : "", CMD,
                np, rp->n_plays, 100.0 * np / (double) rp->n_plays, n,
                atomic_load(&rp->done_events), atomic_load(&rp->errors),
                (double) (n - last) / (tty ? 1.0 : 5.0), tty ? "   " : "\n");
        last = n;
    }
    if (tty) {
        fputc('\n', stderr);
    }
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static double
percentile(const double *v, size_t n, double q)
{
    size_t  k;

    if (n == 0) {
        return 0.0;
    }
    k = (size_t) ceil(q * (double) n);
    return v[k > 0 ? k - 1 : 0];
}

static void
merge(tally *into, const tally *t)
{
    for (int i = 0; i < 600; i++) {
        into->status[i] += t->status[i];
        into->ev_status[i] += t->ev_status[i];
    }
    for (size_t i = 0; i < t->n_lat; i++) {
        add_latency(into, t->lat_ms[i]);
    }
    for (int h = 0; h < MAX_HEADERS; h++) {
        for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
            count_header_n(into, h, t->hv[h][i].value, t->hv[h][i].n);
        }
        into->hv_other[h] += t->hv_other[h];
    }
    into->ev_accepted += t->ev_accepted;
    into->ev_rejected += t->ev_rejected;
    into->ev_lost += t->ev_lost;
    into->ev_retried += t->ev_retried;
    into->batches += t->batches;
    if (into->first_error[0] == '\0') {
        memcpy(into->first_error, t->first_error, sizeof(t->first_error));
    }
}

static long
header_value_count(const tally *t, int h, const char *value)
{
    for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
        if (strcasecmp(t->hv[h][i].value, value) == 0) {
            return t->hv[h][i].n;
        }
    }
    return 0;
}

static long
header_total(const tally *t, int h)
{
    long  n = t->hv_other[h];

    for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
        n += t->hv[h][i].n;
    }
    return n;
}

static void
print_summary(const replay_t *rp, tally *t, double secs,
    const sk_player_run *run)
{
    FILE    *out = stdout;
    long     n = 0, hits, with_cache;
    double   p50, p90, p99, max;
    int      first;

    for (int i = 0; i < 600; i++) {
        n += t->status[i];
    }
    if (t->n_lat > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(t->lat_ms, t->n_lat, sizeof(double), cmp_double);
    }
    p50 = percentile(t->lat_ms, t->n_lat, 0.50);
    p90 = percentile(t->lat_ms, t->n_lat, 0.90);
    p99 = percentile(t->lat_ms, t->n_lat, 0.99);
    max = t->n_lat ? t->lat_ms[t->n_lat - 1] : 0.0;
    hits = header_value_count(t, 0, "HIT");
    with_cache = header_total(t, 0);

    if (rp->json) {
        fprintf(out, "{\"requests\":%ld,\"sessions\":%zu,\"seconds\":%.3f,"
                "\"concurrency\":%d,\"status\":{", n, rp->n_sessions, secs,
                rp->concurrency);
        first = 1;
        for (int i = 0; i < 600; i++) {
            if (t->status[i]) {
                fprintf(out, "%s\"%d\":%ld", first ? "" : ",", i, t->status[i]);
                first = 0;
            }
        }
        fprintf(out, "},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
                "\"p99\":%.3f,\"max\":%.3f},\"headers\":{", p50, p90, p99, max);
        for (int h = 0; h < MAX_HEADERS && counted_headers[h]; h++) {
            fprintf(out, "%s\"%s\":{", h ? "," : "", counted_headers[h]);
            for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
                /* header values are [A-Za-z0-9_.-] in practice; keep the
                 * JSON valid whatever they are */
                fputc(i ? ',' : '"', out);
                if (i) {
                    fputc('"', out);
                }
                for (const char *c = t->hv[h][i].value; *c; c++) {
                    if (*c == '"' || *c == '\\' || (unsigned char) *c < 0x20) {
                        fputc('_', out);
                    } else {
                        fputc(*c, out);
                    }
                }
                fprintf(out, "\":%ld", t->hv[h][i].n);
            }
            fputc('}', out);
        }
        fprintf(out, "},\"cache_hit_ratio\":");
        if (with_cache > 0) {
            fprintf(out, "%.4f", (double) hits / with_cache);
        } else {
            fprintf(out, "null");
        }
        fprintf(out, ",\"events\":{\"posted\":%ld,\"accepted\":%ld,"
                "\"rejected\":%ld,\"lost\":%ld,\"retried\":%ld,"
                "\"batches\":%ld}", t->ev_accepted + t->ev_rejected
                + t->ev_lost, t->ev_accepted, t->ev_rejected, t->ev_lost,
                t->ev_retried, t->batches);
        if (run != NULL) {
            fputs(",\"player\":", out);
            sk_player_report(out, run, 1);
        }
        fputs("}\n", out);
        return;
    }

    fprintf(out, "requests         %ld in %.1f s (%.0f req/s), %zu sessions, "
            "%d connections\n", n, secs, secs > 0 ? n / secs : 0.0,
            rp->n_sessions, rp->concurrency);
    fprintf(out, "status          ");
    for (int i = 0; i < 600; i++) {
        if (t->status[i]) {
            if (i == 0) {
                fprintf(out, " no-answer=%ld", t->status[i]);
            } else {
                fprintf(out, " %d=%ld", i, t->status[i]);
            }
        }
    }
    fputc('\n', out);
    fprintf(out, "latency_ms       p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
            p50, p90, p99, max);
    for (int h = 0; h < MAX_HEADERS && counted_headers[h]; h++) {
        fprintf(out, "%-16s", counted_headers[h]);
        if (header_total(t, h) == 0) {
            fprintf(out, " (absent)");
        }
        for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
            fprintf(out, " %s=%ld", t->hv[h][i].value, t->hv[h][i].n);
        }
        if (t->hv_other[h]) {
            fprintf(out, " other=%ld", t->hv_other[h]);
        }
        fputc('\n', out);
    }
    if (with_cache > 0) {
        fprintf(out, "cache_hit_ratio  %.4f (%ld of %ld)\n",
                (double) hits / with_cache, hits, with_cache);
    } else {
        fprintf(out, "cache_hit_ratio  - (no X-Cache-Status header)\n");
    }
    if (rp->events_path == NULL) {
        fprintf(out, "events           not posted (--events-url none)\n");
    } else {
        fprintf(out, "events           posted=%ld accepted=%ld rejected=%ld "
                "lost=%ld retried=%ld batches=%ld (statuses",
                t->ev_accepted + t->ev_rejected + t->ev_lost, t->ev_accepted,
                t->ev_rejected, t->ev_lost, t->ev_retried, t->batches);
        for (int i = 0; i < 600; i++) {
            if (t->ev_status[i]) {
                fprintf(out, " %d=%ld", i, t->ev_status[i]);
            }
        }
        fprintf(out, ")\n");
    }
    if (run != NULL) {
        sk_player_report(out, run, 0);
    }
}

/* ---- main ------------------------------------------------------------- */

static int
cmp_track(const void *a, const void *b)
{
    return strcmp(((const play *) a)->track, ((const play *) b)->track);
}

/*
 * --write-sizes: "<track_id> <bytes>" for every track the replay would
 * ask for, sized as the player sizes them (--kbps), once each, so that an
 * origin can hold files of exactly those sizes.
 */
static int
write_sizes(replay_t *rp)
{
    play   *c = malloc(rp->n_plays * sizeof(*c));
    FILE   *out;
    size_t  i, n = 0;
    int     rc = 0;

    if (c == NULL) {
        sk_errorf(CMD, "out of memory");
        return -1;
    }
    memcpy(c, rp->plays, rp->n_plays * sizeof(*c));
    qsort(c, rp->n_plays, sizeof(*c), cmp_track);
    out = fopen(rp->write_sizes, "w");
    if (out == NULL) {
        sk_errorf(CMD, "%s: %s", rp->write_sizes, strerror(errno));
        free(c);
        return -1;
    }
    for (i = 0; i < rp->n_plays; i++) {
        if (i > 0 && strcmp(c[i].track, c[i - 1].track) == 0) {
            continue;
        }
        fprintf(out, "%s %lld\n", c[i].track,
                (long long) sk_track_bytes(c[i].duration_ms, rp->kbps));
        n++;
    }
    if (fclose(out) != 0) {
        sk_errorf(CMD, "%s: %s", rp->write_sizes, strerror(errno));
        rc = -1;
    }
    free(c);
    if (rc == 0) {
        printf("%s: %zu tracks of %zu plays at %g kbps\n", rp->write_sizes,
               n, rp->n_plays, rp->kbps);
    }
    return rc;
}

/*
 * The origin writes a line when a response is complete: wait until its
 * log has not grown for a second (prefetches still running; at most 30 s).
 */
static void
origin_settle(const char *path)
{
    struct stat  st;
    off_t        last = -1;
    int          still = 0;

    for (int i = 0; i < 150 && still < 5; i++) {
        off_t  size = stat(path, &st) == 0 ? st.st_size : -1;

        still = size == last ? still + 1 : 0;
        last = size;
        usleep(200000);
    }
}


/* A header option that "none" turns off (NULL).  -1 after saying why. */
static int
optional_header(const char *opt, const char **name)
{
    if (strcmp(*name, "none") == 0) {
        *name = NULL;
        return 0;
    }
    if (**name == '\0' || strchr(*name, ':') || strpbrk(*name, "\r\n ")) {
        sk_errorf(CMD, "%s: not a header name: \"%s\" (or \"none\")", opt,
                  *name);
        return -1;
    }
    return 0;
}

/*
 * The events token: the first line of --events-token-file, else
 * $SKIP_EVENTS_TOKEN.  It becomes a header value, so it must be one line of
 * visible characters.  Returns -1 (usage) after saying why.
 */
static int
load_token(replay_t *rp)
{
    char        line[1024];
    const char *tok = getenv("SKIP_EVENTS_TOKEN");
    size_t      n;

    if (rp->token_file) {
        FILE *f = fopen(rp->token_file, "r");

        if (f == NULL) {
            sk_errorf(CMD, "--events-token-file %s: %s", rp->token_file,
                      strerror(errno));
            return -1;
        }
        if (fgets(line, sizeof(line), f) == NULL) {
            line[0] = '\0';
        }
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        tok = line;
    }
    if (tok == NULL) {
        return 0;
    }
    for (n = 0; tok[n]; n++) {
        if ((unsigned char) tok[n] <= ' ' || tok[n] == 0x7f) {
            break;
        }
    }
    if (n == 0 || tok[n] != '\0') {
        sk_errorf(CMD, "%s: the events token must be one word of visible "
                  "characters", rp->token_file ? rp->token_file
                                               : "$SKIP_EVENTS_TOKEN");
        return -1;
    }
    rp->auth = malloc(n + 8);
    if (rp->auth == NULL) {
        sk_errorf(CMD, "out of memory");
        return -1;
    }
    snprintf(rp->auth, n + 8, "Bearer %s", tok);
    return 0;
}

int
cmd_replay(int argc, char **argv)
{
    enum { O_DATA = 256, O_URL, O_TRACKS, O_EVENTS, O_TOKEN, O_USERH, O_POSH,
           O_HOURH,
           O_FROM,
           O_SPLIT,
           O_CONC, O_LIMIT, O_SPEED, O_BATCH, O_ORIG, O_LOG, O_TIMEOUT,
           O_JSON, O_QUIET, O_TRAIN, O_PLAYER, O_KBPS, O_SLICE, O_TSCALE,
           O_ORIGIN, O_SIZES, O_HELP };
    static const struct option  longopts[] = {
        { "data",                required_argument, NULL, O_DATA },
        { "url",                 required_argument, NULL, O_URL },
        { "tracks-path",         required_argument, NULL, O_TRACKS },
        { "events-url",          required_argument, NULL, O_EVENTS },
        { "events-token-file",   required_argument, NULL, O_TOKEN },
        { "user-header",         required_argument, NULL, O_USERH },
        { "position-header",     required_argument, NULL, O_POSH },
        { "hour-header",         required_argument, NULL, O_HOURH },
        { "from-session-time",   required_argument, NULL, O_FROM },
        { "test-split",          required_argument, NULL, O_SPLIT },
        { "concurrency",         required_argument, NULL, O_CONC },
        { "limit",               required_argument, NULL, O_LIMIT },
        { "speedup",             required_argument, NULL, O_SPEED },
        { "batch",               required_argument, NULL, O_BATCH },
        { "original-timestamps", no_argument,       NULL, O_ORIG },
        { "events-log",          required_argument, NULL, O_LOG },
        { "timeout",             required_argument, NULL, O_TIMEOUT },
        { "json",                no_argument,       NULL, O_JSON },
        { "write-train",         required_argument, NULL, O_TRAIN },
        { "quiet",               no_argument,       NULL, O_QUIET },
        { "player",              no_argument,       NULL, O_PLAYER },
        { "kbps",                required_argument, NULL, O_KBPS },
        { "slice",               required_argument, NULL, O_SLICE },
        { "time-scale",          required_argument, NULL, O_TSCALE },
        { "origin-log",          required_argument, NULL, O_ORIGIN },
        { "write-sizes",         required_argument, NULL, O_SIZES },
        { "help",                no_argument,       NULL, O_HELP },
        { NULL, 0, NULL, 0 }
    };
    replay_t    *rp;
    pthread_t    progress;
    tally       *all = NULL;
    sk_player_run run;
    off_t        origin_from = 0;
    char         err[256];
    double       v, secs;
    int          c, rc = SK_EXIT_USAGE, started = 0;

    memset(&run, 0, sizeof(run));
    rp = calloc(1, sizeof(*rp));
    if (rp == NULL) {
        sk_errorf(CMD, "out of memory");
        return SK_EXIT_FAIL;
    }
    rp->tracks_path = "/tracks/";
    rp->events_path = "/skip/events";
    rp->user_header = "X-User-Id";
    rp->position_header = "X-Session-Position";
    rp->hour_header = "X-Local-Hour";
    rp->test_fraction = 0.2;
    rp->timeout_s = 10.0;
    rp->concurrency = 4;
    rp->batch = 50;
    rp->kbps = 160;
    rp->slice = 1024 * 1024;
    rp->time_scale = 0.001;
    pthread_mutex_init(&rp->log_lock, NULL);

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DATA:   rp->data_dir = optarg; break;
        case O_URL:    rp->url = optarg; break;
        case O_TRACKS: rp->tracks_path = optarg; break;
        case O_EVENTS: rp->events_path = optarg; break;
        case O_TOKEN:  rp->token_file = optarg; break;
        case O_USERH:  rp->user_header = optarg; break;
        case O_POSH:   rp->position_header = optarg; break;
        case O_HOURH:  rp->hour_header = optarg; break;
        case O_FROM:   rp->from_time = optarg; break;
        case O_ORIG:   rp->original_ts = 1; break;
        case O_LOG:    rp->events_log = optarg; break;
        case O_JSON:   rp->json = 1; break;
        case O_TRAIN:  rp->write_train = optarg; break;
        case O_QUIET:  rp->quiet = 1; break;
        case O_PLAYER: rp->player = 1; break;
        case O_ORIGIN: rp->origin_log = optarg; break;
        case O_SIZES:  rp->write_sizes = optarg; break;
        case O_KBPS:
            if (sk_opt_number(CMD, "--kbps", optarg, 1, 100000,
                              &rp->kbps) != 0)
            {
                goto done;
            }
            break;
        case O_TSCALE:
            if (sk_opt_number(CMD, "--time-scale", optarg, 0, 1000,
                              &rp->time_scale) != 0)
            {
                goto done;
            }
            break;
        case O_SLICE:
            rp->slice = sk_parse_size(optarg);
            if (rp->slice < 1) {
                sk_errorf(CMD, "--slice: expected a size in bytes (suffix k "
                          "or m: 1024, 1024 x 1024), got \"%s\"", optarg);
                goto done;
            }
            break;
        case O_SPLIT:
            if (sk_opt_number(CMD, "--test-split", optarg, 0.0, 1.0,
                          &rp->test_fraction) != 0)
            {
                goto done;
            }
            break;
        case O_CONC:
            if (sk_opt_number(CMD, "--concurrency", optarg,
                              1, 1024, &v) != 0)
            {
                goto done;
            }
            rp->concurrency = (int) v;
            break;
        case O_LIMIT:
            if (sk_opt_number(CMD, "--limit", optarg, 1, 1e12, &v) != 0) {
                goto done;
            }
            rp->limit = (long) v;
            break;
        case O_SPEED:
            if (sk_opt_number(CMD, "--speedup", optarg,
                              0, 1e9, &rp->speedup) != 0)
            {
                goto done;
            }
            break;
        case O_BATCH:
            if (sk_opt_number(CMD, "--batch", optarg, 1, 100000, &v) != 0) {
                goto done;
            }
            rp->batch = (int) v;
            break;
        case O_TIMEOUT:
            if (sk_opt_number(CMD, "--timeout", optarg, 0.001, 3600,
                          &rp->timeout_s) != 0)
            {
                goto done;
            }
            break;
        case 'h':
        case O_HELP:
            fputs(usage_text, stdout);
            rc = SK_EXIT_OK;
            goto done;
        default:
            sk_errorf(CMD, "unknown or incomplete option '%s' "
                      "(see skipctl replay --help)", argv[optind - 1]);
            goto done;
        }
    }
    if (optind < argc) {
        sk_errorf(CMD, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (rp->speedup > 0 && rp->player) {
        sk_errorf(CMD, "--speedup and --player: the player keeps its own "
                  "time (--time-scale)");
        goto done;
    }
    if (rp->origin_log != NULL && !rp->player) {
        sk_errorf(CMD, "--origin-log needs --player");
        goto done;
    }
    if (rp->write_sizes != NULL && rp->write_train != NULL) {
        sk_errorf(CMD, "--write-sizes and --write-train: one at a time");
        goto done;
    }
    if (rp->write_sizes != NULL) {
        if (rp->data_dir == NULL) {
            sk_errorf(CMD, "--data is required (see skipctl replay --help)");
            goto done;
        }
        rc = SK_EXIT_FAIL;
        switch (load_plays(rp)) {
        case 0:  rc = write_sizes(rp) == 0 ? SK_EXIT_OK : SK_EXIT_FAIL; break;
        case -2: rc = SK_EXIT_USAGE; break;
        default: break;
        }
        goto done;
    }
    if (rp->data_dir == NULL || (rp->url == NULL && rp->write_train == NULL)) {
        sk_errorf(CMD, "--data and --url are required "
                  "(see skipctl replay --help)");
        goto done;
    }
    if (rp->write_train != NULL) {
        switch (load_plays(rp)) {
        case 1:  rc = SK_EXIT_OK; break;
        case -2: rc = SK_EXIT_USAGE; break;
        default: rc = SK_EXIT_FAIL;
        }
        goto done;
    }
    if (sk_url_parse(rp->url, &rp->base, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "--url: %s", err);
        goto done;
    }
    if (strcmp(rp->events_path, "none") == 0 || rp->events_path[0] == '\0') {
        rp->events_path = NULL;
    } else if (rp->events_path[0] != '/') {
        sk_errorf(CMD, "--events-url: expected a path starting with '/' "
                  "(or \"none\"), got \"%s\"", rp->events_path);
        goto done;
    }
    if (strchr(rp->user_header, ':') || strpbrk(rp->user_header, "\r\n ")
        || rp->user_header[0] == '\0')
    {
        sk_errorf(CMD, "--user-header: not a header name: \"%s\"",
                  rp->user_header);
        goto done;
    }
    if (load_token(rp) != 0) {
        goto done;
    }
    if (optional_header("--position-header", &rp->position_header) != 0
        || optional_header("--hour-header", &rp->hour_header) != 0)
    {
        goto done;
    }
    rc = SK_EXIT_FAIL;

    switch (load_plays(rp)) {
    case 0:
        break;
    case -2:
        rc = SK_EXIT_USAGE;
        goto done;
    default:
        goto done;
    }

    /* Fail early and clearly when nginx is not there. */
    {
        sk_http  *probe = sk_http_new(&rp->base, rp->timeout_s);

        if (probe == NULL || sk_http_connect(probe, err, sizeof(err)) != 0) {
            sk_errorf(CMD, "%s: %s", rp->url, probe ? err : "out of memory");
            sk_http_free(probe);
            goto done;
        }
        sk_http_free(probe);
    }
    if (rp->events_log != NULL) {
        rp->log_fp = fopen(rp->events_log, "w");
        if (rp->log_fp == NULL) {
            sk_errorf(CMD, "%s: %s", rp->events_log, strerror(errno));
            goto done;
        }
    }

    if (!rp->quiet) {
        fprintf(stderr, "skipctl %s: %zu plays in %zu sessions -> %s "
                "(%d connections%s)\n", CMD, rp->n_plays, rp->n_sessions,
                rp->url, rp->concurrency,
                rp->speedup > 0 ? ", paced" : ", as fast as possible");
    }
    if (rp->player) {
        rp->play_recs = calloc(rp->n_plays, sizeof(*rp->play_recs));
        if (rp->play_recs == NULL) {
            sk_errorf(CMD, "out of memory");
            goto done;
        }
        if (!rp->quiet) {
            fprintf(stderr, "skipctl %s: player: %lld-byte slices, %g kbps, "
                    "1 s of listening = %g ms; %ld skips without a Skip "
                    "time listen %.0f %%\n", CMD, (long long) rp->slice,
                    rp->kbps, rp->time_scale * 1000, rp->listened_assumed,
                    100 * SK_ASSUMED_LISTENED);
        }
    }
    if (rp->origin_log != NULL) {
        struct stat  st;

        /* only what the origin serves during this run counts */
        origin_from = stat(rp->origin_log, &st) == 0 ? st.st_size : 0;
    }
    rp->workers = calloc((size_t) rp->concurrency, sizeof(worker));
    all = calloc(1, sizeof(*all));
    if (rp->workers == NULL || all == NULL) {
        sk_errorf(CMD, "out of memory");
        goto done;
    }
    rp->wall_t0 = mono_s();
    if (!rp->quiet && pthread_create(&progress, NULL, progress_main, rp) == 0) {
        started = 1;
    }
    for (int i = 0; i < rp->concurrency; i++) {
        worker  *w = &rp->workers[i];

        w->rp = rp;
        w->id = i;
        w->conn = sk_http_new(&rp->base, rp->timeout_s);
        if (w->conn == NULL
            || pthread_create(&w->tid, NULL, worker_main, w) != 0)
        {
            sk_errorf(CMD, "cannot start connection %d", i);
            rp->concurrency = i;
            break;
        }
    }
    for (int i = 0; i < rp->concurrency; i++) {
        pthread_join(rp->workers[i].tid, NULL);
    }
    secs = mono_s() - rp->wall_t0;
    atomic_store(&rp->finished, 1);
    if (started) {
        pthread_join(progress, NULL);
    }

    for (int i = 0; i < rp->concurrency; i++) {
        merge(all, &rp->workers[i].t);
    }
    if (rp->player) {
        size_t  n = 0;

        for (int i = 0; i < rp->concurrency; i++) {
            n += rp->workers[i].n_recs;
        }
        run.slices = malloc((n ? n : 1) * sizeof(*run.slices));
        if (run.slices == NULL) {
            sk_errorf(CMD, "out of memory");
            goto done;
        }
        for (int i = 0; i < rp->concurrency; i++) {
            memcpy(run.slices + run.n_slices, rp->workers[i].recs,
                   rp->workers[i].n_recs * sizeof(*run.slices));
            run.n_slices += rp->workers[i].n_recs;
        }
        run.plays = rp->play_recs;
        run.n_plays = rp->n_plays;
        run.slice_bytes = rp->slice;
        run.kbps = rp->kbps;
        run.time_scale = rp->time_scale;
        run.seconds = secs;
        if (rp->origin_log != NULL) {
            if (!rp->quiet) {
                fprintf(stderr, "skipctl %s: waiting for %s to settle\n", CMD,
                        rp->origin_log);
            }
            origin_settle(rp->origin_log);
            if (sk_origin_account(&run, rp->origin_log, (long) origin_from, err,
                                  sizeof(err)) != 0)
            {
                sk_errorf(CMD, "--origin-log %s", err);
                goto done;
            }
        }
    }
    print_summary(rp, all, secs, rp->player ? &run : NULL);
    fflush(stdout);

    rc = SK_EXIT_OK;
    if (all->status[0] > 0) {
        sk_errorf(CMD, "%ld requests got no HTTP answer; first: %s",
                  all->status[0], all->first_error);
        rc = SK_EXIT_FAIL;
    } else if (all->first_error[0] != '\0') {
        sk_errorf(CMD, "%s; first: %s", rp->player ? "errors" :
                  "event posting failed", all->first_error);
    }
    if (rp->log_fp != NULL && fclose(rp->log_fp) != 0) {
        sk_errorf(CMD, "%s: %s", rp->events_log, strerror(errno));
        rc = SK_EXIT_FAIL;
    }
    rp->log_fp = NULL;

done:
    if (rp->log_fp != NULL) {
        fclose(rp->log_fp);
    }
    if (rp->workers != NULL) {
        for (int i = 0; i < rp->concurrency; i++) {
            sk_http_free(rp->workers[i].conn);
            free(rp->workers[i].t.lat_ms);
            free(rp->workers[i].batch);
            free(rp->workers[i].recs);
        }
        free(rp->workers);
    }
    if (all != NULL) {
        free(all->lat_ms);
        free(all);
    }
    if (rp->player) {
        free(run.slices);
        sk_origin_free(&run.origin);
    }
    free(rp->play_recs);
    pthread_mutex_destroy(&rp->log_lock);
    free(rp->plays);
    free(rp->sessions);
    free(rp->auth);
    free(rp);
    return rc;
}
