/*
 * The streaming reader: every accepted variant of data-format.md, broken
 * rows (counted, reported, fatal in strict mode), overlong lines, line
 * endings, missing files, and the sessions fast path against cJSON.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/dataset.h"
#include "core/dataset_int.h"
#include "tap.h"

#define ID_A "6u11Qbko2N2hP4lTBYjX86"
#define ID_T "2nfuWHO8HuygBh9Bv6QaIW"

/* Read all rows of text; returns the row count; *r stays open for checks. */
static int
read_all(const char *text, sk_file_kind kind, const sk_read_opts *o,
    sk_reader **rp, sk_row *rows, int max)
{
    sk_reader *r = sk_reader_open_mem(text, strlen(text), "mem.jsonl", kind,
                                      o);
    sk_row     row;
    int        n = 0, rc;

    while ((rc = sk_read_next(r, &row)) == 1) {
        if (n < max) {
            rows[n] = row;
        }
        n++;
    }
    if (rc < 0) {
        n = -1 - n;
    }
    *rp = r;
    return n;
}

/*
 * One line, one kind: 1 row (into *row) or 0 skipped (reason in *why).
 * The reader stays open until the next call: row strings point into it.
 */
static sk_reader *last;

static int
one(const char *line, sk_file_kind kind, sk_row *row, int *why)
{
    sk_reader           *r;
    int                  n;
    const sk_read_stats *st;

    sk_reader_close(last);
    r = sk_reader_open_mem(line, strlen(line), "mem.jsonl", kind, NULL);
    n = sk_read_next(r, row) == 1;
    st = sk_reader_stats(r);
    last = r;

    *why = -1;
    for (int i = 0; i < SK_N_SKIP; i++) {
        if (st->skipped[i]) {
            *why = i;
        }
    }
    return n;
}

static void
test_artists(void)
{
    sk_row row;
    int    why;

    is_int(one("{\"id\":\"" ID_A "\",\"name\":\"Stan \\\"R\\\" Rogers\","
               "\"genres\":[\"celtic\",\"rock\",\"pop\"]}", SK_FILE_ARTISTS,
               &row, &why), 1, "artist v2 row");
    is_str(row.artist.id, ID_A, "artist id");
    is_str(row.artist.name, "Stan \"R\" Rogers", "artist name unescaped");
    is_int(row.artist.n_genres, 3, "artist genre count");
    is_str(row.artist.genres[0], "celtic", "artist first genre");
    ok(row.artist.genre_mask != 0 && __builtin_popcountll(
       row.artist.genre_mask) == 2, "artist user-genre mask has rock, pop");
    is_int(one("[\"" ID_A "\",\"Peter Bjorn and John\",null]",
               SK_FILE_ARTISTS, &row, &why), 1, "artist v1 row, null genres");
    is_int(row.artist.n_genres, 0, "null genres: none");
    is_int(one("[null,\"Harlequin\",[\"rock\"]]", SK_FILE_ARTISTS, &row,
               &why), 0, "artist v1 null id skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");
    is_int(one("{\"id\":\"short\",\"name\":\"x\",\"genres\":[]}",
               SK_FILE_ARTISTS, &row, &why), 0, "artist bad id skipped");
    is_int(why, SK_SKIP_BAD_VALUE, "as a bad value");
    is_int(one("{\"artist_id\":\"" ID_A "\",\"name\":\"x\"}",
               SK_FILE_ARTISTS, &row, &why), 1, "artist_id as id, no genres");
}

static const char *track_v2 =
    "{\"id\":\"" ID_T "\",\"artist_id\":\"" ID_A "\",\"name\":\"Łódź\","
    "\"popularity\":55,\"duration_ms\":212345,\"explicit\":1,"
    "\"release_date\":\"1999-07-01\",\"danceability\":0.5,\"energy\":0.25,"
    "\"key\":7,\"mode\":null,\"loudness\":-7.5,\"speechiness\":0.04,"
    "\"acousticness\":0.1,\"instrumentalness\":0.0,\"liveness\":0.2,"
    "\"valence\":0.9,\"tempo\":120.5,\"time_signature\":4}";

