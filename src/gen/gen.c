/*
 * `skipctl gen`, the catalogue half: artists, tracks, users and storage in
 * the v2 format of data-format.md, plus the hidden per-user and per-track
 * values of the skip process (gen_skip.c).  gen_sessions.c writes the
 * sessions and truth.jsonl from the world built here.
 *
 * Shapes (at scale 1, after data-format.md):
 *   artists  27,650; Zipf popularity; genres 1..21 per artist (mean 2.8,
 *            1: 33.5 %, 2: 24.6 %, 3: 15.4 %, 4: 9.8 %, then a geometric
 *            tail); ~20.9 % carry at least one of the 50 user genres; the
 *            other genres come from 3,903 invented names (3,953 distinct in
 *            all, as in the original), each used at least once.
 *   tracks   129,648; every artist has one, the rest go to artists by their
 *            popularity; a track's play weight is Zipf over a ranking that
 *            favours popular artists, and its popularity 0..97 falls with
 *            that rank; mode null in 80 %; release_date "YYYY" or
 *            "YYYY-MM-DD" (1921..2021, recent years likelier); ~4 % explicit.
 *   users    5,000, ids 101.., 3 distinct favourite genres uniform from the
 *            50, 40 % premium, activity (sessions per user) log-normal.
 *   storage  the 7 most played tracks Fast, the next 1.13 % Medium, the rest
 *            Slow; daily_cost = duration_s x {5e-5, 1e-4, 5e-4}.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_int.h"
#include "gen_names.h"
#include "gen_out.h"
#include "gen_skip.h"
#include "gen_taste.h"

#define N_INVENTED  3903         /* 3,953 distinct genres minus the 50 */

enum { STREAM_ARTISTS = 1, STREAM_TRACKS, STREAM_USERS, STREAM_ASSIGN,
       STREAM_SESSIONS };

long
sk_gen_n_artists(double scale)
{
    long n = lround(27650 * scale);

    return n < 1 ? 1 : n;
}

long
sk_gen_n_tracks(double scale)
{
    long n = lround(129648 * scale);

    return n < sk_gen_n_artists(scale) ? sk_gen_n_artists(scale) : n;
}

long
sk_gen_n_users(double scale)
{
    long n = lround(5000 * scale);

    return n < 1 ? 1 : n;
}

long
sk_gen_n_sessions(double scale)
{
    long n = lround(140000 * scale);

    return n < 1 ? 1 : n;
}

