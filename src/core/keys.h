/*
 * Redis key schema of the feature store (docs/feature-store.md) and the
 * validation of the ids that go into keys.  Ids never reach a command
 * string: commands are built from argv, and ids are checked here first.
 */
#ifndef SKIP_KEYS_H
#define SKIP_KEYS_H

#include <stddef.h>

#define SK_ID_MAX      64   /* longest user or track id accepted */
#define SK_PREFIX_MAX  32
#define SK_SNAP_MAX    32
#define SK_KEY_MAX     (SK_PREFIX_MAX + SK_SNAP_MAX + SK_ID_MAX + 8)

#define SK_DEFAULT_PREFIX "skip"

/* 1 when s[0..len) is 1..SK_ID_MAX characters of [A-Za-z0-9_.-]. */
int sk_id_valid(const char *s, size_t len);

/* Same rule for a key prefix (1..SK_PREFIX_MAX) and a snapshot id. */
int sk_prefix_valid(const char *s, size_t len);
int sk_snapshot_valid(const char *s, size_t len);

/*
 * Key builders; each returns the key length, or 0 when buf is too small.
 *   <prefix>:active              snapshot id in use
 *   <prefix>:<snap>:u:<user>     user record (hash)
 *   <prefix>:<snap>:t:<track>    track record (hash)
 *   <prefix>:<snap>:meta         snapshot metadata (hash)
 *   <prefix>:<snap>:ut:<user>    the listener's taste (hash, taste_stored.h)
 *   <prefix>:sess:<session>      a listening session's live context (hash,
 *                                session_live.h): not in a snapshot, like
 *                                the open-play markers
 */
size_t sk_key_active(char *buf, size_t size, const char *prefix);
size_t sk_key_user(char *buf, size_t size, const char *prefix,
    const char *snap, const char *id, size_t idlen);
size_t sk_key_track(char *buf, size_t size, const char *prefix,
    const char *snap, const char *id, size_t idlen);
size_t sk_key_meta(char *buf, size_t size, const char *prefix,
    const char *snap);
size_t sk_key_session(char *buf, size_t size, const char *prefix,
    const char *id, size_t idlen);
size_t sk_key_taste(char *buf, size_t size, const char *prefix,
    const char *snap, const char *id, size_t idlen);

#endif
