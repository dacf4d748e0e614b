/*
 * Reading Pozytywka datasets (see ../shared/docs/data-format.md).
 *
 * Two layers:
 *
 * 1. sk_reader: ONE streaming JSONL reader for all the files of a dataset.
 *    It reads one line at a time (memory is a few buffers, never the file)
 *    and returns typed rows.  It accepts the v2 object rows, the v1
 *    positional array rows and the variants of data-format.md: event names
 *    in any case and "advertisment"; "id_artist" for "artist_id"; tracks
 *    without mode/time_signature; every timestamp form of timeparse.h;
 *    "" or null track_id for ads; storage classes in any case.  Unknown
 *    object keys are ignored.
 *
 *    A row that cannot be used (invalid JSON, a null or wrongly typed key
 *    field, a bad id or value in a key field, a line longer than max_line)
 *    is skipped and counted per reason; the first few are kept (and, with
 *    opts.log, printed) as "file:line: reason".  With opts.strict the first
 *    such row is fatal: sk_read_next returns -1.
 *
 *    A null, absent or wrongly typed NON-key field does not drop the row:
 *    the value becomes "missing" (SK_MISSING for ints and 0/1 flags, NAN for
 *    doubles, "" for strings, no genres).  Null/absent is normal data (mode
 *    is null in 80 % of v2 tracks, v1 injects nulls); a wrong type (e.g.
 *    "popularity":"high") also counts the row in stats.defaulted.  Strict
 *    mode rejects neither.
 *
 *    Key fields:  artists: id.  tracks: id, artist_id.  users: user_id.
 *    sessions: timestamp, user_id, event_type, session_id, and track_id for
 *    Play/Skip/Like (Advertisement/BuyPremium take "", null or an id).
 *    track_storage: track_id, storage_class.  truth: every field.
 *
 *    Sessions lines of the common compact v2 shape are parsed by a
 *    hand-written fast path; anything unusual falls back to cJSON, with
 *    identical results (the fuzz target checks both agree).
 *
 * 2. sk_dataset_load: the small tables (artists, tracks, users, storage) in
 *    memory with hash indexes, for the trainer and the feature loader.
 *    Sessions are not loaded: stream them with an sk_reader.
 *
 * Strings in rows (names, genres) point into the reader and stay valid until
 * the next sk_read_next or sk_reader_close.  Ids are copied into the row.
 */
#ifndef SKIP_DATASET_H
#define SKIP_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SK_ID_LEN      22          /* track and artist ids: [A-Za-z0-9]{22} */
#define SK_MISSING     (-1)        /* a missing int field (null / absent) */
#define SK_MAX_LINE    (1 << 20)   /* default longest accepted line, bytes */
#define SK_MAX_MSGS    8           /* default "file:line: reason" kept */
#define SK_MAX_GENRES  64          /* genres kept per artist row */
#define SK_MAX_FIELDS  19          /* fields of a row (tracks have most) */

typedef enum {
    SK_FILE_ARTISTS = 0,
    SK_FILE_TRACKS,
    SK_FILE_USERS,
    SK_FILE_SESSIONS,
    SK_FILE_STORAGE,
    SK_FILE_TRUTH,                 /* truth.jsonl written by skipctl gen */
    SK_N_FILES
} sk_file_kind;

typedef enum {
    SK_EV_PLAY = 0,
    SK_EV_SKIP,
    SK_EV_LIKE,
    SK_EV_ADVERTISEMENT,
    SK_EV_BUYPREMIUM,
    SK_N_EVENTS
} sk_event_type;

typedef enum {
    SK_STORE_SLOW = 0,
    SK_STORE_MEDIUM,
    SK_STORE_FAST,
    SK_N_STORE
} sk_storage_class;

/* Why a row was skipped. */
typedef enum {
    SK_SKIP_BAD_JSON = 0,          /* not valid JSON */
    SK_SKIP_BAD_SHAPE,             /* not an object/array, or too few items */
    SK_SKIP_NULL_KEY,              /* a key field is null or absent */
    SK_SKIP_BAD_TYPE,              /* a key field has the wrong JSON type */
    SK_SKIP_BAD_VALUE,             /* bad id, timestamp, event name, class */
    SK_SKIP_TOO_LONG,              /* line longer than max_line */
    SK_N_SKIP
} sk_skip_reason;

