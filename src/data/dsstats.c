/* Dataset counts and shares (see dsstats.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsstats.h"
#include "../core/timeparse.h"

/* A set of int64 (session and user ids), open addressing. */
typedef struct {
    int64_t *keys;
    uint8_t *used;
    size_t   mask, n;
} i64set;

static uint64_t
mix(int64_t v)
{
    uint64_t x = (uint64_t) v * 0x9e3779b97f4a7c15ULL;

    return x ^ (x >> 29);
}

static int
set_add(i64set *s, int64_t v)
{
    size_t i;

    if ((s->n + 1) * 2 > s->mask + 1 || s->keys == NULL) {
        size_t   cap = s->keys ? (s->mask + 1) * 2 : 4096;
        int64_t *k = calloc(cap, sizeof(int64_t));
        uint8_t *u = calloc(cap, 1);

        if (k == NULL || u == NULL) {
            free(k);
            free(u);
            return -1;
        }
        for (size_t j = 0; s->keys && j <= s->mask; j++) {
            if (s->used[j]) {
                for (i = mix(s->keys[j]) & (cap - 1); u[i];
                     i = (i + 1) & (cap - 1))
                {
                }
                u[i] = 1;
                k[i] = s->keys[j];
            }
        }
        free(s->keys);
        free(s->used);
        s->keys = k;
        s->used = u;
        s->mask = cap - 1;
    }
    for (i = mix(v) & s->mask; s->used[i]; i = (i + 1) & s->mask) {
        if (s->keys[i] == v) {
            return 0;
        }
    }
    s->used[i] = 1;
    s->keys[i] = v;
    s->n++;
    return 1;
}

