/*
 * CMCD (CTA-5004) parsing; see cmcd.h for what is read and why strictly.
 *
 * Grammar accepted (RFC 8941 dictionary members without parameters, which
 * CMCD does not use):
 *
 *   list    = OWS member *( OWS "," OWS member ) OWS
 *   member  = key [ "=" value ]                  ; no value: boolean true
 *   key     = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
 *   value   = integer / decimal / string / token / boolean
 *   integer = [ "-" ] 1*15DIGIT
 *   decimal = [ "-" ] 1*12DIGIT "." 1*3DIGIT
 *   string  = DQUOTE *( %x20-21 / %x23-5B / %x5D-7E / "\" ( DQUOTE / "\" ) )
 *             DQUOTE
 *   token   = ( ALPHA / "*" ) *( tchar / ":" / "/" )
 *   boolean = "?" ( "0" / "1" )
 *
 * An empty value (no members) is valid and says nothing.
 */

#include <string.h>

#include "cmcd.h"


#define SK_CMCD_KEY_MAX   64
#define SK_CMCD_STR_MAX   1024   /* any string value, before decoding */

/* value kinds, for the type checks of the keys we read */
enum { SK_CMCD_V_BOOL, SK_CMCD_V_NUM, SK_CMCD_V_STR, SK_CMCD_V_TOKEN };


static int
sk_cmcd_lcalpha(int ch)
{
    return ch >= 'a' && ch <= 'z';
}


static int
sk_cmcd_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}


static int
sk_cmcd_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}


/* RFC 9110 tchar */
static int
sk_cmcd_tchar(int ch)
{
    return sk_cmcd_alpha(ch) || sk_cmcd_digit(ch)
           || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}


static int
sk_cmcd_hex(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }

    return -1;
}


/*
 * Percent-decode s[0..len) into out (size bytes with the NUL).  '+' stays
 * '+'.  Returns the length, or -1 on a bad escape, an encoded control byte
 * or no room.
 */
static int
sk_cmcd_unescape(const char *s, size_t len, char *out, size_t size)
{
    int     hi, lo;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (n + 1 >= size) {
            return -1;
        }

        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }

        if (i + 2 >= len) {
            return -1;
        }

        hi = sk_cmcd_hex((unsigned char) s[i + 1]);
        lo = sk_cmcd_hex((unsigned char) s[i + 2]);

        /* no encoded control byte (NUL, CR, LF, ...): never in a path */
        if (hi < 0 || lo < 0 || hi < 2 || (hi == 7 && lo == 15)) {
            return -1;
        }

        out[n++] = (char) (hi * 16 + lo);
        i += 2;
    }

    out[n] = '\0';

    return (int) n;
}


static size_t
sk_cmcd_ows(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }

    return i;
}


/*
 * One value at s[i]: its kind and, for strings, the unescaped content in
 * str (NUL-terminated, *str_len).  Returns the index after it, or 0 on a
 * syntax error (a value never starts at index 0: a key and "=" precede).
 */
static size_t
sk_cmcd_value(const char *s, size_t len, size_t i, int *kind, char *str,
    size_t *str_len)
{
    size_t  digits, n;

    if (i >= len) {
        return 0;
    }

    if (s[i] == '"') {
        n = 0;

        for (i++; i < len; i++) {
            if (s[i] == '"') {
                str[n] = '\0';
                *str_len = n;
                *kind = SK_CMCD_V_STR;
                return i + 1;
            }

            if (s[i] == '\\') {
                if (i + 1 >= len || (s[i + 1] != '"' && s[i + 1] != '\\')) {
                    return 0;
                }

                i++;

            } else if ((unsigned char) s[i] < 0x20
                       || (unsigned char) s[i] > 0x7e)
            {
                return 0;
            }

            if (n >= SK_CMCD_STR_MAX) {
                return 0;
            }

            str[n++] = s[i];
        }

        return 0;                       /* unterminated */
    }

    if (s[i] == '-' || sk_cmcd_digit((unsigned char) s[i])) {
        if (s[i] == '-') {
            i++;
        }

        for (digits = 0; i < len && sk_cmcd_digit((unsigned char) s[i]);
             i++)
        {
            digits++;
        }

        if (digits == 0 || digits > 15) {
            return 0;
        }

        if (i < len && s[i] == '.') {
            if (digits > 12) {
                return 0;
            }

            for (i++, digits = 0;
                 i < len && sk_cmcd_digit((unsigned char) s[i]);
                 i++)
            {
                digits++;
            }

            if (digits == 0 || digits > 3) {
                return 0;
            }
        }

        *kind = SK_CMCD_V_NUM;
        return i;
    }

    if (sk_cmcd_alpha((unsigned char) s[i]) || s[i] == '*') {
        for (i++; i < len; i++) {
            if (!sk_cmcd_tchar((unsigned char) s[i]) && s[i] != ':'
                && s[i] != '/')
            {
                break;
            }
        }

        *kind = SK_CMCD_V_TOKEN;
        return i;
    }

    if (s[i] == '?') {
        if (i + 1 >= len || (s[i + 1] != '0' && s[i + 1] != '1')) {
            return 0;
        }

        *kind = SK_CMCD_V_BOOL;
        return i + 2;
    }

    return 0;
}


void
sk_cmcd_init(sk_cmcd *c)
{
    memset(c, 0, sizeof(*c));
}


