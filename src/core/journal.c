/* The events journal's keys and shards on a Redis Cluster (journal.h). */
#include <stdio.h>
#include <string.h>

#include "crc16_slot.h"
#include "journal.h"

unsigned
sk_journal_shard(const char *user, size_t len)
{
    return sk_crc16(user, len) % SK_JOURNAL_SHARDS;
}

/*
 * "j<j>.<k>" with the smallest k whose slot falls in shard j's share of
 * the slots, [j * 16384 / J, (j + 1) * 16384 / J).  A pure function of j:
 * the module and skipctl of any version compute the same tags.  About J
 * tries per shard (each lands in the share with probability 1/J).
 */
size_t
sk_journal_tag(unsigned j, char *buf, size_t size)
{
    unsigned  lo, hi, slot, k;
    int       n;

    lo = j * (SK_CLUSTER_SLOTS / SK_JOURNAL_SHARDS);
    hi = lo + SK_CLUSTER_SLOTS / SK_JOURNAL_SHARDS;

    for (k = 0; k < 1000000; k++) {
        n = snprintf(buf, size, "j%u.%u", j, k);
        if (n < 0 || (size_t) n >= size) {
            return 0;
        }
        slot = sk_crc16(buf, (size_t) n) & (SK_CLUSTER_SLOTS - 1);
        if (slot >= lo && slot < hi) {
            return (size_t) n;
        }
    }
    return 0;
}

static size_t
key_fmt(size_t size, int n)
{
    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}

/* The tags, computed once per process (a few thousand CRCs). */
static const char *
tag_of(unsigned j)
{
    static char  tags[SK_JOURNAL_SHARDS][SK_JOURNAL_TAG_MAX];
    static int   done;
    unsigned     i;

    if (!done) {
        for (i = 0; i < SK_JOURNAL_SHARDS; i++) {
            sk_journal_tag(i, tags[i], sizeof(tags[i]));
        }
        done = 1;
    }
    return tags[j % SK_JOURNAL_SHARDS];
}

size_t
sk_key_journal(char *buf, size_t size, const char *prefix, unsigned j)
{
    return key_fmt(size, snprintf(buf, size, "%s:{%s}:journal", prefix,
                                  tag_of(j)));
}

size_t
sk_key_journal_open(char *buf, size_t size, const char *prefix, unsigned j,
    const char *session, size_t slen, const char *track, size_t tlen)
{
    return key_fmt(size, snprintf(buf, size, "%s:{%s}:open:%.*s:%.*s",
                                  prefix, tag_of(j), (int) slen, session,
                                  (int) tlen, track));
}

size_t
sk_key_journal_cursor(char *buf, size_t size, const char *prefix,
    unsigned j, const char *snap)
{
    return key_fmt(size, snprintf(buf, size, "%s:{%s}:cursor:%s", prefix,
                                  tag_of(j), snap));
}

size_t
sk_key_taste_mark(char *buf, size_t size, const char *prefix,
    const char *snap, const char *user, size_t ulen)
{
    return key_fmt(size, snprintf(buf, size, "{%s:%s:ut:%.*s}:j", prefix,
                                  snap, (int) ulen, user));
}

size_t
sk_journal_mark_field(unsigned j, char *buf, size_t size)
{
    return key_fmt(size, snprintf(buf, size, "j:%u", j));
}