static void
test_tracks(void)
{
    sk_row row;
    int    why;

    is_int(one(track_v2, SK_FILE_TRACKS, &row, &why), 1, "track v2 row");
    is_str(row.track.id, ID_T, "track id");
    is_str(row.track.artist_id, ID_A, "track artist_id");
    is_str(row.track.name, "Łódź", "raw UTF-8 name");
    is_int(row.track.popularity, 55, "popularity");
    is_int(row.track.duration_ms, 212345, "duration_ms");
    is_int(row.track.explicit_, 1, "explicit");
    is_int(row.track.release_year, 1999, "release year of YYYY-MM-DD");
    is_int(row.track.mode, SK_MISSING, "mode null -> missing");
    is_int(row.track.key, 7, "key");
    is_near(row.track.tempo, 120.5, 1e-9, "tempo");
    is_near(row.track.loudness, -7.5, 1e-9, "loudness");
    is_int(row.track.time_signature, 4, "time_signature");

    is_int(one("{\"id\":\"" ID_T "\",\"id_artist\":\"" ID_A "\",\"name\":\"x\","
               "\"popularity\":1,\"duration_ms\":1000,\"explicit\":false,"
               "\"release_date\":\"1921\",\"danceability\":0.5,"
               "\"energy\":0.5,\"key\":1,\"loudness\":-5,\"speechiness\":0,"
               "\"acousticness\":0,\"instrumentalness\":0,\"liveness\":0,"
               "\"valence\":0,\"tempo\":0}", SK_FILE_TRACKS, &row, &why), 1,
           "id_artist, no mode/time_signature, explicit as bool");
    is_str(row.track.artist_id, ID_A, "id_artist read");
    is_int(row.track.mode, SK_MISSING, "absent mode");
    is_int(row.track.time_signature, SK_MISSING, "absent time_signature");
    is_int(row.track.release_year, 1921, "release year of YYYY");
    is_int(row.track.explicit_, 0, "explicit false");

    is_int(one("[\"" ID_T "\",\"" ID_A "\",\"n\",50,1000,0,\"2001\",0.1,0.2,"
               "3,1,-4.5,0.1,0.2,0.3,0.4,0.5,99.5,3]", SK_FILE_TRACKS, &row,
               &why), 1, "track v1 array, 19 items");
    is_int(row.track.mode, 1, "v1 mode");
    is_int(row.track.time_signature, 3, "v1 time_signature");
    is_near(row.track.tempo, 99.5, 1e-9, "v1 tempo");
    is_int(one("[\"" ID_T "\",\"" ID_A "\",\"n\",50,1000,0,\"2001\",0.1,0.2,"
               "3,-4.5,0.1,0.2,0.3,0.4,0.5,99.5]", SK_FILE_TRACKS, &row,
               &why), 1, "track v1 array, 17 items (no mode/tsig)");
    is_near(row.track.loudness, -4.5, 1e-9, "17 items: loudness in place");
    is_near(row.track.tempo, 99.5, 1e-9, "17 items: tempo in place");
    is_int(row.track.mode, SK_MISSING, "17 items: mode missing");
    is_int(one("[\"" ID_T "\",\"" ID_A "\",\"n\",50,1000,0,\"2001\",0.1,0.2,"
               "3,-4.5,0.1,0.2,0.3,0.4,0.5,99.5,4]", SK_FILE_TRACKS, &row,
               &why), 1, "track v1 array, 18 items (no mode)");
    is_int(row.track.time_signature, 4, "18 items: time_signature last");
    is_int(one("[\"" ID_T "\",\"" ID_A "\",\"n\"]", SK_FILE_TRACKS, &row,
               &why), 0, "short track array skipped");
    is_int(why, SK_SKIP_BAD_SHAPE, "as a bad shape");
    is_int(one("{\"id\":\"" ID_T "\",\"artist_id\":null}", SK_FILE_TRACKS,
               &row, &why), 0, "null artist_id skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");

    {
        /* A wrongly typed non-key field keeps the row and is counted. */
        const char *t = "{\"id\":\"" ID_T "\",\"artist_id\":\"" ID_A "\","
                        "\"popularity\":\"high\",\"tempo\":\"fast\"}";
        sk_reader  *r;
        sk_row      rows[1];

        is_int(read_all(t, SK_FILE_TRACKS, NULL, &r, rows, 1), 1,
               "wrong-typed non-key fields keep the row");
        is_int(rows[0].track.popularity, SK_MISSING, "popularity missing");
        ok(isnan(rows[0].track.tempo), "tempo NAN");
        is_int(sk_reader_stats(r)->defaulted, 1, "counted as defaulted");
        sk_reader_close(r);
    }
}

