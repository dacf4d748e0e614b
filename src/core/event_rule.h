/*
 * The one rule for a live play/skip event: what the feature store's event
 * script (sk_script_event, store_scripts.c) stores, decided before anything
 * is written.  The skip_events handler checks every line of a batch with it
 * and answers 400 naming the line and field before sending one command;
 * `skipctl features load` and `skipctl features event` apply the same rule
 * to dataset rows and to --ts, so a snapshot and the live path agree on
 * which events exist.
 *
 * The rule (keep the Lua checks in store_scripts.c equal to 1-3):
 *   1. user and track ids: 1..64 characters of [A-Za-z0-9_.-] (sk_id_valid);
 *   2. session id: any int64 (printed in decimal it is a valid id);
 *   3. event time: integer ms since 1970-01-01 UTC, 0 .. SK_EVENT_TS_MAX
 *      (the script accepts 1 to 15 decimal digits, no sign: a time before
 *      1970 is refused there, so it must be refused here);
 *   4. event time not more than max_skew ahead of the caller's clock (the
 *      skip_events_max_skew directive, skipctl's --max-skew; default 10
 *      min).  Not in the script on purpose: Redis' clock is another clock,
 *      and a condition that depends on it could make a resent batch fail
 *      forever.
 * The event type (Play/Skip; Likes are not stored) is the caller's business.
 */
#ifndef SKIP_EVENT_RULE_H
#define SKIP_EVENT_RULE_H

#include <stddef.h>
#include <stdint.h>

/* 15 decimal digits: the script's  #ts <= 15  (year 33658) */
#define SK_EVENT_TS_MAX           999999999999999LL

#define SK_EVENT_SKEW_DEFAULT_MS  (10 * 60 * 1000)

typedef enum {
    SK_EVENT_OK = 0,
    SK_EVENT_BAD,          /* refused by rule 1-3: the script refuses it */
    SK_EVENT_FUTURE        /* refused by rule 4 only: too far ahead */
} sk_event_verdict;

/*
 * Check one event.  max_skew_ms < 0: no bound ahead (rule 4 off).  On
 * refusal *field is "user_id", "track_id" or "timestamp" and reason gets a
 * sentence (NUL-terminated, truncated to len).
 */
sk_event_verdict sk_event_check(const char *user, size_t user_len,
    const char *track, size_t track_len, int64_t ts_ms, int64_t now_ms,
    int64_t max_skew_ms, const char **field, char *reason, size_t len);

#endif
