/* Per-listener taste history (see taste_hist.h). */
#include <stdlib.h>
#include <string.h>

#include "taste_hist.h"

static uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

int
sk_taste_hist_init(sk_taste_hist *th, size_t n_users, int folds)
{
    memset(th, 0, sizeof(*th));
    th->nf = folds > 0 ? folds : 1;
    th->n_users = n_users;
    th->gh = calloc((n_users ? n_users : 1) * (size_t) (th->nf + 1)
                    * SK_TASTE_SLOTS * 2, sizeof(*th->gh));
    th->cap = 1 << 16;
    th->keys = calloc(th->cap, sizeof(*th->keys));
    th->ac = calloc(th->cap * (size_t) (th->nf + 1) * 2, sizeof(*th->ac));
    if (th->gh == NULL || th->keys == NULL || th->ac == NULL) {
        sk_taste_hist_free(th);
        return -1;
    }
    return 0;
}

void
sk_taste_hist_free(sk_taste_hist *th)
{
    free(th->gh);
    free(th->keys);
    free(th->ac);
    memset(th, 0, sizeof(*th));
}

/* Slot of key (found or where it goes). */
static size_t
probe(const uint64_t *keys, size_t cap, uint64_t key)
{
    size_t i = (size_t) mix(key) & (cap - 1);

    while (keys[i] != 0 && keys[i] != key) {
        i = (i + 1) & (cap - 1);
    }
    return i;
}

static int
grow(sk_taste_hist *th)
{
    size_t    cap = th->cap * 2, i, j, w = (size_t) (th->nf + 1) * 2;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    uint16_t *ac = calloc(cap * w, sizeof(*ac));

    if (keys == NULL || ac == NULL) {
        free(keys);
        free(ac);
        return -1;
    }
    for (i = 0; i < th->cap; i++) {
        if (th->keys[i] != 0) {
            j = probe(keys, cap, th->keys[i]);
            keys[j] = th->keys[i];
            memcpy(ac + j * w, th->ac + i * w, w * sizeof(*ac));
        }
    }
    free(th->keys);
    free(th->ac);
    th->keys = keys;
    th->ac = ac;
    th->cap = cap;
    return 0;
}

static void
bump16(uint16_t *c)
{
    if (*c < UINT16_MAX) {
        (*c)++;
    }
}

int
sk_taste_hist_add(sk_taste_hist *th, uint32_t user, uint32_t artist,
    uint64_t genres, int hour, int fold, int label)
{
    int       g, k = label ? 0 : 1;
    uint32_t *u;

    if (user >= th->n_users) {
        return 0;
    }
    fold = (fold >= 0 && fold < th->nf) ? fold : 0;
    u = th->gh + (size_t) user * (th->nf + 1) * SK_TASTE_SLOTS * 2;
    for (g = 0; g < SK_N_GENRES; g++) {
        if ((genres >> g) & 1) {
            u[((size_t) fold * SK_TASTE_SLOTS + g) * 2 + k]++;
            u[((size_t) th->nf * SK_TASTE_SLOTS + g) * 2 + k]++;
        }
    }
    if (hour >= 0 && hour < SK_HOURS) {
        g = SK_N_GENRES + hour;
        u[((size_t) fold * SK_TASTE_SLOTS + g) * 2 + k]++;
        u[((size_t) th->nf * SK_TASTE_SLOTS + g) * 2 + k]++;
    }
    if (artist != UINT32_MAX) {
        uint64_t  key = ((uint64_t) user + 1) << 32 | artist;
        size_t    i, w = (size_t) (th->nf + 1) * 2;

        if ((th->used + 1) * 10 > th->cap * 7 && grow(th) != 0) {
            return -1;
        }
        i = probe(th->keys, th->cap, key);
        if (th->keys[i] == 0) {
            th->keys[i] = key;
            th->used++;
        }
        bump16(&th->ac[i * w + (size_t) fold * 2 + k]);
        bump16(&th->ac[i * w + (size_t) th->nf * 2 + k]);
    }
    return 0;
}

/* total - the except fold's count (never below 0) */
static float
net(uint32_t total, const uint32_t *fold_count)
{
    uint32_t f = fold_count ? *fold_count : 0;

    return (float) (total > f ? total - f : 0);
}

void
sk_taste_hist_get(const sk_taste_hist *th, uint32_t user, uint32_t artist,
    uint64_t genres, int hour, int except, sk_taste *out)
{
    const uint32_t *u, *tot, *ex;
    int             g, k, d;

    memset(out, 0, sizeof(*out));
    if (user >= th->n_users) {
        return;
    }
    except = (except >= 0 && except < th->nf) ? except : -1;
    u = th->gh + (size_t) user * (th->nf + 1) * SK_TASTE_SLOTS * 2;
    tot = u + (size_t) th->nf * SK_TASTE_SLOTS * 2;
    ex = except >= 0 ? u + (size_t) except * SK_TASTE_SLOTS * 2 : NULL;
    for (g = 0; g < SK_N_GENRES; g++) {
        if ((genres >> g) & 1) {
            for (k = 0; k < 2; k++) {
                out->genre[g][k] = net(tot[g * 2 + k],
                                       ex ? &ex[g * 2 + k] : NULL);
            }
        }
    }
    if (hour >= 0 && hour < SK_HOURS) {
        for (d = -3; d <= 3; d++) {
            int h = (hour + d + SK_HOURS) % SK_HOURS, s = SK_N_GENRES + h;

            for (k = 0; k < 2; k++) {
                out->hour[h][k] = net(tot[s * 2 + k],
                                      ex ? &ex[s * 2 + k] : NULL);
            }
        }
    }
    if (artist != UINT32_MAX) {
        uint64_t key = ((uint64_t) user + 1) << 32 | artist;
        size_t   i = probe(th->keys, th->cap, key), w = (size_t) (th->nf + 1) * 2;

        if (th->keys[i] == key) {
            const uint16_t *c = th->ac + i * w;

            for (k = 0; k < 2; k++) {
                int t = c[(size_t) th->nf * 2 + k];
                int e = except >= 0 ? c[(size_t) except * 2 + k] : 0;

                out->artist[k] = (float) (t > e ? t - e : 0);
            }
        }
    }
}

const uint32_t *
sk_taste_hist_totals(const sk_taste_hist *th, uint32_t user)
{
    if (user >= th->n_users) {
        return NULL;
    }
    return th->gh + ((size_t) user * (th->nf + 1) + (size_t) th->nf)
                    * SK_TASTE_SLOTS * 2;
}
