/*
 * Buffered output for the generator: large write()s, JSON string escaping
 * and number formatting without stdio or cJSON (gen writes ~800 MB at
 * --scale 1; printf alone would eat the time budget).
 *
 * Files are written as NAME.tmp and renamed into place by sk_out_close, so a
 * failed run never leaves a truncated file under the final name.
 */
#ifndef SKIP_GEN_OUT_H
#define SKIP_GEN_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int       fd;
    char     *buf;
    size_t    len, cap;
    uint64_t  bytes;             /* written so far (flushed or not) */
    int       failed;            /* a write failed: errno_ says why */
    int       errno_;
    char      path[4096], tmp[4100];
} sk_out;

/* Create DIR/NAME (through NAME.tmp).  -1 with err set on failure. */
int sk_out_open(sk_out *o, const char *dir, const char *name, char *err,
    size_t errlen);

/* Make room for n more bytes in o->buf (flushing); returns the write spot. */
char *sk_out_reserve(sk_out *o, size_t n);

static inline void
sk_out_commit(sk_out *o, char *end)
{
    o->len = (size_t) (end - o->buf);
}

void sk_out_mem(sk_out *o, const void *s, size_t n);
void sk_out_lit(sk_out *o, const char *s);           /* NUL-terminated */
void sk_out_jstr(sk_out *o, const char *s);          /* "quoted", escaped */
void sk_out_int(sk_out *o, int64_t v);
/* A decimal with at most `decimals` digits after the point, trailing
 * zeros stripped but at least one kept ("1.0", "0.512", "-7.25"). */
void sk_out_dec(sk_out *o, double v, int decimals);

/* Writers into a raw buffer (for the hot loops); return the new end. */
char *sk_fmt_int(char *p, int64_t v);
char *sk_fmt_dec(char *p, double v, int decimals);

/* Flush, close, rename NAME.tmp -> NAME (or unlink it when abandon). */
int sk_out_close(sk_out *o, int abandon, char *err, size_t errlen);

#endif
