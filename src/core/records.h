/*
 * The user and track records: what the feature store keeps per user and per
 * track, what the module fetches from Redis per request, and what the
 * trainer builds from history.  One struct each, one field list each, one
 * encoder and one decoder, shared by skipctl and the nginx module so that a
 * record means the same thing everywhere.
 *
 * In Redis a record is a hash whose fields are named by sk_user_fields /
 * sk_track_fields (human-readable values, see docs/feature-store.md).  The
 * module asks for exactly these fields with HMGET, in this order.
 */
#ifndef SKIP_RECORDS_H
#define SKIP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

enum {
    SK_STORAGE_SLOW = 0,
    SK_STORAGE_MEDIUM,
    SK_STORAGE_FAST
};

typedef struct {
    uint64_t fav;          /* favourite genres, bit i = sk_genre_name(i) */
    int      premium;      /* 0 or 1 */
    double   plays;        /* labelled history: tracks listened in full */
    double   skips;        /* labelled history: tracks skipped */
    double   fav_plays;    /* the same two, restricted to tracks whose */
    double   fav_skips;    /* artist genres meet the user's favourites */
} sk_user_rec;

typedef struct {
    uint64_t genres;       /* the artist's genres among the 50 user genres */
    int      n_genres;     /* all genres of the artist (any name) */
    double   plays;        /* labelled history of the track */
    double   skips;
    double   popularity;   /* 0..100 */
    double   duration_ms;
    int      explicit_;    /* 0 or 1 */
    int      year;         /* release year, 0 when unknown */
    double   danceability;
    double   energy;
    int      key;          /* 0..11, -1 unknown */
    int      mode;         /* 0, 1, or -1 when null (80 % of tracks) */
    double   loudness;
    double   speechiness;
    double   acousticness;
    double   instrumentalness;
    double   liveness;
    double   valence;
    double   tempo;
    int      time_signature;  /* -1 unknown */
    int      storage;      /* SK_STORAGE_* */
    double   daily_cost;
    double   fan_plays;    /* labelled history restricted to listeners */
    double   fan_skips;    /* whose favourites meet the track's genres */
} sk_track_rec;

/*
 * Cache admission inputs (admit_sketch.h, docs/admission.md): what the
 * frequency sketch says about the object (one track, or one slice of it)
 * before this request, where the object sits in the track, and this
 * request's P(play) from the skip model.
 */
typedef struct {
    double   count_short;  /* decayed request count, half-life 1 h */
    double   count_long;   /* decayed request count, half-life 1 day */
    double   since_s;      /* seconds since its previous request, -1 none */
    int      slice;        /* slice index, 0 = the first (whole tracks: 0) */
    double   slice_bytes;  /* bytes per slice, 0 = whole tracks */
    double   bitrate_kbps; /* track bytes = duration x bitrate / 8 */
    double   p_play;       /* the skip model's P(play), NaN unknown */
} sk_admit_in;

/* Request-time context: what the module knows besides the two records. */
typedef struct {
    int      hour;         /* local hour of the request 0..23, -1 unknown */
    int      position;     /* plays before this one in the listening
                              session (0 = first), -1 unknown: the player
                              knows it and may send it with the request */
    const sk_admit_in *admit;  /* admission models only; NULL otherwise
                              (the admission features are then unknown) */
} sk_context;

/* Longest session position a feature distinguishes; larger values count as
 * this (a guard against absurd client input, far above real sessions). */
#define SK_POSITION_MAX  100

#define SK_USER_NFIELDS   6
#define SK_TRACK_NFIELDS  24

extern const char *const sk_user_fields[SK_USER_NFIELDS];
extern const char *const sk_track_fields[SK_TRACK_NFIELDS];

/* Longest value the encoder writes for any field (genre lists included). */
#define SK_REC_VALMAX 1024

/* Decoder results. */
#define SK_REC_OK         0
#define SK_REC_MISSING   -1   /* no field at all: the record does not exist */
#define SK_REC_MALFORMED -2   /* a field is absent or does not parse */

