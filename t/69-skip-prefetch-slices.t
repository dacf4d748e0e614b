#!/usr/bin/perl
# Slice-aware prefetch with a real nginx (slice + proxy_cache), a real
# origin that logs every byte range it serves, and a real Redis:
#   - a "play" warms every later slice exactly once, and the player then
#     gets them from the cache;
#   - a "skip" prefetches nothing;
#   - a cached track causes no origin traffic for a second listener;
#   - two listeners starting one track at once cause one prefetch a slice;
#   - skip_prefetch_ahead N warms N slices after the one asked for;
#   - a CMCD nor (header or query) on a predicted skip warms the next
#     track's first slice; malformed or unusable CMCD changes nothing but
#     a counter;
#   - the metrics count prefetched and served bytes per arm.
use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $SLICE = 65536;
my $SIZE = 300_000;    # slices 0..4, the last one short

my $model = $t->root . '/models/default.model';
$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);
my $sk = $t->skipctl;
my $rport = $t->{redis_port};

sub decide {
    my ($u, $tr) = @_;
    my $out = `$sk features get --redis 127.0.0.1:$rport --model $model --hour 12 $u $tr`;
    return $out =~ /^decision (play|skip)/m ? $1 : '';
}

# Distinct tracks: five "play" pairs, two "skip" pairs, two spare tracks
# (CMCD next objects), and a second user who also plays play[1]'s track.
srand(69);
my (@play, @skip, %used);
for (1 .. 3000) {
    last if @play >= 5 && @skip >= 2;
    my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
    next if $used{$tr};
    my $d = decide($u, $tr) or next;
    if ($d eq 'play' && @play < 5) { push @play, [$u, $tr]; $used{$tr} = 1 }
    if ($d eq 'skip' && @skip < 2) { push @skip, [$u, $tr]; $used{$tr} = 1 }
}
is(scalar @play, 5, 'found five "play" pairs') or BAIL_OUT('no pairs');
is(scalar @skip, 2, 'found two "skip" pairs') or BAIL_OUT('no pairs');
my @spare = grep { !$used{$_} } @$tracks[0 .. 20];
my $second;
for my $u (@$users) {
    next if $u eq $play[1][0];
    if (decide($u, $play[1][1]) eq 'play') { $second = $u; last }
}
ok($second, 'a second listener who plays the same track') or BAIL_OUT('none');

mkdir $t->dir . '/origin';
mkdir $t->dir . '/origin/tracks';
for my $tr (map({ $_->[1] } @play, @skip), @spare[0 .. 3]) {
    $t->write_file("origin/tracks/$tr", join '', map { chr(65 + $_ % 26) } 0 .. $SIZE - 1);
}

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_zone skip 1m;
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;

    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;
    log_format origin '$uri|$http_range|$http_x_skip_prefetch|$status';

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^(/ahead)?/tracks/(?<trk>[^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $trk;
            skip_hour 12;

            slice 64k;
            proxy_cache tracks;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_cache_lock on;

            skip_prefetch /prefetch;
            skip_prefetch_slice 64k;

            add_header X-Skip-Decision $skip_decision always;
            add_header X-Cache-Status $upstream_cache_status always;
            add_header X-Skip-Source $skip_source always;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;

            location ~ ^/ahead/ {
                skip_prefetch_ahead 2;
                proxy_pass http://127.0.0.1:%%PORT_8081%%;
            }
        }

        location /prefetch/ {
            internal;
            rewrite ^/prefetch(/.*)$ $1 break;
            proxy_cache tracks;
            proxy_cache_key $uri$skip_prefetch_range;
            proxy_set_header Range $skip_prefetch_range;
            proxy_set_header X-Skip-Prefetch 1;
            proxy_cache_valid 200 206 1h;
            proxy_cache_lock on;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /metrics { skip_metrics; }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        access_log %%TESTDIR%%/origin.log origin;
        root %%TESTDIR%%/origin;
        location /ahead/ { alias %%TESTDIR%%/origin/; }
    }
}
EOF
$t->start_nginx;

my $logged = 0;    # origin.log lines already looked at

