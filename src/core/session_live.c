/* The live session context: its hash, the player's counts (session_live.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "session_live.h"

const char *const sk_session_fields[SK_SESS_NFETCH] = {
    "p", "s", "l", "r", "e"
};

void
sk_session_unknown(sk_session *out)
{
    out->plays = out->skips = -1;
    out->prev = -1;
    out->resid = 0;
    out->prev_expect = 0;
}

int
sk_session_count(const char *s, size_t len)
{
    size_t i;
    int    v = 0;

    if (s == NULL || len == 0 || len > 9) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
sk_session_prev(const char *s, size_t len)
{
    if (s != NULL && len == 4) {
        if (memcmp(s, "play", 4) == 0) {
            return 1;
        }
        if (memcmp(s, "skip", 4) == 0) {
            return 0;
        }
        if (memcmp(s, "none", 4) == 0) {
            return -1;
        }
    }
    return -2;
}

int
sk_session_counts_ok(int plays, int skips, int prev)
{
    if (plays < 0 || skips < 0 || prev < -1 || prev > 1) {
        return 0;
    }
    return (prev == -1) == (plays + skips == 0);
}

int
sk_session_real(const char *s, size_t len, double *v)
{
    char   buf[SK_SESS_REALMAX + 1], *end;
    size_t i;

    if (s == NULL || len == 0 || len > SK_SESS_REALMAX) {
        return -1;
    }
    if (len == sizeof(SK_SESS_UNKNOWN) - 1
        && memcmp(s, SK_SESS_UNKNOWN, len) == 0)
    {
        *v = NAN;
        return 0;
    }
    /* strtod's syntax without its leniencies: no spaces, no hex, no words
     * (inf, nan): digits, sign, point and exponent only */
    for (i = 0; i < len; i++) {
        if (strchr("0123456789+-.eE", s[i]) == NULL || s[i] == '\0') {
            return -1;
        }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v = strtod(buf, &end);
    return (*end == '\0' && isfinite(*v)) ? 0 : -1;
}

/* Field i's text for a message, control bytes as '?'. */
static void
bad_field(char *err, size_t errlen, int i, const char *s, size_t len)
{
    char   safe[SK_SESS_REALMAX + 4];
    size_t k, n = len < SK_SESS_REALMAX ? len : SK_SESS_REALMAX;

    for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char) s[k];

        safe[k] = (c < 0x20 || c >= 0x7f) ? '?' : (char) c;
    }
    safe[n] = '\0';
    snprintf(err, errlen, "field %s \"%s%s\" does not parse",
             sk_session_fields[i], safe, len > n ? "..." : "");
}

int
sk_session_decode(sk_session *out, const char *const *vals,
    const size_t *lens, char *err, size_t errlen)
{
    int    i, any = 0, v;
    double d;

    sk_session_unknown(out);
    for (i = 0; i < SK_SESS_NFETCH; i++) {
        any |= vals[i] != NULL;
    }
    if (!any) {
        /* a new session, or one whose tracks have no event yet */
        out->plays = out->skips = 0;
        out->prev = -1;
        return SK_REC_OK;
    }
    for (i = 0; i < SK_SESS_NFETCH; i++) {
        if (vals[i] == NULL) {
            snprintf(err, errlen, "field %s is missing",
                     sk_session_fields[i]);
            goto bad;
        }
        switch (i) {
        case 0:
        case 1:
            v = sk_session_count(vals[i], lens[i]);
            if (v < 0) {
                bad_field(err, errlen, i, vals[i], lens[i]);
                goto bad;
            }
            if (i == 0) {
                out->plays = v;
            } else {
                out->skips = v;
            }
            break;
        case 2:
            if (lens[i] != 1 || (vals[i][0] != '0' && vals[i][0] != '1')) {
                bad_field(err, errlen, i, vals[i], lens[i]);
                goto bad;
            }
            out->prev = vals[i][0] - '0';
            break;
        default:
            /* r any real, e a probability; either may be "unknown" */
            if (sk_session_real(vals[i], lens[i], &d) != 0
                || (i == 4 && !isnan(d) && (d < 0 || d > 1)))
            {
                bad_field(err, errlen, i, vals[i], lens[i]);
                goto bad;
            }
            if (i == 3) {
                out->resid = d;
            } else {
                out->prev_expect = d;
            }
        }
    }
    if (out->plays + out->skips == 0) {
        snprintf(err, errlen, "fields p and s are 0 beside a last track");
        goto bad;
    }
    return SK_REC_OK;

bad:
    sk_session_unknown(out);
    return SK_REC_MALFORMED;
}

void
sk_session_merge(sk_session *out, const sk_session *hash, int plays,
    int skips, int prev)
{
    out->plays = plays;
    out->skips = skips;
    out->prev = prev;
    if (plays + skips == 0) {
        out->resid = 0;
        out->prev_expect = 0;
    } else if (hash != NULL && hash->plays >= 0 && hash->skips >= 0
               && hash->plays + hash->skips == plays + skips)
    {
        out->resid = hash->resid + (double) (skips - hash->skips);
        out->prev_expect = hash->prev_expect;
    } else {
        out->resid = NAN;
        out->prev_expect = NAN;
    }
}