static void
test_users(void)
{
    sk_row row;
    int    why;

    is_int(one("{\"user_id\":101,\"name\":\"Jerzy Tatarczyk\",\"city\":"
               "\"Wyszków\",\"street\":\"Błękitna 928\",\"favourite_genres\":"
               "[\"lounge\",\"rock\",\"motown\"],\"premium_user\":false}",
               SK_FILE_USERS, &row, &why), 1, "user v2 row");
    is_int(row.user.user_id, 101, "user_id");
    is_str(row.user.city, "Wyszków", "city");
    is_int(row.user.n_favourite, 3, "3 favourites");
    is_int(__builtin_popcountll(row.user.favourite_mask), 3, "3 mask bits");
    is_int(row.user.premium, 0, "premium false");
    is_int(one("[129,\"Róża Potok\",\"Nysa\",\"Widokowa 222\",[\"hard rock\","
               "\"singer-songwriter\",\"latin\"],null]", SK_FILE_USERS, &row,
               &why), 1, "user v1 row, null premium");
    is_int(row.user.premium, SK_MISSING, "null premium -> missing");
    is_int(one("[null,\"Witold Żach\",\"Chojnice\",\"Piękna 69\",[\"rock\"],"
               "true]", SK_FILE_USERS, &row, &why), 0, "null user_id skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");
    is_int(one("{\"user_id\":\"101\"}", SK_FILE_USERS, &row, &why), 0,
           "string user_id skipped");
    is_int(why, SK_SKIP_BAD_TYPE, "as a wrong type");
    is_int(one("{\"user_id\":101.5}", SK_FILE_USERS, &row, &why), 0,
           "fractional user_id skipped");
    is_int(why, SK_SKIP_BAD_VALUE, "as a bad value");
    is_int(one("{\"user_id\":-3}", SK_FILE_USERS, &row, &why), 0,
           "negative user_id skipped");
    is_int(one("{\"user_id\":1e20}", SK_FILE_USERS, &row, &why), 0,
           "huge user_id skipped");
}

