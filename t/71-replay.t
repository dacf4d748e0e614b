#!/usr/bin/perl
# skipctl replay against a real nginx (no module directives: a location
# that answers 200 and logs every request) and against a fake HTTP server
# that closes every connection and answers 503 first, for the retry of
# event batches.
use strict;
use warnings;
use Test::More;
use JSON::PP ();
use Time::HiRes qw(time);
use SkipTest;

my $t = SkipTest->new;
my $dir = $t->dir;
my $skipctl = $t->skipctl;

# --- a tiny dataset: 10 sessions of 3 plays, A played, B skipped, C played
my ($AR, $A, $B, $C) = ('R' x 22, 'A' x 22, 'B' x 22, 'C' x 22);
mkdir "$dir/data";
$t->write_file('data/artists.jsonl',
    qq({"id":"$AR","name":"Band","genres":["rock","pop"]}\n));
$t->write_file('data/tracks.jsonl', join '', map {
    qq({"id":"$_","artist_id":"$AR","name":"t","popularity":50,)
  . qq("duration_ms":200000,"explicit":0,"release_date":"2000",)
  . qq("danceability":0.5,"energy":0.5,"key":1,"mode":1,"loudness":-5.0,)
  . qq("speechiness":0.1,"acousticness":0.1,"instrumentalness":0.0,)
  . qq("liveness":0.1,"valence":0.5,"tempo":120.0,"time_signature":4}\n)
} $A, $B, $C);
$t->write_file('data/users.jsonl', join '', map {
    qq({"user_id":$_,"name":"A B","city":"Malbork","street":"Polna 1",)
  . qq("favourite_genres":["rock","pop","folk"],"premium_user":true}\n)
} 101, 102);
my $sessions = '';
for my $s (1 .. 10) {
    my $user = $s % 2 ? 101 : 102;
    my $h = sprintf('%02d', $s);
    my $ev = sub {
        my ($mmss, $track, $type) = @_;
        qq({"timestamp":"2024-02-08 $h:$mmss.0 +02:00:00","user_id":$user,)
      . qq("track_id":"$track","event_type":"$type","session_id":$s}\n);
    };
    $sessions .= $ev->('00:00', $A, 'Play');
    $sessions .= $ev->('03:20', $B, 'Play');
    $sessions .= $ev->('03:50', $B, 'Skip');
    $sessions .= $ev->('03:50', $C, 'Play');
    $sessions .= qq({"timestamp":"2024-02-08 $h:04:00.0 +02:00:00","user_id":$user,)
               . qq("track_id":"","event_type":"Advertisement","session_id":$s}\n);
}
$t->write_file('data/sessions.jsonl', $sessions);

