/*
 * skipctl replay: play held-out listening sessions through nginx as the
 * listeners would have: for every labelled play, GET the track with the
 * user's header, then report what the listener did (one Play or Skip event
 * per listen) to the events handler in batches.
 *
 * This file is the command: usage, options, --write-sizes, the origin log
 * and the order of the steps.  Which plays: cmd_replay_plays.c (the
 * trainer's own split).  The run: src/replay/ (replay_run.h), the worker
 * threads (replay_run.c) and the summary (replay_summary.c).
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
#include "cmd_replay.h"
#include "../core/dataset.h"
#include "../data/listened.h"
#include "../replay/httpc.h"
#include "../replay/replay_player.h"
#include "../replay/replay_report.h"

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
        switch (sk_replay_load_plays(rp)) {
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
        switch (sk_replay_load_plays(rp)) {
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

    switch (sk_replay_load_plays(rp)) {
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
    rp->wall_t0 = sk_replay_mono_s();
    if (!rp->quiet && pthread_create(&progress, NULL, sk_replay_progress_main, rp) == 0) {
        started = 1;
    }
    for (int i = 0; i < rp->concurrency; i++) {
        worker  *w = &rp->workers[i];

        w->rp = rp;
        w->id = i;
        w->conn = sk_http_new(&rp->base, rp->timeout_s);
        if (w->conn == NULL
            || pthread_create(&w->tid, NULL, sk_replay_worker_main, w) != 0)
        {
            sk_errorf(CMD, "cannot start connection %d", i);
            rp->concurrency = i;
            break;
        }
    }
    for (int i = 0; i < rp->concurrency; i++) {
        pthread_join(rp->workers[i].tid, NULL);
    }
    secs = sk_replay_mono_s() - rp->wall_t0;
    atomic_store(&rp->finished, 1);
    if (started) {
        pthread_join(progress, NULL);
    }

    for (int i = 0; i < rp->concurrency; i++) {
        sk_replay_merge(all, &rp->workers[i].t);
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
    sk_replay_print_summary(rp, all, secs, rp->player ? &run : NULL);
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
