/* The 50 user genres and the mask helpers built on them (see genres.h). */
#include <string.h>

#include "genres.h"

static const char *const genre_names[SK_N_GENRES] = {
    "adult standards", "album rock", "alternative metal", "alternative rock",
    "argentine rock", "art rock", "blues rock", "brill building pop",
    "c-pop", "classic rock", "country rock", "dance pop", "europop", "folk",
    "folk rock", "funk", "hard rock", "hoerspiel", "italian adult pop",
    "j-pop", "latin", "latin alternative", "latin pop", "latin rock",
    "lounge", "mandopop", "mellow gold", "metal", "modern rock", "motown",
    "mpb", "new romantic", "new wave", "new wave pop", "permanent wave",
    "pop", "pop rock", "post-teen pop", "psychedelic rock", "quiet storm",
    "ranchera", "regional mexican", "rock", "rock en espanol", "roots rock",
    "singer-songwriter", "soft rock", "soul", "tropical", "vocal jazz"
};

int
sk_genre_index(const char *name, size_t len)
{
    int lo = 0, hi = SK_N_GENRES - 1;

    /* Binary search: the table is sorted by strcmp order. */
    while (lo <= hi) {
        int         mid = (lo + hi) / 2;
        const char *g = genre_names[mid];
        size_t      glen = strlen(g);
        int         c = memcmp(name, g, len < glen ? len : glen);

        if (c == 0) {
            c = (len > glen) - (len < glen);
        }
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

const char *
sk_genre_name(int i)
{
    return (i >= 0 && i < SK_N_GENRES) ? genre_names[i] : "";
}

int
sk_genre_count(uint64_t mask)
{
    return __builtin_popcountll(mask);
}

int
sk_genre_mask_parse(const char *s, size_t len, uint64_t *mask, int *unknown)
{
    size_t i = 0;

    *mask = 0;
    if (unknown) {
        *unknown = 0;
    }
    if (len == 0) {
        return 0;
    }
    while (i <= len) {
        size_t j = i;
        int    g;

        while (j < len && s[j] != ',') {
            j++;
        }
        if (j == i) {
            return -1;
        }
        g = sk_genre_index(s + i, j - i);
        if (g >= 0) {
            *mask |= (uint64_t) 1 << g;
        } else if (unknown) {
            (*unknown)++;
        }
        i = j + 1;
    }
    return 0;
}

size_t
sk_genre_mask_format(uint64_t mask, char *buf, size_t size)
{
    size_t n = 0;
    int    i;

    if (size == 0) {
        return 0;
    }
    buf[0] = '\0';
    for (i = 0; i < SK_N_GENRES; i++) {
        size_t glen;

        if (!(mask & ((uint64_t) 1 << i))) {
            continue;
        }
        glen = strlen(genre_names[i]);
        if (n + (n ? 1 : 0) + glen + 1 > size) {
            break;
        }
        if (n) {
            buf[n++] = ',';
        }
        memcpy(buf + n, genre_names[i], glen);
        n += glen;
        buf[n] = '\0';
    }
    return n;
}