# --- nginx: tracks answer 200 with a fake cache status; events are proxied
# to a sink so that nginx reads the body and can log it.
# root: nginx's workers must run as root to write the cache in the test dir
$t->write_conf(($> == 0 ? "user root;\n" : '') . <<'CONF');
events { worker_connections 256; }
http {
    log_format tracks escape=json '{"uri":"$uri","user":"$http_x_user_id",'
        '"pos":"$http_x_session_position","hour":"$http_x_local_hour",'
        '"conn":"$connection","n":"$connection_requests"}';
    log_format events escape=json '{"ctype":"$content_type","body":"$request_body"}';
    map $http_x_user_id $fake_cache { 101 HIT; default MISS; }
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        keepalive_requests 1000;
        location /tracks/ {
            access_log %%TESTDIR%%/tracks.log tracks;
            add_header X-Cache-Status $fake_cache;
            add_header X-Skip-Decision play;
            return 200 "a track body of some bytes\n";
        }
        location = /skip/events {
            access_log %%TESTDIR%%/events.log events;
            client_body_buffer_size 1m;
            client_max_body_size 1m;
            proxy_pass http://127.0.0.1:%%PORT_8081%%/sink;
        }
        location = /skip/authed {
            if ($http_authorization != "Bearer s3cret") { return 401; }
            return 204;
        }
        location = /skip/broken {
            return 400 '{"error":"bad"}';
        }
    }
    server {
        listen 127.0.0.1:%%PORT_8081%%;
        access_log off;
        location = /sink { return 204; }
    }

    # --player: an origin of sparse track files that logs every range it
    # serves, and a sliced caching edge in front of it.  A mirror stands in
    # for the module's prefetch: every slice request also fetches slice 1
    # of its track with X-Skip-Prefetch: 1 (not cached), so that the
    # origin-log accounting has prefetches listened and not.
    log_format origin escape=json '{"uri":"$uri","range":"$http_range",'
        '"status":$status,"bytes":$body_bytes_sent,'
        '"prefetch":"$http_x_skip_prefetch","arm":"$http_x_skip_arm"}';
    log_format player escape=json '{"uri":"$uri","range":"$http_range",'
        '"nor":"$http_cmcd_request","sid":"$http_cmcd_session",'
        '"user":"$http_x_user_id","t":"$msec","cache":"$upstream_cache_status"}';
    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;
    map $http_x_user_id $arm { 101 a; 102 b; default ""; }
    server {
        listen 127.0.0.1:%%PORT_8082%%;
        access_log %%TESTDIR%%/origin.jsonl origin;
        root %%TESTDIR%%/origin;
    }
    server {
        listen 127.0.0.1:%%PORT_8083%%;
        keepalive_requests 1000;
        location /tracks/ {
            access_log %%TESTDIR%%/player.log player;
            slice 64k;
            proxy_cache tracks;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_set_header X-Skip-Arm $arm;
            proxy_cache_valid 200 206 1h;
            mirror /pf;
            add_header X-Cache-Status $upstream_cache_status always;
            add_header X-Skip-Decision play always;
            add_header X-Skip-Arm $arm always;
            proxy_pass http://127.0.0.1:%%PORT_8082%%;
        }
        location = /pf {
            internal;
            access_log off;
            proxy_set_header Range "bytes=65536-131071";
            proxy_set_header X-Skip-Prefetch 1;
            proxy_set_header X-Skip-Arm $arm;
            proxy_pass http://127.0.0.1:%%PORT_8082%%$request_uri;
        }
        location /bad/ {
            access_log off;
            proxy_set_header Range "bytes=0-9";
            proxy_pass http://127.0.0.1:%%PORT_8082%%/tracks/;
        }
        location = /skip/events { return 204; }
    }
}
CONF
$t->start_nginx;
my $url = 'http://127.0.0.1:' . $t->port(8080);

sub run {
    my ($args) = @_;
    my $out = `$skipctl replay $args 2>$dir/stderr`;
    return ($? >> 8, $out, $t->read_file('stderr'));
}
# nginx writes a request's access log line just after the answer, so the
# replay can exit before the last line is there: read once the file has
# stopped growing for 100 ms (at most 2 s).
sub lines {
    my ($f) = @_;
    my ($size, $n) = (-1, 0);
    while ($n++ < 20) {
        my $now = -s $t->dir . "/$f" // 0;
        last if $now == $size;
        $size = $now;
        select(undef, undef, undef, 0.1);
    }
    return grep { length } split /\n/, $t->read_file($f);
}

# --- usage -----------------------------------------------------------------
my ($rc, $out, $err) = run('--help');
is($rc, 0, '--help exits 0');
like($out, qr/WHAT IS REPLAYED.*EXIT STATUS/s, '--help is a manual page');
($rc, $out, $err) = run("--data $dir/data");
is($rc, 2, 'missing --url is a usage error');
($rc, $out, $err) = run("--data $dir/data --url ftp://x");
is($rc, 2, 'non-http URL is a usage error');
($rc, $out, $err) = run("--data $dir/data --url $url --concurrency 0");
is($rc, 2, 'concurrency 0 is a usage error');
($rc, $out, $err) = run("--data $dir/data --url $url --position-header 'X: y'");
is($rc, 2, 'a bad --position-header is a usage error');
like($err, qr/--position-header: not a header name/, 'and says which option');
($rc, $out, $err) = run("--data $dir/nope --url $url");
is($rc, 1, 'missing data dir: exit 1');
like($err, qr{nope}, 'names the directory');
my $dead = 'http://127.0.0.1:' . SkipTest::free_port();
($rc, $out, $err) = run("--data $dir/data --url $dead --quiet");
is($rc, 1, 'nginx unreachable: exit 1');
like($err, qr/connect to 127\.0\.0\.1:\d+: Connection refused/, 'says why');

