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

int
sk_taste_decode(sk_taste *taste, const char *const *names,
    const size_t *nlens, const char *const *vals, const size_t *vlens,
    size_t n, char *err, size_t errlen)
{
    char       fs[16], vs[32];
    size_t     i;
    int        slot;
    long long  p, s;
    const char *colon;

    memset(taste, 0, sizeof(*taste));
    taste->artist[0] = -1;      /* not stored: unknown (taste_stored.h) */
    for (i = 0; i < n; i++) {
        slot = slot_of(names[i], nlens[i]);
        colon = vals[i] ? memchr(vals[i], ':', vlens[i]) : NULL;
        p = s = -1;
        if (colon != NULL) {
            p = count(vals[i], (size_t) (colon - vals[i]));
            s = count(colon + 1, vlens[i] - (size_t) (colon - vals[i]) - 1);
        }
        if (slot < 0 || p < 0 || s < 0) {
            (void) sk_log_safe(fs, sizeof(fs), names[i], nlens[i]);
            (void) sk_log_safe(vs, sizeof(vs), vals[i] ? vals[i] : "",
                               vals[i] ? vlens[i] : 0);
            if (slot < 0) {
                snprintf(err, errlen, "taste field \"%s\" (value \"%s\"): "
                         "not g0..g%d or h00..h23", fs, vs, SK_N_GENRES - 1);
            } else {
                snprintf(err, errlen, "taste field \"%s\": value \"%s\" "
                         "is not \"plays:skips\"", fs, vs);
            }
            memset(taste, 0, sizeof(*taste));
            return SK_REC_MALFORMED;
        }
        if (slot < SK_N_GENRES) {
            taste->genre[slot][0] = (float) p;
            taste->genre[slot][1] = (float) s;
        } else {
            taste->hour[slot - SK_N_GENRES][0] = (float) p;
            taste->hour[slot - SK_N_GENRES][1] = (float) s;
        }
    }
    return SK_REC_OK;
}

int
sk_taste_usable(int rc, size_t nfields, double user_plays, double user_skips)
{
    return rc == SK_REC_OK
           && (nfields > 0 || !(user_plays > 0 || user_skips > 0));
}
