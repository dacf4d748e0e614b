/*
 * The in-memory tables of a dataset (artists, tracks, users, storage) and
 * their open-addressing id indexes (see dataset.h).  Sessions are streamed,
 * never loaded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_int.h"

/* 22-char ids are random base62: any decent mix of their bytes spreads. */
static uint64_t
hash_id(const char *id)
{
    uint64_t a, b, c = 0;

    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    memcpy(&c, id + 16, 6);
    a ^= b * 0x9e3779b97f4a7c15ULL;
    a ^= c * 0xc2b2ae3d27d4eb4fULL;
    a ^= a >> 29;
    a *= 0xbf58476d1ce4e5b9ULL;
    a ^= a >> 32;
    return a;
}

static uint64_t
hash_int(int64_t v)
{
    uint64_t x = (uint64_t) v + 0x9e3779b97f4a7c15ULL;

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int
index_init(sk_index *ix, size_t n)
{
    size_t cap = 16;

    while (cap < n * 2) {
        cap <<= 1;
    }
    ix->slots = calloc(cap, sizeof(uint32_t));
    ix->mask = cap - 1;
    return ix->slots ? 0 : -1;
}

/*
 * Tables whose entries start with a 22-char id (sk_artist, sk_track):
 * the slot of id (found: *found = entry index) or the empty slot to use.
 */
static size_t
probe_id(const sk_index *ix, const void *base, size_t stride, const char *id,
    long *found)
{
    size_t i = hash_id(id) & ix->mask;

    *found = -1;
    for ( ;; i = (i + 1) & ix->mask) {
        uint32_t s = ix->slots[i];

        if (s == 0) {
            return i;
        }
        if (memcmp((const char *) base + (size_t) (s - 1) * stride, id,
                   SK_ID_LEN) == 0)
        {
            *found = (long) s - 1;
            return i;
        }
    }
}

static size_t
probe_user(const sk_index *ix, const sk_user *users, int64_t user_id,
    long *found)
{
    size_t i = hash_int(user_id) & ix->mask;

    *found = -1;
    for ( ;; i = (i + 1) & ix->mask) {
        uint32_t s = ix->slots[i];

        if (s == 0) {
            return i;
        }
        if (users[s - 1].user_id == user_id) {
            *found = (long) s - 1;
            return i;
        }
    }
}

long
sk_dataset_find_track(const sk_dataset *ds, const char *id, size_t len)
{
    long found;

    if (ds->track_ix.slots == NULL || !sk_ds_id_valid(id, len)) {
        return -1;
    }
    probe_id(&ds->track_ix, ds->tracks, sizeof(sk_track), id, &found);
    return found;
}

long
sk_dataset_find_artist(const sk_dataset *ds, const char *id, size_t len)
{
    long found;

    if (ds->artist_ix.slots == NULL || !sk_ds_id_valid(id, len)) {
        return -1;
    }
    probe_id(&ds->artist_ix, ds->artists, sizeof(sk_artist), id, &found);
    return found;
}

long
sk_dataset_find_user(const sk_dataset *ds, int64_t user_id)
{
    long found;

    if (ds->user_ix.slots == NULL) {
        return -1;
    }
    probe_user(&ds->user_ix, ds->users, user_id, &found);
    return found;
}

/* Grow *p (n used, *cap allocated) by one element of size sz. */
static void *
grow(void *p, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap) {
        return p;
    }
    *cap = *cap ? *cap * 2 : 4096;
    return realloc(p, *cap * sz);
}

/* Rebuild an index when the table outgrew it (keeps load <= 1/2). */
static int
index_fit(sk_index *ix, size_t n)
{
    if (ix->slots && n * 2 <= ix->mask + 1) {
        return 0;
    }
    free(ix->slots);
    ix->slots = NULL;
    return index_init(ix, n < 65536 ? 65536 : n * 2);
}

static void
reindex_ids(sk_index *ix, const void *base, size_t stride, size_t n)
{
    memset(ix->slots, 0, (ix->mask + 1) * sizeof(uint32_t));
    for (size_t k = 0; k < n; k++) {
        long   found;
        size_t i = probe_id(ix, base, stride,
                            (const char *) base + k * stride, &found);

        ix->slots[i] = (uint32_t) k + 1;
    }
}

/* Record the entry just appended (number ++*n) in slot, then keep the
 * index at most half full. */
static int
index_add_id(sk_index *ix, size_t slot, const void *base, size_t stride,
    size_t *n)
{
    ix->slots[slot] = (uint32_t) ++*n;
    if (*n * 2 > ix->mask + 1) {
        if (index_fit(ix, *n) < 0) {
            return -1;
        }
        reindex_ids(ix, base, stride, *n);
    }
    return 0;
}

