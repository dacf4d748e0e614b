/*
 * skipctl replay --player: what the player saw, slice by slice, and what
 * the origin served, summed up per model arm and per decision.
 *
 * Groups: all plays; per X-Skip-Arm value and per X-Skip-Decision value of
 * a play's FIRST slice (the decision that chose whether to prefetch).
 * Per group: plays, slices asked, slices answered "X-Cache-Status: HIT"
 * and the others (from the origin, whatever the status), the issue's
 * first target (the share of HITs among the slices after the first of the
 * plays decided "play" and listened to the end), body bytes served to the
 * player, time to first byte per slice (p50/p99), ranges answered wrongly.
 *
 * The origin log (--origin-log): JSON lines the origin nginx writes, one
 * per response,
 *   {"uri":"/tracks/<id>","range":"bytes=S-E","status":206,
 *    "bytes":N,"prefetch":"1"|"","arm":"<X-Skip-Arm the edge sent>"}
 * ("arm" optional; "bytes" = $body_bytes_sent, a number or a string).
 * A fetch with prefetch "1" is prefetch-triggered, any other listener-
 * triggered.  A (track, first byte) key names a slice.  Bytes prefetched
 * and never listened = bytes of prefetch fetches whose slice no player
 * request asked for during the run.  Listened bytes of full plays covered
 * by prefetch = bytes of their slices that were HITs and whose slice the
 * origin log shows a prefetch fetch of.
 */
#ifndef SKIP_REPLAY_REPORT_H
#define SKIP_REPLAY_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "../core/dataset.h"

#define SK_RR_VALUE   24          /* longest arm/decision value kept */
#define SK_RR_ARMS    8           /* distinct origin-log arms kept */

typedef struct {
    uint32_t  play;               /* index in sk_player_run.plays */
    uint32_t  slice;              /* slice index in its track */
    int64_t   start;              /* first byte asked */
    int64_t   bytes;              /* body bytes received */
    float     ttfb_ms;            /* request sent -> first response byte */
    int16_t   status;             /* HTTP status; 0: no answer */
    uint8_t   hit;                /* X-Cache-Status: HIT */
    uint8_t   bad_range;          /* a 206 not for the range asked */
} sk_slice_rec;

typedef struct {
    char      track[SK_ID_LEN + 1];
    uint8_t   full;               /* listened to the end (a Play) */
    char      arm[SK_RR_VALUE];   /* of its first slice; "" when absent */
    char      decision[SK_RR_VALUE];
} sk_play_rec;

typedef struct {
    char      arm[SK_RR_VALUE];
    double    bytes, listener_bytes, prefetch_bytes, unlistened_bytes;
    long      fetches, prefetch_fetches, unlistened_fetches;
} sk_origin_by;

typedef struct {
    char      track[SK_ID_LEN + 1];
    int64_t   start;
} sk_slice_key;

typedef struct {
    const char   *path;
    long          lines, bad_lines, first_bad_line;
    sk_origin_by  all;
    sk_origin_by  arm[SK_RR_ARMS];
    int           n_arms;
    sk_slice_key *prefetched;     /* sorted, unique */
    size_t        n_prefetched;
} sk_origin_acct;

typedef struct {
    sk_play_rec    *plays;
    size_t          n_plays;
    sk_slice_rec   *slices;
    size_t          n_slices;
    int64_t         slice_bytes;
    double          kbps, time_scale;
    double          seconds;
    int             has_origin;
    sk_origin_acct  origin;
} sk_player_run;

/*
 * Read the origin log from byte offset `from` (its size when the run
 * started: what was served before does not count) and account it against
 * run's slices (run->origin,
 * run->has_origin).  Unparseable lines are counted, not fatal.  0, or -1
 * with err (the file cannot be read, out of memory).
 */
int sk_origin_account(sk_player_run *run, const char *path, long from,
    char *err, size_t errlen);

void sk_origin_free(sk_origin_acct *o);

/* The report: a text table, or one JSON object (the "player" member of
 * skipctl replay --json). */
void sk_player_report(FILE *out, const sk_player_run *run, int json);

#endif
