/* Redis persistence settings -> durable or not (see durability.h). */
#include <stdio.h>
#include <string.h>

#include "durability.h"

#define SK_DURABLE_FIX  "set \"appendonly yes\" and \"appendfsync always\" " \
                        "in redis.conf (or CONFIG SET both, then CONFIG "     \
                        "REWRITE)"

sk_durable
sk_durability_config(const char *appendonly, const char *appendfsync,
    char *why, size_t len)
{
    why[0] = '\0';
    if (appendonly == NULL) {
        return SK_DURABLE_UNKNOWN;
    }
    if (strcmp(appendonly, "yes") != 0) {
        snprintf(why, len, "appendonly is \"%.16s\": Redis keeps events in "
                 "memory only, and a crash or kill -9 loses acknowledged "
                 "ones; " SK_DURABLE_FIX, appendonly);
        return SK_DURABLE_NO;
    }
    if (appendfsync == NULL) {
        snprintf(why, len, "appendonly is \"yes\" but appendfsync could not "
                 "be read: make sure it is \"always\"");
        return SK_DURABLE_UNKNOWN;
    }
    if (strcmp(appendfsync, "always") != 0) {
        snprintf(why, len, "appendfsync is \"%.16s\": a crash loses up to "
                 "about a second of acknowledged events; set \"appendfsync "
                 "always\"", appendfsync);
        return SK_DURABLE_NO;
    }
    return SK_DURABLE_YES;
}

sk_durable
sk_durability_info(const char *info, size_t info_len, char *why, size_t len)
{
    const char *p, *end;

    why[0] = '\0';
    if (info == NULL) {
        snprintf(why, len, "neither CONFIG GET nor INFO persistence answered:"
                 " the persistence settings are unknown; make sure of "
                 "\"appendonly yes\" and \"appendfsync always\"");
        return SK_DURABLE_UNKNOWN;
    }
    end = info + info_len;
    for (p = info; p < end; p++) {
        if ((p == info || p[-1] == '\n')
            && (size_t) (end - p) >= 13 && memcmp(p, "aof_enabled:", 12) == 0)
        {
            if (p[12] == '1') {
                snprintf(why, len, "CONFIG is not available and INFO "
                         "persistence says aof_enabled:1 but not the fsync "
                         "policy: make sure of \"appendfsync always\"");
                return SK_DURABLE_UNKNOWN;
            }
            snprintf(why, len, "INFO persistence says aof_enabled:0 (CONFIG "
                     "is not available): Redis keeps events in memory only, "
                     "and a crash or kill -9 loses acknowledged ones; "
                     SK_DURABLE_FIX);
            return SK_DURABLE_NO;
        }
    }
    snprintf(why, len, "INFO persistence has no aof_enabled line: the "
             "persistence settings are unknown; make sure of \"appendonly "
             "yes\" and \"appendfsync always\"");
    return SK_DURABLE_UNKNOWN;
}
