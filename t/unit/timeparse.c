/* Timestamps: every accepted form, the rejected ones, and the v1 literal. */
#include <stdint.h>

#include "tap.h"
#include "core/timeparse.h"

/* 2024-02-08 07:52:40.925 UTC */
#define T0 1707378760925LL

static void
accepts(const char *s, int64_t want, int want_off, int want_has)
{
    int64_t ms = 0;
    int     off = -999, has = -1;
    int     rc = sk_time_parse(s, strlen(s), &ms, &off, &has);

    ok(rc == 0 && ms == want && off == want_off && has == want_has,
       "accepts \"%s\"", s);
    if (rc != 0 || ms != want || off != want_off || has != want_has) {
        diag("rc %d ms %lld (want %lld) off %d has %d", rc, (long long) ms,
             (long long) want, off, has);
    }
}

static void
rejects(const char *s)
{
    int64_t ms;

    ok(sk_time_parse(s, strlen(s), &ms, NULL, NULL) == -1, "rejects \"%s\"",
       s);
}

int
main(void)
{
    char buf[SK_TIME_BUF];

    /* The v1/v2 literal, fraction 1..3 digits. */
    accepts("2024-02-08 09:52:40.925 +02:00:00", T0, 120, 1);
    accepts("2024-02-08 09:52:40.92 +02:00:00", T0 - 5, 120, 1);
    accepts("2024-02-08 09:52:40.9 +02:00:00", T0 - 25, 120, 1);
    accepts("2024-02-08 09:52:40.0 +02:00:00", T0 - 925, 120, 1);
    accepts("2024-02-08 09:50:00.0 +02:00:00", T0 - 160925, 120, 1);
    /* ISO 8601 with T, with and without offset and fraction. */
    accepts("2024-02-08T07:52:40.925000", T0, 0, 0);
    accepts("2024-02-08T07:52:40.925", T0, 0, 0);
    accepts("2024-02-08T07:52:40", T0 - 925, 0, 0);
    accepts("2024-02-08T07:52:40.925Z", T0, 0, 1);
    accepts("2024-02-08T07:52:40z", T0 - 925, 0, 1);
    accepts("2024-02-08T09:52:40.925+02:00", T0, 120, 1);
    accepts("2024-02-08T09:52:40.925+0200", T0, 120, 1);
    accepts("2024-02-08T09:52:40.925+02", T0, 120, 1);
    accepts("2024-02-08T02:22:40.925-05:30", T0, -330, 1);
    accepts("2024-02-08 07:52:40.925", T0, 0, 0);
    accepts("2024-02-08 09:52:40.925 +02:00", T0, 120, 1);
    accepts("2024-02-08t07:52:40.925123456Z", T0, 0, 1);
    accepts("2024-02-08T07:52", T0 - 40925, 0, 0);
    accepts("2023-10-26T06:21:13.547000", 1698301273547LL, 0, 0);
    /* Calendar edges. */
    accepts("1970-01-01T00:00:00Z", 0, 0, 1);
    accepts("1969-12-31T23:59:59.999Z", -1, 0, 1);
    accepts("2024-02-29T00:00:00Z", 1709164800000LL, 0, 1);
    accepts("2024-01-01 01:00:00.0 +02:00:00", 1704063600000LL, 120, 1);

    rejects("");
    rejects("2024-02-08");
    rejects("2024-02-30T00:00:00");
    rejects("2023-02-29T00:00:00");
    rejects("2024-13-01T00:00:00");
    rejects("2024-00-01T00:00:00");
    rejects("2024-02-08T24:00:00");
    rejects("2024-02-08T23:60:00");
    rejects("2024-02-08T23:59:61");
    rejects("2024-02-08X07:52:40");
    rejects("2024-02-08T07:52:40.");
    rejects("2024-02-08T07:52:40.1234567890");
    rejects("2024-02-08T07:52:40 ");
    rejects("2024-02-08T07:52:40+");
    rejects("2024-02-08T07:52:40+2");
    rejects("2024-02-08T07:52:40+19:00");
    rejects("2024-02-08T07:52:40+02:00:30");
    rejects("2024-02-08T07:52:40Zjunk");
    rejects("24-02-08T07:52:40");
    rejects("2024-2-8T07:52:40");
    rejects("0000-01-01T00:00:00");
    rejects("2024-02-08 09:52:40.925 +02:00:00 ");
    {
        /* Not NUL-terminated: the length is what counts. */
        const char s[] = "2024-02-08T07:52:40.925Zgarbage";
        int64_t    ms;

        ok(sk_time_parse(s, 24, &ms, NULL, NULL) == 0 && ms == T0,
           "parses only len bytes");
    }

    /* The v1 literal as the generator writes it. */
    sk_time_format(T0, 120, buf);
    is_str(buf, "2024-02-08 09:52:40.925 +02:00:00", "format .925");
    sk_time_format(T0 - 5, 120, buf);
    is_str(buf, "2024-02-08 09:52:40.92 +02:00:00", "format strips zeros");
    sk_time_format(T0 - 25, 120, buf);
    is_str(buf, "2024-02-08 09:52:40.9 +02:00:00", "format .9");
    sk_time_format(T0 - 925, 120, buf);
    is_str(buf, "2024-02-08 09:52:40.0 +02:00:00", "format whole second .0");
    sk_time_format(T0 - 900, 120, buf);
    is_str(buf, "2024-02-08 09:52:40.025 +02:00:00", "format .025");
    sk_time_format(T0, -330, buf);
    is_str(buf, "2024-02-08 02:22:40.925 -05:30:00", "format negative offset");
    sk_time_format(0, 0, buf);
    is_str(buf, "1970-01-01 00:00:00.0 +00:00:00", "format epoch");
    {
        /* Round trip over a spread of times. */
        int bad = 0;

        for (int64_t t = 1704060000000LL; t < 1712000000000LL;
             t += 86399937LL)
        {
            int64_t back;
            size_t  n = sk_time_format(t, 120, buf);

            if (sk_time_parse(buf, n, &back, NULL, NULL) != 0 || back != t) {
                bad++;
            }
        }
        is_int(bad, 0, "format -> parse round trip");
    }

    is_int(sk_time_local_hour(T0, 120), 9, "local hour at +02:00");
    is_int(sk_time_local_hour(T0, 0), 7, "local hour at UTC");
    is_int(sk_time_local_hour(-1, 0), 23, "local hour before the epoch");
    is_int(sk_time_local_hour(1704060000000LL, 120), 0,
           "local midnight 2024-01-01");
    is_int(sk_days_from_civil(2024, 3, 1) - sk_days_from_civil(2024, 2, 1),
           29, "leap February");
    return done_testing();
}