static void
set_free(i64set *s)
{
    free(s->keys);
    free(s->used);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int
sk_ds_stats_compute(const char *dir, unsigned only, const sk_read_opts *opts,
    sk_ds_stats *st, char *err, size_t errlen)
{
    i64set sessions = { 0 }, users = { 0 };
    int    any = 0, rc = 0;

    memset(st, 0, sizeof(*st));
    st->ts_min = INT64_MAX;
    st->ts_max = INT64_MIN;
    for (int k = 0; k < SK_N_FILES && rc == 0; k++) {
        sk_reader *r;
        sk_row     row;
        char       e[512];
        double     t0 = now();
        int        n;

        if (only && !(only & (1u << k))) {
            continue;
        }
        st->selected[k] = 1;
        r = sk_reader_open_dir(dir, (sk_file_kind) k, opts, e, sizeof(e));
        if (r == NULL) {
            continue;
        }
        any = 1;
        st->present[k] = 1;
        while ((n = sk_read_next(r, &row)) == 1) {
            switch (k) {
            case SK_FILE_ARTISTS:
                st->artists_user_genre += row.artist.genre_mask != 0;
                st->artist_genres += row.artist.n_genres;
                break;
            case SK_FILE_TRACKS:
                st->tracks_mode_null += row.track.mode == SK_MISSING;
                st->tracks_explicit += row.track.explicit_ == 1;
                st->tracks_long += row.track.duration_ms > 360000;
                break;
            case SK_FILE_USERS:
                st->users_premium += row.user.premium == 1;
                break;
            case SK_FILE_SESSIONS:
                st->events[row.event.type]++;
                if (row.event.ts_ms < st->ts_min) {
                    st->ts_min = row.event.ts_ms;
                }
                if (row.event.ts_ms > st->ts_max) {
                    st->ts_max = row.event.ts_ms;
                }
                if (set_add(&sessions, row.event.session_id) < 0
                    || set_add(&users, row.event.user_id) < 0)
                {
                    snprintf(err, errlen, "out of memory");
                    rc = -1;
                }
                break;
            case SK_FILE_STORAGE:
                st->storage[row.storage.storage_class]++;
                break;
            default:
                st->sum_p_skip += row.truth.p_skip;
                st->sum_bayes += row.truth.p_skip > 0.5 ? row.truth.p_skip
                                                        : 1 - row.truth.p_skip;
            }
            if (rc < 0) {
                break;
            }
        }
        if (n < 0) {
            snprintf(err, errlen, "%s", sk_reader_error(r));
            rc = -1;
        }
        st->rs[k] = *sk_reader_stats(r);
        st->seconds[k] = now() - t0;
        sk_reader_close(r);
    }
    st->sessions = (long) sessions.n;
    st->users_seen = (long) users.n;
    set_free(&sessions);
    set_free(&users);
    if (rc == 0 && !any) {
        snprintf(err, errlen, "%s: no dataset files (artists.jsonl, "
                 "tracks.jsonl, users.jsonl, sessions.jsonl, ...)", dir);
        rc = -1;
    }
    return rc;
}

static double
pct(long a, long b)
{
    return b ? 100.0 * (double) a / (double) b : 0.0;
}

void
sk_ds_stats_print(const sk_ds_stats *st, FILE *out)
{
    for (int k = 0; k < SK_N_FILES; k++) {
        const sk_read_stats *rs = &st->rs[k];
        long                 n = rs->rows;

        if (!st->selected[k]) {
            continue;
        }
        if (!st->present[k]) {
            fprintf(out, "%-20s absent\n", sk_file_name((sk_file_kind) k));
            continue;
        }
        fprintf(out, "%-20s %9ld rows, %ld skipped, %ld defaulted\n",
                sk_file_name((sk_file_kind) k), n, rs->skipped_total,
                rs->defaulted);
        for (int w = 0; w < SK_N_SKIP; w++) {
            if (rs->skipped[w]) {
                fprintf(out, "  skipped: %-15s %9ld\n",
                        sk_skip_reason_name((sk_skip_reason) w),
                        rs->skipped[w]);
            }
        }
        switch (k) {
        case SK_FILE_ARTISTS:
            fprintf(out, "  with a user genre   %9ld  %6.2f %%\n"
                    "  genres per artist   %9.2f\n",
                    st->artists_user_genre, pct(st->artists_user_genre, n),
                    n ? (double) st->artist_genres / n : 0.0);
            break;
        case SK_FILE_TRACKS:
            fprintf(out, "  mode null           %9ld  %6.2f %%\n"
                    "  explicit            %9ld  %6.2f %%\n"
                    "  longer than 6 min   %9ld  %6.2f %%\n",
                    st->tracks_mode_null, pct(st->tracks_mode_null, n),
                    st->tracks_explicit, pct(st->tracks_explicit, n),
                    st->tracks_long, pct(st->tracks_long, n));
            break;
        case SK_FILE_USERS:
            fprintf(out, "  premium             %9ld  %6.2f %%\n",
                    st->users_premium, pct(st->users_premium, n));
            break;
        case SK_FILE_STORAGE:
            for (int c = 0; c < SK_N_STORE; c++) {
                fprintf(out, "  %-19s %9ld  %6.2f %%\n",
                        sk_ds_storage_name((sk_storage_class) c), st->storage[c],
                        pct(st->storage[c], n));
            }
            break;
        case SK_FILE_SESSIONS: {
            char a[SK_TIME_BUF] = "-", b[SK_TIME_BUF] = "-";

            if (n) {
                sk_time_format(st->ts_min, 0, a);
                sk_time_format(st->ts_max, 0, b);
            }
            fprintf(out, "  sessions            %9ld\n"
                    "  users               %9ld\n"
                    "  events per session  %9.2f\n"
                    "  first (UTC)         %s\n"
                    "  last (UTC)          %s\n",
                    st->sessions, st->users_seen,
                    st->sessions ? (double) n / st->sessions : 0.0, a, b);
            for (int e = 0; e < SK_N_EVENTS; e++) {
                fprintf(out, "  %-19s %9ld  %6.2f %%\n",
                        sk_event_name((sk_event_type) e), st->events[e],
                        pct(st->events[e], n));
            }
            fprintf(out, "  skipped plays       %9s  %6.2f %%  (Skip/Play)\n",
                    "", pct(st->events[SK_EV_SKIP], st->events[SK_EV_PLAY]));
            break;
        }
        case SK_FILE_TRUTH:
            fprintf(out, "  mean P(skip)        %9.4f\n"
                    "  Bayes accuracy      %9.4f\n",
                    n ? st->sum_p_skip / n : 0.0, n ? st->sum_bayes / n : 0.0);
            break;
        default:
            break;
        }
    }
}
