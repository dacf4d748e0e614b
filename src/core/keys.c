/* Redis key schema and id validation (see keys.h). */
#include <stdio.h>
#include <string.h>

#include "keys.h"

static int
charset_ok(const char *s, size_t len, size_t max)
{
    size_t i;

    if (len == 0 || len > max) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
        {
            return 0;
        }
    }
    return 1;
}

int
sk_id_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_ID_MAX);
}

int
sk_prefix_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_PREFIX_MAX);
}

int
sk_snapshot_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_SNAP_MAX);
}

static size_t
key_fmt(size_t size, int n)
{
    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}

size_t
sk_key_active(char *buf, size_t size, const char *prefix)
{
    return key_fmt(size, snprintf(buf, size, "%s:active", prefix));
}

/*
 * "<prefix>:<snap>:<kind>:<id>" into buf, its length; 0 when it does not
 * fit (as key_fmt).  Without snprintf: the module builds two or three of
 * these per track request, and libc's format parsing was a visible part of
 * a request's cost (bench/serving.sh under perf).
 */
static size_t
key_record(char *buf, size_t size, const char *prefix, const char *snap,
    const char *kind, const char *id, size_t idlen)
{
    size_t lp = strlen(prefix), ls = strlen(snap), lk = strlen(kind);
    size_t n = lp + 1 + ls + 1 + lk + 1 + idlen;
    char  *p = buf;

    if (n >= size) {
        return 0;
    }
    memcpy(p, prefix, lp);
    p += lp;
    *p++ = ':';
    memcpy(p, snap, ls);
    p += ls;
    *p++ = ':';
    memcpy(p, kind, lk);
    p += lk;
    *p++ = ':';
    memcpy(p, id, idlen);
    p[idlen] = '\0';
    return n;
}

size_t
sk_key_user(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_record(buf, size, prefix, snap, "u", id, idlen);
}

size_t
sk_key_track(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_record(buf, size, prefix, snap, "t", id, idlen);
}

size_t
sk_key_taste(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_record(buf, size, prefix, snap, "ut", id, idlen);
}

/* "<prefix>:sess:<id>": live state, no snapshot; built like key_record,
 * as it is once or twice per session request. */
size_t
sk_key_session(char *buf, size_t size, const char *prefix, const char *id,
    size_t idlen)
{
    size_t lp = strlen(prefix);
    size_t n = lp + sizeof(":sess:") - 1 + idlen;

    if (n >= size) {
        return 0;
    }
    memcpy(buf, prefix, lp);
    memcpy(buf + lp, ":sess:", sizeof(":sess:") - 1);
    memcpy(buf + lp + sizeof(":sess:") - 1, id, idlen);
    buf[n] = '\0';
    return n;
}

size_t
sk_key_meta(char *buf, size_t size, const char *prefix, const char *snap)
{
    return key_fmt(size, snprintf(buf, size, "%s:%s:meta", prefix,
                                       snap));
}
