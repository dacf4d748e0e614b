/*
 * sk_dataset_load on a small generated dataset: tables, indexes, the
 * artist genre masks and storage classes on tracks, missing files.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/dataset.h"
#include "gen/gen.h"
#include "tap.h"

static void
put(const char *dir, const char *name, const char *text)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int
main(void)
{
    char          dir[] = "/tmp/sk_load_XXXXXX", err[512], cmd[600];
    sk_gen_opts   go = { .seed = 7, .scale = 0.01 };
    sk_gen_stats  gs;
    sk_dataset    ds;
    sk_read_opts  ro = { 0 };
    long          missing = 0, wrong_mask = 0, with_storage = 0;

    if (mkdtemp(dir) == NULL || sk_gen(dir, &go, &gs, err, sizeof(err)) < 0) {
        ok(0, "generate a dataset: %s", err);
        return done_testing();
    }
    ok(sk_dataset_load(dir, &ds, &ro) == 0, "load a generated dataset");
    is_int(ds.n_artists, gs.artists, "all artists");
    is_int(ds.n_tracks, gs.tracks, "all tracks");
    is_int(ds.n_users, gs.users, "all users");
    is_int(ds.n_storage, gs.tracks, "every track has a storage row");
    is_int(ds.duplicates, 0, "no duplicates");
    for (size_t i = 0; i < ds.n_tracks; i++) {
        const sk_track *t = &ds.tracks[i];

        if (sk_dataset_find_track(&ds, t->id, SK_ID_LEN) != (long) i) {
            missing++;
        }
        if (t->artist == SK_NONE
            || ds.artists[t->artist].genre_mask != t->genre_mask
            || strcmp(ds.artists[t->artist].id, t->artist_id) != 0)
        {
            wrong_mask++;
        }
        with_storage += t->storage_class >= 0 && !isnan(t->daily_cost);
    }
    is_int(missing, 0, "every track found by id at its index");
    is_int(wrong_mask, 0, "tracks linked to their artist and its genres");
    is_int(with_storage, (long) ds.n_tracks, "storage class and cost set");
    for (size_t i = 0; i < ds.n_artists; i++) {
        missing += sk_dataset_find_artist(&ds, ds.artists[i].id, SK_ID_LEN)
                   != (long) i;
    }
    is_int(missing, 0, "every artist found by id");
    is_int(sk_dataset_find_user(&ds, 101), 0, "user 101 at 0");
    is_int(sk_dataset_find_user(&ds, 100 + (int64_t) ds.n_users),
           (long) ds.n_users - 1, "last user");
    is_int(sk_dataset_find_user(&ds, 99), -1, "unknown user");
    is_int(sk_dataset_find_track(&ds, "0000000000000000000000", 22), -1,
           "unknown track");
    is_int(sk_dataset_find_track(&ds, "short", 5), -1, "malformed id");
    ok(ds.users[0].favourite_mask != 0
       && __builtin_popcountll(ds.users[0].favourite_mask) == 3,
       "user has 3 favourite genres");
    sk_dataset_free(&ds);

    /* Missing files: an error naming the file, unless optional. */
    snprintf(cmd, sizeof(cmd), "%s/track_storage.jsonl", dir);
    unlink(cmd);
    ok(sk_dataset_load(dir, &ds, &ro) == -1, "missing storage file fails");
    ok(strstr(ds.error, "track_storage.jsonl: No such file") != NULL,
       "error names the file: %s", ds.error);
    sk_dataset_free(&ds);
    ro.optional_files = 1u << SK_FILE_STORAGE;
    ok(sk_dataset_load(dir, &ds, &ro) == 0, "optional storage may be absent");
    is_int(ds.tracks[0].storage_class, SK_MISSING, "storage class missing");
    sk_dataset_free(&ds);

    /* Duplicates and bad rows; strict mode fails on the bad one. */
    put(dir, "users.jsonl",
        "{\"user_id\":101,\"favourite_genres\":[\"rock\"],\"premium_user\":1}\n"
        "{\"user_id\":101,\"favourite_genres\":[\"pop\"]}\n"
        "[null,\"x\",\"y\",\"z\",[],true]\n");
    ro.optional_files = 1u << SK_FILE_STORAGE;
    ok(sk_dataset_load(dir, &ds, &ro) == 0, "load with a duplicate user");
    is_int(ds.n_users, 1, "one user kept");
    is_int(ds.duplicates, 1, "one duplicate");
    is_int(ds.users[0].premium, 1, "first row wins");
    is_int(ds.stats[SK_FILE_USERS].skipped[SK_SKIP_NULL_KEY], 1,
           "null user_id counted");
    sk_dataset_free(&ds);
    ro.strict = 1;
    ok(sk_dataset_load(dir, &ds, &ro) == -1, "strict: the bad row fails");
    ok(strstr(ds.error, "users.jsonl:3: null key field user_id") != NULL,
       "strict error: %s", ds.error);
    sk_dataset_free(&ds);

    ok(sk_dataset_load("/nonexistent", &ds, NULL) == -1, "missing dir");
    is_str(ds.error, "/nonexistent/artists.jsonl: No such file or directory",
           "missing dir error names the first file");
    sk_dataset_free(&ds);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        diag("could not remove %s", dir);
    }
    return done_testing();
}
