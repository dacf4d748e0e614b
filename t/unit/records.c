/* Records, keys and genres: the shared vocabulary of skipctl and the module. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "core/genres.h"
#include "core/keys.h"
#include "core/records.h"

static void
decode_args(char vals[][SK_REC_VALMAX], int n, const char **v, size_t *l)
{
    int i;

    for (i = 0; i < n; i++) {
        v[i] = vals[i];
        l[i] = strlen(vals[i]);
    }
}

int
main(void)
{
    char          buf[256], err[256];
    char          uv[SK_USER_NFIELDS][SK_REC_VALMAX];
    char          tv[SK_TRACK_NFIELDS][SK_REC_VALMAX];
    const char   *v[SK_TRACK_NFIELDS];
    size_t        l[SK_TRACK_NFIELDS];
    uint64_t      mask;
    int           unknown;
    sk_user_rec   u, u2;
    sk_track_rec  t, t2;

    /* genres */
    is_int(sk_genre_index("adult standards", 15), 0, "first genre");
    is_int(sk_genre_index("vocal jazz", 10), 49, "last genre");
    is_int(sk_genre_index("rock", 4), 42, "rock");
    is_int(sk_genre_index("roc", 3), -1, "prefix is not a genre");
    is_int(sk_genre_index("Rock", 4), -1, "case-sensitive");
    ok(sk_genre_mask_parse("rock,soul,nope", 14, &mask, &unknown) == 0
       && sk_genre_count(mask) == 2 && unknown == 1,
       "mask parse keeps known genres, counts unknown");
    ok(sk_genre_mask_parse("rock,,soul", 10, &mask, NULL) == -1,
       "empty list item is malformed");
    sk_genre_mask_format(((uint64_t) 1 << 42) | ((uint64_t) 1 << 47), buf,
                         sizeof(buf));
    is_str(buf, "rock,soul", "mask formats in genre order");

    /* keys and ids */
    ok(sk_id_valid("4iV5W9uYEdYUVa79Axb7Rh", 22), "track id valid");
    ok(!sk_id_valid("a\r\nDEL x", 8), "CRLF id rejected");
    ok(!sk_id_valid("", 0), "empty id rejected");
    memset(buf, 'a', 65);
    ok(!sk_id_valid(buf, 65), "65-char id rejected");
    ok(sk_key_user(buf, sizeof(buf), "skip", "s1", "101", 3) > 0, "user key");
    is_str(buf, "skip:s1:u:101", "user key layout");
    ok(sk_key_track(buf, 10, "skip", "s1", "abcdef", 6) == 0,
       "key builder reports a too-small buffer");
    /* "skip:s1:t:abcdef" is 16 bytes: 17 fit it with its NUL, 16 do not */
    is_int((long) sk_key_track(buf, 17, "skip", "s1", "abcdef", 6), 16,
           "a key that just fits, with its length");
    is_str(buf, "skip:s1:t:abcdef", "track key layout");
    is_int((long) sk_key_track(buf, 16, "skip", "s1", "abcdef9", 6), 0,
           "one byte short: refused");
    is_int((long) sk_key_taste(buf, sizeof(buf), "p", "x", "42xyz", 2), 9,
           "only idlen bytes of the id are used");
    is_str(buf, "p:x:ut:42", "taste key layout");

    /* user record round trip */
    memset(&u, 0, sizeof(u));
    u.fav = ((uint64_t) 1 << 3) | ((uint64_t) 1 << 20);
    u.premium = 1;
    u.plays = 17;
    u.skips = 0.1 + 0.2;   /* not representable briefly: needs 17 digits */
    u.fav_plays = 3;
    u.fav_skips = 1e-9;
    sk_user_rec_encode(&u, uv);
    is_str(uv[2], "17", "integral counts are written as integers");
    decode_args(uv, SK_USER_NFIELDS, v, l);
    is_int(sk_user_rec_decode(&u2, v, l, err, sizeof(err)), SK_REC_OK,
           "user record decodes");
    ok(memcmp(&u, &u2, sizeof(u)) == 0, "user record round trips bit-exact");

    /* track record round trip */
    memset(&t, 0, sizeof(t));
    t.genres = 1;
    t.n_genres = 4;
    t.popularity = 55;
    t.duration_ms = 213000;
    t.year = 1999;
    t.danceability = 0.512;
    t.energy = 0.7;
    t.key = 5;
    t.mode = -1;
    t.loudness = -7.25;
    t.tempo = 120.003;
    t.time_signature = 4;
    t.storage = SK_STORAGE_MEDIUM;
    t.daily_cost = 213 * 1e-4;
    sk_track_rec_encode(&t, tv);
    is_str(tv[8], "0.512", "doubles are written in their shortest form");
    decode_args(tv, SK_TRACK_NFIELDS, v, l);
    is_int(sk_track_rec_decode(&t2, v, l, err, sizeof(err)), SK_REC_OK,
           "track record decodes");
    ok(memcmp(&t, &t2, sizeof(t)) == 0, "track record round trips bit-exact");

    /* malformed and missing */
    v[4] = "101";
    l[4] = 3;
    is_int(sk_track_rec_decode(&t2, v, l, err, sizeof(err)),
           SK_REC_MALFORMED, "popularity out of range is malformed");
    ok(strstr(err, "popularity") != NULL, "error names the field: %s", err);
    v[4] = "5x";
    l[4] = 2;
    is_int(sk_track_rec_decode(&t2, v, l, err, sizeof(err)),
           SK_REC_MALFORMED, "trailing garbage is malformed");
    v[4] = NULL;
    is_int(sk_track_rec_decode(&t2, v, l, err, sizeof(err)),
           SK_REC_MALFORMED, "one missing field is malformed");
    ok(strstr(err, "missing") != NULL, "error says missing: %s", err);
    memset(v, 0, sizeof(v));
    is_int(sk_track_rec_decode(&t2, v, l, err, sizeof(err)), SK_REC_MISSING,
           "all fields nil = record missing");
    v[20] = "FAST";
    l[20] = 4;
    is_int(sk_storage_parse(v[20], l[20]), SK_STORAGE_FAST,
           "storage class in any case");
    v[0] = "nan";
    decode_args(uv, SK_USER_NFIELDS, v, l);
    v[2] = "nan";
    l[2] = 3;
    is_int(sk_user_rec_decode(&u2, v, l, err, sizeof(err)), SK_REC_MALFORMED,
           "NaN count is malformed");
    v[2] = "17\0junk";
    l[2] = 7;
    is_int(sk_user_rec_decode(&u2, v, l, err, sizeof(err)), SK_REC_MALFORMED,
           "a NUL inside a value is malformed (the value must fill it)");
    v[2] = " 17";
    l[2] = 3;
    is_int(sk_user_rec_decode(&u2, v, l, err, sizeof(err)), SK_REC_MALFORMED,
           "a leading blank is malformed");
    v[2] = "1";
    l[2] = 1;
    is_int(sk_user_rec_decode(&u2, v, l, err, sizeof(err)), SK_REC_MALFORMED,
           "favourite-genre plays above all plays are malformed");
    ok(strstr(err, "fav_plays") && strstr(err, "more than plays"),
       "... saying so: %s", err);
    v[2] = "x\n[emerg] \"forged";
    l[2] = 18;
    sk_user_rec_decode(&u2, v, l, err, sizeof(err));
    ok(strchr(err, '\n') == NULL && strstr(err, "x?[emerg] ?forged"),
       "control bytes and quotes of a bad value are not logged: %s", err);

    {
        /* log-safe text: control bytes, DEL, high bytes and quotes -> '?' */
        char safe[8];

        is_int((long) sk_log_safe(safe, sizeof(safe), "a\x1b\"b\x7f\xff" "cdef",
                                  10), 7, "sk_log_safe: truncated to size - 1");
        is_str(safe, "a??b??c", "sk_log_safe: each unsafe byte is '?'");
        char msg[] = "x\n\"y\"\x07";
        sk_log_scrub(msg, sizeof(msg) - 1);
        is_str(msg, "x?\"y\"?", "sk_log_scrub: keeps quotes, not controls");
    }

    return done_testing();
}
