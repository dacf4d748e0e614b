/*
 * skipctl replay: which plays to replay.  The held-out sessions are chosen
 * with the trainer's own time split (split.h: sessions ranked by start, the
 * last share tests), on the same labelled plays (labels.h), so the replay is
 * exactly the test set the models were evaluated on offline.  --write-train
 * writes the other sessions' events instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_replay.h"
#include "../core/dataset.h"
#include "../core/timeparse.h"
#include "../data/labels.h"
#include "../data/listened.h"
#include "../data/split.h"

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

int
sk_replay_load_plays(replay_t *rp)
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
