/* History counts -> user and track records (see history.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static double
num(double v)
{
    return isfinite(v) ? v : 0.0;
}

int
sk_history_init(sk_history *h, const sk_dataset *ds)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    h->ds = ds;
    h->users = calloc(ds->n_users ? ds->n_users : 1, sizeof(*h->users));
    h->tracks = calloc(ds->n_tracks ? ds->n_tracks : 1, sizeof(*h->tracks));
    if (h->users == NULL || h->tracks == NULL) {
        sk_history_free(h);
        return -1;
    }
    for (i = 0; i < ds->n_users; i++) {
        h->users[i].fav = ds->users[i].favourite_mask;
        h->users[i].premium = ds->users[i].premium == 1;
    }
    for (i = 0; i < ds->n_tracks; i++) {
        const sk_track *s = &ds->tracks[i];
        sk_track_rec   *t = &h->tracks[i];

        t->genres = s->genre_mask;
        t->n_genres = s->artist != SK_NONE ? ds->artists[s->artist].n_genres
                                           : 0;
        t->popularity = s->popularity >= 0 ? s->popularity : 0;
        t->duration_ms = s->duration_ms >= 0 ? (double) s->duration_ms : 0;
        t->explicit_ = s->explicit_ == 1;
        t->year = s->release_year > 0 ? s->release_year : 0;
        t->danceability = num(s->danceability);
        t->energy = num(s->energy);
        t->key = s->key >= 0 ? s->key : -1;
        t->mode = s->mode >= 0 ? s->mode : -1;
        t->loudness = num(s->loudness);
        t->speechiness = num(s->speechiness);
        t->acousticness = num(s->acousticness);
        t->instrumentalness = num(s->instrumentalness);
        t->liveness = num(s->liveness);
        t->valence = num(s->valence);
        t->tempo = num(s->tempo);
        t->time_signature = s->time_signature >= 0 ? s->time_signature : -1;
        t->storage = s->storage_class >= 0 ? s->storage_class : 0;
        t->daily_cost = num(s->daily_cost);
    }
    return 0;
}

void
sk_history_free(sk_history *h)
{
    free(h->users);
    free(h->tracks);
    h->users = NULL;
    h->tracks = NULL;
}

void
sk_history_add(sk_history *h, uint32_t user, uint32_t track, int label,
    double weight)
{
    sk_user_rec  *u = &h->users[user];
    sk_track_rec *t = &h->tracks[track];
    int           fav = (u->fav & t->genres) != 0;

    if (label) {
        u->plays += weight;
        t->plays += weight;
        h->plays += weight;
        if (fav) {
            u->fav_plays += weight;
            t->fan_plays += weight;
        }
    } else {
        u->skips += weight;
        t->skips += weight;
        h->skips += weight;
        if (fav) {
            u->fav_skips += weight;
            t->fan_skips += weight;
        }
    }
}

void
sk_history_add_rows(sk_history *h, const sk_labelled *rows, size_t n,
    int which)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (which < 0 || rows[i].split == which) {
            sk_history_add(h, rows[i].user, rows[i].track, rows[i].label, 1);
        }
    }
}

double
sk_history_skip_rate(const sk_history *h)
{
    double n = h->plays + h->skips;

    return n > 0 ? h->skips / n : 0.4;
}

static double
minus(double a, double b)
{
    return a > b ? a - b : 0;
}

void
sk_history_minus(const sk_history *all, const sk_history *part,
    uint32_t user, uint32_t track, sk_user_rec *u, sk_track_rec *t)
{
    const sk_user_rec  *pu = &part->users[user];
    const sk_track_rec *pt = &part->tracks[track];

    *u = all->users[user];
    *t = all->tracks[track];
    u->plays = minus(u->plays, pu->plays);
    u->skips = minus(u->skips, pu->skips);
    u->fav_plays = minus(u->fav_plays, pu->fav_plays);
    u->fav_skips = minus(u->fav_skips, pu->fav_skips);
    t->plays = minus(t->plays, pt->plays);
    t->skips = minus(t->skips, pt->skips);
    t->fan_plays = minus(t->fan_plays, pt->fan_plays);
    t->fan_skips = minus(t->fan_skips, pt->fan_skips);
}

int
sk_fold_counts_init(sk_fold_counts *c, const sk_dataset *ds)
{
    c->users = calloc(ds->n_users ? ds->n_users : 1, sizeof(*c->users));
    c->tracks = calloc(ds->n_tracks ? ds->n_tracks : 1, sizeof(*c->tracks));
    if (c->users == NULL || c->tracks == NULL) {
        sk_fold_counts_free(c);
        return -1;
    }
    return 0;
}

void
sk_fold_counts_free(sk_fold_counts *c)
{
    free(c->users);
    free(c->tracks);
    c->users = NULL;
    c->tracks = NULL;
}

void
sk_fold_counts_add(sk_fold_counts *c, const sk_history *h, uint32_t user,
    uint32_t track, int label)
{
    sk_counts4 *u = &c->users[user], *t = &c->tracks[track];
    int         fav = (h->users[user].fav & h->tracks[track].genres) != 0;

    if (label) {
        u->plays++;
        t->plays++;
        u->fav_plays += fav;
        t->fav_plays += fav;
    } else {
        u->skips++;
        t->skips++;
        u->fav_skips += fav;
        t->fav_skips += fav;
    }
}

void
sk_history_minus_counts(const sk_history *all, const sk_fold_counts *part,
    uint32_t user, uint32_t track, sk_user_rec *u, sk_track_rec *t)
{
    const sk_counts4 *pu = &part->users[user], *pt = &part->tracks[track];

    *u = all->users[user];
    *t = all->tracks[track];
    u->plays = minus(u->plays, pu->plays);
    u->skips = minus(u->skips, pu->skips);
    u->fav_plays = minus(u->fav_plays, pu->fav_plays);
    u->fav_skips = minus(u->fav_skips, pu->fav_skips);
    t->plays = minus(t->plays, pt->plays);
    t->skips = minus(t->skips, pt->skips);
    t->fan_plays = minus(t->fan_plays, pt->fav_plays);
    t->fan_skips = minus(t->fan_skips, pt->fav_skips);
}

int
sk_history_build(sk_history *h, const sk_dataset *ds, const char *dir,
    const sk_read_opts *opts, char *err, size_t errlen)
{
    sk_labels l;

    if (sk_history_init(h, ds) != 0) {
        snprintf(err, errlen, "out of memory for %zu users, %zu tracks",
                 ds->n_users, ds->n_tracks);
        return -1;
    }
    sk_labels_init(&l);
    if (sk_labels_read(&l, ds, dir, opts, NULL, err, errlen) != 0) {
        sk_labels_free(&l);
        sk_history_free(h);
        return -1;
    }
    sk_history_add_rows(h, l.rows, l.n, -1);
    sk_labels_free(&l);
    return 0;
}
