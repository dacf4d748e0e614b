/*
 * libFuzzer target for the CMCD parser and the nor resolution (cmcd.c),
 * run briefly by t/33-fuzz-cmcd.t.  The module parses what any player
 * sends, on every request of a location with skip_prefetch, so a crash or
 * an over-read here is reachable from the internet.
 *
 * Input: the bytes after the first are a CMCD header value; byte 0 bit 0
 * says to parse it as the CMCD query argument (percent-encoded) instead.
 * The value is passed in a heap buffer of exactly its length, without a
 * NUL, as nginx hands header values over: ASan reports any read past it.
 * Checked:
 *
 *   - a failed parse leaves the record exactly as it was;
 *   - a parsed nor and sid are within their sizes, NUL-terminated at their
 *     lengths, and hold no NUL or control byte;
 *   - a resolved nor is an absolute path that holds none of the bytes a
 *     URI must not ("?", "#", "%", controls, space), no "//", no "/./" or
 *     "/../" segment, and resolving it again against itself changes
 *     nothing.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       src/fuzz_cmcd.c src/cmcd.c -o fuzz_cmcd
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cmcd.h"


static void
check_str(const char *s, size_t len, size_t max)
{
    size_t  i;

    if (len > max || s[len] != '\0') {
        abort();
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      rc, n, m;
    char    *buf, out[SK_CMCD_NOR_MAX + 1], again[SK_CMCD_NOR_MAX + 1];
    size_t   len;
    sk_cmcd  c, before;

    if (size < 1) {
        return 0;
    }

    len = size - 1;
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data + 1, len);

    sk_cmcd_init(&c);
    memcpy(c.sid, "keep", 5);
    c.sid_len = 4;
    before = c;

    rc = (data[0] & 1) ? sk_cmcd_parse_query(&c, buf, len)
                       : sk_cmcd_parse(&c, buf, len);

    if (rc != 0) {
        if (memcmp(&c, &before, sizeof(c)) != 0) {
            abort();
        }

        free(buf);
        return 0;
    }

    check_str(c.nor, c.nor_len, SK_CMCD_NOR_MAX);
    check_str(c.sid, c.sid_len, SK_CMCD_SID_MAX);

    if (c.nor_len) {
        n = sk_cmcd_resolve("/tracks/current", 15, c.nor, c.nor_len, out,
                            sizeof(out));
        if (n > 0) {
            if (out[0] != '/' || (size_t) n != strlen(out)
                || strpbrk(out, "?#% \t\r\n") != NULL
                || strstr(out, "//") != NULL || strstr(out, "/./") != NULL
                || strstr(out, "/../") != NULL)
            {
                abort();
            }

            m = sk_cmcd_resolve(out, n, out, n, again, sizeof(again));
            if (m != n || memcmp(out, again, n) != 0) {
                abort();
            }
        }
    }

    free(buf);

    return 0;
}
