/*
 * Activation guard of `skipctl features load` (see load_guard.h).
 */
#include <stdio.h>

#include "load_guard.h"

static const sk_file_kind guarded[] = {
    SK_FILE_ARTISTS, SK_FILE_TRACKS, SK_FILE_USERS, SK_FILE_STORAGE,
    SK_FILE_SESSIONS
};

#define N_GUARDED  (sizeof(guarded) / sizeof(guarded[0]))

static const sk_read_stats *
stats_of(const sk_dataset *ds, const sk_read_stats *sessions, sk_file_kind k)
{
    return k == SK_FILE_SESSIONS ? sessions : &ds->stats[k];
}

int
sk_guard_files(const sk_guard_opts *o, const sk_dataset *ds,
    const sk_read_stats *sessions, const char *prefix, FILE *out)
{
    size_t               i;
    int                  n = 0;
    long                 seen;
    const sk_read_stats *st;

    for (i = 0; i < N_GUARDED; i++) {
        st = stats_of(ds, sessions, guarded[i]);
        seen = st->rows + st->skipped_total;
        if (st->rows == 0) {
            fprintf(out, "%s%s: no valid rows (%ld lines, %ld rejected)\n",
                    prefix, sk_file_name(guarded[i]), st->lines,
                    st->skipped_total);
            n++;
        } else if ((double) st->skipped_total > o->max_bad * (double) seen) {
            fprintf(out, "%s%s: %ld of %ld lines rejected (%.1f %%), more "
                    "than --max-bad %g allows\n", prefix,
                    sk_file_name(guarded[i]), st->skipped_total, seen,
                    100.0 * (double) st->skipped_total / (double) seen,
                    o->max_bad);
            n++;
        }
    }
    return n;
}

static int
size_check(const sk_guard_opts *o, const char *what, long now, long before,
    const char *old_id, const char *prefix, FILE *out)
{
    if (before <= 0 || (double) now >= o->min_ratio * (double) before) {
        return 0;
    }
    fprintf(out, "%s%ld %s, fewer than %g times the %ld of the active "
            "snapshot %s (--min-ratio)\n", prefix, now, what, o->min_ratio,
            before, old_id);
    return 1;
}

int
sk_guard_sizes(const sk_guard_opts *o, long users, long tracks,
    const char *old_id, long old_users, long old_tracks, const char *prefix,
    FILE *out)
{
    if (old_id == NULL || old_id[0] == '\0') {
        return 0;
    }
    return size_check(o, "users", users, old_users, old_id, prefix, out)
           + size_check(o, "tracks", tracks, old_tracks, old_id, prefix, out);
}

void
sk_guard_bad_fields(const sk_dataset *ds, const sk_read_stats *sessions,
    const char *prefix, FILE *out)
{
    size_t               i;
    int                  f, first;
    long                 total;
    const sk_read_stats *st;

    for (i = 0; i < N_GUARDED; i++) {
        st = stats_of(ds, sessions, guarded[i]);
        total = 0;
        for (f = 0; f < SK_MAX_FIELDS; f++) {
            total += st->bad_fields[f];
        }
        if (total == 0) {
            continue;
        }
        fprintf(out, "%s%s: %ld bad field value%s taken as missing (",
                prefix, sk_file_name(guarded[i]), total, total == 1 ? "" : "s");
        first = 1;
        for (f = 0; f < SK_MAX_FIELDS; f++) {
            if (st->bad_fields[f]) {
                fprintf(out, "%s%s %ld", first ? "" : ", ",
                        sk_field_name(guarded[i], f), st->bad_fields[f]);
                first = 0;
            }
        }
        fprintf(out, ")\n");
    }
}
