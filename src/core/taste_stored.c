/* The listener's taste in Redis (see taste_stored.h). */
#include <stdio.h>
#include <string.h>

#include "records.h"
#include "taste_stored.h"

size_t
sk_taste_field(int slot, char name[SK_TASTE_NAMEMAX])
{
    int n = slot < SK_N_GENRES
            ? snprintf(name, SK_TASTE_NAMEMAX, "g%d", slot)
            : snprintf(name, SK_TASTE_NAMEMAX, "h%02d", slot - SK_N_GENRES);

    return (size_t) n;
}

size_t
sk_taste_value(uint32_t plays, uint32_t skips, char val[SK_TASTE_VALMAX])
{
    return (size_t) snprintf(val, SK_TASTE_VALMAX, "%lu:%lu",
                             (unsigned long) plays, (unsigned long) skips);
}

/* Decimal digits -> count; -1 when empty, not digits, or > 2^32 - 1. */
static long long
count(const char *s, size_t len)
{
    long long v = 0;
    size_t    i;

    if (len == 0 || len > 10) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v <= 0xffffffffLL ? v : -1;
}

/* "g<i>" / "h<hh>" -> slot, or -1. */
static int
slot_of(const char *f, size_t len)
{
    long long v;

    if (len < 2 || (f[0] != 'g' && f[0] != 'h')) {
        return -1;
    }
    /* one spelling per slot: "g7", "h07", never "g07" or "h7" */
    if ((f[0] == 'g' && len > 2 && f[1] == '0') || (f[0] == 'h' && len != 3)) {
        return -1;
    }
    v = count(f + 1, len - 1);
    if (f[0] == 'g') {
        return v >= 0 && v < SK_N_GENRES ? (int) v : -1;
    }
    return v >= 0 && v < SK_HOURS ? SK_N_GENRES + (int) v : -1;
}

size_t
sk_taste_encode(const uint32_t *counts, char *buf, size_t size)
{
    char    name[SK_TASTE_NAMEMAX], val[SK_TASTE_VALMAX];
    size_t  off = 0;
    int     i, n;

    buf[0] = '\0';
    for (i = 0; i < SK_TASTE_NFIELDS; i++) {
        if (counts[2 * i] == 0 && counts[2 * i + 1] == 0) {
            continue;       /* only what has history */
        }
        (void) sk_taste_field(i, name);
        (void) sk_taste_value(counts[2 * i], counts[2 * i + 1], val);
        n = snprintf(buf + off, size - off, "%s%s=%s", off ? "," : "", name,
                     val);
        if (n < 0 || (size_t) n >= size - off) {
            buf[off] = '\0';
            return off;     /* cannot happen with SK_TASTE_TEXTMAX */
        }
        off += (size_t) n;
    }
    return off;
}

/* One entry "name=p:s" -> slot and counts; -1 when it does not parse. */
static int
entry(const char *e, size_t len, long long *p, long long *sk)
{
    const char *eq = memchr(e, '=', len), *colon;
    size_t      vlen;

    if (eq == NULL) {
        return -1;
    }
    vlen = len - (size_t) (eq + 1 - e);
    colon = memchr(eq + 1, ':', vlen);
    if (colon == NULL) {
        return -1;
    }
    *p = count(eq + 1, (size_t) (colon - eq - 1));
    *sk = count(colon + 1, (size_t) (e + len - colon - 1));
    if (*p < 0 || *sk < 0) {
        return -1;
    }
    return slot_of(e, (size_t) (eq - e));
}

int
sk_taste_decode(sk_taste *taste, const char *s, size_t len,
    size_t *nentries, char *err, size_t errlen)
{
    char        es[48];
    size_t      n = 0;
    int         slot;
    long long   p, sk;
    const char *e, *end, *comma;
    unsigned char seen[SK_TASTE_NFIELDS];

    memset(taste, 0, sizeof(*taste));
    memset(seen, 0, sizeof(seen));
    taste->artist[0] = -1;      /* not stored: unknown (taste_stored.h) */
    *nentries = 0;
    if (s == NULL || len == 0) {
        return SK_REC_OK;
    }
    for (e = s, end = s + len; e <= end; e = comma + 1) {
        comma = memchr(e, ',', (size_t) (end - e));
        if (comma == NULL) {
            comma = end;
        }
        slot = entry(e, (size_t) (comma - e), &p, &sk);
        if (slot < 0 || seen[slot]) {
            (void) sk_log_safe(es, sizeof(es), e, (size_t) (comma - e));
            snprintf(err, errlen, "taste entry %zu \"%s\": %s", n + 1, es,
                     slot < 0 ? "not g0..g49 or h00..h23 = plays:skips"
                              : "repeated");
            memset(taste, 0, sizeof(*taste));
            *nentries = n;
            return SK_REC_MALFORMED;
        }
        seen[slot] = 1;
        if (slot < SK_N_GENRES) {
            taste->genre[slot][0] = (float) p;
            taste->genre[slot][1] = (float) sk;
        } else {
            taste->hour[slot - SK_N_GENRES][0] = (float) p;
            taste->hour[slot - SK_N_GENRES][1] = (float) sk;
        }
        n++;
    }
    *nentries = n;
    return SK_REC_OK;
}

int
sk_taste_usable(int rc, size_t nfields, double user_plays, double user_skips)
{
    return rc == SK_REC_OK
           && (nfields > 0 || !(user_plays > 0 || user_skips > 0));
}
