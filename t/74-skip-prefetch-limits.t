#!/usr/bin/perl
# Prefetch at its limits, with real nginx, a real origin that logs every
# range it serves (slowly where a test needs a prefetch in flight) and a
# real Redis:
#   - the per-worker cap refuses a prefetch and counts it;
#   - a client that closes its connection after its answer stops nothing:
#     the prefetch completes;
#   - a client that resets mid-answer cancels its prefetch, releases the
#     ledger claim (the next listener prefetches the track) and crashes
#     nothing (also under ASan);
#   - skip_prefetch_threshold 0 prefetches a "skip" track, 1 prefetches
#     nothing;
#   - prefetched bytes nobody asked for within the window count as wasted;
#   - nginx -t refuses bad prefetch directives, naming them.
use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $SLICE = 65536;
my $SIZE = 300_000;    # slices 0..4

my $model = $t->root . '/models/default.model';
$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);
my $sk = $t->skipctl;
my $rport = $t->{redis_port};

srand(74);
my (@play, @skip, %used);
for (1 .. 3000) {
    last if @play >= 6 && @skip >= 1;
    my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
    next if $used{$tr};
    my $out = `$sk features get --redis 127.0.0.1:$rport --model $model --hour 12 $u $tr`;
    my ($d) = $out =~ /^decision (play|skip)/m or next;
    if ($d eq 'play' && @play < 6) { push @play, [$u, $tr]; $used{$tr} = 1 }
    if ($d eq 'skip' && @skip < 1) { push @skip, [$u, $tr]; $used{$tr} = 1 }
}
is(scalar @play, 6, 'found six "play" pairs') or BAIL_OUT('no pairs');
is(scalar @skip, 1, 'found a "skip" pair') or BAIL_OUT('no pairs');

mkdir $t->dir . '/origin';
mkdir $t->dir . '/origin/tracks';
$t->write_file("origin/tracks/$_", 'z' x $SIZE) for map { $_->[1] } @play, @skip;

