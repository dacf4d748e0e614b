/*
 * The sessions fast path (see dataset_int.h).
 *
 * sessions.jsonl is the one big file (~4.7 M lines at scale 1); building a
 * cJSON tree per line costs ~1 us, most of it malloc.  Nearly every line has
 * the same compact shape, so this matches it literally and gives up (returns
 * 0) at the first surprise: other key order, whitespace, escapes, numbers
 * that are not plain digits, a key field that would be rejected.  Giving up
 * is always safe; accepting must agree with the cJSON path.
 */
#include <string.h>

#include "dataset_int.h"
#include "timeparse.h"

#define LIT(p, end, s)                                                      \
    ((size_t) ((end) - (p)) >= sizeof(s) - 1                               \
     && memcmp((p), (s), sizeof(s) - 1) == 0 && ((p) += sizeof(s) - 1, 1))

/* A JSON string without escapes or control bytes; p is after the quote. */
static const char *
plain_string(const char *p, const char *end, size_t *len)
{
    const char *s = p;

    while (p < end) {
        unsigned char c = (unsigned char) *p;

        if (c == '"') {
            *len = (size_t) (p - s);
            return p + 1;
        }
        if (c == '\\' || c < 0x20) {
            return NULL;
        }
        p++;
    }
    return NULL;
}

/* Plain digits, no sign, no leading zero, at most 15 digits (exact). */
static const char *
plain_uint(const char *p, const char *end, int64_t *v)
{
    const char *s = p;
    int64_t     x = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        x = x * 10 + (*p - '0');
        p++;
        if (p - s > 15) {
            return NULL;
        }
    }
    if (p == s || (*s == '0' && p - s > 1)) {
        return NULL;
    }
    /* A number must end here: no fraction or exponent. */
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
        return NULL;
    }
    *v = x;
    return p;
}

int
sk_fast_event(const char *p, size_t len, sk_event_row *ev)
{
    const char *end = p + len, *ts, *tr, *et;
    size_t      ts_len, tr_len, et_len;
    int         type;

    if (!LIT(p, end, "{\"timestamp\":\"")) {
        return 0;
    }
    ts = p;
    if ((p = plain_string(p, end, &ts_len)) == NULL
        || !LIT(p, end, ",\"user_id\":")
        || (p = plain_uint(p, end, &ev->user_id)) == NULL
        || !LIT(p, end, ",\"track_id\":\""))
    {
        return 0;
    }
    tr = p;
    if ((p = plain_string(p, end, &tr_len)) == NULL
        || !LIT(p, end, ",\"event_type\":\""))
    {
        return 0;
    }
    et = p;
    if ((p = plain_string(p, end, &et_len)) == NULL
        || !LIT(p, end, ",\"session_id\":")
        || (p = plain_uint(p, end, &ev->session_id)) == NULL
        || !LIT(p, end, "}"))
    {
        return 0;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    if (p != end) {
        return 0;
    }

    if (sk_time_parse(ts, ts_len, &ev->ts_ms, &ev->tz_min, &ev->has_tz) != 0
        || (type = sk_event_parse(et, et_len)) < 0)
    {
        return 0;
    }
    ev->type = (sk_event_type) type;
    if (sk_ds_id_valid(tr, tr_len)) {
        sk_id_copy(ev->track_id, tr);
    } else if (tr_len == 0
               && (type == SK_EV_ADVERTISEMENT || type == SK_EV_BUYPREMIUM))
    {
        ev->track_id[0] = '\0';
    } else {
        return 0;
    }
    return 1;
}

/*
 * truth.jsonl's fast path: {"session_id":N,"track_id":"..","timestamp":"..",
 * "p_skip":D} exactly as `skipctl gen` writes it, D plain decimal digits
 * ("0.123456", "1.0").  The cJSON path costs ~1.5 s of a training run at
 * --scale 1.  D is read as an integer over a power of ten: both are exact
 * doubles, so the one division rounds the exact quotient once, as strtod
 * does: the same bits.
 */
int
sk_fast_truth(const char *p, size_t len, sk_truth_row *t)
{
    static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                                    1e15 };
    const char *end = p + len, *tr, *ts;
    size_t      tr_len, ts_len;
    int64_t     mant = 0;
    int         digits = 0, frac = -1;

    if (!LIT(p, end, "{\"session_id\":")
        || (p = plain_uint(p, end, &t->session_id)) == NULL
        || !LIT(p, end, ",\"track_id\":\""))
    {
        return 0;
    }
    tr = p;
    if ((p = plain_string(p, end, &tr_len)) == NULL
        || !LIT(p, end, ",\"timestamp\":\""))
    {
        return 0;
    }
    ts = p;
    if ((p = plain_string(p, end, &ts_len)) == NULL
        || !LIT(p, end, ",\"p_skip\":"))
    {
        return 0;
    }
    if (p >= end || *p < '0' || *p > '9'
        || (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
    {
        return 0;               /* not a JSON number: cJSON decides */
    }
    for (; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            if (++digits > 15) {
                return 0;
            }
            mant = mant * 10 + (*p - '0');
            frac += frac >= 0;
        } else if (*p == '.' && frac < 0) {
            frac = 0;
            if (p + 1 >= end || p[1] < '0' || p[1] > '9') {
                return 0;
            }
        } else {
            break;
        }
    }
    if (!LIT(p, end, "}")) {
        return 0;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    if (p != end || !sk_ds_id_valid(tr, tr_len)
        || sk_time_parse(ts, ts_len, &t->ts_ms, &t->tz_min, NULL) != 0)
    {
        return 0;
    }
    t->p_skip = (double) mant / pow10[frac > 0 ? frac : 0];
    if (!(t->p_skip >= 0 && t->p_skip <= 1)) {
        return 0;
    }
    sk_id_copy(t->track_id, tr);
    return 1;
}