void
gen_progress(gen_world *w, const char *fmt, ...)
{
    va_list ap;

    if (!w->opts->progress) {
        return;
    }
    fprintf(stderr, "skipctl gen: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

uint32_t
gen_pick(const gen_picker *p, sk_rng *r)
{
    double x = sk_rng_unit(r) * p->cum[p->n - 1];
    size_t lo = 0, hi = p->n - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (p->cum[mid] > x) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return p->items[lo];
}

static int
picker_init(gen_picker *p, size_t n)
{
    p->n = 0;
    p->items = malloc((n ? n : 1) * sizeof(uint32_t));
    p->cum = malloc((n ? n : 1) * sizeof(double));
    return p->items && p->cum ? 0 : -1;
}

static void
picker_add(gen_picker *p, uint32_t item, double weight)
{
    p->items[p->n] = item;
    p->cum[p->n] = (p->n ? p->cum[p->n - 1] : 0) + weight;
    p->n++;
}

static void
picker_free(gen_picker *p)
{
    free(p->items);
    free(p->cum);
    p->items = NULL;
    p->cum = NULL;
    p->n = 0;
}

static void
random_id(sk_rng *r, char *id)
{
    static const char b62[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    for (int i = 0; i < SK_ID_LEN; i++) {
        id[i] = b62[sk_rng_below(r, 62)];
    }
    id[SK_ID_LEN] = '\0';
}

static void
shuffle_u32(sk_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t   j = (size_t) sk_rng_below(r, i);
        uint32_t t = a[i - 1];

        a[i - 1] = a[j];
        a[j] = t;
    }
}

static double
clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* "Kalimo", "Dr Tera", "The Nevilo": pronounceable and plainly invented. */
static void
artist_name(sk_rng *r, char *buf, size_t size)
{
    size_t len = 0;
    int    words = 1 + (sk_rng_unit(r) < 0.45) + (sk_rng_unit(r) < 0.08);

    if (sk_rng_unit(r) < 0.1) {
        len += (size_t) snprintf(buf, size, "The ");
    }
    for (int w = 0; w < words && len + 16 < size; w++) {
        int syl = 1 + (int) sk_rng_below(r, 3);

        if (w) {
            buf[len++] = ' ';
        }
        for (int s = 0; s < syl; s++) {
            const char *x = sk_syllables[sk_rng_below(r, sk_n_syllables)];
            size_t      l = strlen(x);

            memcpy(buf + len, x, l);
            if (s == 0 && buf[len] >= 'a' && buf[len] <= 'z') {
                buf[len] = (char) (buf[len] - 'a' + 'A');
            }
            len += l;
        }
    }
    buf[len] = '\0';
}

static void
track_name(sk_rng *r, char *buf, size_t size)
{
    size_t len = 0;
    int    words = 1 + (int) sk_rng_below(r, 4), quote = sk_rng_unit(r) < 0.01;

    for (int w = 0; w < words && len + 40 < size; w++) {
        const char *x = sk_words[sk_rng_below(r, sk_n_words)];
        size_t      l = strlen(x);

        if (w) {
            buf[len++] = ' ';
        }
        if (quote && w == words - 1) {
            buf[len++] = '"';
        }
        memcpy(buf + len, x, l);
        if (w == 0 && buf[len] >= 'a' && buf[len] <= 'z') {
            buf[len] = (char) (buf[len] - 'a' + 'A');
        }
        len += l;
        if (quote && w == words - 1) {
            buf[len++] = '"';
        }
    }
    if (sk_rng_unit(r) < 0.03 && len + 30 < size) {
        len += (size_t) snprintf(buf + len, size - len, " - Remastered %d",
                                 1990 + (int) sk_rng_below(r, 32));
    }
    buf[len] = '\0';
}

/* Genres per artist: 1..21, mean ~2.8 (see the top of the file). */
static int
genre_count(sk_rng *r)
{
    static const double head[4] = { 0.335, 0.246, 0.154, 0.098 };
    double u = sk_rng_unit(r);
    int    n;

    for (n = 0; n < 4; n++) {
        if (u < head[n]) {
            return n + 1;
        }
        u -= head[n];
    }
    for (n = 5; n < 21 && sk_rng_unit(r) < 0.6; n++) {
        /* geometric tail */
    }
    return n;
}

static int
has(const int *a, int n, int v)
{
    for (int i = 0; i < n; i++) {
        if (a[i] == v) {
            return 1;
        }
    }
    return 0;
}

/* Invented genre ids are 50.. (index into the invented list + 50). */
static int
write_artists(gen_world *w)
{
    sk_rng      r;
    sk_out      o;
    char      **invented = NULL;
    long        n_inv, next_inv = 0;
    uint32_t   *perm;
    gen_picker  user_g, inv_g;
    uint8_t    *used;
    int         rc = -1;

    sk_rng_seed(&r, w->opts->seed, STREAM_ARTISTS);
    n_inv = sk_invent_genres(&invented, N_INVENTED);
    perm = malloc(sizeof(uint32_t) * (size_t) w->n_artists);
    used = calloc((size_t) (n_inv > 0 ? n_inv : 1), 1);
    if (n_inv < 0 || perm == NULL || used == NULL
        || picker_init(&user_g, SK_N_GENRES) < 0
        || picker_init(&inv_g, (size_t) n_inv) < 0)
    {
        snprintf(w->err, w->errlen, "artists: out of memory");
        goto done;
    }
    /* User genres: mild Zipf over a fixed order ("rock" is not "hoerspiel"). */
    for (int g = 0; g < SK_N_GENRES; g++) {
        picker_add(&user_g, (uint32_t) g, 1.0 / pow(1 + ((g * 37) % 50), 0.6));
    }
    for (long g = 0; g < n_inv; g++) {
        picker_add(&inv_g, (uint32_t) g, 1.0 / pow(g + 2, 1.0));
    }
    for (long i = 0; i < w->n_artists; i++) {
        perm[i] = (uint32_t) i;
    }
    shuffle_u32(&r, perm, (size_t) w->n_artists);
    if (sk_out_open(&o, w->dir, "artists.jsonl", w->err, w->errlen) < 0) {
        goto done;
    }
    for (long i = 0; i < w->n_artists; i++) {
        gen_artist *a = &w->artists[i];
        char        name[128];
        int         n = genre_count(&r), ids[32], k = 0;
        int         user_artist = sk_rng_unit(&r) < 0.2086;

        random_id(&r, a->id);
        a->weight = 1.0 / pow(perm[i] + 5.0, 0.85);
        artist_name(&r, name, sizeof(name));
        for (int tries = 0; k < n && tries < 100; tries++) {
            int g;

            if (user_artist && (k == 0 || sk_rng_unit(&r) < 0.35)) {
                g = (int) gen_pick(&user_g, &r);
            } else if (next_inv < n_inv) {
                g = SK_N_GENRES + (int) next_inv++;   /* each used once first */
            } else {
                g = SK_N_GENRES + (int) gen_pick(&inv_g, &r);
            }
            if (!has(ids, k, g)) {
                ids[k++] = g;
            }
        }
        sk_out_lit(&o, "{\"id\":\"");
        sk_out_lit(&o, a->id);
        sk_out_lit(&o, "\",\"name\":");
        sk_out_jstr(&o, name);
        sk_out_lit(&o, ",\"genres\":[");
        a->genre_mask = 0;
        for (int j = 0; j < k; j++) {
            if (j) {
                sk_out_lit(&o, ",");
            }
            if (ids[j] < SK_N_GENRES) {
                a->genre_mask |= (uint64_t) 1 << ids[j];
                sk_out_jstr(&o, sk_genre_name(ids[j]));
            } else {
                used[ids[j] - SK_N_GENRES] = 1;
                sk_out_jstr(&o, invented[ids[j] - SK_N_GENRES]);
            }
        }
        sk_out_lit(&o, "]}\n");
        if (a->genre_mask) {
            w->st->artists_with_user_genre++;
        }
    }
    {
        uint64_t all = 0;
        long     distinct = 0;

        for (long g = 0; g < n_inv; g++) {
            distinct += used[g];
        }
        for (long i = 0; i < w->n_artists; i++) {
            all |= w->artists[i].genre_mask;
        }
        w->st->distinct_genres = distinct + sk_genre_count(all);
    }
    w->st->artists = w->n_artists;
    w->st->bytes += o.bytes;
    rc = sk_out_close(&o, 0, w->err, w->errlen);

done:
    sk_free_genres(invented, n_inv);
    free(perm);
    free(used);
    picker_free(&user_g);
    picker_free(&inv_g);
    return rc;
}

static int
cmp_key_desc(const void *a, const void *b, void *keys)
{
    double ka = ((double *) keys)[*(const uint32_t *) a];
    double kb = ((double *) keys)[*(const uint32_t *) b];

    return (ka < kb) - (ka > kb);
}

/* Track play ranks: popular artists' tracks rank higher, with noise. */
static int
rank_tracks(gen_world *w, sk_rng *r)
{
    double   *key = malloc(sizeof(double) * (size_t) w->n_tracks);
    uint32_t *order = malloc(sizeof(uint32_t) * (size_t) w->n_tracks);

    if (key == NULL || order == NULL) {
        free(key);
        free(order);
        return -1;
    }
    for (long i = 0; i < w->n_tracks; i++) {
        key[i] = 0.5 * log(w->artists[w->tracks[i].artist].weight)
                 + sk_rng_normal(r);
        order[i] = (uint32_t) i;
    }
    qsort_r(order, (size_t) w->n_tracks, sizeof(uint32_t), cmp_key_desc, key);
    for (long k = 0; k < w->n_tracks; k++) {
        gen_track *t = &w->tracks[order[k]];
        double     q = (double) k / (double) w->n_tracks;

        t->rank = (uint32_t) k;
        t->weight = 1.0 / pow(k + 10.0, 0.9);
        t->popularity = (int) clamp(lround(97.0 * pow(1 - q, 1.4)
                                           + 3.0 * sk_rng_normal(r)), 0, 97);
    }
    free(key);
    free(order);
    return 0;
}

static void
release_date(sk_rng *r, char *buf, size_t size)
{
    double u = sk_rng_unit(r);
    int    y = 2021 - (int) (100.999 * u * u);

    if (sk_rng_unit(r) < 0.3) {
        snprintf(buf, size, "%04d", y);
    } else {
        static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                    30, 31 };
        unsigned m = 1 + (unsigned) sk_rng_below(r, 12);
        unsigned d = 1 + (unsigned) sk_rng_below(r, (uint64_t) dm[m - 1]);

        snprintf(buf, size, "%04u-%02u-%02u", (unsigned) y % 10000, m % 100,
                 d % 100);
    }
}

static int
write_tracks(gen_world *w)
{
    sk_rng  r;
    sk_out  o;
    double  total_w = 0;

    sk_rng_seed(&r, w->opts->seed, STREAM_TRACKS);
    if (picker_init(&w->all_tracks, (size_t) w->n_artists) < 0) {
        snprintf(w->err, w->errlen, "tracks: out of memory");
        return -1;
    }
    /* Artists by popularity, to give out the tracks beyond one each. */
    for (long i = 0; i < w->n_artists; i++) {
        picker_add(&w->all_tracks, (uint32_t) i, w->artists[i].weight);
        total_w += w->artists[i].weight;
    }
    for (long i = 0; i < w->n_tracks; i++) {
        gen_track *t = &w->tracks[i];

        random_id(&r, t->id);
        t->artist = i < w->n_artists ? (uint32_t) i
                                     : gen_pick(&w->all_tracks, &r);
    }
    picker_free(&w->all_tracks);
    if (rank_tracks(w, &r) < 0) {
        snprintf(w->err, w->errlen, "tracks: out of memory");
        return -1;
    }
    if (sk_out_open(&o, w->dir, "tracks.jsonl", w->err, w->errlen) < 0) {
        return -1;
    }
    for (long i = 0; i < w->n_tracks; i++) {
        gen_track *t = &w->tracks[i];
        char       name[256], date[16];
        double     energy, u;
        int        ts;

        track_name(&r, name, sizeof(name));
        release_date(&r, date, sizeof(date));
        u = sk_rng_unit(&r);
        if (u < 0.002) {
            t->duration_ms = 600000 + (int64_t) sk_rng_below(&r, 3500000);
        } else {
            t->duration_ms = (int64_t) clamp(
                215000.0 * exp(0.35 * sk_rng_normal(&r)), 30000, 1200000);
        }
        t->explicit_ = sk_rng_unit(&r) < 0.04;
        t->t_bias = 0.7 * sk_rng_normal(&r);

        sk_out_lit(&o, "{\"id\":\"");
        sk_out_lit(&o, t->id);
        sk_out_lit(&o, "\",\"artist_id\":\"");
        sk_out_lit(&o, w->artists[t->artist].id);
        sk_out_lit(&o, "\",\"name\":");
        sk_out_jstr(&o, name);
        sk_out_lit(&o, ",\"popularity\":");
        sk_out_int(&o, t->popularity);
        sk_out_lit(&o, ",\"duration_ms\":");
        sk_out_int(&o, t->duration_ms);
        sk_out_lit(&o, ",\"explicit\":");
        sk_out_int(&o, t->explicit_);
        sk_out_lit(&o, ",\"release_date\":\"");
        sk_out_lit(&o, date);
        sk_out_lit(&o, "\",\"danceability\":");
        sk_out_dec(&o, clamp(0.58 + 0.17 * sk_rng_normal(&r), 0, 0.99), 3);
        energy = clamp(0.6 + 0.22 * sk_rng_normal(&r), 0, 1);
        sk_out_lit(&o, ",\"energy\":");
        sk_out_dec(&o, energy, 3);
        sk_out_lit(&o, ",\"key\":");
        sk_out_int(&o, (int64_t) sk_rng_below(&r, 12));
        sk_out_lit(&o, ",\"mode\":");
        if (sk_rng_unit(&r) < 0.8) {
            sk_out_lit(&o, "null");
        } else {
            sk_out_int(&o, sk_rng_unit(&r) < 2.0 / 3);
        }
        sk_out_lit(&o, ",\"loudness\":");
        sk_out_dec(&o, clamp(-20 + 15 * energy + 2.5 * sk_rng_normal(&r),
                             -60, 4.9), 3);
        sk_out_lit(&o, ",\"speechiness\":");
        sk_out_dec(&o, clamp(0.02 - 0.08 * log(1 - sk_rng_unit(&r)), 0,
                             0.97), 4);
        sk_out_lit(&o, ",\"acousticness\":");
        sk_out_dec(&o, pow(sk_rng_unit(&r), 1.5), 4);
        sk_out_lit(&o, ",\"instrumentalness\":");
        sk_out_dec(&o, sk_rng_unit(&r) < 0.7 ? 0.001 * sk_rng_unit(&r)
                                             : sk_rng_unit(&r), 6);
        sk_out_lit(&o, ",\"liveness\":");
        sk_out_dec(&o, clamp(0.05 - 0.15 * log(1 - sk_rng_unit(&r)), 0, 1),
                   4);
        sk_out_lit(&o, ",\"valence\":");
        sk_out_dec(&o, clamp(0.52 + 0.25 * sk_rng_normal(&r), 0, 1), 4);
        sk_out_lit(&o, ",\"tempo\":");
        sk_out_dec(&o, sk_rng_unit(&r) < 0.002 ? 0
                       : clamp(120 + 29 * sk_rng_normal(&r), 30, 245), 3);
        u = sk_rng_unit(&r);
        ts = u < 0.9 ? 4 : u < 0.97 ? 3 : u < 0.985 ? 5 : u < 0.995 ? 1 : 0;
        sk_out_lit(&o, ",\"time_signature\":");
        sk_out_int(&o, ts);
        sk_out_lit(&o, "}\n");
    }
    w->st->tracks = w->n_tracks;
    w->st->bytes += o.bytes;
    (void) total_w;
    return sk_out_close(&o, 0, w->err, w->errlen);
}

static int
write_users(gen_world *w)
{
    sk_rng  r;
    sk_out  o;

    sk_rng_seed(&r, w->opts->seed, STREAM_USERS);
    if (sk_out_open(&o, w->dir, "users.jsonl", w->err, w->errlen) < 0) {
        return -1;
    }
    for (long i = 0; i < w->n_users; i++) {
        gen_user *u = &w->users[i];
        char      buf[256];

        u->user_id = 101 + i;
        for (int k = 0; k < 3; k++) {
            int g;

            do {
                g = (int) sk_rng_below(&r, SK_N_GENRES);
            } while (has(u->fav, k, g));
            u->fav[k] = g;
            u->fav_mask |= (uint64_t) 1 << g;
        }
        u->premium = sk_rng_unit(&r) < 0.4;
        u->u_bias = 0.9 * sk_rng_normal(&r);
        u->g_user = sk_rng_uniform(&r, 0.6, 1.8);
        u->activity = exp(0.7 * sk_rng_normal(&r));
        if (w->opts->process == SK_GEN_V2) {      /* hashed: v1 unchanged */
            gen_hours(w->opts->seed, (uint64_t) i, &u->hour_amp,
                      &u->hour_peak);
        }

        sk_out_lit(&o, "{\"user_id\":");
        sk_out_int(&o, u->user_id);
        snprintf(buf, sizeof(buf), "%s %s",
                 sk_first_names[sk_rng_below(&r, sk_n_first_names)],
                 sk_last_names[sk_rng_below(&r, sk_n_last_names)]);
        sk_out_lit(&o, ",\"name\":");
        sk_out_jstr(&o, buf);
        sk_out_lit(&o, ",\"city\":");
        sk_out_jstr(&o, sk_cities[sk_rng_below(&r, sk_n_cities)]);
        snprintf(buf, sizeof(buf), "%s %d",
                 sk_streets[sk_rng_below(&r, sk_n_streets)],
                 1 + (int) sk_rng_below(&r, 998));
        sk_out_lit(&o, ",\"street\":");
        sk_out_jstr(&o, buf);
        sk_out_lit(&o, ",\"favourite_genres\":[");
        for (int k = 0; k < 3; k++) {
            if (k) {
                sk_out_lit(&o, ",");
            }
            sk_out_jstr(&o, sk_genre_name(u->fav[k]));
        }
        sk_out_lit(&o, u->premium ? "],\"premium_user\":true}\n"
                                  : "],\"premium_user\":false}\n");
    }
    w->st->users = w->n_users;
    w->st->bytes += o.bytes;
    return sk_out_close(&o, 0, w->err, w->errlen);
}

static int
write_storage(gen_world *w)
{
    static const double rate[SK_N_STORE] = { 5e-5, 1e-4, 5e-4 };
    long   n_fast = lround(7 * w->opts->scale);
    long   n_medium = lround(1459 * w->opts->scale);
    sk_out o;

    if (n_fast < 1) {
        n_fast = 1;
    }
    if (sk_out_open(&o, w->dir, "track_storage.jsonl", w->err, w->errlen)
        < 0)
    {
        return -1;
    }
    for (long i = 0; i < w->n_tracks; i++) {
        const gen_track *t = &w->tracks[i];
        int c = t->rank < n_fast ? SK_STORE_FAST
                : t->rank < n_fast + n_medium ? SK_STORE_MEDIUM : SK_STORE_SLOW;

        sk_out_lit(&o, "{\"track_id\":\"");
        sk_out_lit(&o, t->id);
        sk_out_lit(&o, "\",\"storage_class\":\"");
        sk_out_lit(&o, sk_ds_storage_name((sk_storage_class) c));
        sk_out_lit(&o, "\",\"daily_cost\":");
        sk_out_dec(&o, (double) t->duration_ms / 1000.0 * rate[c], 8);
        sk_out_lit(&o, "}\n");
        w->st->storage[c]++;
    }
    w->st->bytes += o.bytes;
    return sk_out_close(&o, 0, w->err, w->errlen);
}

/* Who listens to what: the track pickers and the sessions per user. */
static int
build_pickers(gen_world *w)
{
    gen_picker users;
    sk_rng     r;
    long       per_genre[SK_N_GENRES] = { 0 };

    for (long i = 0; i < w->n_tracks; i++) {
        uint64_t m = w->artists[w->tracks[i].artist].genre_mask;

        for (int g = 0; g < SK_N_GENRES; g++) {
            per_genre[g] += (m >> g) & 1;
        }
    }
    if (picker_init(&w->all_tracks, (size_t) w->n_tracks) < 0
        || picker_init(&users, (size_t) w->n_users) < 0)
    {
        return -1;
    }
    for (int g = 0; g < SK_N_GENRES; g++) {
        if (picker_init(&w->genre_tracks[g], (size_t) per_genre[g]) < 0) {
            return -1;
        }
    }
    for (long i = 0; i < w->n_tracks; i++) {
        uint64_t m = w->artists[w->tracks[i].artist].genre_mask;

        picker_add(&w->all_tracks, (uint32_t) i, w->tracks[i].weight);
        for (int g = 0; g < SK_N_GENRES; g++) {
            if ((m >> g) & 1) {
                picker_add(&w->genre_tracks[g], (uint32_t) i,
                           w->tracks[i].weight);
            }
        }
    }
    sk_rng_seed(&r, w->opts->seed, STREAM_ASSIGN);
    for (long i = 0; i < w->n_users; i++) {
        picker_add(&users, (uint32_t) i, w->users[i].activity);
    }
    for (long s = 0; s < w->n_sessions; s++) {
        w->users[gen_pick(&users, &r)].n_sessions++;
    }
    picker_free(&users);
    return 0;
}

int
sk_gen(const char *dir, const sk_gen_opts *opts, sk_gen_stats *st,
    char *err, size_t errlen)
{
    gen_world     w;
    sk_gen_stats  local;
    int           rc = -1;

    memset(&w, 0, sizeof(w));
    memset(&local, 0, sizeof(local));
    if (st == NULL) {
        st = &local;
    }
    memset(st, 0, sizeof(*st));
    w.opts = opts;
    w.st = st;
    w.dir = dir;
    w.err = err;
    w.errlen = errlen;
    w.n_artists = sk_gen_n_artists(opts->scale);
    w.n_tracks = sk_gen_n_tracks(opts->scale);
    w.n_users = sk_gen_n_users(opts->scale);
    w.n_sessions = sk_gen_n_sessions(opts->scale);
    w.artists = calloc((size_t) w.n_artists, sizeof(gen_artist));
    w.tracks = calloc((size_t) w.n_tracks, sizeof(gen_track));
    w.users = calloc((size_t) w.n_users, sizeof(gen_user));
    if (w.artists == NULL || w.tracks == NULL || w.users == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }

    gen_progress(&w, "writing %ld artists", w.n_artists);
    if (write_artists(&w) < 0) {
        goto done;
    }
    gen_progress(&w, "writing %ld tracks", w.n_tracks);
    if (write_tracks(&w) < 0 || write_storage(&w) < 0) {
        goto done;
    }
    gen_progress(&w, "writing %ld users", w.n_users);
    if (write_users(&w) < 0) {
        goto done;
    }
    if (build_pickers(&w) < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    gen_progress(&w, "writing ~%ld sessions", w.n_sessions);
    rc = gen_sessions(&w);

done:
    picker_free(&w.all_tracks);
    for (int g = 0; g < SK_N_GENRES; g++) {
        picker_free(&w.genre_tracks[g]);
    }
    free(w.artists);
    free(w.tracks);
    free(w.users);
    return rc;
}