static void
test_events(void)
{
    sk_row row;
    int    why;

    is_int(one("{\"timestamp\":\"2024-02-08 09:52:40.925 +02:00:00\","
               "\"user_id\":101,\"track_id\":\"" ID_T "\",\"event_type\":"
               "\"Play\",\"session_id\":124}", SK_FILE_SESSIONS, &row, &why),
           1, "event v2 row");
    is_int(row.event.ts_ms, 1707378760925LL, "event time (UTC ms)");
    is_int(row.event.tz_min, 120, "event offset");
    is_int(row.event.has_tz, 1, "event has offset");
    is_int(row.event.user_id, 101, "event user");
    is_str(row.event.track_id, ID_T, "event track");
    is_int(row.event.type, SK_EV_PLAY, "event type");
    is_int(row.event.session_id, 124, "event session");

    is_int(one("[\"2024-02-08 09:50:00.0 +02:00:00\",101,\"" ID_T "\","
               "\"Skip\",124]", SK_FILE_SESSIONS, &row, &why), 1,
           "event v1 array row");
    is_int(row.event.type, SK_EV_SKIP, "v1 Skip");

    {
        static const struct { const char *name; int type; } names[] = {
            { "PLAY", SK_EV_PLAY }, { "play", SK_EV_PLAY },
            { "sKiP", SK_EV_SKIP }, { "LIKE", SK_EV_LIKE },
            { "Advertisement", SK_EV_ADVERTISEMENT },
            { "advertisment", SK_EV_ADVERTISEMENT },
            { "ADVERTISMENT", SK_EV_ADVERTISEMENT },
            { "BuyPremium", SK_EV_BUYPREMIUM },
            { "buy_premium", SK_EV_BUYPREMIUM },
            { "BUYPREMIUM", SK_EV_BUYPREMIUM },
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char line[256];

            snprintf(line, sizeof(line), "[\"2024-02-08T07:52:40Z\",1,\""
                     ID_T "\",\"%s\",5]", names[i].name);
            ok(one(line, SK_FILE_SESSIONS, &row, &why) == 1
               && (int) row.event.type == names[i].type,
               "event name %s", names[i].name);
        }
    }
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Pause\",5]",
               SK_FILE_SESSIONS, &row, &why), 0, "unknown event skipped");
    is_int(why, SK_SKIP_BAD_VALUE, "as a bad value");

    /* Ads: "", null, an id; not a key there. */
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"\",\"Advertisement\",5]",
               SK_FILE_SESSIONS, &row, &why), 1, "ad with \"\" track");
    is_str(row.event.track_id, "", "ad track empty");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,null,\"advertisment\",5]",
               SK_FILE_SESSIONS, &row, &why), 1, "ad with null track");
    is_int(one("{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,"
               "\"event_type\":\"BuyPremium\",\"session_id\":5}",
               SK_FILE_SESSIONS, &row, &why), 1, "BuyPremium without track");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Advertisement\","
               "5]", SK_FILE_SESSIONS, &row, &why), 1, "ad with a track id");
    is_str(row.event.track_id, ID_T, "ad track id kept");

    /* Key fields of events. */
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"\",\"Play\",5]",
               SK_FILE_SESSIONS, &row, &why), 0, "Play with \"\" skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");
    is_int(one("[\"2024-04-03 14:11:00.0 +02:00:00\",101,null,\"Play\",127]",
               SK_FILE_SESSIONS, &row, &why), 0, "Play with null skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");
    is_int(one("[\"2024-02-08 09:52:42.307 +02:00:00\",101,\"\",null,124]",
               SK_FILE_SESSIONS, &row, &why), 0, "null event_type skipped");
    is_int(why, SK_SKIP_NULL_KEY, "as a null key");
    is_int(one("[\"2024-02-08 10:01:05.146 +02:00:00\",null,\"" ID_T "\","
               "\"Play\",124]", SK_FILE_SESSIONS, &row, &why), 0,
           "null user_id skipped");
    is_int(one("[null,1,\"" ID_T "\",\"Play\",5]", SK_FILE_SESSIONS, &row,
               &why), 0, "null timestamp skipped");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Play\",null]",
               SK_FILE_SESSIONS, &row, &why), 0, "null session_id skipped");
    is_int(one("[\"yesterday\",1,\"" ID_T "\",\"Play\",5]", SK_FILE_SESSIONS,
               &row, &why), 0, "bad timestamp skipped");
    is_int(why, SK_SKIP_BAD_VALUE, "as a bad value");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",3,5]",
               SK_FILE_SESSIONS, &row, &why), 0, "numeric event_type skipped");
    is_int(why, SK_SKIP_BAD_TYPE, "as a wrong type");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,42,\"Like\",5]",
               SK_FILE_SESSIONS, &row, &why), 0, "numeric track_id skipped");
    is_int(why, SK_SKIP_BAD_TYPE, "as a wrong type");
    is_int(one("[\"2024-02-08T07:52:40Z\",1,\"" ID_T "x\",\"Like\",5]",
               SK_FILE_SESSIONS, &row, &why), 0, "23-char track_id skipped");
    is_int(why, SK_SKIP_BAD_VALUE, "as a bad value");

    /* Timestamp variants in rows. */
    is_int(one("{\"timestamp\":\"2023-10-26T06:21:13.547000\",\"user_id\":1,"
               "\"track_id\":\"" ID_T "\",\"event_type\":\"Play\","
               "\"session_id\":2}", SK_FILE_SESSIONS, &row, &why), 1,
           "ISO timestamp without offset");
    is_int(row.event.has_tz, 0, "no offset: has_tz 0 (UTC)");
    is_int(row.event.ts_ms, 1698301273547LL, "ISO time as UTC");
}