typedef struct {
    char        id[SK_ID_LEN + 1];
    const char *name;
    int         n_genres;          /* all genres of the row (<= 64 kept) */
    const char *genres[SK_MAX_GENRES];
    uint64_t    genre_mask;        /* bits of the 50 user genres (genres.h) */
} sk_artist_row;

typedef struct {
    char        id[SK_ID_LEN + 1];
    char        artist_id[SK_ID_LEN + 1];
    const char *name;
    int         popularity;        /* 0..100, or SK_MISSING */
    int64_t     duration_ms;       /* or SK_MISSING */
    int         explicit_;         /* 0/1, or SK_MISSING */
    const char *release_date;      /* as written: "YYYY" or "YYYY-MM-DD" */
    int         release_year;      /* or SK_MISSING */
    double      danceability, energy;           /* NAN when missing */
    int         key;               /* 0..11, or SK_MISSING */
    int         mode;              /* 0/1, or SK_MISSING (80 % in v2) */
    double      loudness, speechiness, acousticness, instrumentalness,
                liveness, valence, tempo;       /* NAN when missing */
    int         time_signature;    /* or SK_MISSING */
} sk_track_row;

typedef struct {
    int64_t     user_id;
    const char *name, *city, *street;
    int         n_favourite;       /* favourite_genres items (all) */
    uint64_t    favourite_mask;    /* bits of the known user genres */
    int         premium;           /* 0/1, or SK_MISSING */
} sk_user_row;

typedef struct {
    int64_t        ts_ms;          /* UTC milliseconds since the epoch */
    int            tz_min;         /* offset written, minutes east of UTC */
    int            has_tz;         /* 0: no offset written, taken as UTC */
    int64_t        user_id;
    char           track_id[SK_ID_LEN + 1];   /* "" for most ads */
    sk_event_type  type;
    int64_t        session_id;
} sk_event_row;

typedef struct {
    char              track_id[SK_ID_LEN + 1];
    sk_storage_class  storage_class;
    double            daily_cost;  /* NAN when missing */
} sk_storage_row;

typedef struct {
    int64_t     session_id;
    char        track_id[SK_ID_LEN + 1];
    int64_t     ts_ms;
    int         tz_min;
    double      p_skip;
} sk_truth_row;

typedef struct {
    sk_file_kind  kind;
    long          line;            /* 1-based line number in the file */
    union {
        sk_artist_row   artist;
        sk_track_row    track;
        sk_user_row     user;
        sk_event_row    event;
        sk_storage_row  storage;
        sk_truth_row    truth;
    };
} sk_row;

typedef struct {
    int       strict;              /* any skipped row is fatal */
    FILE     *log;                 /* print the first messages here (NULL: don't) */
    int       max_messages;        /* 0: SK_MAX_MSGS */
    size_t    max_line;            /* 0: SK_MAX_LINE */
    int       no_fast_path;        /* 1: cJSON for every line (tests, fuzz) */
    unsigned  optional_files;      /* sk_dataset_load: bits (1 << kind) that
                                      may be absent (then empty) */
} sk_read_opts;

typedef struct {
    long      lines;               /* lines read, blank ones included */
    long      rows;                /* rows returned */
    long      skipped[SK_N_SKIP];
    long      skipped_total;
    long      defaulted;           /* rows with a missing non-key field */
    long      bad_fields[SK_MAX_FIELDS];   /* bad values per field (by
                                      position, sk_field_name), taken as
                                      missing; also printed to opts.log as
                                      "file:line: field "F": ..." */
    long      fast;                /* sessions rows taken by the fast path */
    uint64_t  bytes;
} sk_read_stats;

typedef struct sk_reader sk_reader;

/*
 * Open path for reading rows of kind.  On failure returns NULL and writes
 * "PATH: reason" into err (errlen bytes).  opts may be NULL (defaults).
 */
sk_reader *sk_reader_open(const char *path, sk_file_kind kind,
    const sk_read_opts *opts, char *err, size_t errlen);

/* The same on DIR/<sk_file_name(kind)>. */
sk_reader *sk_reader_open_dir(const char *dir, sk_file_kind kind,
    const sk_read_opts *opts, char *err, size_t errlen);

/* Read from memory (copied); name is used in messages.  Never fails
 * except on out of memory (NULL). */
sk_reader *sk_reader_open_mem(const void *buf, size_t len, const char *name,
    sk_file_kind kind, const sk_read_opts *opts);

