/* skipctl replay --player: slice schedule, CMCD headers, Content-Range,
 * listened share, and the origin-log accounting on a hand-computed case. */
#include <stdlib.h>
#include <unistd.h>

#include "data/listened.h"
#include "replay/replay_player.h"
#include "replay/replay_report.h"
#include "tap.h"

#define MB (1024 * 1024)

static void
test_sizes(void)
{
    is_int(sk_track_bytes(200000, 160), 4000000, "200 s at 160 kbps: 4 MB");
    is_int(sk_track_bytes(1, 12), 2, "1 ms at 12 kbps: 1.5 bytes rounds to 2");
    is_int(sk_track_bytes(0, 160), 1, "never 0 bytes");
    is_int(sk_parse_size("1m"), MB, "1m");
    is_int(sk_parse_size("512k"), 512 * 1024, "512k");
    is_int(sk_parse_size("1000"), 1000, "plain bytes");
    is_int(sk_parse_size("1.5m"), 3 * MB / 2, "1.5m is whole bytes");
    is_int(sk_parse_size("0"), -1, "0 refused");
    is_int(sk_parse_size("1g"), -1, "unknown suffix refused");
    is_int(sk_parse_size("k"), -1, "no number refused");
    is_int(sk_parse_size("-1m"), -1, "negative refused");
    is_int(sk_slice_count(4000000, MB), 4, "4 MB: 4 slices of 1 MiB");
    is_int(sk_slice_count(2 * MB, MB), 2, "exact multiple");
}

static void
test_schedule(void)
{
    sk_slice_req  r[8];
    size_t        n;

    /* 200 s, 4,000,000 bytes: slice k starts at k MiB, heard at
     * k x 1048576 / 4000000 x 200 s = 52.4288 s x k */
    n = sk_slice_schedule(4000000, MB, 200000, 200000, r, 8);
    is_int(n, 4, "full listen: all 4 slices");
    is_int(r[0].start, 0, "slice 0 from byte 0");
    is_int(r[0].end, MB - 1, "slice 0 to 1 MiB - 1");
    is_near(r[0].at_ms, 0, 1e-9, "slice 0 at once");
    is_int(r[1].start, MB, "slice 1 aligned");
    is_near(r[1].at_ms, 52428.8, 1e-6, "slice 1 when its first byte is heard");
    is_near(r[3].at_ms, 157286.4, 1e-6, "slice 3 at 157.3 s");
    is_int(r[3].start, 3 * MB, "last slice start");
    is_int(r[3].end, 3999999, "last slice ends at size - 1");

    n = sk_slice_schedule(4000000, MB, 200000, 60000, r, 8);
    is_int(n, 2, "skip at 60 s: slices 0 and 1 (1 starts at 52.4 s)");
    n = sk_slice_schedule(4000000, MB, 200000, 52428.8, r, 8);
    is_int(n, 1, "skip exactly on slice 1's first byte: slice 0 only");
    n = sk_slice_schedule(4000000, MB, 200000, 0, r, 8);
    is_int(n, 1, "skip at once: still slice 0");
    is_int(r[0].end, MB - 1, "... the whole first slice");
    n = sk_slice_schedule(4000000, MB, 200000, 1e9, r, 8);
    is_int(n, 4, "listened beyond the duration: clamped");
    n = sk_slice_schedule(1000, MB, 5000, 5000, r, 8);
    is_int(n, 1, "track smaller than a slice: one request");
    is_int(r[0].end, 999, "... for the whole track");
    n = sk_slice_schedule(4000000, MB, 200000, 200000, r, 2);
    is_int(n, 4, "count returned even when out is short");
    n = sk_slice_schedule(4000000, MB, 200000, 200000, NULL, 0);
    is_int(n, 4, "count only");
    n = sk_slice_schedule(4000000, 512 * 1024, 200000, 120000, r, 8);
    is_int(n, 5, "512 KiB slices, skip at 120 s: slices 0..4 (4 at 104.9 s)");
}

