/* Redis key schema and id validation (see keys.h). */
#include <stdio.h>
#include <string.h>

#include "keys.h"

static int
charset_ok(const char *s, size_t len, size_t max)
{
    size_t i;

    if (len == 0 || len > max) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
        {
            return 0;
        }
    }
    return 1;
}

int
sk_id_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_ID_MAX);
}

int
sk_prefix_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_PREFIX_MAX);
}

int
sk_snapshot_valid(const char *s, size_t len)
{
    return charset_ok(s, len, SK_SNAP_MAX);
}

static size_t
key_fmt(size_t size, int n)
{
    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}

size_t
sk_key_active(char *buf, size_t size, const char *prefix)
{
    return key_fmt(size, snprintf(buf, size, "%s:active", prefix));
}

size_t
sk_key_user(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_fmt(size, snprintf(buf, size, "%s:%s:u:%.*s", prefix,
                                       snap, (int) idlen, id));
}

size_t
sk_key_track(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_fmt(size, snprintf(buf, size, "%s:%s:t:%.*s", prefix,
                                       snap, (int) idlen, id));
}

size_t
sk_key_taste(char *buf, size_t size, const char *prefix, const char *snap,
    const char *id, size_t idlen)
{
    return key_fmt(size, snprintf(buf, size, "%s:%s:ut:%.*s", prefix,
                                       snap, (int) idlen, id));
}

size_t
sk_key_session(char *buf, size_t size, const char *prefix, const char *id,
    size_t idlen)
{
    return key_fmt(size, snprintf(buf, size, "%s:sess:%.*s", prefix,
                                       (int) idlen, id));
}

size_t
sk_key_meta(char *buf, size_t size, const char *prefix, const char *snap)
{
    return key_fmt(size, snprintf(buf, size, "%s:%s:meta", prefix,
                                       snap));
}
