/*
 * skipctl replay --player: what a streaming player asks for, computed
 * apart from the HTTP loop (src/cmd_replay.c) so that unit tests pin it.
 *
 * A track of duration D ms at B kbps is round(D x B / 8) bytes (constant
 * bitrate, no container, as skipctl simulate sizes objects).  The player
 * asks for it in slices of S bytes aligned to S (Range: bytes=kS-E, E =
 * min(kS + S - 1, size - 1)), slice k when the listener has listened up
 * to its first byte, i.e. after kS / size x D ms of listening (slice 0 at
 * once), and stops at the skip point: slice k > 0 is requested only when
 * its first byte is listened before the listen ends (strictly before, so a
 * skip exactly on a slice boundary does not fetch the next slice).
 *
 * CMCD (CTA-5004) in header mode: keys in alphabetical order, key=value
 * pairs separated by ",", string values in double quotes with '"' and '\'
 * escaped by '\' and only printable ASCII (RFC 8941 sf-string).  The player
 * sends CMCD-Request: nor="<next object>" (next object request: the path
 * of the next track relative to the current request, percent-encoded) and
 * CMCD-Session: sid="<session id>" (at most 64 characters).
 */
#ifndef SKIP_REPLAY_PLAYER_H
#define SKIP_REPLAY_PLAYER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t  start, end;        /* inclusive byte range */
    double   at_ms;             /* listening time at which it is asked */
} sk_slice_req;

/* Bytes of a track: round(duration_ms x kbps / 8), at least 1. */
int64_t sk_track_bytes(int64_t duration_ms, double kbps);

/* "1m", "512k", "1048576" (k = 1024, m = 1024 x 1024): bytes, or -1. */
int64_t sk_parse_size(const char *s);

/* Slices of a track of `size` bytes (> 0). */
int64_t sk_slice_count(int64_t size, int64_t slice);

/*
 * The requests of one listen of listened_ms (clamped to [0, duration])
 * of a track of size bytes and duration_ms: fills out[0..] (at most max)
 * and returns how many the listen asks for (may exceed max: then only max
 * are filled).  Always at least 1 (slice 0).
 */
size_t sk_slice_schedule(int64_t size, int64_t slice, int64_t duration_ms,
    double listened_ms, sk_slice_req *out, size_t max);

/*
 * CMCD-Request value naming the next object: nor="<rel>", rel = next_path
 * relative to cur_path (RFC 3986 reference: the last segment when both are
 * in the same directory, "../" otherwise), percent-encoded outside
 * unreserved characters and '/'.  0, or -1 when it does not fit.
 */
int sk_cmcd_request(char *buf, size_t len, const char *cur_path,
    const char *next_path);

/* CMCD-Session value sid="<sid>".  -1 when sid is empty, longer than 64
 * characters, not printable ASCII, or does not fit. */
int sk_cmcd_session(char *buf, size_t len, const char *sid);

/*
 * "bytes S-E/T" (T may be "*"): 0 with *start, *end, *total (-1 for "*"),
 * or -1 when malformed.
 */
int sk_content_range_parse(const char *v, int64_t *start, int64_t *end,
    int64_t *total);

#endif
