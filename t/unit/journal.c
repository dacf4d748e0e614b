/* The events journal's keys on a Redis Cluster (journal.h). */
#include <stdio.h>
#include <string.h>

#include "core/crc16_slot.h"
#include "core/journal.h"
#include "tap.h"

int
main(void)
{
    char      a[SK_JOURNAL_KEY_MAX], b[SK_JOURNAL_KEY_MAX], tag[32];
    size_t    la, lb;
    unsigned  j, share, slot, spread_ok = 1, tagged_ok = 1;

    share = SK_CLUSTER_SLOTS / SK_JOURNAL_SHARDS;
    for (j = 0; j < SK_JOURNAL_SHARDS; j++) {
        sk_journal_tag(j, tag, sizeof(tag));
        la = sk_key_journal(a, sizeof(a), "skip", j);
        slot = sk_key_slot(a, la);
        if (slot < j * share || slot >= (j + 1) * share) {
            spread_ok = 0;
        }
        lb = sk_key_journal_open(b, sizeof(b), "skip", j, "17", 2,
                                 "2dUJCU2ZZHDwjl8ZKpQA2t", 22);
        if (sk_key_slot(b, lb) != slot) {
            tagged_ok = 0;
        }
        lb = sk_key_journal_cursor(b, sizeof(b), "other", j, "s1");
        if (sk_key_slot(b, lb) != slot) {
            tagged_ok = 0;
        }
    }
    ok(spread_ok, "shard j's slot lies in the j-th 1/32 of the slots "
       "(evenly spread over the primaries' ranges)");
    ok(tagged_ok, "a shard's journal, markers and cursors share its slot, "
       "whatever the prefix");

    sk_journal_tag(0, tag, sizeof(tag));
    is_str(tag, "j0.41", "tags are a pure function of the shard (module and "
           "skipctl of any version agree)");
    la = sk_key_journal(a, sizeof(a), "skip", 3);
    sk_journal_tag(3, tag, sizeof(tag));
    snprintf(b, sizeof(b), "skip:{%s}:journal", tag);
    is_str(a, b, "the journal key: <prefix>:{<tag>}:journal");

    is_int(sk_journal_shard("101", 3), sk_crc16("101", 3) % 32,
           "a listener's shard: CRC16 of the user id mod 32");

    la = sk_key_taste_mark(a, sizeof(a), "skip", "s2026", "101", 3);
    is_str(a, "{skip:s2026:ut:101}:j", "the taste's mark key");
    is_int(sk_key_slot(a, la), sk_key_slot("skip:s2026:ut:101", 17),
           "... in the taste key's slot");

    sk_journal_mark_field(31, a, sizeof(a));
    is_str(a, "j:31", "the mark field of shard 31");

    memset(a, 'x', 64);
    is_int(sk_key_journal_open(b, 40, "skip", 1, a, 64, a, 64), 0,
           "a key that does not fit: 0");
    done_testing();
    return 0;
}
