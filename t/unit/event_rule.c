/* The event rule (event_rule.h): what the store script would refuse. */
#include <string.h>

#include "core/event_rule.h"
#include "tap.h"
#include "core/timeparse.h"

#define NOW  1707378760925LL          /* 2024-02-08 07:52:40.925 UTC */
#define TR   "0123456789abcdefABCDEF"

static sk_event_verdict
check(const char *user, int64_t ts, int64_t skew, const char **field,
    char *reason)
{
    return sk_event_check(user, strlen(user), TR, strlen(TR), ts, NOW, skew,
                          field, reason, 200);
}

int
main(void)
{
    const char *field = NULL;
    char        reason[200];
    int64_t     ms;

    is_int(check("101", NOW, SK_EVENT_SKEW_DEFAULT_MS, &field, reason),
           SK_EVENT_OK, "an event now passes");
    is_int(check("101", 0, 0, &field, reason), SK_EVENT_OK,
           "1970-01-01 00:00:00.000 UTC passes (the script takes \"0\")");

    /* the poison event: a player whose clock was never set, at UTC+2 */
    sk_time_parse("1970-01-01 00:00:00.000 +02:00:00", 33, &ms, NULL, NULL);
    is_int(check("101", ms, SK_EVENT_SKEW_DEFAULT_MS, &field, reason),
           SK_EVENT_BAD, "1970-01-01 00:00 +02:00 is refused (negative ms)");
    is_str(field, "timestamp", "... naming the timestamp");
    ok(strstr(reason, "before 1970") != NULL, "... saying why: %s", reason);

    is_int(check("101", SK_EVENT_TS_MAX + 1, -1, &field, reason),
           SK_EVENT_BAD, "16 digits: refused even without a skew bound");
    is_int(check("101", SK_EVENT_TS_MAX, -1, &field, reason), SK_EVENT_OK,
           "15 digits without a skew bound pass");

    is_int(check("101", NOW + 600000, SK_EVENT_SKEW_DEFAULT_MS, &field,
                 reason), SK_EVENT_OK, "exactly 10 min ahead passes");
    is_int(check("101", NOW + 600001, SK_EVENT_SKEW_DEFAULT_MS, &field,
                 reason), SK_EVENT_FUTURE, "10 min + 1 ms ahead: future");
    ok(strstr(reason, "10 min ahead") != NULL, "... naming the skew: %s",
       reason);
    sk_time_parse("9999-12-31 23:59:59.999", 23, &ms, NULL, NULL);
    is_int(check("101", ms, SK_EVENT_SKEW_DEFAULT_MS, &field, reason),
           SK_EVENT_FUTURE, "year 9999: future");
    is_int(check("101", NOW + 1500, 1000, &field, reason), SK_EVENT_FUTURE,
           "skew 1 s: 1.5 s ahead is refused");
    ok(strstr(reason, "1 s ahead") != NULL, "... %s", reason);

    is_int(check("", NOW, 0, &field, reason), SK_EVENT_BAD, "empty user id");
    is_str(field, "user_id", "... names user_id");
    is_int(check("-5", NOW, 0, &field, reason), SK_EVENT_OK,
           "a negative user id prints as a valid id");
    is_int(sk_event_check("1", 1, "a:b", 3, NOW, NOW, 0, &field, reason,
                          sizeof(reason)), SK_EVENT_BAD, "track id with ':'");
    is_str(field, "track_id", "... names track_id");

    done_testing();
}
