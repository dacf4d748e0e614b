/* Timestamp parsing and the v1 literal (see timeparse.h). */
#include <string.h>

#include "timeparse.h"

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no tables, no libc time zone state. */
int64_t
sk_days_from_civil(int y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
    static const int  dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return dm[m - 1];
}

/* Read exactly n digits at s[*i]; -1 if they are not there. */
static int
digits(const char *s, size_t len, size_t *i, int n)
{
    int  v = 0;

    if (*i + n > len) {
        return -1;
    }
    for (int k = 0; k < n; k++) {
        unsigned char c = (unsigned char) s[*i + k];

        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *i += n;
    return v;
}

static int
expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == c) {
        (*i)++;
        return 1;
    }
    return 0;
}

int
sk_time_parse(const char *s, size_t len, int64_t *ms, int *offset_min,
    int *has_offset)
{
    size_t  i = 0;
    int     y, mo, d, h, mi, sec = 0, frac = 0, off = 0, has = 0;

    if ((y = digits(s, len, &i, 4)) < 1 || !expect(s, len, &i, '-')
        || (mo = digits(s, len, &i, 2)) < 1 || mo > 12
        || !expect(s, len, &i, '-')
        || (d = digits(s, len, &i, 2)) < 1 || d > days_in_month(y, mo))
    {
        return -1;
    }
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) {
        return -1;
    }
    i++;
    if ((h = digits(s, len, &i, 2)) < 0 || h > 23
        || !expect(s, len, &i, ':')
        || (mi = digits(s, len, &i, 2)) < 0 || mi > 59)
    {
        return -1;
    }
    if (expect(s, len, &i, ':')) {
        if ((sec = digits(s, len, &i, 2)) < 0 || sec > 60) {
            return -1;
        }
        if (expect(s, len, &i, '.') || expect(s, len, &i, ',')) {
            int  n = 0;

            /* Milliseconds by truncation; up to 9 digits accepted. */
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                if (n < 3) {
                    frac = frac * 10 + (s[i] - '0');
                }
                n++;
                i++;
            }
            if (n == 0 || n > 9) {
                return -1;
            }
            for (; n < 3; n++) {
                frac *= 10;
            }
        }
    }

    /* The v1 literal has one space before the offset; ISO has none. */
    if (i < len && s[i] == ' ' && i + 1 < len) {
        i++;
    }
    if (i < len) {
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
            has = 1;
        } else if (s[i] == '+' || s[i] == '-') {
            int  sign = s[i] == '-' ? -1 : 1, oh, om = 0, os = 0;

            i++;
            if ((oh = digits(s, len, &i, 2)) < 0 || oh > 18) {
                return -1;
            }
            if (i < len) {
                int colon = expect(s, len, &i, ':');

                if ((om = digits(s, len, &i, 2)) < 0 || om > 59) {
                    return -1;
                }
                if (colon && expect(s, len, &i, ':')) {
                    /* Seconds of offset: v1 writes ":00"; only 0 is real. */
                    if ((os = digits(s, len, &i, 2)) != 0) {
                        return -1;
                    }
                }
            }
            off = sign * (oh * 60 + om);
            has = 1;
        } else {
            return -1;
        }
    }
    if (i != len) {
        return -1;
    }

    *ms = ((sk_days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off) * 60000
          + (int64_t) sec * 1000 + frac;
    if (offset_min) {
        *offset_min = off;
    }
    if (has_offset) {
        *has_offset = has;
    }
    return 0;
}

static char *
put2(char *p, int v)
{
    p[0] = (char) ('0' + v / 10);
    p[1] = (char) ('0' + v % 10);
    return p + 2;
}

size_t
sk_time_format(int64_t ms, int offset_min, char *buf)
{
    int64_t  local = ms + (int64_t) offset_min * 60000;
    int64_t  days = local >= 0 ? local / 86400000
                               : -((-local + 86399999) / 86400000);
    int64_t  rem = local - days * 86400000;
    int      y, m, d, frac = (int) (rem % 1000), sec = (int) (rem / 1000);
    int      aoff = offset_min < 0 ? -offset_min : offset_min;
    char    *p = buf;

    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        y = 0;
    }
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = ' ';
    p = put2(p, sec / 3600);
    *p++ = ':';
    p = put2(p, sec / 60 % 60);
    *p++ = ':';
    p = put2(p, sec % 60);
    *p++ = '.';
    if (frac == 0) {
        *p++ = '0';
    } else {
        char f[3] = { (char) ('0' + frac / 100), (char) ('0' + frac / 10 % 10),
                      (char) ('0' + frac % 10) };
        int  n = 3;

        while (f[n - 1] == '0') {
            n--;
        }
        memcpy(p, f, n);
        p += n;
    }
    *p++ = ' ';
    *p++ = offset_min < 0 ? '-' : '+';
    p = put2(p, aoff / 60 % 100);
    *p++ = ':';
    p = put2(p, aoff % 60);
    *p++ = ':';
    *p++ = '0';
    *p++ = '0';
    *p = '\0';
    return (size_t) (p - buf);
}

int
sk_time_local_hour(int64_t ms, int offset_min)
{
    int64_t  local = ms + (int64_t) offset_min * 60000;
    int64_t  h = (local / 3600000) % 24;

    if (local < 0 && local % 3600000) {
        h = (h + 23) % 24;
    }
    return (int) (h < 0 ? h + 24 : h);
}