# One track location per test, differing in a prefix and a few lines.
sub track_location {
    my ($prefix, $extra) = @_;
    return <<"EOF";
        location ~ ^$prefix/tracks/(?<trk>[^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$trk;
            skip_hour 12;
            slice 64k;
            proxy_cache tracks;
            proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_cache_valid 200 206 1h;
            skip_prefetch /prefetch;
            skip_prefetch_slice 64k;
            add_header X-Skip-Decision \$skip_decision always;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
            $extra
        }
EOF
}

my $locations = join '',
    track_location('', ''),
    track_location('/slow', ''),
    track_location('/slowclient', 'limit_rate 16k;'),
    track_location('/always', 'skip_prefetch_threshold 0;'),
    track_location('/never', 'skip_prefetch_threshold 1;');

$t->write_conf(SkipModule::user() . <<"EOF");
events { worker_connections 1024; }
http {
    skip_zone skip 1m;
    skip_prefetch_zone 1m 1s;
    skip_prefetch_inflight 1;
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;

    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;
    log_format origin '\$uri|\$http_range|\$http_x_skip_prefetch|\$status';

    server {
        listen 127.0.0.1:%%PORT_8080%%;
$locations
        location /prefetch/ {
            internal;
            rewrite ^/prefetch(/.*)\$ \$1 break;
            proxy_cache tracks;
            proxy_cache_key \$uri\$skip_prefetch_range;
            proxy_set_header Range \$skip_prefetch_range;
            proxy_set_header X-Skip-Prefetch 1;
            proxy_cache_valid 200 206 1h;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /metrics { skip_metrics; }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        access_log %%TESTDIR%%/origin.log origin;
        root %%TESTDIR%%/origin;
        location /always/ { alias %%TESTDIR%%/origin/; }
        location /never/ { alias %%TESTDIR%%/origin/; }
        # prefetches in flight long enough to meet the next request
        location /slow/ { alias %%TESTDIR%%/origin/; limit_rate 200k; }
        location /slowclient/ { alias %%TESTDIR%%/origin/; limit_rate 200k; }
    }
}
EOF
$t->start_nginx;

sub metric {
    my ($re) = @_;
    my $m = $t->http_get('/metrics')->{body};
    return $m =~ /^\Q$re\E (\d+)$/m ? $1 : 0;
}

sub origin {
    my ($re, $want, $secs) = @_;
    my @l;
    my $deadline = time + ($secs // 8);
    while (time < $deadline) {
        @l = -e $t->dir . '/origin.log'
           ? grep { /$re/ } SkipModule::lines_of($t->dir . '/origin.log') : ();
        last if defined $want && @l >= $want;
        sleep 0.1;
    }
    return scalar @l;
}

# Send a slice request and return once its answer is complete, without
# waiting for the connection to close (it stays open while the request's
# prefetches run): the socket is returned too.
sub get_answer {
    my ($uri, $user) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
        or die "connect: $!";
    print $s "GET $uri HTTP/1.1\r\nHost: x\r\nX-User-Id: $user\r\n"
           . "Range: bytes=0-65535\r\n\r\n";
    my $raw = '';
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        last unless sysread($s, $raw, 65536, length $raw);
        if ($raw =~ /\r\n\r\n/ && $raw =~ /Content-Length: (\d+)/i) {
            my $body = length($raw) - index($raw, "\r\n\r\n") - 4;
            last if $body >= $1;
        }
    }
    return ($raw, $s);
}

# ---- the cap refuses and counts; closing after the answer stops nothing ----
my ($a, $sa) = get_answer("/slow/tracks/$play[0][1]", $play[0][0]);
like($a, qr/^HTTP\/1\.1 206.*X-Skip-Decision: play/s, 'cap: first track served');
close $sa;    # the listener goes away at once: its prefetch goes on
my ($b, $sb) = get_answer("/slow/tracks/$play[1][1]", $play[1][0]);
like($b, qr/^HTTP\/1\.1 206.*X-Skip-Decision: play/s, 'cap: second track served');
close $sb;
is(metric('skip_prefetches_total{arm="default",kind="track",result="refused"}'), 1,
   'cap: the second prefetch was refused (skip_prefetch_inflight 1) and counted');
is(origin(qr{^/slow/tracks/$play[0][1]\|.*\|1\|206}, 4), 4,
   'the first listener closed its connection, yet all four slices were prefetched');
is(origin(qr{^/slow/tracks/$play[1][1]\|.*\|1\|}, undef, 0.5), 0,
   'cap: nothing prefetched for the refused track');

# ---- a reset mid-answer cancels the prefetch and releases its claim --------
my $failed0 = metric('skip_prefetches_total{arm="default",kind="track",result="failed"}');
ok(SkipModule::rst_request($t, "/slowclient/tracks/$play[2][1]", 0.5,
                           'X-User-Id' => $play[2][0], Range => 'bytes=0-65535'),
   'abort: a listener resets while its answer (16k/s) and prefetch run');
sleep 0.5;
is(metric('skip_prefetches_total{arm="default",kind="track",result="failed"}') - $failed0,
   1, 'abort: the prefetch in flight was cancelled and counted');
my $r = $t->http_get("/slowclient/tracks/$play[2][1]", 'X-User-Id' => $play[2][0],
                     Range => 'bytes=0-65535', timeout => 20);
is($r->{status}, 206, 'abort: the next listener of the track is served');
ok(origin(qr{^/slowclient/tracks/$play[2][1]\|bytes=65536-131071\|1\|206}, 1) >= 1,
   'abort: the claim was released, so the next listener prefetches slice 1');

# ---- thresholds --------------------------------------------------------------
$r = $t->http_get("/always/tracks/$skip[0][1]", 'X-User-Id' => $skip[0][0],
                  Range => 'bytes=0-65535');
is($r->{headers}{'x-skip-decision'}, 'skip', 'threshold 0: a "skip" listen');
is(origin(qr{^/always/tracks/$skip[0][1]\|.*\|1\|206}, 4), 4,
   'threshold 0 (prefetch always): its slices prefetched all the same');
$r = $t->http_get("/never/tracks/$play[3][1]", 'X-User-Id' => $play[3][0],
                  Range => 'bytes=0-65535');
is($r->{headers}{'x-skip-decision'}, 'play', 'threshold 1: a "play" listen');
is(origin(qr{^/never/tracks/$play[3][1]\|.*\|1\|}, undef, 0.5), 0,
   'threshold 1: nothing prefetched');

# ---- waste: prefetched, never asked for within the 1 s window ----------------
my $fetched = 0;
for my $p (@play[4, 5]) {
    $r = $t->http_get("/tracks/$p->[1]", 'X-User-Id' => $p->[0],
                      Range => 'bytes=0-65535');
    is($r->{headers}{'x-skip-decision'}, 'play', 'waste: a "play" track');
}
is(origin(qr{^/tracks/($play[4][1]|$play[5][1])\|.*\|1\|206}, 8), 8,
   'waste: both tracks prefetched');
my $bytes = metric('skip_prefetch_bytes_total{arm="default"}');
my $wasted = 0;
for (1 .. 100) {
    $wasted = metric('skip_prefetch_wasted_bytes_total{arm="default"}');
    last if $wasted >= $bytes;
    sleep 0.1;
}
is(metric('skip_prefetch_served_bytes_total{arm="default"}'), 0,
   'waste: no prefetched byte was asked for');
is($wasted, $bytes, 'waste: every prefetched byte counted as wasted after the window');
$t->stop;

# ---- nginx -t ------------------------------------------------------------------
sub nginx_t {
    my ($http, $loc) = @_;
    $t->write_conf("events { worker_connections 64; }\nhttp {\n"
                   . "skip_redis 127.0.0.1:1; $http\n"
                   . "server { listen 127.0.0.1:%%PORT_8080%%; location / { "
                   . "skip_predict on; skip_user \$arg_u; skip_track \$arg_t; "
                   . "skip_prefetch /p; $loc } } }\n", 't.conf');
    return $t->nginx_test_conf($t->dir . '/t.conf');
}

for my $case (
    [ '', 'skip_prefetch_ahead 0;', qr/skip_prefetch_ahead "0": "all" or a number/ ],
    [ '', 'skip_prefetch_ahead some;', qr/skip_prefetch_ahead "some"/ ],
    [ '', 'skip_prefetch_next 65;', qr/skip_prefetch_next 65: at most 64/ ],
    [ '', 'skip_prefetch_threshold 1.5;', qr/skip_prefetch_threshold.*between 0 and 1/ ],
    [ '', 'skip_prefetch_slice big;', qr/skip_prefetch_slice/ ],
    [ 'skip_prefetch_inflight 0;', '', qr/skip_prefetch_inflight must be at least 1/ ],
    [ 'skip_prefetch_zone 1k;', '', qr/skip_prefetch_zone "1k": a size of at least/ ],
    [ 'skip_prefetch_zone 1m 0s;', '', qr/window "0s" must be a time/ ],
) {
    my ($rc, $out) = nginx_t(@$case[0, 1]);
    isnt($rc, 0, "nginx -t refuses: $case->[0]$case->[1]");
    like($out, $case->[2], 'and says why') or diag($out);
}
my ($rc, $out) = nginx_t('skip_prefetch_zone 2m 5m; skip_prefetch_inflight 8;',
                         'skip_prefetch_ahead 3; skip_prefetch_next 0; '
                         . 'skip_prefetch_threshold 0.7; skip_prefetch_slice 1m;');
is($rc, 0, 'nginx -t accepts every prefetch directive') or diag($out);

done_testing();
