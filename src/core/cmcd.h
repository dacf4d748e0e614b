/*
 * Common Media Client Data (CTA-5004): what a player tells the edge about
 * itself and about what it will ask for next.  ngx_skip reads two keys:
 *
 *   nor  "next object request": the path, relative to the current request,
 *        of the object the player will request next (a string, URL-encoded)
 *   sid  the playback session id (a string)
 *
 * Players send CMCD as HTTP headers (CMCD-Request, CMCD-Object, CMCD-Status,
 * CMCD-Session, each holding some of the keys) or as one query argument
 * (CMCD=<the same list, URL-encoded>).  The value is a comma-separated list
 * of key[=value] members in the syntax of HTTP Structured Field dictionaries
 * (RFC 8941): lower-case keys, integers, decimals, quoted strings, tokens,
 * and a bare key meaning boolean true.  Parsing here is strict: a value
 * that breaks the grammar is rejected as a whole (its counter is all a
 * player gets to see), unknown keys are skipped, and what a player cannot
 * be trusted with (nor outside this server's path space, "..", control
 * bytes) is refused by sk_cmcd_resolve().
 *
 * Plain C, no nginx: the module and the unit tests and fuzzer use it.
 */
#ifndef SKIP_CMCD_H
#define SKIP_CMCD_H

#include <stddef.h>

#define SK_CMCD_NOR_MAX  256   /* longest nor, after URL-decoding */
#define SK_CMCD_SID_MAX  64    /* CTA-5004 caps sid at 64 characters */

typedef struct {
    char    nor[SK_CMCD_NOR_MAX + 1];   /* URL-decoded; "" when absent */
    size_t  nor_len;
    char    sid[SK_CMCD_SID_MAX + 1];
    size_t  sid_len;
} sk_cmcd;

/* Empty: no keys. */
void sk_cmcd_init(sk_cmcd *c);

/*
 * Parse one CMCD header value (s[0..len)) into c, keeping keys already
 * there that this value does not name (so CMCD-Request and CMCD-Session
 * fill one sk_cmcd).  0 on success; -1 when the value breaks the grammar
 * or a key ngx_skip reads has a value of the wrong type or size; c is
 * then unchanged.
 */
int sk_cmcd_parse(sk_cmcd *c, const char *s, size_t len);

/*
 * The same for the CMCD query argument's value as it appears in the URL
 * (percent-encoded; '+' is not a space there).  -1 also on a bad %XX.
 */
int sk_cmcd_parse_query(sk_cmcd *c, const char *s, size_t len);

/*
 * Resolve nor against the path of the current request (base, which starts
 * with '/') into an absolute path in out (NUL-terminated).  A nor that
 * starts with '/' is taken as it is; otherwise it replaces the last
 * segment of base, as a relative URL reference does.  Refused (-1): an
 * absolute URL (another host), a query or fragment, "." or ".." segments,
 * "//", any byte outside the unreserved and sub-delimiter characters of a
 * path, or a result longer than size - 1.  Returns the length.
 */
int sk_cmcd_resolve(const char *base, size_t base_len, const char *nor,
    size_t nor_len, char *out, size_t size);

#endif
