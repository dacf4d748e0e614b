/* What a streaming player asks for (replay_player.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay_player.h"

int64_t
sk_track_bytes(int64_t duration_ms, double kbps)
{
    double  b = (double) duration_ms * kbps / 8.0;

    return b >= 1 ? (int64_t) llround(b) : 1;
}

int64_t
sk_parse_size(const char *s)
{
    char    *end;
    double   v, mul = 1;

    if (s == NULL || !isdigit((unsigned char) *s)) {
        return -1;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s) {
        return -1;
    }
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1024.0 * 1024;
        end++;
    }
    v *= mul;
    if (*end != '\0' || v < 1 || v > 1e15 || v != floor(v)) {
        return -1;
    }
    return (int64_t) v;
}

int64_t
sk_slice_count(int64_t size, int64_t slice)
{
    return size <= 0 ? 0 : (size + slice - 1) / slice;
}

size_t
sk_slice_schedule(int64_t size, int64_t slice, int64_t duration_ms,
    double listened_ms, sk_slice_req *out, size_t max)
{
    int64_t  n = sk_slice_count(size, slice), k;
    size_t   got = 0;

    if (listened_ms > (double) duration_ms) {
        listened_ms = (double) duration_ms;
    }
    if (n < 1) {
        n = 1;
    }
    for (k = 0; k < n; k++) {
        int64_t  s = k * slice;
        /* listening time at which byte s is reached (constant bitrate) */
        double   at = size > 0 ? (double) s / (double) size
                                 * (double) duration_ms : 0;

        /* at < listened_ms, without at's rounding: a skip exactly on a
         * slice boundary does not ask for the next slice */
        if (k > 0 && !((double) s * (double) duration_ms
                       < listened_ms * (double) size))
        {
            break;
        }
        if (got < max) {
            out[got].start = s;
            out[got].end = s + slice - 1 < size - 1 ? s + slice - 1
                                                    : (size > 0 ? size - 1 : 0);
            out[got].at_ms = at;
        }
        got++;
    }
    return got;
}

/* Append a percent-encoded copy of s; -1 when it does not fit. */
static int
put_encoded(char **p, char *lim, const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char  c = (unsigned char) *s;

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
            || c == '/')
        {
            if (*p + 1 >= lim) {
                return -1;
            }
            *(*p)++ = (char) c;
        } else {
            if (*p + 3 >= lim) {
                return -1;
            }
            *(*p)++ = '%';
            *(*p)++ = hex[c >> 4];
            *(*p)++ = hex[c & 15];
        }
    }
    return 0;
}

int
sk_cmcd_request(char *buf, size_t len, const char *cur_path,
    const char *next_path)
{
    const char  *slash = strrchr(cur_path, '/'), *rel;
    size_t       dir, common = 0, i;
    char        *p = buf, *lim = buf + len;

    if (len < 8) {
        return -1;
    }
    /* cur_path's directory is cur_path[0, dir); keep the longest prefix of
     * whole directories it shares with next_path */
    dir = slash ? (size_t) (slash - cur_path) + 1 : 0;
    for (i = 0; i < dir && cur_path[i] == next_path[i]; i++) {
        if (cur_path[i] == '/') {
            common = i + 1;
        }
    }
    memcpy(p, "nor=\"", 5);
    p += 5;
    for (i = common; i < dir; i++) {        /* up one level per directory */
        if (cur_path[i] == '/') {
            if (p + 3 >= lim) {
                return -1;
            }
            memcpy(p, "../", 3);
            p += 3;
        }
    }
    rel = next_path + common;
    if (*rel == '\0' && p == buf + 5) {
        rel = ".";                          /* the directory itself */
    }
    if (put_encoded(&p, lim, rel) != 0 || p + 2 > lim) {
        return -1;
    }
    *p++ = '"';
    *p = '\0';
    return 0;
}

int
sk_cmcd_session(char *buf, size_t len, const char *sid)
{
    size_t  n = strlen(sid), i;
    char   *p = buf, *lim = buf + len;

    if (n == 0 || n > 64 || len < 8) {
        return -1;
    }
    memcpy(p, "sid=\"", 5);
    p += 5;
    for (i = 0; i < n; i++) {
        unsigned char  c = (unsigned char) sid[i];

        if (c < 0x20 || c > 0x7e) {
            return -1;
        }
        if (c == '"' || c == '\\') {
            if (p + 1 >= lim) {
                return -1;
            }
            *p++ = '\\';
        }
        if (p + 1 >= lim) {
            return -1;
        }
        *p++ = (char) c;
    }
    if (p + 2 > lim) {
        return -1;
    }
    *p++ = '"';
    *p = '\0';
    return 0;
}

static int
parse_i64(const char **s, int64_t *v)
{
    char       *end;
    long long   x;

    if (!isdigit((unsigned char) **s)) {
        return -1;
    }
    errno = 0;
    x = strtoll(*s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    *v = x;
    *s = end;
    return 0;
}

int
sk_content_range_parse(const char *v, int64_t *start, int64_t *end,
    int64_t *total)
{
    if (strncasecmp(v, "bytes ", 6) != 0) {
        return -1;
    }
    v += 6;
    while (*v == ' ') {
        v++;
    }
    if (parse_i64(&v, start) != 0 || *v++ != '-' || parse_i64(&v, end) != 0
        || *v++ != '/' || *end < *start)
    {
        return -1;
    }
    if (*v == '*' && v[1] == '\0') {
        *total = -1;
        return 0;
    }
    if (parse_i64(&v, total) != 0 || *v != '\0' || *end >= *total) {
        return -1;
    }
    return 0;
}
