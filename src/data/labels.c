/* The label rules (see labels.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "../core/timeparse.h"

void
sk_labels_init(sk_labels *l)
{
    memset(l, 0, sizeof(*l));
}

void
sk_labels_free(sk_labels *l)
{
    free(l->rows);
    memset(l, 0, sizeof(*l));
}

int
sk_labels_add(sk_labels *l, const sk_dataset *ds, const sk_event_row *ev)
{
    long         u, t;
    sk_labelled *r;

    if (ev->type != SK_EV_PLAY && ev->type != SK_EV_SKIP) {
        return 0;
    }
    l->events++;
    u = sk_dataset_find_user(ds, ev->user_id);
    if (u < 0) {
        l->unknown_user++;
        return 0;
    }
    t = sk_dataset_find_track(ds, ev->track_id, strlen(ev->track_id));
    if (t < 0) {
        l->unknown_track++;
        return 0;
    }
    if (l->n == l->cap) {
        size_t       cap = l->cap ? l->cap * 2 : 65536;
        sk_labelled *p = realloc(l->rows, cap * sizeof(*p));

        if (p == NULL) {
            return -1;
        }
        l->rows = p;
        l->cap = cap;
    }
    r = &l->rows[l->n++];
    memset(r, 0, sizeof(*r));
    r->session_id = ev->session_id;
    r->ts_ms = ev->ts_ms;
    r->tz_min = (int16_t) ev->tz_min;
    r->user = (uint32_t) u;
    r->track = (uint32_t) t;
    r->label = ev->type == SK_EV_PLAY ? 1 : 0;
    return 0;
}

/* (session, track), then Plays before Skips, then time. */
static int
cmp_event(const void *a, const void *b)
{
    const sk_labelled *x = a, *y = b;

    if (x->session_id != y->session_id) {
        return x->session_id < y->session_id ? -1 : 1;
    }
    if (x->track != y->track) {
        return x->track < y->track ? -1 : 1;
    }
    if (x->label != y->label) {
        return x->label > y->label ? -1 : 1;
    }
    return (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

/* Request order inside one session: time, then track for equal times. */
static int
cmp_request(const void *a, const void *b)
{
    const sk_labelled *x = *(const sk_labelled *const *) a;
    const sk_labelled *y = *(const sk_labelled *const *) b;

    if (x->ts_ms != y->ts_ms) {
        return x->ts_ms < y->ts_ms ? -1 : 1;
    }
    return (x->track > y->track) - (x->track < y->track);
}

/*
 * Number every labelled play of a session by request order.  The rows stay
 * sorted by (session, track); a scratch array of pointers is sorted per
 * session.  Returns -1 when the scratch array cannot grow.
 */
static int
number_positions(sk_labels *l)
{
    sk_labelled **order = NULL, **p;
    size_t        cap = 0, i, j, k;

    for (i = 0; i < l->n; i = j) {
        for (j = i + 1; j < l->n
                        && l->rows[j].session_id == l->rows[i].session_id;
             j++)
        {
            /* the session's rows */
        }
        if (j - i > cap) {
            cap = (j - i) * 2;
            p = realloc(order, cap * sizeof(*order));
            if (p == NULL) {
                free(order);
                return -1;
            }
            order = p;
        }
        for (k = i; k < j; k++) {
            order[k - i] = &l->rows[k];
        }
        qsort(order, j - i, sizeof(*order), cmp_request);
        for (k = 0; k < j - i; k++) {
            order[k]->position = (uint16_t) (k < UINT16_MAX ? k : UINT16_MAX);
        }
    }
    free(order);
    return 0;
}

size_t
sk_labels_drop_after(sk_labels *l, int64_t ts_ms)
{
    size_t i, out = 0;

    if (l->finished) {
        return 0;
    }
    for (i = 0; i < l->n; i++) {
        if (l->rows[i].ts_ms <= ts_ms) {
            l->rows[out++] = l->rows[i];
        }
    }
    i = l->n - out;
    l->n = out;
    return i;
}

int
sk_labels_finish(sk_labels *l)
{
    size_t i, j, out = 0;

    if (l->finished) {
        return 0;
    }
    if (l->n > 1) {     /* qsort(NULL, 0) is undefined */
        qsort(l->rows, l->n, sizeof(*l->rows), cmp_event);
    }
    for (i = 0; i < l->n; i = j) {
        sk_labelled row = l->rows[i];     /* earliest Play, if any */
        int         any_play = row.label == 1, any_skip = row.label == 0;

        for (j = i + 1; j < l->n && l->rows[j].session_id == row.session_id
                        && l->rows[j].track == row.track; j++)
        {
            if (l->rows[j].label == 0) {
                any_skip = 1;
            }
        }
        if (any_skip) {
            row.label = 0;
            if (any_play) {
                l->skipped_with_play++;
            } else {
                l->skip_only++;
            }
        }
        l->rows[out++] = row;
    }
    l->n = out;
    l->finished = 1;
    /* One row per Play/Skip event was needed while reading, one per
     * labelled play from now on: give the rest back (~30 %). */
    if (out > 0 && out < l->cap) {
        sk_labelled *p = realloc(l->rows, out * sizeof(*p));

        if (p != NULL) {
            l->rows = p;
            l->cap = out;
        }
    }
    return number_positions(l);
}

int
sk_labels_read(sk_labels *l, const sk_dataset *ds, const char *dir,
    const sk_read_opts *opts, sk_read_stats *stats, char *err, size_t errlen)
{
    sk_reader *rd;
    sk_row     row;
    int        rc;

    rd = sk_reader_open_dir(dir, SK_FILE_SESSIONS, opts, err, errlen);
    if (rd == NULL) {
        return -1;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        if (sk_labels_add(l, ds, &row.event) != 0) {
            snprintf(err, errlen, "%s: out of memory after %zu events",
                     sk_reader_path(rd), l->n);
            sk_reader_close(rd);
            return -1;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", sk_reader_error(rd));
        sk_reader_close(rd);
        return -1;
    }
    if (stats) {
        *stats = *sk_reader_stats(rd);
    }
    sk_reader_close(rd);
    if (sk_labels_finish(l) != 0) {
        snprintf(err, errlen, "%s/sessions.jsonl: out of memory numbering "
                 "the plays of a session", dir);
        return -1;
    }
    return 0;
}

long
sk_labels_find(const sk_labels *l, int64_t session_id, uint32_t track)
{
    size_t lo = 0, hi = l->n;

    while (lo < hi) {
        size_t             mid = lo + (hi - lo) / 2;
        const sk_labelled *r = &l->rows[mid];

        if (r->session_id < session_id
            || (r->session_id == session_id && r->track < track))
        {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < l->n && l->rows[lo].session_id == session_id
        && l->rows[lo].track == track)
    {
        return (long) lo;
    }
    return -1;
}

int
sk_labelled_hour(const sk_labelled *r)
{
    return sk_time_local_hour(r->ts_ms, r->tz_min);
}
