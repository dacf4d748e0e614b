/*
 * skipctl replay's worker threads: each holds one keep-alive connection,
 * takes whole sessions in order of start, requests their plays (one GET,
 * or --player's slices along the listening time) and posts each listen's
 * outcome to the events handler in batches.  Counts go into the worker's
 * own tally, merged at the end.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/timeparse.h"
#include "httpc.h"
#include "replay_player.h"
#include "replay_run.h"

const char *const sk_replay_counted_headers[MAX_HEADERS] = {
    "X-Cache-Status", "X-Skip-Decision", "X-Skip-Arm", NULL
};

double
sk_replay_mono_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t
sk_replay_wall_ms(void)
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
    now = sk_replay_mono_s();
    if (due > now) {
        struct timespec  ts;
        double           d = due - now;

        ts.tv_sec = (time_t) d;
        ts.tv_nsec = (long) ((d - (double) ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
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

void
sk_replay_merge(tally *into, const tally *t)
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

    sk_time_format(rp->original_ts ? p->ts_ms : sk_replay_wall_ms(), 0, ts);
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
    t0 = sk_replay_mono_s();
    if (sk_http_request(w->conn, "GET", path, hdr_names, hdr_values, NULL,
                        NULL, 0, sk_replay_counted_headers, &res, err,
                        sizeof(err)) != 0)
    {
        w->t.status[0]++;
        note_error(w, err);
    } else {
        add_latency(&w->t, (sk_replay_mono_s() - t0) * 1000.0);
        w->t.status[res.status < 600 ? res.status : 0]++;
        for (int h = 0; h < MAX_HEADERS && sk_replay_counted_headers[h]; h++) {
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
    double  now = sk_replay_mono_s();

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
        ts = sk_replay_mono_s();
        if (sk_http_request(w->conn, "GET", path, names, values, NULL, NULL,
                            0, player_capture, &res, err, sizeof(err)) != 0)
        {
            w->t.status[0]++;
            note_error(w, err);
        } else {
            add_latency(&w->t, (sk_replay_mono_s() - ts) * 1000.0);
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

void *
sk_replay_worker_main(void *arg)
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
        double       t0 = sk_replay_mono_s();

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

void *
sk_replay_progress_main(void *arg)
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
