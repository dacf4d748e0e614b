/* Buffered generator output (see gen_out.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen_out.h"

#define OUT_BUF  (4u << 20)

int
sk_out_open(sk_out *o, const char *dir, const char *name, char *err,
    size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    snprintf(o->path, sizeof(o->path), "%s/%s", dir, name);
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp", o->path);
    o->buf = malloc(OUT_BUF);
    if (o->buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        return -1;
    }
    o->cap = OUT_BUF;
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        snprintf(err, errlen, "%s: %s", o->tmp, strerror(errno));
        free(o->buf);
        o->buf = NULL;
        return -1;
    }
    return 0;
}

static void
flush(sk_out *o)
{
    size_t off = 0;

    while (off < o->len && !o->failed) {
        ssize_t n = write(o->fd, o->buf + off, o->len - off);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            o->failed = 1;
            o->errno_ = errno;
            break;
        }
        off += (size_t) n;
    }
    o->len = 0;
}

char *
sk_out_reserve(sk_out *o, size_t n)
{
    if (o->len + n > o->cap) {
        flush(o);
        if (n > o->cap) {
            /* Never happens for generator rows; stay correct anyway. */
            char *b = realloc(o->buf, n);

            if (b) {
                o->buf = b;
                o->cap = n;
            } else {
                o->failed = 1;
                o->errno_ = ENOMEM;
                o->len = 0;
                return o->buf;
            }
        }
    }
    return o->buf + o->len;
}

void
sk_out_mem(sk_out *o, const void *s, size_t n)
{
    char *p = sk_out_reserve(o, n);

    if (o->failed) {
        return;
    }
    memcpy(p, s, n);
    o->len += n;
    o->bytes += n;
}

void
sk_out_lit(sk_out *o, const char *s)
{
    sk_out_mem(o, s, strlen(s));
}

void
sk_out_jstr(sk_out *o, const char *s)
{
    size_t n = strlen(s);
    char  *p = sk_out_reserve(o, n * 6 + 2), *start = p;

    if (o->failed) {
        return;
    }
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        /* Raw UTF-8 stays raw; only what JSON requires is escaped. */
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char) c;
        } else if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";

            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            p += 6;
        } else {
            *p++ = (char) c;
        }
    }
    *p++ = '"';
    o->len += (size_t) (p - start);
    o->bytes += (size_t) (p - start);
}

char *
sk_fmt_int(char *p, int64_t v)
{
    char     tmp[24];
    int      n = 0;
    uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

    if (v < 0) {
        *p++ = '-';
    }
    do {
        tmp[n++] = (char) ('0' + u % 10);
        u /= 10;
    } while (u);
    while (n) {
        *p++ = tmp[--n];
    }
    return p;
}

char *
sk_fmt_dec(char *p, double v, int decimals)
{
    static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7,
                                    1e8, 1e9 };
    double   scale = pow10[decimals < 0 ? 0 : decimals > 9 ? 9 : decimals];
    int64_t  x = llround(fabs(v) * scale), ip, fp;
    char     frac[10];
    int      n = decimals < 0 ? 0 : decimals > 9 ? 9 : decimals;

    if (v < 0 && x != 0) {
        *p++ = '-';
    }
    ip = x / (int64_t) scale;
    fp = x % (int64_t) scale;
    p = sk_fmt_int(p, ip);
    *p++ = '.';
    for (int i = n - 1; i >= 0; i--) {
        frac[i] = (char) ('0' + fp % 10);
        fp /= 10;
    }
    while (n > 1 && frac[n - 1] == '0') {
        n--;
    }
    if (n == 0) {
        frac[0] = '0';
        n = 1;
    }
    memcpy(p, frac, (size_t) n);
    return p + n;
}

void
sk_out_int(sk_out *o, int64_t v)
{
    char *p = sk_out_reserve(o, 24), *e;

    if (o->failed) {
        return;
    }
    e = sk_fmt_int(p, v);
    o->len += (size_t) (e - p);
    o->bytes += (size_t) (e - p);
}

void
sk_out_dec(sk_out *o, double v, int decimals)
{
    char *p = sk_out_reserve(o, 48), *e;

    if (o->failed) {
        return;
    }
    e = sk_fmt_dec(p, v, decimals);
    o->len += (size_t) (e - p);
    o->bytes += (size_t) (e - p);
}

int
sk_out_close(sk_out *o, int abandon, char *err, size_t errlen)
{
    int rc = 0;

    if (o->fd < 0) {
        return abandon ? 0 : -1;
    }
    if (!abandon) {
        flush(o);
    }
    if (close(o->fd) < 0 && !o->failed) {
        o->failed = 1;
        o->errno_ = errno;
    }
    o->fd = -1;
    free(o->buf);
    o->buf = NULL;
    if (abandon || o->failed) {
        if (!abandon && err) {
            snprintf(err, errlen, "%s: %s", o->tmp, strerror(o->errno_));
        }
        unlink(o->tmp);
        return abandon ? 0 : -1;
    }
    if (rename(o->tmp, o->path) < 0) {
        if (err) {
            snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
        }
        unlink(o->tmp);
        rc = -1;
    }
    return rc;
}
