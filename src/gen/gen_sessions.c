/*
 * `skipctl gen`, the sessions half: sessions.jsonl and truth.jsonl.
 *
 * Mechanics (data-format.md, as seen in v1):
 *   - sessions start at whole minutes, uniform over 2024-01-01..2024-03-31
 *     local time (+02:00) and over the hours of the day; a user's sessions
 *     do not overlap; users are written in id order, each user's sessions
 *     in time order, session ids from 124 in that order;
 *   - plays per session: 1 + floor(Exp(mean PLAYS_MEAN));
 *   - a Play played in full: the next Play comes duration_ms later; a
 *     skipped Play (P(skip) from gen_skip.c) gets its Skip at a fraction
 *     Uniform(0.2, 1) of the track and the next Play at the Skip's time;
 *   - a Like while the track plays on 20 % of plays (dropped when the Skip
 *     comes first);
 *   - between two plays of a non-premium user, an Advertisement (track_id
 *     "") with probability P_AD; after it, BuyPremium 5..30 s later with
 *     probability P_BUY (then no more ads in the session), and the next
 *     Play 5..30 s after the last of them.
 * Every Play gets a truth.jsonl line with its P(skip).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen_int.h"
#include "gen_out.h"
#include "gen_skip.h"
#include "gen_taste.h"
#include "../core/timeparse.h"

#define PLAYS_MEAN    18.0       /* ~33.6 events per session */
#define MAX_PLAYS     400
#define P_FAVOURITE   0.6
#define P_LIKE        0.185
#define P_AD          0.458
#define P_BUY         0.0075
#define TZ_MIN        120        /* +02:00, as in the original */
#define RANGE_DAYS    91         /* 2024-01-01 .. 2024-03-31 */
#define FIRST_SESSION 124

typedef struct {
    gen_world *w;
    sk_out     ev, truth;
    sk_rng     r;
} sess_ctx;

static void
emit(sess_ctx *c, int64_t ts, int64_t user, const char *track,
    sk_event_type type, int64_t sid)
{
    char *p = sk_out_reserve(&c->ev, 256), *start = p;

    if (c->ev.failed) {
        return;
    }
    memcpy(p, "{\"timestamp\":\"", 14);
    p += 14;
    p += sk_time_format(ts, TZ_MIN, p);
    memcpy(p, "\",\"user_id\":", 12);
    p += 12;
    p = sk_fmt_int(p, user);
    memcpy(p, ",\"track_id\":\"", 13);
    p += 13;
    if (track) {
        memcpy(p, track, SK_ID_LEN);
        p += SK_ID_LEN;
    }
    memcpy(p, "\",\"event_type\":\"", 16);
    p += 16;
    p = stpcpy(p, sk_event_name(type));
    memcpy(p, "\",\"session_id\":", 15);
    p += 15;
    p = sk_fmt_int(p, sid);
    *p++ = '}';
    *p++ = '\n';
    c->ev.bytes += (size_t) (p - start);
    sk_out_commit(&c->ev, p);
    c->w->st->events++;
    c->w->st->by_type[type]++;
}

static void
emit_truth(sess_ctx *c, int64_t sid, const char *track, int64_t ts, double p)
{
    char *q = sk_out_reserve(&c->truth, 160), *start = q;

    if (c->truth.failed) {
        return;
    }
    memcpy(q, "{\"session_id\":", 14);
    q += 14;
    q = sk_fmt_int(q, sid);
    memcpy(q, ",\"track_id\":\"", 13);
    q += 13;
    memcpy(q, track, SK_ID_LEN);
    q += SK_ID_LEN;
    memcpy(q, "\",\"timestamp\":\"", 15);
    q += 15;
    q += sk_time_format(ts, TZ_MIN, q);
    memcpy(q, "\",\"p_skip\":", 11);
    q += 11;
    q = sk_fmt_dec(q, p, 6);
    *q++ = '}';
    *q++ = '\n';
    c->truth.bytes += (size_t) (q - start);
    sk_out_commit(&c->truth, q);
    c->w->st->truth++;
    c->w->st->sum_p_skip += p;
    c->w->st->sum_bayes += p > 0.5 ? p : 1 - p;
}