/*
 * Next row into *row: 1 = a row, 0 = end of file, -1 = error (I/O error or,
 * in strict mode, a bad row); sk_reader_error() then says what, naming the
 * file and line.
 */
int sk_read_next(sk_reader *r, sk_row *row);

const char *sk_reader_error(const sk_reader *r);
const sk_read_stats *sk_reader_stats(const sk_reader *r);
const char *sk_reader_path(const sk_reader *r);

/* The first messages "file:line: reason" (index 0..n-1). */
int sk_reader_n_messages(const sk_reader *r);
const char *sk_reader_message(const sk_reader *r, int i);

/* Name of field i of a row of kind (v2 spelling), or NULL. */
const char *sk_field_name(sk_file_kind kind, int i);

/* One line "FILE: N rows, M skipped (reason: n, ...), D defaulted". */
void sk_reader_summary(const sk_reader *r, FILE *out);

void sk_reader_close(sk_reader *r);

/* "artists.jsonl", ...; "Play", ...; "invalid JSON", ...; "Slow", ... */
const char *sk_file_name(sk_file_kind kind);
const char *sk_event_name(sk_event_type t);
const char *sk_skip_reason_name(sk_skip_reason why);
const char *sk_ds_storage_name(sk_storage_class c);

/* Event name in any case, "advertisment" too; -1 if unknown. */
int sk_event_parse(const char *s, size_t len);
/* Storage class in any case; -1 if unknown. */
int sk_ds_storage_parse(const char *s, size_t len);
/* 1 if s[0..len) is a valid 22-char id. */
int sk_ds_id_valid(const char *s, size_t len);


/* ---- in-memory tables ---------------------------------------------- */

#define SK_NONE  UINT32_MAX        /* "no index" */

typedef struct {
    char      id[SK_ID_LEN + 1];
    uint8_t   n_genres;            /* all genres (capped at 255) */
    uint64_t  genre_mask;          /* user-genre bits */
} sk_artist;

typedef struct {
    char      id[SK_ID_LEN + 1];
    char      artist_id[SK_ID_LEN + 1];
    uint32_t  artist;              /* index in ds->artists, or SK_NONE */
    uint64_t  genre_mask;          /* the artist's user-genre bits (0 if none) */
    int16_t   popularity;          /* SK_MISSING when missing */
    int8_t    explicit_, key, mode, time_signature;   /* SK_MISSING ... */
    int16_t   release_year;
    int64_t   duration_ms;
    float     danceability, energy, loudness, speechiness, acousticness,
              instrumentalness, liveness, valence, tempo;   /* NAN ... */
    int8_t    storage_class;       /* sk_storage_class, or SK_MISSING */
    float     daily_cost;          /* NAN when unknown */
} sk_track;

typedef struct {
    int64_t   user_id;
    uint64_t  favourite_mask;
    int8_t    premium;             /* 0/1, or SK_MISSING */
} sk_user;

/* Open-addressing index: id -> position in its table. */
typedef struct {
    uint32_t *slots;               /* entry index + 1; 0 = empty */
    size_t    mask;                /* capacity - 1 (power of two) */
} sk_index;

typedef struct {
    sk_artist      *artists;
    size_t          n_artists;
    sk_track       *tracks;
    size_t          n_tracks;
    sk_user        *users;
    size_t          n_users;
    sk_index        artist_ix, track_ix, user_ix;
    long            n_storage;     /* storage rows matched to a track */
    long            duplicates;    /* rows whose id was seen before (first kept) */
    sk_read_stats   stats[SK_N_FILES];
    char            error[512];    /* why sk_dataset_load failed */
} sk_dataset;

/*
 * Load DIR/artists.jsonl, tracks.jsonl, users.jsonl and track_storage.jsonl
 * (tracks get their artist's genre mask and their storage class).  Returns 0,
 * or -1 with ds->error set ("DIR/tracks.jsonl: No such file or directory",
 * or a strict-mode "file:line: reason").  opts may be NULL.  Free with
 * sk_dataset_free even after a failure.
 */
int sk_dataset_load(const char *dir, sk_dataset *ds, const sk_read_opts *opts);
void sk_dataset_free(sk_dataset *ds);

/* Index of an id in its table, or -1. */
long sk_dataset_find_track(const sk_dataset *ds, const char *id, size_t len);
long sk_dataset_find_artist(const sk_dataset *ds, const char *id, size_t len);
long sk_dataset_find_user(const sk_dataset *ds, int64_t user_id);

#endif