# --- the held-out sessions through nginx -----------------------------------
($rc, $out, $err) = run("--data $dir/data --url $url --concurrency 2 --batch 2 "
                      . "--events-log $dir/posted.jsonl");
is($rc, 0, 'replay exits 0') or diag($err);
like($err, qr/time split: 10 sessions, the last 2 held out/,
     "the trainer's time split: last 20 % of sessions");
like($out, qr/^requests\s+6 in /m, '6 requests (2 sessions x 3 plays)');
like($out, qr/^status\s+200=6$/m, 'all 200');
like($out, qr/^X-Cache-Status\s+.*HIT=3/m, 'cache header values counted (HIT)');
like($out, qr/^X-Cache-Status\s+.*MISS=3/m, 'cache header values counted (MISS)');
like($out, qr/^X-Skip-Decision\s+play=6$/m, 'decision header counted');
like($out, qr/^X-Skip-Arm\s+\(absent\)$/m, 'an absent header says so');
like($out, qr/^cache_hit_ratio\s+0\.5000 \(3 of 6\)$/m, 'hit ratio');
like($out, qr/^latency_ms\s+p50=[\d.]+ p90=[\d.]+ p99=[\d.]+ max=[\d.]+$/m,
     'latency percentiles');
like($out, qr/^events\s+posted=6 accepted=6 rejected=0 lost=0 retried=0 batches=4 \(statuses 204=4\)$/m,
     'events: 6 accepted in 4 batches (2 + 1 per session)');

my @tr = lines('tracks.log');
is(scalar @tr, 6, 'nginx logged 6 track requests');
my %users = map { /"user":"(\d+)"/ ? ($1 => 1) : () } @tr;
is_deeply([sort keys %users], [101, 102],
          'users 101 (session 9) and 102 (session 10) via X-User-Id');
is(scalar(grep { m{"uri":"/tracks/(A{22}|B{22}|C{22})"} } @tr), 6,
   'GET /tracks/<id>');
ok((grep { /"n":"[2-9]"/ } @tr), 'keep-alive: several requests on one connection');
my %pos = map { m{"uri":"/tracks/(\w)\w*","user":"\d+","pos":"(\d*)"} ? ("$1$2" => 1) : () } @tr;
my %hour = map { m{"user":"(\d+)".*"hour":"(\d*)"} ? ("$1 $2" => 1) : () } @tr;
is_deeply([sort keys %hour], ['101 9', '102 10'],
          'X-Local-Hour: the hour of the play as written in the dataset');
is_deeply([sort keys %pos], ['A0', 'B1', 'C2'],
          'X-Session-Position: plays before this one in its session');

my @posted = lines('posted.jsonl');
is(scalar @posted, 6, 'events log holds 6 outcome events');
is(scalar(grep { /"event_type":"Skip"/ && /"track_id":"$B"/ } @posted), 2,
   'B was skipped in both sessions: Skip events');
is(scalar(grep { /"event_type":"Play"/ } @posted), 4, 'A and C: Play events');
like($posted[0], qr/^\{"timestamp":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+00:00:00","user_id":10[12],"track_id":"[ABC]{22}","event_type":"(Play|Skip)","session_id":(9|10)\}$/,
     'Pozytywka event format, wall-clock UTC timestamp');
my ($y) = $posted[0] =~ /"timestamp":"(\d{4})/;
is($y, (gmtime)[5] + 1900, 'timestamp is now, not the dataset time');

my @evl = lines('events.log');
is(scalar @evl, 4, 'nginx received 4 event batches');
like($evl[0], qr/"ctype":"application\/x-ndjson"/, 'JSONL content type');
my $bodies = join '', map { /"body":"(.*)"\}$/ ? $1 : '' } @evl;
my $n = () = $bodies =~ /session_id/g;
is($n, 6, 'the batches carry the 6 events');

# --- options ------------------------------------------------------------------
($rc, $out, $err) = run("--data $dir/data --url $url --limit 4 --events-url none "
                      . "--position-header none --hour-header none --quiet");
