/*
 * CMCD (CTA-5004) parsing and nor resolution: what players send, what the
 * grammar refuses, and which next-object paths are never prefetched.
 */
#include "tap.h"

#include "core/cmcd.h"


static int
parse(sk_cmcd *c, const char *s)
{
    sk_cmcd_init(c);
    return sk_cmcd_parse(c, s, strlen(s));
}


static const char *
resolve(const char *base, const char *nor)
{
    static char  out[512];

    if (sk_cmcd_resolve(base, strlen(base), nor, strlen(nor), out,
                        sizeof(out)) < 0)
    {
        return "(refused)";
    }

    return out;
}


int
main(void)
{
    sk_cmcd      c;
    size_t       i;
    const char  *q;

    /* what players send */
    is_int(parse(&c, "nor=\"B7x\",nrr=\"0-99\",su"), 0,
           "CMCD-Request with nor, nrr and a boolean");
    is_str(c.nor, "B7x", "nor read");
    is_int(c.nor_len, 3, "nor length");

    is_int(parse(&c, "cid=\"abc\",sid=\"6e2fb550-c457-11e9\",sf=d,st=v,v=1"),
           0, "CMCD-Session with tokens and an integer");
    is_str(c.sid, "6e2fb550-c457-11e9", "sid read");
    is_int(c.nor_len, 0, "no nor");

    is_int(parse(&c, "br=3200,bl=21300,d=4004,mtp=25400,ot=v,tb=6000,"
                     "dl=18500.5,pr=1.08,rtp=12000,bs"), 0,
           "every number kind, decimals, a bare boolean");

    is_int(parse(&c, "  nor=\"..%2Ftracks%2Fnext\" , sid=\"s1\"  "), 0,
           "spaces around members and commas, URL-encoded nor");
    is_str(c.nor, "../tracks/next", "nor URL-decoded");
    is_str(c.sid, "s1", "sid after a spaced comma");

    is_int(parse(&c, "nor=\"a\\\"b\""), 0, "escaped quote in a string");
    is_str(c.nor, "a\"b", "escape removed");

    is_int(parse(&c, ""), 0, "empty value says nothing");
    is_int(parse(&c, "com.example-myNumericKey=500"), -1,
           "upper case in a key is not CMCD");
    is_int(parse(&c, "com.example-mykey=500,nor=\"x\""), 0,
           "a custom (unknown) key is skipped");
    is_str(c.nor, "x", "and the known key after it read");
    is_int(parse(&c, "su=?1,bs=?0"), 0, "structured-field booleans");

    /* two headers fill one record; a bad one changes nothing */
    sk_cmcd_init(&c);
    is_int(sk_cmcd_parse(&c, "nor=\"n1\"", 8), 0, "CMCD-Request");
    is_int(sk_cmcd_parse(&c, "sid=\"s9\"", 8), 0, "then CMCD-Session");
    is_str(c.nor, "n1", "nor kept");
    is_str(c.sid, "s9", "sid added");
    is_int(sk_cmcd_parse(&c, "nor=\"n2\",bad key", 17), -1, "a bad header");
    is_str(c.nor, "n1", "leaves the record as it was");

    /* the grammar, strictly */
    {
        static const char *bad[] = {
            "nor=B", "nor=42", "nor", "nor=\"\"", "nor=\"%zz\"",
            "nor=\"a%00b\"", "nor=\"a%0ab\"", "nor=\"a%1Fb\"", "nor=\"a%7fb\"", "nor=\"unterminated", "nor=\"a\\nb\"",
            "nor=\"tab\there\"", "sid=\"\"", "sid=token",
            ",nor=\"x\"", "nor=\"x\",", "nor=\"x\",,sid=\"y\"",
            "nor=\"x\" sid=\"y\"", "Nor=\"x\"", "9br=1", "br=", "br=-",
            "br=1234567890123456", "dl=1.2345", "dl=1.", "br=1;a=2",
            "su=?2", "su=?", "=1", "nor=\"x\"\r\nX-Injected: 1",
            "sid=\"12345678901234567890123456789012345678901234567890"
            "123456789012345\""
        };

        char  shown[128];
        size_t j;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            /* keep TAP on one line: show control bytes as '?' */
            for (j = 0; bad[i][j] && j < sizeof(shown) - 1; j++) {
                shown[j] = (bad[i][j] < 0x20) ? '?' : bad[i][j];
            }
            shown[j] = '\0';

            is_int(parse(&c, bad[i]), -1, "refused: %s", shown);
        }
    }

    /* the query argument form */
    sk_cmcd_init(&c);
    q = "bl%3D21300%2Cnor%3D%22next%2520one%22%2Csid%3D%22s%22";
    is_int(sk_cmcd_parse_query(&c, q, strlen(q)), 0, "CMCD= query value");
    is_str(c.nor, "next one", "nor decoded twice (query, then nor)");
    sk_cmcd_init(&c);
    q = "nor%3D%22x%22%2";
    is_int(sk_cmcd_parse_query(&c, q, strlen(q)), -1, "truncated escape");

    /* resolution against the current request */
    is_str(resolve("/tracks/A", "B"), "/tracks/B", "sibling");
    is_str(resolve("/tracks/A", "/tracks/C"), "/tracks/C", "absolute path");
    is_str(resolve("/v/tracks/A", "../tracks/D"), "/v/tracks/D",
           "dot-dot inside the tree");
    is_str(resolve("/tracks/A", "./E"), "/tracks/E", "dot");
    is_str(resolve("/tracks/A", "../../etc/passwd"), "(refused)",
           "climbing above the root");
    is_str(resolve("/tracks/A", "http://evil/x"), "(refused)",
           "an absolute URL (another host)");
    is_str(resolve("/tracks/A", "B?x=1"), "(refused)", "a query");
    is_str(resolve("/tracks/A", "B#f"), "(refused)", "a fragment");
    is_str(resolve("/tracks/A", "a//b"), "(refused)", "an empty segment");
    is_str(resolve("/tracks/A", "B C"), "(refused)", "a space");
    is_str(resolve("/tracks/A", "B\r\nX: y"), "(refused)", "CR LF");
    is_str(resolve("/tracks/A", "%2e%2e"), "(refused)",
           "a percent sign (nor is decoded once, already)");
    is_str(resolve("/tracks/A", "a:b"), "(refused)", "a scheme-like colon");
    is_str(resolve("/tracks/A", "x/a:b"), "/tracks/x/a:b",
           "a colon after a slash is a path");

    {
        char  big[300];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        is_str(resolve("/tracks/A", big), "(refused)", "too long");
    }

    return done_testing();
}
