/* Redis Cluster hash slots and MOVED/ASK parsing (crc16_slot.h). */
#include <string.h>

#include "core/crc16_slot.h"
#include "tap.h"

static unsigned
slot(const char *k)
{
    return sk_key_slot(k, strlen(k));
}

int
main(void)
{
    sk_redirect  rd;
    const char  *s;

    /* the check value of CRC16/XMODEM, and slots Redis' CLUSTER KEYSLOT
     * gives (also compared against a live cluster in t/87) */
    is_int(sk_crc16("123456789", 9), 0x31c3, "CRC16/XMODEM check value");
    is_int(slot("foo"), 12182, "slot of foo");
    is_int(slot("bar"), 5061, "slot of bar");
    is_int(slot("hello"), 866, "slot of hello");
    is_int(slot("{user1000}.following"), slot("{user1000}.followers"),
           "a hash tag: same slot");
    is_int(slot("{user1000}.following"), slot("user1000"),
           "... the slot of the tag alone");
    is_int(slot("foo{}{bar}"), sk_crc16("foo{}{bar}", 10) & 16383,
           "an empty tag: the whole key");
    is_int(slot("foo{{bar}}zap"), slot("{bar"), "the first { counts");
    is_int(slot("foo{bar}{zap}"), slot("bar"), "the first } after it ends it");
    is_int(slot("foo{bar"), sk_crc16("foo{bar", 7) & 16383,
           "an unclosed tag: the whole key");
    is_int(slot(""), 0, "the empty key: slot 0");

    s = "MOVED 3999 127.0.0.1:6381";
    is_int(sk_redirect_parse(s, strlen(s), &rd), SK_REDIRECT_MOVED, "MOVED");
    ok(rd.slot == 3999 && strcmp(rd.host, "127.0.0.1") == 0 && rd.port == 6381,
       "... slot 3999 at 127.0.0.1:6381");
    s = "-ASK 16383 [::1]:7000";
    is_int(sk_redirect_parse(s, strlen(s), &rd), SK_REDIRECT_ASK,
           "ASK with a leading - and IPv6 in brackets");
    ok(rd.slot == 16383 && strcmp(rd.host, "::1") == 0 && rd.port == 7000,
       "... %u %s %u", rd.slot, rd.host, rd.port);
    s = "ASK 1 ::1:7000";
    ok(sk_redirect_parse(s, strlen(s), &rd) == SK_REDIRECT_ASK
       && strcmp(rd.host, "::1") == 0, "IPv6 without brackets: last colon");

    {
        const char *bad[] = {
            "MOVED 16384 127.0.0.1:1", "MOVED -1 127.0.0.1:1",
            "MOVED 1 127.0.0.1", "MOVED 1 127.0.0.1:", "MOVED 1 :7000",
            "MOVED 1 127.0.0.1:70000", "MOVED 1 127.0.0.1:0",
            "MOVED 1 127.0.0.1:7x", "MOVED x 127.0.0.1:7000", "MOVED",
            "ERR wrong type", "TRYAGAIN multi-key", "ASKING",
            "MOVED 1  127.0.0.1:7000",
            "MOVED 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
            NULL
        };
        int i, none = 1;
        for (i = 0; bad[i]; i++) {
            if (sk_redirect_parse(bad[i], strlen(bad[i]), &rd)
                != SK_REDIRECT_NONE)
            {
                none = 0;
                diag("parsed: %s", bad[i]);
            }
        }
        ok(none, "malformed redirections are plain errors (%d cases)", i);
    }

    done_testing();
}