is($rc, 0, '--limit run exits 0');
like($out, qr/^requests\s+4 in /m, '--limit 4: 4 requests');
like($out, qr/^events\s+not posted/m, '--events-url none posts nothing');
is(scalar(lines('events.log')), 4, 'no new batches at nginx');
@tr = lines('tracks.log');
is(scalar(grep { /"pos":"","hour":""/ } @tr[6 .. $#tr]), 4,
   '--position-header none --hour-header none: neither sent');

($rc, $out, $err) = run("--data $dir/data --url $url --test-split 0.5 --quiet --json");
is($rc, 0, '--test-split 0.5 exits 0');
like($out, qr/"requests":15,"sessions":5,/, '--test-split 0.5: 5 sessions, 15 requests');
like($out, qr/"cache_hit_ratio":0\.\d+/, '--json has the hit ratio');

my $t0 = time;
($rc, $out, $err) = run("--data $dir/data --url $url --quiet "
                      . "--from-session-time '2024-02-08 10:00:00 +02:00' --speedup 1000 "
                      . "--events-log $dir/paced.jsonl --original-timestamps");
my $took = time - $t0;
is($rc, 0, '--from-session-time with --speedup exits 0') or diag($err);
like($out, qr/^requests\s+3 in /m, 'only session 10 starts at or after 10:00');
ok($took >= 0.4, sprintf('paced: 430 s of listening at 1000x took %.2f s', $took));
like($t->read_file('paced.jsonl'), qr/"timestamp":"2024-02-08 08:03:20(\.0)? \+00:00:00","user_id":102,"track_id":"$B","event_type":"Skip","session_id":10/,
     '--original-timestamps: the play time of the dataset (UTC)');

# --- the events token (skip_events_token) ------------------------------------
$t->write_file('token', "s3cret\n");
($rc, $out, $err) = run("--data $dir/data --url $url --events-url /skip/authed "
                      . "--events-token-file $dir/token --quiet");
like($out, qr/^events\s+posted=6 accepted=6 /m, '--events-token-file: Bearer token accepted');
($rc, $out, $err) = run("--data $dir/data --url $url --events-url /skip/authed --quiet");
like($out, qr/accepted=0 rejected=6 /m, 'without it: rejected (401)');
{
    local $ENV{SKIP_EVENTS_TOKEN} = 's3cret';
    ($rc, $out, $err) = run("--data $dir/data --url $url --events-url /skip/authed --quiet");
    like($out, qr/accepted=6 /m, '$SKIP_EVENTS_TOKEN works too');
}
($rc, $out, $err) = run("--data $dir/data --url $url --events-token-file $dir/nope");
is($rc, 2, 'unreadable token file: usage error');
like($err, qr{--events-token-file \S*nope: No such file}, '... naming the file');
$t->write_file('badtoken', "two words\n");
($rc, $out, $err) = run("--data $dir/data --url $url --events-token-file $dir/badtoken");
is($rc, 2, 'a token with a space is refused');

($rc, $out, $err) = run("--data $dir/data --write-train $dir/train.jsonl --quiet");
is($rc, 0, '--write-train exits 0 without --url') or diag($err);
my @train = lines('train.jsonl');
is(scalar @train, 40, 'the 8 training sessions, all 5 events each (ads included)');
ok(!(grep { /"session_id":(9|10)\}/ } @train), 'no event of a replayed session');
like($train[0], qr/^\{"timestamp":"2024-02-08 01:00:00(\.0)? \+02:00:00","user_id":101,"track_id":"A{22}","event_type":"Play","session_id":1\}$/,
     'Pozytywka v2 rows, the written offset kept');
($rc, $out, $err) = run("--data $dir/data --write-train $dir/train2.jsonl --quiet "
                      . "--from-session-time '2024-02-08 06:00:00 +02:00'");
is(scalar(lines('train2.jsonl')), 25, '--from-session-time: sessions 1..5 are the training window');

($rc, $out, $err) = run("--data $dir/data --url $url --quiet --events-url /skip/broken");
is($rc, 0, 'events rejected by the server: still exit 0');
like($out, qr/^events\s+posted=6 accepted=0 rejected=6 .*400=2/m, 'rejected events counted');

# --- --player: slices along the listening time, CMCD, origin accounting ----
# Tracks of 200 s at 8 kbps = 200000 bytes; 64 KiB slices: 4 per track,
# slice k heard at k x 65536 / 200000 x 200 s = 65.536 s x k.  Sessions 9
# and 10 (users 101 and 102): A played (4 slices), B skipped 30 s in
# (slice 0 only), C played (4 slices) = 18 slice requests.
my $pl = 'http://127.0.0.1:' . $t->port(8083);
my $popts = "--player --kbps 8 --slice 64k --concurrency 1";
($rc, $out, $err) = run("--data $dir/data $popts --write-sizes $dir/sizes.txt");
is($rc, 0, '--write-sizes exits 0 without --url') or diag($err);
is($t->read_file('sizes.txt'), "$A 200000\n$B 200000\n$C 200000\n",
   '--write-sizes: each replayed track once, duration x kbps / 8 bytes');
mkdir "$dir/origin";
mkdir "$dir/origin/tracks";
for my $line (lines('sizes.txt')) {
    my ($id, $size) = split ' ', $line;
    open my $fh, '>', "$dir/origin/tracks/$id" or die $!;
    truncate $fh, $size;
    close $fh;
}
$t->write_file('origin.jsonl', qq({"uri":"/before","range":"","status":200,"bytes":99,"prefetch":"1","arm":""}\n));

($rc, $out, $err) = run("--data $dir/data --url $pl $popts --speedup 10");
is($rc, 2, '--player with --speedup is a usage error');
($rc, $out, $err) = run("--data $dir/data --url $pl --player --slice 1g");
is($rc, 2, 'a bad --slice is a usage error');
like($err, qr/--slice: expected a size/, '... saying so');
($rc, $out, $err) = run("--data $dir/data --url $pl --origin-log $dir/origin.jsonl");
is($rc, 2, '--origin-log without --player is a usage error');

($rc, $out, $err) = run("--data $dir/data --url $pl $popts "
                      . "--origin-log $dir/origin.jsonl");
is($rc, 0, 'player replay exits 0') or diag($err);
like($err, qr/player: 65536-byte slices, 8 kbps, 1 s of listening = 1 ms/,
     'the player settings on stderr');
like($out, qr/^requests\s+18 in /m, '18 slice requests');
like($out, qr/^status\s+206=18$/m, 'all 206');
like($out, qr/^player\s+6 plays, 18 slices of 65536 bytes/m, 'player line');
like($out, qr/^all\s+6\s+4\s+18\s+9\s+9\s+0\.5000 \(6\/12\)\s+0\.9\s+[\d.]+\s+[\d.]+\s+0\s+0$/m,
     'all: 9 HITs (session 10), later slices of full plays decided play 6/12');
like($out, qr/^arm=a\s+3\s+2\s+9\s+0\s+9\s+0\.0000 \(0\/6\)/m, 'arm a (session 9): all from the origin');
like($out, qr/^arm=b\s+3\s+2\s+9\s+9\s+0\s+1\.0000 \(6\/6\)/m, 'arm b (session 10): all HITs');
like($out, qr/^decision=play\s+6\s+4\s+18\s/m, 'per decision of the first slice');

my @pl = map { JSON::PP::decode_json($_) } lines('player.log');
is(scalar @pl, 18, 'the edge saw 18 requests');
my @s9 = grep { $_->{user} eq '101' } @pl;
is_deeply([map { ($_->{uri} =~ m{/(\w)\w+$})[0] . ' ' . $_->{range} } @s9],
          ["A bytes=0-65535", "A bytes=65536-131071", "A bytes=131072-196607",
           "A bytes=196608-199999", "B bytes=0-65535",
           "C bytes=0-65535", "C bytes=65536-131071", "C bytes=131072-196607",
           "C bytes=196608-199999"],
          'ranges aligned to the slice, in order; B stops at its skip point (30 s: slice 0)');
is_deeply([map { $_->{nor} } @s9],
          [(qq(nor="$B")) x 4, qq(nor="$C"), ('') x 4],
          'CMCD-Request nor: the next track of the session, none for the last');
is_deeply([sort { $a cmp $b } keys %{{ map { $_->{sid} => 1 } @pl }}],
          ['sid="10"', 'sid="9"'], 'CMCD-Session sid: the session id');
# $msec is logged when an answer is done: slice 0's end is later than its
# request by its own latency (the schedule sends slice 3 196.6 ms after it)
my $spread = $s9[3]{t} - $s9[0]{t};
ok($spread >= 0.15, sprintf('A slice 3 logged %.3f s after slice 0 (asked 196.6 s of listening = 196.6 ms later)', $spread));

# origin: listener fetches in session 9 only (A 200000 + B 65536 + C
# 200000 = 465536); the mirror's 18 fetches of slice 1 (65536 each =
# 1179648), of which B's two were never listened (131072).
like($out, qr/^origin_log\s+\S+origin\.jsonl: 27 lines$/m, 'only the lines of this run, all readable');
like($out, qr/^all\s+27\s+1\.6\s+0\.5\s+1\.2\s+18\s+0\.1\s+2$/m,
     'origin: 27 fetches, 1.6 MB, 0.5 listener, 1.2 prefetch, 0.1 never listened (2 fetches)');
($rc, $out, $err) = run("--data $dir/data --url $pl $popts --quiet --json "
                      . "--origin-log $dir/origin.jsonl");
is($rc, 0, 'player --json exits 0') or diag($err);
like($out, qr/"origin_log":\{"file":"[^"]*","lines":\d+,"bad_lines":0,"all":\{"fetches":18,"bytes":1179648,"listener_bytes":0,"prefetch_fetches":18,"prefetch_bytes":1179648,"prefetched_never_listened_fetches":2,"prefetched_never_listened_bytes":131072\}/,
     'second run, all cached: only the 18 mirror fetches, B\'s 2 never listened (exact bytes)');
like($out, qr/\{"by":"all","value":"","plays":6,"full_plays":4,"slices":18,"hit":18,"origin":0,"later_slices_play_full":12,"later_hit_play_full":12,"later_hit_share_play_full":1\.0000,"bytes_served":931072,"full_play_bytes":800000,"full_play_bytes_prefetched":262144,/,
     'JSON: 18 HITs, 2 x 465536 bytes to the player; of the full plays\' 800000, slice 1 of each (4 x 65536) HITs of prefetched slices');
like($out, qr/\{"by":"arm","value":"a",.*"origin_log":\{"fetches":9,"bytes":589824,"listener_bytes":0,"prefetch_fetches":9,"prefetch_bytes":589824,"prefetched_never_listened_fetches":1,"prefetched_never_listened_bytes":65536\}/,
     'per arm: origin bytes by the X-Skip-Arm the edge sent');

($rc, $out, $err) = run("--data $dir/data --url $pl $popts --quiet --tracks-path /bad/");
is($rc, 0, 'wrong ranges: still exit 0');
like($out, qr/^all\s+6\s+4\s+18\s.*\s18\s+0$/m, '18 answers for another range counted');
like($err, qr{206 with Content-Range "bytes 0-9/200000"}, 'the first one named');

# --- 503 + Retry-After, Connection: close, chunked ----------------------------
my $fake = $t->run_daemon(sub {
    my ($ls) = @_;
    my $posts = 0;
    while (my $c = $ls->accept) {
        my $head = '';
        while (defined(my $l = <$c>)) { $head .= $l; last if $l eq "\r\n" }
        my ($len) = $head =~ /Content-Length: (\d+)/i;
        read($c, my $body, $len) if $len;
        my $resp;
        if ($head =~ /^POST/ && $posts++ % 2 == 0) {
            $resp = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
                  . "Content-Length: 0\r\nConnection: close\r\n\r\n";
        } elsif ($head =~ /^POST/) {
            $resp = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n"
                  . "Connection: close\r\n\r\nok";
        } else {
            $resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                  . "X-Cache-Status: BYPASS\r\nConnection: close\r\n\r\n"
                  . "5\r\nhello\r\n0\r\n\r\n";
        }
        print $c $resp;
        close $c;
    }
});
($rc, $out, $err) = run("--data $dir/data --url http://127.0.0.1:$fake --quiet --concurrency 1");
is($rc, 0, 'replay against a closing, 503-ing server exits 0') or diag($err);
like($out, qr/^status\s+200=6$/m, 'chunked answers on fresh connections read');
like($out, qr/^events\s+posted=6 accepted=6 rejected=0 lost=0 retried=2 batches=2 \(statuses 202=2 503=2\)$/m,
     'each batch retried once after its 503 and then accepted');

$t->stop;
done_testing;