static void
test_storage_truth(void)
{
    sk_row row;
    int    why;

    is_int(one("{\"track_id\":\"" ID_T "\",\"storage_class\":\"Slow\","
               "\"daily_cost\":0.0106}", SK_FILE_STORAGE, &row, &why), 1,
           "storage v2 row");
    is_int(row.storage.storage_class, SK_STORE_SLOW, "Slow");
    is_near(row.storage.daily_cost, 0.0106, 1e-12, "daily_cost");
    is_int(one("[\"" ID_T "\",\"MEDIUM\",0.02]", SK_FILE_STORAGE, &row, &why),
           1, "storage v1 upper case");
    is_int(row.storage.storage_class, SK_STORE_MEDIUM, "MEDIUM");
    is_int(one("[\"" ID_T "\",\"fast\",0.1]", SK_FILE_STORAGE, &row, &why),
           1, "storage lower case");
    is_int(row.storage.storage_class, SK_STORE_FAST, "fast");
    is_int(one("[\"" ID_T "\",\"Glacier\",0.1]", SK_FILE_STORAGE, &row,
               &why), 0, "unknown storage class skipped");
    is_int(one("{\"session_id\":124,\"track_id\":\"" ID_T "\",\"timestamp\":"
               "\"2024-02-08 09:52:40.925 +02:00:00\",\"p_skip\":0.25}",
               SK_FILE_TRUTH, &row, &why), 1, "truth row");
    is_near(row.truth.p_skip, 0.25, 1e-12, "p_skip");
    is_int(one("{\"session_id\":124,\"track_id\":\"" ID_T "\",\"timestamp\":"
               "\"2024-02-08 09:52:40.925 +02:00:00\",\"p_skip\":1.5}",
               SK_FILE_TRUTH, &row, &why), 0, "p_skip > 1 skipped");
}

static void
test_broken(void)
{
    sk_row       rows[16];
    sk_reader   *r;
    sk_read_opts o = { 0 };
    int          n, why;
    const char  *text =
        "[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Play\",5]\r\n"
        "\n"
        "   \r\n"
        "{\"timestamp\": \"2024-02-08T07:52:40Z\"\n"          /* line 4 */
        "[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Play\",5] x\n"
        "42\n"
        "[\"2024-02-08T07:52:40Z\",1]\n"
        "[\"2024-02-08T07:52:41Z\",1,\"" ID_T "\",\"Skip\",5]";  /* no \n */

    n = read_all(text, SK_FILE_SESSIONS, &o, &r, rows, 16);
    is_int(n, 2, "two good rows among junk, CRLF and blank lines");
    is_int(rows[1].line, 8, "last line without newline read, line 8");
    is_int(sk_reader_stats(r)->lines, 8, "8 lines");
    is_int(sk_reader_stats(r)->skipped[SK_SKIP_BAD_JSON], 2,
           "invalid JSON and trailing text counted");
    is_int(sk_reader_stats(r)->skipped[SK_SKIP_BAD_SHAPE], 2,
           "scalar row and short array counted");
    is_int(sk_reader_stats(r)->skipped_total, 4, "4 skipped");
    is_int(sk_reader_n_messages(r), 4, "4 messages kept");
    is_str(sk_reader_message(r, 0), "mem.jsonl:4: invalid JSON near byte 37",
           "message names file and line");
    sk_reader_close(r);

    /* A NUL byte inside a line. */
    {
        const char line[] = "[\"2024-02-08T07:52:40Z\",1,\"" ID_T
                            "\",\"Play\",5]\0junk\n";

        r = sk_reader_open_mem(line, sizeof(line) - 1, "nul", SK_FILE_SESSIONS,
                               NULL);
        is_int(sk_read_next(r, rows), 0, "line with NUL skipped");
        is_int(sk_reader_stats(r)->skipped[SK_SKIP_BAD_JSON], 1,
               "as invalid JSON");
        sk_reader_close(r);
    }

    /* Strict: the first bad row is fatal and names file and line. */
    o.strict = 1;
    n = read_all(text, SK_FILE_SESSIONS, &o, &r, rows, 16);
    is_int(n, -2, "strict: one row, then an error");
    is_str(sk_reader_error(r), "mem.jsonl:4: invalid JSON near byte 37 "
           "(strict)", "strict error names file:line");
    is_int(sk_read_next(r, rows), -1, "error is sticky");
    sk_reader_close(r);

    /* Messages are capped. */
    {
        char big[4096] = "";

        for (int i = 0; i < 20; i++) {
            strcat(big, "nope\n");
        }
        o.strict = 0;
        o.max_messages = 3;
        n = read_all(big, SK_FILE_USERS, &o, &r, rows, 16);
        is_int(n, 0, "20 bad lines: no rows");
        is_int(sk_reader_stats(r)->skipped_total, 20, "20 counted");
        is_int(sk_reader_n_messages(r), 3, "3 messages kept");
        sk_reader_close(r);
    }
    (void) why;
}