static void
test_cmcd(void)
{
    char  b[256];

    is_int(sk_cmcd_request(b, sizeof(b), "/tracks/AAA", "/tracks/BBB"), 0,
           "nor ok");
    is_str(b, "nor=\"BBB\"", "same directory: the last segment");
    sk_cmcd_request(b, sizeof(b), "/base/tracks/AAA", "/base/tracks/BBB");
    is_str(b, "nor=\"BBB\"", "under a base path too");
    sk_cmcd_request(b, sizeof(b), "/a/tracks/AAA", "/b/x/BBB");
    is_str(b, "nor=\"../../b/x/BBB\"", "other directories: ../");
    sk_cmcd_request(b, sizeof(b), "/t/A", "/t/a b\"c%:");
    is_str(b, "nor=\"a%20b%22c%25%3A\"", "percent-encoded (quote too)");
    is_int(sk_cmcd_request(b, 10, "/t/A", "/t/BBBBBBBBBB"), -1,
           "too small a buffer");
    is_int(sk_cmcd_session(b, sizeof(b), "42"), 0, "sid ok");
    is_str(b, "sid=\"42\"", "sid is a quoted string");
    sk_cmcd_session(b, sizeof(b), "a\"b\\c");
    is_str(b, "sid=\"a\\\"b\\\\c\"", "quote and backslash escaped");
    is_int(sk_cmcd_session(b, sizeof(b), ""), -1, "empty sid refused");
    is_int(sk_cmcd_session(b, sizeof(b),
           "0123456789012345678901234567890123456789012345678901234567890123"
           "4"), -1, "sid over 64 characters refused");
    is_int(sk_cmcd_session(b, sizeof(b), "a\nb"), -1, "control refused");
}

static void
test_content_range(void)
{
    int64_t  s, e, t;

    is_int(sk_content_range_parse("bytes 0-1048575/4000000", &s, &e, &t), 0,
           "Content-Range parsed");
    ok(s == 0 && e == 1048575 && t == 4000000, "... start, end, total");
    is_int(sk_content_range_parse("bytes 5-9/*", &s, &e, &t), 0, "total *");
    is_int(t, -1, "... unknown total");
    is_int(sk_content_range_parse("bytes 9-5/10", &s, &e, &t), -1,
           "end before start");
    is_int(sk_content_range_parse("bytes 0-10/10", &s, &e, &t), -1,
           "end beyond total");
    is_int(sk_content_range_parse("bytes */10", &s, &e, &t), -1,
           "unsatisfied form is not a range");
    is_int(sk_content_range_parse("items 0-1/2", &s, &e, &t), -1, "units");
}

static void
test_listened(void)
{
    int  a;

    is_near(sk_listened_share(1, 0, 5, 100, &a), 1.0, 1e-12, "a play: all");
    is_int(a, 0, "... not assumed");
    is_near(sk_listened_share(0, 1000, 31000, 200000, &a), 0.15, 1e-12,
            "skip 30 s into 200 s: 0.15");
    is_near(sk_listened_share(0, 0, 500000, 200000, &a), 1.0, 1e-12,
            "clamped to 1");
    is_near(sk_listened_share(0, 0, SK_NO_SKIP_TIME, 200000, &a),
            SK_ASSUMED_LISTENED, 1e-12, "no Skip time: the assumed share");
    is_int(a, 1, "... counted as assumed");
    sk_listened_share(0, 0, 5, 0, &a);
    is_int(a, 1, "no duration: assumed");
}

/*
 * Two plays of track A (4 slices): play 0 full, decided "play", arm x,
 * slices 0 MISS, 1..3 HIT; play 1 skipped after slice 0, decided "skip",
 * arm y.  The origin served A slice 0 to the listener (1 MiB), prefetched
 * A slices 1..3 (3 MiB, listened) and B slice 0 (1 MiB, nobody asked).
 */
