/*
 * Labelled plays: the original project's label rules over sessions.
 *
 * Only Play and Skip events count.  For one (session_id, track_id) a Skip
 * beside a Play means the play was skipped (the Skip is kept); label
 * Play = 1 (listened in full), Skip = 0.  A pair is one labelled play however
 * many events it has.  Events whose user or track is not in the dataset's
 * tables are dropped and counted (the original's inner joins did the same).
 *
 * The request time of a labelled play is its Play's timestamp (the moment
 * the player asks for the track), or the Skip's when no Play was written.
 * Its hour is the local hour as written in the file (the data carry
 * +02:00): sk_time_local_hour(ts_ms, tz_min); the module uses its own local
 * time, so a model sees the same clock offline and online.  Its position is
 * the number of labelled plays of the same session requested before it (0
 * for the first; ties by track), what a player knows when it asks for the
 * track and sends along (skip_position).
 *
 * Memory: one 40-byte row per Play/Skip event while reading, then one per
 * labelled play (~2.6 M at --scale 1: ~100 MB).
 */
#ifndef SKIP_LABELS_H
#define SKIP_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/dataset.h"

enum { SK_ROW_TRAIN = 0, SK_ROW_TEST = 1 };

typedef struct {
    int64_t   session_id;
    int64_t   ts_ms;        /* request time, UTC ms */
    uint32_t  user;         /* index in ds->users */
    uint32_t  track;        /* index in ds->tracks */
    uint32_t  srank;        /* session's rank by start time (sk_split) */
    uint16_t  position;     /* labelled plays before this one in its
                               session, by request time (saturates) */
    int16_t   tz_min;       /* offset written with the timestamp */
    int8_t    label;        /* 1 play, 0 skip */
    int8_t    split;        /* SK_ROW_TRAIN / SK_ROW_TEST */
} sk_labelled;

typedef struct {
    sk_labelled *rows;      /* after sk_labels_finish: sorted by
                               (session_id, track) */
    size_t       n, cap;
    long         events;            /* Play/Skip events seen */
    long         unknown_user;      /* dropped: user not in users.jsonl */
    long         unknown_track;     /* dropped: track not in tracks.jsonl */
    long         skipped_with_play; /* pairs with both a Play and a Skip */
    long         skip_only;         /* pairs with a Skip and no Play */
    int          finished;
} sk_labels;

void sk_labels_init(sk_labels *l);
void sk_labels_free(sk_labels *l);

/* One event row (any type; non Play/Skip are ignored).  -1: out of memory. */
int sk_labels_add(sk_labels *l, const sk_dataset *ds, const sk_event_row *ev);

/* Collapse events into labelled plays, sorted by (session_id, track), and
 * number each session's plays.  -1: out of memory. */
int sk_labels_finish(sk_labels *l);

/*
 * Before sk_labels_finish: forget the events dated after ts_ms (so that a
 * snapshot holds exactly the events up to its as_of, the live journal the
 * rest).  Returns how many were dropped.
 */
size_t sk_labels_drop_after(sk_labels *l, int64_t ts_ms);

/*
 * Stream DIR/sessions.jsonl through the two calls above.  Returns 0, or -1
 * with err ("DIR/sessions.jsonl: ..." or a strict-mode "file:line: reason").
 * stats (may be NULL) receives the reader's counts.
 */
int sk_labels_read(sk_labels *l, const sk_dataset *ds, const char *dir,
    const sk_read_opts *opts, sk_read_stats *stats, char *err, size_t errlen);

/* Index of (session_id, track) in the finished rows, or -1. */
long sk_labels_find(const sk_labels *l, int64_t session_id, uint32_t track);

/* Local hour 0..23 of a labelled play's request time, as written. */
int sk_labelled_hour(const sk_labelled *r);

#endif
