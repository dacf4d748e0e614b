/* The event rule (see event_rule.h); shared by the module and skipctl. */
#include <inttypes.h>
#include <stdio.h>

#include "event_rule.h"
#include "keys.h"

/* "10 min", "90 s", "250 ms": how far ahead an event may be. */
static void
skew_text(int64_t ms, char *buf, size_t len)
{
    if (ms % 60000 == 0) {
        snprintf(buf, len, "%" PRId64 " min", ms / 60000);
    } else if (ms % 1000 == 0) {
        snprintf(buf, len, "%" PRId64 " s", ms / 1000);
    } else {
        snprintf(buf, len, "%" PRId64 " ms", ms);
    }
}

sk_event_verdict
sk_event_check(const char *user, size_t user_len, const char *track,
    size_t track_len, int64_t ts_ms, int64_t now_ms, int64_t max_skew_ms,
    const char **field, char *reason, size_t len)
{
    char skew[32];

    if (!sk_id_valid(user, user_len)) {
        *field = "user_id";
        snprintf(reason, len, "not a valid id");
        return SK_EVENT_BAD;
    }
    if (!sk_id_valid(track, track_len)) {
        *field = "track_id";
        snprintf(reason, len, "not a valid id");
        return SK_EVENT_BAD;
    }
    if (ts_ms < 0) {
        *field = "timestamp";
        snprintf(reason, len, "before 1970-01-01 00:00:00 UTC (an unset "
                 "device clock?): the store keeps ms since the epoch");
        return SK_EVENT_BAD;
    }
    if (ts_ms > SK_EVENT_TS_MAX) {
        *field = "timestamp";
        snprintf(reason, len, "beyond the store's range (%lld ms)",
                 (long long) SK_EVENT_TS_MAX);
        return SK_EVENT_BAD;
    }
    if (max_skew_ms >= 0 && ts_ms > now_ms && ts_ms - now_ms > max_skew_ms) {
        *field = "timestamp";
        skew_text(max_skew_ms, skew, sizeof(skew));
        snprintf(reason, len, "more than %s ahead of the server clock "
                 "(%" PRId64 " s ahead)", skew, (ts_ms - now_ms) / 1000);
        return SK_EVENT_FUTURE;
    }
    return SK_EVENT_OK;
}