static void
test_long_lines(void)
{
    sk_read_opts o = { .max_line = 128 };
    sk_reader   *r;
    sk_row       rows[8];
    size_t       big = (1u << 20) + 100, len;
    char        *text = malloc(big * 3 + 1024);
    const char  *good = "[\"2024-02-08T07:52:40Z\",1,\"" ID_T "\",\"Play\","
                        "5]\n";
    int          n;

    /* good, 1 MiB + 100 of junk, good, 300 bytes, good */
    len = 0;
    len += (size_t) sprintf(text + len, "%s", good);
    memset(text + len, 'x', big);
    len += big;
    text[len++] = '\n';
    len += (size_t) sprintf(text + len, "%s", good);
    memset(text + len, ' ', 300);
    text[len] = '[';
    len += 300;
    text[len++] = '\n';
    len += (size_t) sprintf(text + len, "%s", good);
    text[len] = '\0';

    n = read_all(text, SK_FILE_SESSIONS, NULL, &r, rows, 8);
    is_int(n, 3, "default limit: three rows around a 1 MiB+ line");
    is_int(sk_reader_stats(r)->skipped[SK_SKIP_TOO_LONG], 1,
           "the 1 MiB+ line counted as too long");
    is_int(rows[1].line, 3, "line numbers stay right after it");
    sk_reader_close(r);

    n = read_all(text, SK_FILE_SESSIONS, &o, &r, rows, 8);
    is_int(n, 3, "128-byte limit: still three rows");
    is_int(sk_reader_stats(r)->skipped[SK_SKIP_TOO_LONG], 2,
           "two lines too long");
    is_int(rows[2].line, 5, "last row on line 5");
    sk_reader_close(r);

    /* An overlong last line without a newline. */
    text[0] = '\0';
    len = (size_t) sprintf(text, "%s", good);
    memset(text + len, 'y', 5000);
    text[len + 5000] = '\0';
    n = read_all(text, SK_FILE_SESSIONS, &o, &r, rows, 8);
    is_int(n, 1, "overlong unterminated last line");
    is_int(sk_reader_stats(r)->skipped[SK_SKIP_TOO_LONG], 1, "counted");
    is_int(sk_reader_stats(r)->lines, 2, "2 lines");
    sk_reader_close(r);
    free(text);
}

static void
test_files(void)
{
    char        err[512], path[] = "/tmp/sk_reader_XXXXXX";
    sk_reader  *r;
    sk_row      row;
    int         fd, n = 0;
    const char *data =
        "{\"user_id\":101,\"name\":\"A\",\"favourite_genres\":[\"rock\"],"
        "\"premium_user\":true}\n{\"user_id\":102}\n";

    r = sk_reader_open("/nonexistent/dir/users.jsonl", SK_FILE_USERS, NULL,
                       err, sizeof(err));
    ok(r == NULL, "missing file: no reader");
    is_str(err, "/nonexistent/dir/users.jsonl: No such file or directory",
           "missing file: error names the file");
    r = sk_reader_open_dir("/nonexistent", SK_FILE_TRACKS, NULL, err,
                           sizeof(err));
    is_str(err, "/nonexistent/tracks.jsonl: No such file or directory",
           "open_dir names DIR/tracks.jsonl");
    r = sk_reader_open("/tmp", SK_FILE_USERS, NULL, err, sizeof(err));
    if (r) {
        ok(sk_read_next(r, &row) == -1, "a directory: read error");
        ok(strstr(sk_reader_error(r), "/tmp: Is a directory") != NULL,
           "a directory: error names it");
        sk_reader_close(r);
    } else {
        ok(1, "a directory: refused at open");
        ok(1, "(nothing to read)");
    }

    fd = mkstemp(path);
    if (write(fd, data, strlen(data)) != (ssize_t) strlen(data)) {
        diag("short write");
    }
    close(fd);
    r = sk_reader_open(path, SK_FILE_USERS, NULL, err, sizeof(err));
    ok(r != NULL, "open a file");
    while (sk_read_next(r, &row) == 1) {
        n++;
    }
    is_int(n, 2, "two users from a file");
    is_int(row.user.premium, SK_MISSING, "second user: premium missing");
    is_int((long) sk_reader_stats(r)->bytes, (long) strlen(data),
           "bytes counted");
    sk_reader_close(r);
    unlink(path);
}