static void
test_origin(void)
{
    char           path[] = "/tmp/replay-origin-XXXXXX", err[256];
    int            fd = mkstemp(path);
    FILE          *f = fdopen(fd, "w");
    const char    *A = "AAAAAAAAAAAAAAAAAAAAAA", *B = "BBBBBBBBBBBBBBBBBBBBBB";
    sk_play_rec    plays[2];
    sk_slice_rec   sl[5];
    sk_player_run  run;
    char           *buf = NULL;
    size_t         blen = 0;
    FILE          *out;
    long           from;

    fprintf(f, "{\"uri\":\"/old\",\"range\":\"\",\"status\":200,\"bytes\":7,"
            "\"prefetch\":\"\"}\n");
    from = ftell(f);
    fprintf(f, "{\"uri\":\"/tracks/%s\",\"range\":\"bytes=0-1048575\","
            "\"status\":206,\"bytes\":1048576,\"prefetch\":\"\","
            "\"arm\":\"x\"}\n", A);
    for (int k = 1; k < 4; k++) {
        fprintf(f, "{\"uri\":\"/tracks/%s\",\"range\":\"bytes=%d-%d\","
                "\"status\":206,\"bytes\":\"1048576\",\"prefetch\":\"1\","
                "\"arm\":\"x\"}\n", A, k * MB, (k + 1) * MB - 1);
    }
    fprintf(f, "{\"uri\":\"/tracks/%s\",\"range\":\"bytes=0-1048575\","
            "\"status\":206,\"bytes\":1048576,\"prefetch\":\"1\","
            "\"arm\":\"y\"}\n", B);
    fprintf(f, "not json\n");
    fclose(f);

    memset(plays, 0, sizeof(plays));
    memset(sl, 0, sizeof(sl));
    memset(&run, 0, sizeof(run));
    strcpy(plays[0].track, A);
    plays[0].full = 1;
    strcpy(plays[0].arm, "x");
    strcpy(plays[0].decision, "play");
    strcpy(plays[1].track, A);
    strcpy(plays[1].arm, "y");
    strcpy(plays[1].decision, "skip");
    for (int k = 0; k < 4; k++) {
        sl[k].play = 0;
        sl[k].slice = (uint32_t) k;
        sl[k].start = (int64_t) k * MB;
        sl[k].bytes = MB;
        sl[k].status = 206;
        sl[k].hit = k > 0;
        sl[k].ttfb_ms = (float) (k + 1);
    }
    sl[4].play = 1;
    sl[4].bytes = MB;
    sl[4].status = 206;
    sl[4].hit = 1;
    sl[4].ttfb_ms = 10;
    run.plays = plays;
    run.n_plays = 2;
    run.slices = sl;
    run.n_slices = 5;
    run.slice_bytes = MB;

    is_int(sk_origin_account(&run, path, from, err, sizeof(err)), 0,
           "origin log read");
    is_int(run.origin.all.fetches, 5, "5 fetches after the offset");
    is_int(run.origin.bad_lines, 1, "the junk line counted");
    is_near(run.origin.all.bytes, 5.0 * MB, 0.5, "origin bytes 5 MiB");
    is_near(run.origin.all.listener_bytes, 1.0 * MB, 0.5, "listener 1 MiB");
    is_near(run.origin.all.prefetch_bytes, 4.0 * MB, 0.5, "prefetch 4 MiB");
    is_near(run.origin.all.unlistened_bytes, 1.0 * MB, 0.5,
            "prefetched and never listened: B's slice, 1 MiB");
    is_int(run.origin.all.unlistened_fetches, 1, "... one fetch");
    is_int(run.origin.n_arms, 2, "two arms in the origin log");
    is_near(run.origin.arm[0].unlistened_bytes, 0, 0.5, "arm x wasted none");
    is_near(run.origin.arm[1].unlistened_bytes, 1.0 * MB, 0.5,
            "arm y wasted B's slice");
    is_int(run.origin.n_prefetched, 4, "4 distinct prefetched slices");

    out = open_memstream(&buf, &blen);
    sk_player_report(out, &run, 1);
    fclose(out);
    ok(strstr(buf, "\"by\":\"all\",\"value\":\"\",\"plays\":2,\"full_plays\":1,"
                   "\"slices\":5,\"hit\":4,\"origin\":1,"
                   "\"later_slices_play_full\":3,\"later_hit_play_full\":3,"
                   "\"later_hit_share_play_full\":1.0000") != NULL,
       "JSON: all plays, the later-slice HIT share of full plays decided play");
    ok(strstr(buf, "\"full_play_bytes\":4194304,"
                   "\"full_play_bytes_prefetched\":3145728") != NULL,
       "full play: 3 of 4 MiB were HITs of prefetched slices");
    ok(strstr(buf, "\"full_play_later_bytes\":3145728,"
                   "\"full_play_later_bytes_prefetched\":3145728") != NULL,
       "full play: after the first slice, all 3 MiB were prefetched HITs");
    ok(strstr(buf, "\"ttfb_ms\":{\"p50\":3.000,\"p99\":10.000}") != NULL,
       "ttfb p50/p99 nearest rank over the 5 slices");
    ok(strstr(buf, "{\"by\":\"decision\",\"value\":\"skip\",\"plays\":1,"
                   "\"full_plays\":0,\"slices\":1,") != NULL,
       "per decision of the first slice");
    ok(strstr(buf, "{\"by\":\"arm\",\"value\":\"y\"") != NULL
       && strstr(buf, "\"prefetched_never_listened_bytes\":1048576}") != NULL,
       "per arm with its origin bytes");
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &blen);
    sk_player_report(out, &run, 0);
    fclose(out);
    ok(strstr(buf, "1.0000 (3/3)") != NULL, "text: the target share");
    ok(strstr(buf, "unlistened_MB") != NULL, "text: the origin table");
    printf("%s", buf);
    free(buf);
    sk_origin_free(&run.origin);
    unlink(path);
}

int
main(void)
{
    test_sizes();
    test_schedule();
    test_cmcd();
    test_content_range();
    test_listened();
    test_origin();
    done_testing();
}