static uint32_t
choose_track(sess_ctx *c, const gen_user *u, const uint32_t *played, int n)
{
    uint32_t t = 0;

    for (int tries = 0; tries < 16; tries++) {
        const gen_picker *p = &c->w->all_tracks;
        int               dup = 0;

        if (sk_rng_unit(&c->r) < P_FAVOURITE) {
            const gen_picker *g = &c->w->genre_tracks[u->fav[
                sk_rng_below(&c->r, 3)]];

            if (g->n) {
                p = g;
            }
        }
        t = gen_pick(p, &c->r);
        for (int i = 0; i < n && !dup; i++) {
            dup = played[i] == t;
        }
        if (!dup) {
            break;
        }
    }
    return t;
}

/* One session from t0 (UTC ms); returns its end time. */
static int64_t
session(sess_ctx *c, gen_user *u, int64_t sid, int64_t t0)
{
    gen_world *w = c->w;
    uint32_t   played[MAX_PLAYS];
    double     x = -log(1 - sk_rng_unit(&c->r)) * PLAYS_MEAN;
    int        n = 1 + (int) (x < MAX_PLAYS - 1 ? x : MAX_PLAYS - 1);
    int        bought = 0, prev_skipped = 0;
    int64_t    t = t0;
    double     mood = w->opts->process == SK_GEN_V2
                      ? gen_mood(w->opts->seed, sid) : 0.0;

    for (int k = 0; k < n; k++) {
        const gen_track *tr;
        sk_skip_inputs   in;
        double           p;
        int64_t          like_t = -1;

        if (k > 0 && !u->premium && !bought && sk_rng_unit(&c->r) < P_AD) {
            emit(c, t, u->user_id, NULL, SK_EV_ADVERTISEMENT, sid);
            if (sk_rng_unit(&c->r) < P_BUY) {
                t += 5000 + (int64_t) sk_rng_below(&c->r, 25001);
                emit(c, t, u->user_id, NULL, SK_EV_BUYPREMIUM, sid);
                bought = 1;
            }
            t += 5000 + (int64_t) sk_rng_below(&c->r, 25001);
        }
        played[k] = choose_track(c, u, played, k);
        tr = &w->tracks[played[k]];

        in.u_bias = u->u_bias;
        in.t_bias = tr->t_bias;
        in.g_user = u->g_user;
        in.popularity = tr->popularity;
        in.match = (w->artists[tr->artist].genre_mask & u->fav_mask) != 0;
        in.duration_ms = tr->duration_ms;
        in.local_hour = sk_time_local_hour(t, TZ_MIN);
        in.premium = u->premium;
        in.explicit_ = tr->explicit_;
        in.position = k;
        in.process = w->opts->process;
        in.taste = 0;
        in.hour_amp = u->hour_amp;
        in.hour_peak = u->hour_peak;
        in.mood = mood;
        in.prev_skipped = prev_skipped;
        if (in.process == SK_GEN_V2) {
            in.taste = gen_taste(w->opts->seed, (uint64_t) (u - w->users),
                                 u->fav_mask, tr->artist,
                                 w->artists[tr->artist].genre_mask);
        }
        p = sk_gen_p_skip(&in);

        emit(c, t, u->user_id, tr->id, SK_EV_PLAY, sid);
        emit_truth(c, sid, tr->id, t, p);
        if (sk_rng_unit(&c->r) < P_LIKE) {
            like_t = t + (int64_t) (sk_rng_uniform(&c->r, 0.05, 0.95)
                                    * (double) tr->duration_ms);
        }
        if (sk_rng_unit(&c->r) < p) {
            int64_t skip_t = t + (int64_t) (sk_rng_uniform(&c->r, 0.2, 1.0)
                                            * (double) tr->duration_ms);

            if (like_t >= 0 && like_t < skip_t) {
                emit(c, like_t, u->user_id, tr->id, SK_EV_LIKE, sid);
            }
            emit(c, skip_t, u->user_id, tr->id, SK_EV_SKIP, sid);
            t = skip_t;
            prev_skipped = 1;
        } else {
            if (like_t >= 0) {
                emit(c, like_t, u->user_id, tr->id, SK_EV_LIKE, sid);
            }
            t += tr->duration_ms;
            prev_skipped = 0;
        }
    }
    return t;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}

