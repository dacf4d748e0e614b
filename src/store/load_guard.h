/*
 * What `skipctl features load` checks before it activates a snapshot:
 * data that would make every request "missing" or drop the learned
 * history must not go live silently.
 *
 *   - a file with no valid rows (an empty users.jsonl, a sessions.jsonl of
 *     random bytes);
 *   - a file whose rejected lines exceed a share (max_bad) of its lines;
 *   - far fewer users or tracks than the active snapshot has (below
 *     min_ratio times its counts).
 *
 * Each finding is one line "what: why (the option that moves the bar)".
 * The caller refuses the load on any finding unless told to force it.
 */
#ifndef SKIP_LOAD_GUARD_H
#define SKIP_LOAD_GUARD_H

#include <stdio.h>

#include "../core/dataset.h"

#define SK_GUARD_MAX_BAD    0.05   /* default share of rejected lines */
#define SK_GUARD_MIN_RATIO  0.5    /* default new/active users and tracks */

typedef struct {
    double  max_bad;
    double  min_ratio;
} sk_guard_opts;

/*
 * The dataset's files (ds->stats of the four tables, *sessions for
 * sessions.jsonl).  Prints one line per finding to out, prefixed by
 * prefix; returns the number of findings.
 */
int sk_guard_files(const sk_guard_opts *o, const sk_dataset *ds,
    const sk_read_stats *sessions, const char *prefix, FILE *out);

/*
 * New counts against the active snapshot's (old_id "" or counts <= 0: no
 * comparison).  Same output and result as sk_guard_files.
 */
int sk_guard_sizes(const sk_guard_opts *o, long users, long tracks,
    const char *old_id, long old_users, long old_tracks, const char *prefix,
    FILE *out);

/*
 * "FILE: N bad field values taken as missing (field n, ...)" for each file
 * with any; nothing for clean files.
 */
void sk_guard_bad_fields(const sk_dataset *ds, const sk_read_stats *sessions,
    const char *prefix, FILE *out);

#endif
