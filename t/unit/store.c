/*
 * Pure parts of the feature store client: snapshot ids, the --redis and
 * other store options, the SHA1 that EVALSHA relies on, and the shape of
 * the Lua scripts.  (Everything that talks to Redis is in
 * t/50-features-store.t.)
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "core/keys.h"
#include "store/store.h"
#include "core/store_scripts.h"

static void
test_snapshot_id(void)
{
    char   buf[64];
    size_t n;

    /* 2024-03-31 21:11:36 UTC */
    n = sk_snapshot_id(buf, sizeof(buf), (time_t) 1711919496, 1);
    is_str(buf, "s20240331211136", "snapshot id is s<yyyymmddHHMMSS> UTC");
    is_int((long) n, 15, "its length");
    ok(sk_snapshot_valid(buf, n), "it is a valid snapshot id");
    sk_snapshot_id(buf, sizeof(buf), (time_t) 1711919496, 2);
    is_str(buf, "s20240331211136-2", "second attempt in the same second");
    sk_snapshot_id(buf, sizeof(buf), (time_t) 1711919496, 12);
    is_str(buf, "s20240331211136-12", "twelfth attempt");
    ok(sk_snapshot_valid(buf, strlen(buf)), "suffixed id is valid");
    is_int((long) sk_snapshot_id(buf, 10, (time_t) 1711919496, 1), 0,
           "too small a buffer is reported");
    {
        char a[32], b[32];

        sk_snapshot_id(a, sizeof(a), (time_t) 1711919496, 1);
        sk_snapshot_id(b, sizeof(b), (time_t) 1711919497, 1);
        ok(strcmp(a, b) < 0, "ids sort by time as text");
    }
}

static void
test_opts(void)
{
    sk_store_opts o;
    char          err[256], addr[300];

    unsetenv(SK_STORE_PASSWORD_ENV);
    sk_store_opts_init(&o);
    is_str(sk_store_addr(&o, addr, sizeof(addr)), "127.0.0.1:6379",
           "default address");
    is_str(o.prefix, "skip", "default prefix");
    ok(o.password == NULL, "no password by default");

    setenv(SK_STORE_PASSWORD_ENV, "envpw", 1);
    sk_store_opts_init(&o);
    ok(o.password && strcmp(o.password, "envpw") == 0,
       "password from $SKIP_REDIS_PASSWORD");
    unsetenv(SK_STORE_PASSWORD_ENV);

    is_int(sk_store_opt(&o, "--redis", "10.0.0.5:6380", err, sizeof(err)),
           1, "HOST:PORT accepted");
    is_str(o.host, "10.0.0.5", "host");
    is_int(o.port, 6380, "port");
    is_int(sk_store_opt(&o, "--redis", "7000", err, sizeof(err)), 1,
           "bare PORT accepted");
    is_str(sk_store_addr(&o, addr, sizeof(addr)), "127.0.0.1:7000",
           "bare port means loopback");
    is_int(sk_store_opt(&o, "--redis", "unix:/run/redis.sock", err,
                        sizeof(err)), 1, "unix:PATH accepted");
    is_str(sk_store_addr(&o, addr, sizeof(addr)), "unix:/run/redis.sock",
           "unix address");
    is_int(sk_store_opt(&o, "--redis", "[::1]:6379", err, sizeof(err)), 1,
           "[IPv6]:PORT accepted");
    is_str(o.host, "::1", "IPv6 host without brackets");
    is_str(sk_store_addr(&o, addr, sizeof(addr)), "[::1]:6379",
           "IPv6 address printed with brackets");
    ok(o.unix_path[0] == '\0', "TCP address clears the socket path");

    is_int(sk_store_opt(&o, "--redis", "host:", err, sizeof(err)), -1,
           "missing port rejected");
    ok(strstr(err, "HOST:PORT") != NULL, "error says what is expected: %s",
       err);
    is_int(sk_store_opt(&o, "--redis", "host:99999", err, sizeof(err)), -1,
           "port out of range rejected");
    is_int(sk_store_opt(&o, "--redis", "unix:", err, sizeof(err)), -1,
           "empty socket path rejected");
    is_int(sk_store_opt(&o, "--redis", "[::1]6379", err, sizeof(err)), -1,
           "malformed IPv6 rejected");

    is_int(sk_store_opt(&o, "--db", "3", err, sizeof(err)), 1, "--db 3");
    is_int(o.db, 3, "db");
    is_int(sk_store_opt(&o, "--db", "x", err, sizeof(err)), -1,
           "--db x rejected");
    is_int(sk_store_opt(&o, "--prefix", "ab:c", err, sizeof(err)), -1,
           "prefix with ':' rejected");
    is_int(sk_store_opt(&o, "--prefix", "test_1", err, sizeof(err)), 1,
           "prefix accepted");
    is_str(o.prefix, "test_1", "prefix stored");
    is_int(sk_store_opt(&o, "--timeout", "0", err, sizeof(err)), -1,
           "--timeout 0 rejected");
    is_int(sk_store_opt(&o, "--timeout", "250", err, sizeof(err)), 1,
           "--timeout 250");
    is_int(o.timeout_ms, 250, "timeout stored");
    is_int(sk_store_opt(&o, "--password", "pw", err, sizeof(err)), 1,
           "--password");
    is_int(sk_store_opt(&o, "--keep", "2", err, sizeof(err)), 0,
           "a non-store option is left to the caller");
}

static void
test_sha1(void)
{
    char  hex[41], *mil;

    sk_sha1_hex("", 0, hex);
    is_str(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "SHA1 of \"\"");
    sk_sha1_hex("abc", 3, hex);
    is_str(hex, "a9993e364706816aba3e25717850c26c9cd0d89d", "SHA1 of abc");
    sk_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                56, hex);
    is_str(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
           "SHA1 of the 56-byte vector (padding spills into a 2nd block)");
    mil = malloc(1000000);
    memset(mil, 'a', 1000000);
    sk_sha1_hex(mil, 1000000, hex);
    is_str(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
           "SHA1 of a million 'a'");
    free(mil);
    sk_script_sha1(sk_script_event, hex);
    is_int((long) strlen(hex), 40, "script sha is 40 hex digits");
}

static void
test_scripts(void)
{
    ok(strstr(sk_script_event, "XADD") != NULL, "event script journals");
    ok(strstr(sk_script_handover, "SET', KEYS[1], snap") != NULL,
       "hand-over script sets active");
    ok(strstr(sk_script_handover, "fan_plays") != NULL
       && strstr(sk_script_event, "fan_plays") != NULL,
       "both scripts share the counter rules");
    ok(strstr(sk_script_finish, "loading") != NULL,
       "finish only from loading");
}

int
main(void)
{
    test_snapshot_id();
    test_opts();
    test_sha1();
    test_scripts();
    return done_testing();
}