/* Fail one file's load for lack of memory. */
static int
out_of_memory(sk_reader *r, sk_dataset *ds)
{
    snprintf(ds->error, sizeof(ds->error), "%s: out of memory",
             sk_reader_path(r));
    sk_reader_close(r);
    return -1;
}

static sk_reader *
open_file(const char *dir, sk_file_kind kind, sk_dataset *ds,
    const sk_read_opts *opts, int *absent)
{
    char       err[512];
    sk_reader *r = sk_reader_open_dir(dir, kind, opts, err, sizeof(err));

    *absent = 0;
    if (r == NULL) {
        if (opts && (opts->optional_files & (1u << kind))) {
            *absent = 1;
        } else {
            snprintf(ds->error, sizeof(ds->error), "%s", err);
        }
    }
    return r;
}

/* End one file: keep its stats; an error (I/O, strict) fails the load. */
static int
finish(sk_reader *r, sk_file_kind kind, int rc, sk_dataset *ds)
{
    ds->stats[kind] = *sk_reader_stats(r);
    if (rc < 0 && ds->error[0] == '\0') {
        snprintf(ds->error, sizeof(ds->error), "%s", sk_reader_error(r));
    }
    sk_reader_close(r);
    return rc < 0 ? -1 : 0;
}

static int
load_artists(const char *dir, sk_dataset *ds, const sk_read_opts *opts)
{
    sk_reader *r;
    sk_row     row;
    size_t     cap = 0;
    int        rc, absent;

    if ((r = open_file(dir, SK_FILE_ARTISTS, ds, opts, &absent)) == NULL) {
        return absent ? index_init(&ds->artist_ix, 0) : -1;
    }
    if (index_init(&ds->artist_ix, 65536) < 0) {
        goto nomem;
    }
    while ((rc = sk_read_next(r, &row)) == 1) {
        const sk_artist_row *a = &row.artist;
        sk_artist           *e;
        long                 found;
        size_t               slot;

        slot = probe_id(&ds->artist_ix, ds->artists, sizeof(sk_artist), a->id,
                        &found);
        if (found >= 0) {
            ds->duplicates++;
            continue;
        }
        if ((ds->artists = grow(ds->artists, ds->n_artists, &cap,
                                sizeof(sk_artist))) == NULL)
        {
            goto nomem;
        }
        e = &ds->artists[ds->n_artists];
        memcpy(e->id, a->id, sizeof(e->id));
        e->n_genres = (uint8_t) (a->n_genres > 255 ? 255 : a->n_genres);
        e->genre_mask = a->genre_mask;
        if (index_add_id(&ds->artist_ix, slot, ds->artists,
                         sizeof(sk_artist), &ds->n_artists) < 0)
        {
            goto nomem;
        }
    }
    return finish(r, SK_FILE_ARTISTS, rc, ds);

nomem:
    return out_of_memory(r, ds);
}