int
gen_sessions(gen_world *w)
{
    sess_ctx  c;
    int64_t   range0, sid = FIRST_SESSION, *starts = NULL;
    long      max_s = 1, done = 0, next_report;
    int       rc = -1, ev_open = 0, tr_open = 0;

    memset(&c, 0, sizeof(c));
    c.w = w;
    sk_rng_seed(&c.r, w->opts->seed, 5);
    /* Local midnight 2024-01-01 at +02:00, in UTC. */
    range0 = sk_days_from_civil(2024, 1, 1) * 86400000LL
             - (int64_t) TZ_MIN * 60000;
    for (long i = 0; i < w->n_users; i++) {
        if (w->users[i].n_sessions > max_s) {
            max_s = w->users[i].n_sessions;
        }
    }
    starts = malloc(sizeof(int64_t) * (size_t) max_s);
    if (starts == NULL) {
        snprintf(w->err, w->errlen, "sessions: out of memory");
        goto done;
    }
    if (sk_out_open(&c.ev, w->dir, "sessions.jsonl", w->err, w->errlen) < 0) {
        goto done;
    }
    ev_open = 1;
    if (sk_out_open(&c.truth, w->dir, "truth.jsonl", w->err, w->errlen) < 0) {
        goto done;
    }
    tr_open = 1;

    next_report = w->n_sessions / 10;
    for (long i = 0; i < w->n_users; i++) {
        gen_user *u = &w->users[i];
        int64_t   prev_end = INT64_MIN / 2;

        for (long s = 0; s < u->n_sessions; s++) {
            starts[s] = range0 + (int64_t) sk_rng_below(&c.r,
                                              RANGE_DAYS * 1440) * 60000;
        }
        qsort(starts, (size_t) u->n_sessions, sizeof(int64_t), cmp_i64);
        for (long s = 0; s < u->n_sessions; s++) {
            int64_t t0 = starts[s];

            if (t0 < prev_end + 60000) {
                /* Keep a user's sessions apart: the next whole minute after
                 * the previous one ended, plus a pause. */
                t0 = (prev_end / 60000 + 1 + 1
                      + (int64_t) sk_rng_below(&c.r, 120)) * 60000;
            }
            prev_end = session(&c, u, sid++, t0);
            w->st->sessions++;
            if (++done >= next_report && next_report > 0) {
                gen_progress(w, "sessions %3ld %% (%ld events)",
                             done * 100 / w->n_sessions, w->st->events);
                next_report += w->n_sessions / 10;
            }
        }
        if (c.ev.failed || c.truth.failed) {
            break;
        }
    }
    w->st->bytes += c.ev.bytes + c.truth.bytes;
    ev_open = 0;
    if (sk_out_close(&c.ev, 0, w->err, w->errlen) < 0) {
        goto done;
    }
    tr_open = 0;
    if (sk_out_close(&c.truth, 0, w->err, w->errlen) < 0) {
        goto done;
    }
    rc = 0;

done:
    if (ev_open) {
        sk_out_close(&c.ev, 1, NULL, 0);
    }
    if (tr_open) {
        sk_out_close(&c.truth, 1, NULL, 0);
    }
    free(starts);
    return rc;
}