# The origin lines since the last call, once they stop growing.
sub origin_new {
    my ($want) = @_;
    my @l;
    my $deadline = time + 5;
    my $last = -1;
    while (time < $deadline) {
        @l = -e $t->dir . '/origin.log'
           ? SkipModule::lines_of($t->dir . '/origin.log') : ();
        last if defined $want && @l - $logged >= $want;
        last if !defined $want && @l == $last;
        $last = @l;
        sleep 0.2;
    }
    sleep 0.2 if defined $want;    # anything beyond the wanted lines
    @l = SkipModule::lines_of($t->dir . '/origin.log');
    my @new = @l[$logged .. $#l];
    $logged = @l;
    chomp @new;
    return @new;
}

sub range_of {
    my ($k) = @_;
    my $s = $k * $SLICE;
    return sprintf 'bytes=%d-%d', $s, $s + $SLICE - 1;
}

sub get {
    my ($uri, $user, $k, %h) = @_;
    my $s = $k * $SLICE;
    my $e = $s + $SLICE - 1;
    $e = $SIZE - 1 if $e > $SIZE - 1;
    return $t->http_get($uri, 'X-User-Id' => $user, Range => "bytes=$s-$e", %h);
}

sub metric {
    my ($re) = @_;
    my $m = $t->http_get('/metrics')->{body};
    return $m =~ /^\Q$re\E (\d+)$/m ? $1 : undef;
}

sub wait_metric {
    my ($re, $want) = @_;
    my $v;
    for (1 .. 50) {
        $v = metric($re) // 0;
        return $v if $v >= $want;
        sleep 0.1;
    }
    return $v;
}

# ---- a "play" warms every later slice, exactly once ----------------------
my ($u, $tr) = @{ $play[0] };
my $r = get("/tracks/$tr", $u, 0);
is("$r->{status} $r->{headers}{'x-skip-decision'}", '206 play',
   'play: the player gets its first slice');
is(length $r->{body}, $SLICE, 'only that slice');
my @o = origin_new(5);
is_deeply([ sort grep { m{^/tracks/$tr\|} } @o ],
          [ sort("/tracks/$tr|" . range_of(0) . "|-|206",
                 map { "/tracks/$tr|" . range_of($_) . "|1|206" } 1 .. 4) ],
          'play: the origin served the first slice to the player and every '
          . 'later slice once to the prefetch')
    or diag(join "\n", @o);

for my $k (1 .. 4) {
    $r = get("/tracks/$tr", $u, $k);
    is("$r->{status} $r->{headers}{'x-cache-status'}", '206 HIT',
       "play: slice $k is a cache hit when the player asks");
    my $want = substr(join('', map { chr(65 + $_ % 26) } 0 .. $SIZE - 1),
                      $k * $SLICE, $SLICE);
    is($r->{body}, $want, "play: slice $k has the right bytes");
}
@o = origin_new();
is(scalar(grep { m{^/tracks/$tr\|} } @o), 0,
   'play: no origin traffic for the later slices');

is(wait_metric('skip_prefetches_total{arm="default",kind="track",result="fetched"}', 4),
   4, 'metrics: four slices fetched by prefetch');
is(metric('skip_prefetch_bytes_total{arm="default"}'), $SIZE - $SLICE,
   'metrics: prefetched bytes are the rest of the track');
is(metric('skip_prefetch_served_bytes_total{arm="default"}'), $SIZE - $SLICE,
   'metrics: all of them served to the listener later');

# ---- a "skip" prefetches nothing ------------------------------------------
($u, $tr) = @{ $skip[0] };
$r = get("/tracks/$tr", $u, 0);
is("$r->{status} $r->{headers}{'x-skip-decision'}", '206 skip',
   'skip: the player gets its first slice');
@o = origin_new();
is_deeply([ grep { m{^/tracks/$tr\|} } @o ],
          [ "/tracks/$tr|" . range_of(0) . "|-|206" ],
          'skip: only the player\'s own slice reached the origin');

# ---- a cached track: no origin traffic -----------------------------------
($u, $tr) = @{ $play[0] };
my $dedup0 = metric('skip_prefetches_total{arm="default",kind="track",result="deduplicated"}');
$r = get("/tracks/$tr", $u, 0);
is("$r->{status} $r->{headers}{'x-cache-status'}", '206 HIT',
   'cached: the first slice is a hit');
@o = origin_new();
is(scalar(grep { m{^/tracks/$tr\|} } @o), 0,
   'cached: a second listen of a prefetched track costs no origin fetch');
is(metric('skip_prefetches_total{arm="default",kind="track",result="deduplicated"}')
   - $dedup0, 4, 'cached: the ledger knew all four later slices');

# ---- two listeners at once: one prefetch a slice --------------------------
($u, $tr) = @{ $play[1] };
my @socks;
for my $who ($u, $second) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
        or die "connect: $!";
    print $s "GET /tracks/$tr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           . "X-User-Id: $who\r\nRange: bytes=0-65535\r\n\r\n";
    push @socks, $s;
}
my @answers;
for my $s (@socks) {
    my $raw = '';
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) { last unless sysread($s, $raw, 65536, length $raw) }
    push @answers, $raw;
}
like($_, qr{^HTTP/1\.1 206 .*X-Skip-Decision: play}s, 'both listeners served, "play"')
    for @answers;
@o = origin_new(5);
my %n;
$n{$_}++ for grep { m{^/tracks/$tr\|.*\|1\|} } @o;
is_deeply(\%n, { map { ("/tracks/$tr|" . range_of($_) . "|1|206" => 1) } 1 .. 4 },
          'two listeners: each later slice prefetched once')
    or diag(join "\n", @o);
is(scalar(grep { m{^/tracks/$tr\|.*\|-\|} } @o), 1,
   'two listeners: the first slice fetched once (proxy_cache_lock)');

