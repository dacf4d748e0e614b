/*
 * The events journal on a Redis Cluster (docs/cluster.md, "Live events on
 * a cluster"): key names and shards, shared by the module (which journals
 * events) and skipctl (which applies them).
 *
 * A cluster refuses a script whose keys span slots, and the single-server
 * event script touches five.  So an event is journaled first, in one
 * script on one slot, and applied to the records later, record by record.
 * The journal is SK_JOURNAL_SHARDS shards; all of a listener's events go
 * to shard sk_journal_shard(user), so that the user record and the taste
 * key only ever see one shard (one ordered stream, one mark each).  The
 * keys of shard j carry the hash tag "{<tag j>}", chosen so that the
 * shards' slots are spread evenly over 0..16383 (a cluster gives each
 * primary contiguous slot ranges, so the shards spread over primaries):
 *
 *   <prefix>:{<tag>}:journal                  stream of counted events
 *   <prefix>:{<tag>}:open:<session>:<track>   labelling marker ("p"/"s")
 *   <prefix>:{<tag>}:cursor:<snap>            last entry applied to snap
 *
 * The applier marks what it applied in the records themselves (field
 * "j:<j>" of the user and track hash: the id of the last entry of shard j
 * applied to it); the taste is a string, so its mark is a hash of its
 * own in the same slot: "{<taste key>}:j", whose hash tag is the whole
 * taste key (a key without braces hashes whole: same slot).
 *
 * Every function returns the key's length, 0 when it does not fit.
 */
#ifndef SKIP_JOURNAL_H
#define SKIP_JOURNAL_H

#include <stddef.h>

#include "keys.h"

#define SK_JOURNAL_SHARDS   32
#define SK_JOURNAL_TAG_MAX  16
/* prefix, tag, "open", a session and a track id, separators */
#define SK_JOURNAL_KEY_MAX  (SK_PREFIX_MAX + SK_JOURNAL_TAG_MAX \
                             + 2 * SK_ID_MAX + 16)

/* The shard of a listener's events: CRC16 of the user id, mod shards. */
unsigned sk_journal_shard(const char *user, size_t len);

/* The hash tag of shard j (no braces), e.g. "j7.12". */
size_t sk_journal_tag(unsigned j, char *buf, size_t size);

size_t sk_key_journal(char *buf, size_t size, const char *prefix,
    unsigned j);
size_t sk_key_journal_open(char *buf, size_t size, const char *prefix,
    unsigned j, const char *session, size_t slen, const char *track,
    size_t tlen);
size_t sk_key_journal_cursor(char *buf, size_t size, const char *prefix,
    unsigned j, const char *snap);

/* "{<prefix>:<snap>:ut:<user>}:j": the taste's marks, in its slot. */
size_t sk_key_taste_mark(char *buf, size_t size, const char *prefix,
    const char *snap, const char *user, size_t ulen);

/* "j:<j>": the mark field of shard j in a record (or the taste's marks). */
size_t sk_journal_mark_field(unsigned j, char *buf, size_t size);

#endif