/*
 * Decode HMGET-style values: vals[i]/lens[i] is field i of the list above,
 * vals[i] == NULL when Redis returned nil.  On SK_REC_MALFORMED, err names
 * the field and the offending value.
 */
int sk_user_rec_decode(sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);
int sk_track_rec_decode(sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);

/*
 * Encode to strings, vals[i] for field i, each SK_REC_VALMAX bytes.  Doubles
 * are written in the shortest form that reads back to the same bits, so a
 * record that goes through Redis scores exactly as the one that did not.
 */
void sk_user_rec_encode(const sk_user_rec *u, char vals[][SK_REC_VALMAX]);
void sk_track_rec_encode(const sk_track_rec *t, char vals[][SK_REC_VALMAX]);

/*
 * The stored form (format 2, records_stored.c; docs/feature-store.md,
 * "Record format").  What a request needs of a record is fetched as five
 * hash fields: "b", the static part packed in binary (little-endian IEEE
 * doubles and the genre mask: copied, never parsed, so exact), and the
 * four history counters as decimal text, which the events script updates
 * in place.  The sixth, "fav" / "genres", is the genre list as text for
 * the events script (it decides which counters an event touches) and for
 * people; the module reads the mask from "b".  skipctl features get/set
 * show and take the fields of sk_user_fields / sk_track_fields as before.
 */
#define SK_REC_FORMAT      2
#define SK_REC_NFETCH      5     /* fields the module fetches */
#define SK_USER_NSTORED    6     /* fields a record has in Redis */
#define SK_TRACK_NSTORED   6

extern const char *const sk_user_stored[SK_USER_NSTORED];
extern const char *const sk_track_stored[SK_TRACK_NSTORED];

/* Record -> the values of sk_*_stored (binary: use lens, not strlen). */
void sk_user_rec_pack(const sk_user_rec *u, char vals[][SK_REC_VALMAX],
    size_t *lens);
void sk_track_rec_pack(const sk_track_rec *t, char vals[][SK_REC_VALMAX],
    size_t *lens);

/*
 * The module's fetch, the first SK_REC_NFETCH fields of sk_*_stored, ->
 * record, with the checks and results of sk_*_rec_decode (the same
 * records are accepted and refused either way).
 */
int sk_user_rec_unpack(sk_user_rec *u, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);
int sk_track_rec_unpack(sk_track_rec *t, const char *const *vals,
    const size_t *lens, char *err, size_t errlen);

/*
 * All SK_*_NSTORED stored values -> the readable fields of sk_*_fields
 * (out[i], present[i] = 0 where the stored record has nothing for it),
 * for skipctl to show and to change one field.  A "b" that does not
 * unpack, or whose genres disagree with the text list, is SK_REC_MALFORMED
 * (err says why); the readable fields are then those it could read.
 */
int sk_user_rec_stored_fields(const char *const *vals, const size_t *lens,
    char out[][SK_REC_VALMAX], int *present, char *err, size_t errlen);
int sk_track_rec_stored_fields(const char *const *vals, const size_t *lens,
    char out[][SK_REC_VALMAX], int *present, char *err, size_t errlen);

/*
 * Text from outside (a Redis value or error reply, a request-controlled
 * string) made safe to log: at most size - 1 bytes of src[0..len) into dst,
 * NUL-terminated, each control byte, DEL, byte >= 0x80 and double quote
 * replaced by '?', so that it can neither forge log lines nor end a quoted
 * value early.  Returns the length written.  sk_log_scrub does the same in
 * place to a whole message, quotes excepted (the message's own).
 */
size_t sk_log_safe(char *dst, size_t size, const char *src, size_t len);
void sk_log_scrub(char *s, size_t len);

/* "slow"/"medium"/"fast" in any case -> SK_STORAGE_*, or -1. */
int sk_storage_parse(const char *s, size_t len);
const char *sk_storage_name(int storage);

#endif
