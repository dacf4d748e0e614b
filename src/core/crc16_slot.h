/*
 * Redis Cluster key routing: the hash slot of a key, and the redirections
 * a cluster node answers with.  Plain C, shared by the module (route each
 * HMGET to the node that owns its key) and skipctl (pipeline per node).
 *
 * The slot is CRC16 (XMODEM: polynomial 0x1021, initial value 0, no
 * reflection) of the key modulo 16384, where a key holding "{tag}" with a
 * non-empty tag hashes only the tag: "{u1}:a" and "{u1}:b" share a slot.
 * Only the first "{" counts, and only up to the first "}" after it.
 */
#ifndef SKIP_CRC16_SLOT_H
#define SKIP_CRC16_SLOT_H

#include <stddef.h>

#define SK_CLUSTER_SLOTS  16384

/* CRC16/XMODEM of buf[0..len). */
unsigned sk_crc16(const char *buf, size_t len);

/* The hash slot of key[0..len), 0..16383, hash tags honoured. */
unsigned sk_key_slot(const char *key, size_t len);

/* What a "-MOVED" or "-ASK" error reply says. */
typedef enum {
    SK_REDIRECT_NONE = 0,     /* not a redirection */
    SK_REDIRECT_MOVED,        /* the slot lives there now: update the map */
    SK_REDIRECT_ASK           /* this key only, once, after ASKING */
} sk_redirect_kind;

typedef struct {
    sk_redirect_kind  kind;
    unsigned          slot;
    char              host[64];       /* as the node printed it (an IP) */
    unsigned          port;
} sk_redirect;

/*
 * Parse an error reply's text ("MOVED 3999 127.0.0.1:6381", "ASK 3999
 * [::1]:6381", with or without the leading "-").  Returns the kind, and
 * fills *rd for MOVED and ASK; SK_REDIRECT_NONE for any other error and
 * for a redirection that does not parse (a slot out of range, no port,
 * a host longer than rd->host): the caller treats those as plain errors.
 */
sk_redirect_kind sk_redirect_parse(const char *s, size_t len,
    sk_redirect *rd);

#endif