static int16_t
clamp16(int64_t v)
{
    return (int16_t) (v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

static int8_t
small(int v)
{
    return (int8_t) (v < -1 || v > 127 ? SK_MISSING : v);
}

static int
load_tracks(const char *dir, sk_dataset *ds, const sk_read_opts *opts)
{
    sk_reader *r;
    sk_row     row;
    size_t     cap = 0;
    int        rc, absent;

    if ((r = open_file(dir, SK_FILE_TRACKS, ds, opts, &absent)) == NULL) {
        return absent ? index_init(&ds->track_ix, 0) : -1;
    }
    if (index_init(&ds->track_ix, 262144) < 0) {
        goto nomem;
    }
    while ((rc = sk_read_next(r, &row)) == 1) {
        const sk_track_row *t = &row.track;
        sk_track           *e;
        long                found, a;
        size_t              slot;

        slot = probe_id(&ds->track_ix, ds->tracks, sizeof(sk_track), t->id,
                        &found);
        if (found >= 0) {
            ds->duplicates++;
            continue;
        }
        if ((ds->tracks = grow(ds->tracks, ds->n_tracks, &cap,
                               sizeof(sk_track))) == NULL)
        {
            goto nomem;
        }
        e = &ds->tracks[ds->n_tracks];
        memset(e, 0, sizeof(*e));
        memcpy(e->id, t->id, sizeof(e->id));
        memcpy(e->artist_id, t->artist_id, sizeof(e->artist_id));
        a = sk_dataset_find_artist(ds, t->artist_id, SK_ID_LEN);
        e->artist = a < 0 ? SK_NONE : (uint32_t) a;
        e->genre_mask = a < 0 ? 0 : ds->artists[a].genre_mask;
        e->popularity = clamp16(t->popularity);
        e->explicit_ = small(t->explicit_);
        e->key = small(t->key);
        e->mode = small(t->mode);
        e->time_signature = small(t->time_signature);
        e->release_year = clamp16(t->release_year);
        e->duration_ms = t->duration_ms;
        e->danceability = (float) t->danceability;
        e->energy = (float) t->energy;
        e->loudness = (float) t->loudness;
        e->speechiness = (float) t->speechiness;
        e->acousticness = (float) t->acousticness;
        e->instrumentalness = (float) t->instrumentalness;
        e->liveness = (float) t->liveness;
        e->valence = (float) t->valence;
        e->tempo = (float) t->tempo;
        e->storage_class = SK_MISSING;
        e->daily_cost = NAN;
        if (index_add_id(&ds->track_ix, slot, ds->tracks, sizeof(sk_track),
                         &ds->n_tracks) < 0)
        {
            goto nomem;
        }
    }
    return finish(r, SK_FILE_TRACKS, rc, ds);

nomem:
    return out_of_memory(r, ds);
}

static int
load_users(const char *dir, sk_dataset *ds, const sk_read_opts *opts)
{
    sk_reader *r;
    sk_row     row;
    size_t     cap = 0;
    int        rc, absent;

    if ((r = open_file(dir, SK_FILE_USERS, ds, opts, &absent)) == NULL) {
        return absent ? index_init(&ds->user_ix, 0) : -1;
    }
    if (index_init(&ds->user_ix, 16384) < 0) {
        goto nomem;
    }
    while ((rc = sk_read_next(r, &row)) == 1) {
        long   found;
        size_t slot = probe_user(&ds->user_ix, ds->users, row.user.user_id,
                                 &found);

        if (found >= 0) {
            ds->duplicates++;
            continue;
        }
        if ((ds->users = grow(ds->users, ds->n_users, &cap,
                              sizeof(sk_user))) == NULL)
        {
            goto nomem;
        }
        ds->users[ds->n_users].user_id = row.user.user_id;
        ds->users[ds->n_users].favourite_mask = row.user.favourite_mask;
        ds->users[ds->n_users].premium = small(row.user.premium);
        ds->user_ix.slots[slot] = (uint32_t) ++ds->n_users;
        if (ds->n_users * 2 > ds->user_ix.mask + 1) {
            if (index_fit(&ds->user_ix, ds->n_users) < 0) {
                goto nomem;
            }
            memset(ds->user_ix.slots, 0,
                   (ds->user_ix.mask + 1) * sizeof(uint32_t));
            for (size_t k = 0; k < ds->n_users; k++) {
                slot = probe_user(&ds->user_ix, ds->users,
                                  ds->users[k].user_id, &found);
                ds->user_ix.slots[slot] = (uint32_t) k + 1;
            }
        }
    }
    return finish(r, SK_FILE_USERS, rc, ds);

nomem:
    return out_of_memory(r, ds);
}

static int
load_storage(const char *dir, sk_dataset *ds, const sk_read_opts *opts)
{
    sk_reader *r;
    sk_row     row;
    int        rc, absent;

    if ((r = open_file(dir, SK_FILE_STORAGE, ds, opts, &absent)) == NULL) {
        return absent ? 0 : -1;
    }
    while ((rc = sk_read_next(r, &row)) == 1) {
        long t = sk_dataset_find_track(ds, row.storage.track_id, SK_ID_LEN);

        if (t >= 0) {
            ds->tracks[t].storage_class = (int8_t) row.storage.storage_class;
            ds->tracks[t].daily_cost = (float) row.storage.daily_cost;
            ds->n_storage++;
        }
    }
    return finish(r, SK_FILE_STORAGE, rc, ds);
}

int
sk_dataset_load(const char *dir, sk_dataset *ds, const sk_read_opts *opts)
{
    memset(ds, 0, sizeof(*ds));
    if (load_artists(dir, ds, opts) < 0 || load_tracks(dir, ds, opts) < 0
        || load_users(dir, ds, opts) < 0 || load_storage(dir, ds, opts) < 0)
    {
        if (ds->error[0] == '\0') {
            snprintf(ds->error, sizeof(ds->error), "%s: out of memory", dir);
        }
        return -1;
    }
    return 0;
}

void
sk_dataset_free(sk_dataset *ds)
{
    free(ds->artists);
    free(ds->tracks);
    free(ds->users);
    free(ds->artist_ix.slots);
    free(ds->track_ix.slots);
    free(ds->user_ix.slots);
    memset(ds, 0, sizeof(*ds));
}