/* Fast path and cJSON agree on every line the fast path takes. */
static void
test_fast_path(void)
{
    static const char *lines[] = {
        "{\"timestamp\":\"2024-02-08 09:52:40.925 +02:00:00\",\"user_id\":101,"
        "\"track_id\":\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":124}",
        "{\"timestamp\":\"2024-02-08 09:52:40.0 +02:00:00\",\"user_id\":0,"
        "\"track_id\":\"\",\"event_type\":\"Advertisement\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":5100,"
        "\"track_id\":\"\",\"event_type\":\"BuyPremium\",\"session_id\":9}  ",
        "{\"timestamp\":\"2024-02-08 09:52:40.9 +02:00:00\",\"user_id\":7,"
        "\"track_id\":\"" ID_T "\",\"event_type\":\"advertisment\","
        "\"session_id\":124}",
        "{\"timestamp\":\"2024-02-08 09:52:40.925 +02:00:00\",\"user_id\":101,"
        "\"track_id\":\"" ID_T "\",\"event_type\":\"LIKE\",\"session_id\":124}",
    };
    static const char *fallback[] = {
        /* spaces, escapes, other order, numbers with a fraction, bad key */
        "{\"timestamp\": \"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Pl\\u0061y\",\"session_id\":1}",
        "{\"user_id\":1,\"timestamp\":\"2024-02-08T07:52:40Z\",\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1.0,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":01,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"\",\"event_type\":\"Play\",\"session_id\":1}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1}x",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"" ID_T "\",\"event_type\":\"Play\",\"session_id\":1234567890123456}",
        "{\"timestamp\":\"2024-02-08T07:52:40Z\",\"user_id\":1,\"track_id\":"
        "\"bad\",\"event_type\":\"Advertisement\",\"session_id\":1}",
    };
    sk_read_opts slow = { .no_fast_path = 1 };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        sk_event_row ev;
        sk_reader   *a, *b;
        sk_row       ra, rb;
        int          na, nb;

        memset(&ev, 0, sizeof(ev));
        ok(sk_fast_event(lines[i], strlen(lines[i]), &ev) == 1,
           "fast path takes line %zu", i);
        a = sk_reader_open_mem(lines[i], strlen(lines[i]), "a",
                               SK_FILE_SESSIONS, NULL);
        b = sk_reader_open_mem(lines[i], strlen(lines[i]), "b",
                               SK_FILE_SESSIONS, &slow);
        na = sk_read_next(a, &ra);
        nb = sk_read_next(b, &rb);
        ok(na == 1 && nb == 1 && ra.event.ts_ms == rb.event.ts_ms
           && ra.event.tz_min == rb.event.tz_min
           && ra.event.has_tz == rb.event.has_tz
           && ra.event.user_id == rb.event.user_id
           && strcmp(ra.event.track_id, rb.event.track_id) == 0
           && ra.event.type == rb.event.type
           && ra.event.session_id == rb.event.session_id
           && sk_reader_stats(a)->fast == 1 && sk_reader_stats(b)->fast == 0,
           "fast and cJSON agree on line %zu", i);
        sk_reader_close(a);
        sk_reader_close(b);
    }
    for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
        sk_event_row ev;

        ok(sk_fast_event(fallback[i], strlen(fallback[i]), &ev) == 0,
           "fast path leaves unusual line %zu to cJSON", i);
    }
}

int
main(void)
{
    test_artists();
    test_tracks();
    test_users();
    test_events();
    test_storage_truth();
    test_broken();
    test_long_lines();
    test_files();
    test_fast_path();
    sk_reader_close(last);
    return done_testing();
}