# ---- skip_prefetch_ahead 2 --------------------------------------------------
($u, $tr) = @{ $play[2] };
$r = get("/ahead/tracks/$tr", $u, 0);
is("$r->{headers}{'x-skip-decision'} $r->{headers}{'x-skip-source'}",
   'play redis', 'ahead: a "play" track, scored');
@o = origin_new(3);
is_deeply([ sort grep { m{\|1\|} } @o ],
          [ sort map { "/ahead/tracks/$tr|" . range_of($_) . "|1|206" } 1, 2 ],
          'ahead 2: slices 1 and 2 warmed after slice 0')
    or diag(join "\n", @o);
$r = get("/ahead/tracks/$tr", $u, 2);
is($r->{headers}{'x-cache-status'}, 'HIT', 'ahead: slice 2 is a hit');
@o = origin_new(2);
is_deeply([ sort grep { m{\|1\|} } @o ],
          [ sort map { "/ahead/tracks/$tr|" . range_of($_) . "|1|206" } 3, 4 ],
          'ahead 2: asking for slice 2 warms slices 3 and 4')
    or diag(join "\n", @o);

# ---- a player that starts in the middle: only what follows ---------------
($u, $tr) = @{ $play[3] };
$r = get("/tracks/$tr", $u, 3);
is($r->{headers}{'x-skip-decision'}, 'play', 'middle: a "play" track');
@o = origin_new(2);
is_deeply([ sort grep { m{\|1\|} } @o ],
          [ "/tracks/$tr|" . range_of(4) . "|1|206" ],
          'middle: a request for slice 3 warms slice 4 only')
    or diag(join "\n", @o);

# ---- CMCD: the next track on a predicted skip ------------------------------
($u, $tr) = @{ $skip[1] };
$r = get("/tracks/$tr", $u, 0, 'CMCD-Request' => "nor=\"$spare[0]\",nrr=\"0-65535\"",
         'CMCD-Session' => 'sid="s-69",st=v');
is($r->{headers}{'x-skip-decision'}, 'skip', 'cmcd: a "skip" listen');
@o = origin_new(2);
is_deeply([ sort grep { m{\|1\|} } @o ],
          [ "/tracks/$spare[0]|" . range_of(0) . "|1|206" ],
          'cmcd: the next track\'s first slice warmed (CMCD-Request nor)')
    or diag(join "\n", @o);
$r = get("/tracks/$spare[0]", $u, 0);
is($r->{headers}{'x-cache-status'}, 'HIT', 'cmcd: the next track starts from the cache');
origin_new();

(my $q = "nor=\"$spare[1]\",sid=\"s\"") =~ s/([^A-Za-z0-9])/sprintf '%%%02X', ord $1/ge;
$r = get("/tracks/$tr?CMCD=$q", $u, 0);
is($r->{headers}{'x-skip-decision'}, 'skip', 'cmcd query: a "skip" listen');
@o = origin_new(2);
is_deeply([ sort grep { m{\|1\|} } @o ],
          [ "/tracks/$spare[1]|" . range_of(0) . "|1|206" ],
          'cmcd: the CMCD query argument works too')
    or diag(join "\n", @o);

($u, $tr) = @{ $play[4] };
$r = get("/tracks/$tr", $u, 0, 'CMCD-Request' => "nor=\"$spare[2]\"");
@o = origin_new(5);
is(scalar(grep { m{^/tracks/$spare[2]\|} } @o), 0,
   'cmcd: on a predicted play the next track waits');

my $inv0 = metric('skip_cmcd_total{result="invalid"}');
my $unu0 = metric('skip_cmcd_total{result="unusable"}');
($u, $tr) = @{ $skip[1] };
for my $bad ("nor=$spare[3]", "nor=\"$spare[3]\",", "nor=\"$spare[3]\" x",
             "NOR=\"$spare[3]\"") {
    $r = get("/tracks/$tr", $u, 0, 'CMCD-Request' => $bad);
    is("$r->{status} $r->{headers}{'x-skip-decision'}", '206 skip',
       "malformed CMCD '$bad': the listener is served as usual");
}
$r = get("/tracks/$tr", $u, 0, 'CMCD-Request' => 'nor="../../../etc/passwd"');
is($r->{status}, 206, 'nor above the root: served as usual');
$r = get("/tracks/$tr", $u, 0, 'CMCD-Request' => 'nor="http://elsewhere/x"');
is($r->{status}, 206, 'nor on another host: served as usual');
@o = origin_new();
is(scalar(grep { m{\|1\|} } @o), 0, 'malformed or unusable CMCD: nothing prefetched')
    or diag(join "\n", @o);
is(metric('skip_cmcd_total{result="invalid"}') - $inv0, 4,
   'malformed CMCD: counted as invalid');
is(metric('skip_cmcd_total{result="unusable"}') - $unu0, 2,
   'unusable nor: counted');

$t->stop;
done_testing();
