/*
 * skipctl replay's run, shared by its files and the command
 * (src/cli/cmd_replay*.c: options, the plays to replay, then these steps):
 * the worker threads that request the plays and post their outcomes
 * (replay_run.c) and the summary (replay_summary.c).  Not an API for the
 * rest of the project.
 */
#ifndef SKIP_REPLAY_RUN_H
#define SKIP_REPLAY_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/dataset.h"
#include "httpc.h"
#include "replay_player.h"
#include "replay_report.h"

#define CMD          "replay"
#define MAX_HEADERS  4            /* response headers whose values we count */
#define MAX_VALUES   16           /* distinct values counted per header */


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

/* The response headers whose values are counted (NULL-terminated). */
extern const char *const sk_replay_counted_headers[MAX_HEADERS];

/* Monotonic seconds; UTC ms since the epoch. */
double sk_replay_mono_s(void);
int64_t sk_replay_wall_ms(void);

/* Thread bodies: a connection replaying sessions; the progress line. */
void *sk_replay_worker_main(void *arg);
void *sk_replay_progress_main(void *arg);

/* Add a worker's counts into the total (replay_run.c). */
void sk_replay_merge(tally *into, const tally *t);

/* The summary on stdout (text or --json); run is NULL without --player. */
void sk_replay_print_summary(const replay_t *rp, tally *t, double secs,
    const sk_player_run *run);

#endif