int
sk_cmcd_parse(sk_cmcd *c, const char *s, size_t len)
{
    int      kind, n;
    char     key[SK_CMCD_KEY_MAX + 1];
    char     str[SK_CMCD_STR_MAX + 1];
    size_t   i, k, str_len, next;
    sk_cmcd  r;

    r = *c;
    i = sk_cmcd_ows(s, len, 0);

    if (i == len) {
        return 0;
    }

    for ( ;; ) {
        /* key */
        if (i >= len || !(sk_cmcd_lcalpha((unsigned char) s[i])
                          || s[i] == '*'))
        {
            return -1;
        }

        for (k = 0; i < len; i++) {
            if (!(sk_cmcd_lcalpha((unsigned char) s[i])
                  || sk_cmcd_digit((unsigned char) s[i])
                  || s[i] == '_' || s[i] == '-' || s[i] == '.'
                  || s[i] == '*'))
            {
                break;
            }

            if (k >= SK_CMCD_KEY_MAX) {
                return -1;
            }

            key[k++] = s[i];
        }

        key[k] = '\0';

        /* value */
        kind = SK_CMCD_V_BOOL;
        str_len = 0;
        str[0] = '\0';

        if (i < len && s[i] == '=') {
            next = sk_cmcd_value(s, len, i + 1, &kind, str, &str_len);
            if (next == 0) {
                return -1;
            }

            i = next;
        }

        /* the keys we read: type and size checked, strings decoded */
        if (strcmp(key, "nor") == 0) {
            if (kind != SK_CMCD_V_STR) {
                return -1;
            }

            n = sk_cmcd_unescape(str, str_len, r.nor, sizeof(r.nor));
            if (n <= 0) {
                return -1;
            }

            r.nor_len = (size_t) n;

        } else if (strcmp(key, "sid") == 0) {
            if (kind != SK_CMCD_V_STR || str_len == 0
                || str_len > SK_CMCD_SID_MAX)
            {
                return -1;
            }

            memcpy(r.sid, str, str_len);
            r.sid[str_len] = '\0';
            r.sid_len = str_len;
        }

        /* separator or end */
        i = sk_cmcd_ows(s, len, i);

        if (i == len) {
            break;
        }

        if (s[i] != ',') {
            return -1;
        }

        i = sk_cmcd_ows(s, len, i + 1);

        if (i == len) {
            return -1;                  /* trailing comma */
        }
    }

    *c = r;

    return 0;
}


int
sk_cmcd_parse_query(sk_cmcd *c, const char *s, size_t len)
{
    int   n;
    char  buf[4 * SK_CMCD_STR_MAX];

    n = sk_cmcd_unescape(s, len, buf, sizeof(buf));
    if (n < 0) {
        return -1;
    }

    return sk_cmcd_parse(c, buf, (size_t) n);
}


/* the characters a path segment may hold here: RFC 3986 pchar, unencoded */
static int
sk_cmcd_pchar(int ch)
{
    return sk_cmcd_alpha(ch) || sk_cmcd_digit(ch)
           || (ch != '\0' && strchr("-._~!$&'()*+,;=:@", ch) != NULL);
}


int
sk_cmcd_resolve(const char *base, size_t base_len, const char *nor,
    size_t nor_len, char *out, size_t size)
{
    char    merged[2 * SK_CMCD_NOR_MAX + 2];
    size_t  i, m, n, seg, dir;

    if (base_len == 0 || base[0] != '/' || nor_len == 0
        || nor_len > SK_CMCD_NOR_MAX || base_len > SK_CMCD_NOR_MAX)
    {
        return -1;
    }

    for (i = 0; i < nor_len; i++) {
        if (nor[i] != '/' && !sk_cmcd_pchar((unsigned char) nor[i])) {
            return -1;                  /* ?, #, %, controls, spaces, ... */
        }

        if (nor[i] == ':' && nor[0] != '/') {
            /* "scheme:..." would be an absolute URL: another host */
            for (n = 0; n < i && nor[n] != '/'; n++) { /* void */ }

            if (n == i) {
                return -1;
            }
        }
    }

    /* RFC 3986 5.2.3: merge with the base path's directory */
    m = 0;

    if (nor[0] != '/') {
        for (dir = base_len; dir > 0 && base[dir - 1] != '/'; dir--) {
            /* void */
        }

        memcpy(merged, base, dir);
        m = dir;
    }

    memcpy(merged + m, nor, nor_len);
    m += nor_len;

    /* RFC 3986 5.2.4, strictly: "//" and climbing above "/" refused */
    n = 0;
    i = 0;

    while (i < m) {
        /* merged[i] == '/' here */
        seg = i + 1;

        while (seg < m && merged[seg] != '/') {
            seg++;
        }

        if (seg - i - 1 == 0) {
            if (seg < m) {
                return -1;              /* "//" */
            }

            /* a trailing "/" */
            if (n + 1 >= size) {
                return -1;
            }

            out[n++] = '/';
            i = seg;
            continue;
        }

        if (seg - i - 1 == 1 && merged[i + 1] == '.') {
            if (seg == m) {
                if (n + 1 >= size) {
                    return -1;
                }

                out[n++] = '/';
            }

            i = seg;
            continue;
        }

        if (seg - i - 1 == 2 && merged[i + 1] == '.' && merged[i + 2] == '.')
        {
            if (n == 0) {
                return -1;              /* above the root */
            }

            while (n > 0 && out[n - 1] != '/') {
                n--;
            }

            n--;                        /* the '/' before it */

            if (seg == m) {
                if (n + 1 >= size) {
                    return -1;
                }

                out[n++] = '/';
            }

            i = seg;
            continue;
        }

        if (n + (seg - i) >= size) {
            return -1;
        }

        memcpy(out + n, merged + i, seg - i);
        n += seg - i;
        i = seg;
    }

    if (n == 0) {
        return -1;
    }

    out[n] = '\0';

    return (int) n;
}
