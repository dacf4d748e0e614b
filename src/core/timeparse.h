/*
 * Timestamps of the Pozytywka files.
 *
 * Parsed to int64 milliseconds since the Unix epoch, UTC, with the written
 * offset applied.  A timestamp without an offset is taken as UTC (offset 0,
 * *has_offset = 0): exports without an offset give no better guess, and UTC
 * keeps the order of events intact.  The offset itself is returned too so
 * that callers can recover the listener's local hour.
 *
 * Accepted (fraction 0..9 digits, kept to the millisecond by truncation):
 *   2024-02-08 09:52:40.925 +02:00:00     v1/v2 literal (offset hh:mm:ss)
 *   2024-02-08 09:52:40 +02:00            space before the offset optional
 *   2023-10-26T06:21:13.547000            ISO 8601, no offset (UTC)
 *   2023-10-26T06:21:13Z, ...+02:00, ...+0200, ...+02, ...-05:30
 * Date and time are separated by 'T', 't' or one space.  Fields are range
 * checked (month 1..12, day 1..days in month, hour 0..23, minute 0..59,
 * second 0..60, offset up to +-18 h); years 1..9999.
 */
#ifndef SKIP_TIMEPARSE_H
#define SKIP_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse s[0..len).  On success returns 0 and sets *ms (UTC), *offset_min
 * (minutes east of UTC, 0 when absent) and *has_offset (0/1; either may be
 * NULL).  Returns -1 on anything else; the outputs are then undefined.
 */
int sk_time_parse(const char *s, size_t len, int64_t *ms, int *offset_min,
    int *has_offset);

/*
 * Write the v1 literal "YYYY-MM-DD hh:mm:ss.f +hh:mm:ss" for ms (UTC) shown
 * at offset_min: the fraction has its trailing zeros stripped and is ".0"
 * for a whole second, as the original generator wrote it.  buf needs
 * SK_TIME_BUF bytes; returns the length written (NUL-terminated).
 */
#define SK_TIME_BUF 40
size_t sk_time_format(int64_t ms, int offset_min, char *buf);

/* Local hour 0..23 of a UTC time shown at offset_min. */
int sk_time_local_hour(int64_t ms, int offset_min);

/* Days since 1970-01-01 of a proleptic Gregorian date (y, m 1..12, d). */
int64_t sk_days_from_civil(int y, int m, int d);

#endif
