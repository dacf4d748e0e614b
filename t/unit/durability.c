/* Redis persistence settings -> durable or not (durability.h). */
#include <string.h>

#include "core/durability.h"
#include "tap.h"

int
main(void)
{
    char        why[400];
    const char *info0 = "# Persistence\r\nloading:0\r\naof_enabled:0\r\n";
    const char *info1 = "# Persistence\r\nloading:0\r\naof_enabled:1\r\n";

    is_int(sk_durability_config("yes", "always", why, sizeof(why)),
           SK_DURABLE_YES, "appendonly yes + appendfsync always: durable");
    is_str(why, "", "... nothing to say");
    is_int(sk_durability_config("no", "everysec", why, sizeof(why)),
           SK_DURABLE_NO, "appendonly no: not durable");
    ok(strstr(why, "appendonly is \"no\"") && strstr(why, "appendfsync always"),
       "... names the setting and the fix: %s", why);
    is_int(sk_durability_config("yes", "everysec", why, sizeof(why)),
           SK_DURABLE_NO, "appendfsync everysec: not durable");
    ok(strstr(why, "appendfsync is \"everysec\"") != NULL, "... %s", why);
    is_int(sk_durability_config("yes", NULL, why, sizeof(why)),
           SK_DURABLE_UNKNOWN, "appendfsync unreadable: unknown");
    is_int(sk_durability_config(NULL, NULL, why, sizeof(why)),
           SK_DURABLE_UNKNOWN, "CONFIG failed: unknown (ask INFO)");

    is_int(sk_durability_info(info0, strlen(info0), why, sizeof(why)),
           SK_DURABLE_NO, "INFO aof_enabled:0: not durable");
    ok(strstr(why, "aof_enabled:0") != NULL, "... %s", why);
    is_int(sk_durability_info(info1, strlen(info1), why, sizeof(why)),
           SK_DURABLE_UNKNOWN, "INFO aof_enabled:1: fsync policy unknown");
    is_int(sk_durability_info("x_aof_enabled:1\r\n", 17, why, sizeof(why)),
           SK_DURABLE_UNKNOWN, "only a whole line counts");
    is_int(sk_durability_info(NULL, 0, why, sizeof(why)), SK_DURABLE_UNKNOWN,
           "no INFO either: unknown");
    done_testing();
}
