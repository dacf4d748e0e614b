/*
 * Hash slots and redirections of Redis Cluster (crc16_slot.h).
 */
#include <string.h>

#include "crc16_slot.h"

unsigned
sk_crc16(const char *buf, size_t len)
{
    unsigned  crc = 0;
    size_t    i;
    int       b;

    /*
     * Bit by bit: a key is a few dozen bytes and this runs twice per
     * track request, so a 512-byte table would buy nothing measurable.
     */
    for (i = 0; i < len; i++) {
        crc ^= (unsigned) (unsigned char) buf[i] << 8;

        for (b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
        }

        crc &= 0xffff;
    }

    return crc;
}

unsigned
sk_key_slot(const char *key, size_t len)
{
    const char  *open, *close;

    open = memchr(key, '{', len);

    if (open != NULL) {
        close = memchr(open + 1, '}', len - (size_t) (open + 1 - key));

        /* "{}" or an unclosed "{": the whole key is hashed */
        if (close != NULL && close > open + 1) {
            return sk_crc16(open + 1, (size_t) (close - open - 1))
                   & (SK_CLUSTER_SLOTS - 1);
        }
    }

    return sk_crc16(key, len) & (SK_CLUSTER_SLOTS - 1);
}

/* digits of s[*i..len) as an unsigned below limit; -1 if none or too big */
static long
sk_redirect_number(const char *s, size_t len, size_t *i, long limit)
{
    long  v = 0;
    size_t start = *i;

    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        if (v >= limit) {
            return -1;
        }
        (*i)++;
    }

    return *i > start ? v : -1;
}

sk_redirect_kind
sk_redirect_parse(const char *s, size_t len, sk_redirect *rd)
{
    size_t            i, h, hlen, colon;
    long              slot, port;
    sk_redirect_kind  kind;

    i = 0;

    if (len && s[0] == '-') {
        i = 1;
    }

    if (len - i > 6 && memcmp(s + i, "MOVED ", 6) == 0) {
        kind = SK_REDIRECT_MOVED;
        i += 6;

    } else if (len - i > 4 && memcmp(s + i, "ASK ", 4) == 0) {
        kind = SK_REDIRECT_ASK;
        i += 4;

    } else {
        return SK_REDIRECT_NONE;
    }

    slot = sk_redirect_number(s, len, &i, SK_CLUSTER_SLOTS);
    if (slot < 0 || i >= len || s[i] != ' ') {
        return SK_REDIRECT_NONE;
    }

    h = ++i;

    /* host:port, the port after the last ':' ("[::1]:7000", "::1:7000") */
    colon = len;
    for ( /* void */ ; i < len && s[i] != ' ' && s[i] != '\r'; i++) {
        if (s[i] == ':') {
            colon = i;
        }
    }

    if (colon == len || colon == h) {
        return SK_REDIRECT_NONE;
    }

    hlen = colon - h;
    if (s[h] == '[' && s[colon - 1] == ']') {
        h++;
        hlen -= 2;
    }

    if (hlen == 0 || hlen >= sizeof(rd->host)) {
        return SK_REDIRECT_NONE;
    }

    colon++;
    port = sk_redirect_number(s, len, &colon, 65536);
    if (port <= 0 || colon != i) {
        return SK_REDIRECT_NONE;
    }

    memcpy(rd->host, s + h, hlen);
    rd->host[hlen] = '\0';
    rd->kind = kind;
    rd->slot = (unsigned) slot;
    rd->port = (unsigned) port;

    return kind;
}
