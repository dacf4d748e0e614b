/* How much of a labelled play was listened (listened.h). */
#include <stdlib.h>
#include <string.h>

#include "listened.h"

int
sk_skip_times_read(const char *dir, const sk_dataset *ds,
    const sk_labels *lab, int64_t *skip_ms, char *err, size_t errlen)
{
    sk_reader  *rd;
    sk_row      row;
    size_t      i;
    int         rc;

    for (i = 0; i < lab->n; i++) {
        skip_ms[i] = SK_NO_SKIP_TIME;
    }
    rd = sk_reader_open_dir(dir, SK_FILE_SESSIONS, NULL, err, errlen);
    if (rd == NULL) {
        return -1;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        const sk_event_row *ev = &row.event;
        long                tr, r;

        if (ev->type != SK_EV_SKIP) {
            continue;
        }
        tr = sk_dataset_find_track(ds, ev->track_id, strlen(ev->track_id));
        if (tr < 0) {
            continue;
        }
        r = sk_labels_find(lab, ev->session_id, (uint32_t) tr);
        if (r < 0) {
            continue;
        }
        if (ev->ts_ms > lab->rows[r].ts_ms && ev->ts_ms < skip_ms[r]) {
            skip_ms[r] = ev->ts_ms;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", sk_reader_error(rd));
        sk_reader_close(rd);
        return -1;
    }
    sk_reader_close(rd);
    return 0;
}

double
sk_listened_share(int label, int64_t request_ms, int64_t skip_ms,
    int64_t duration_ms, int *assumed)
{
    double  f;

    if (assumed != NULL) {
        *assumed = 0;
    }
    if (label) {
        return 1.0;
    }
    if (skip_ms == SK_NO_SKIP_TIME || duration_ms <= 0) {
        if (assumed != NULL) {
            *assumed = 1;
        }
        return SK_ASSUMED_LISTENED;
    }
    f = (double) (skip_ms - request_ms) / (double) duration_ms;
    return f > 1 ? 1 : f < 0 ? 0 : f;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}

int64_t
sk_median_duration(const sk_dataset *ds)
{
    int64_t *d = malloc((ds->n_tracks ? ds->n_tracks : 1) * sizeof(*d));
    int64_t  med = 0;
    size_t   i, n = 0;

    if (d == NULL) {
        return 0;
    }
    for (i = 0; i < ds->n_tracks; i++) {
        if (ds->tracks[i].duration_ms > 0) {
            d[n++] = ds->tracks[i].duration_ms;
        }
    }
    if (n > 0) {
        qsort(d, n, sizeof(*d), cmp_i64);
        med = d[n / 2];
    }
    free(d);
    return med;
}
