#!/usr/bin/perl
# The decision drives nginx's own cache: behind proxy_cache + slice, a
# track predicted "play" is stored (HIT on the second request, its slices
# on disk) and a track predicted "skip" is not (MISS twice, nothing on
# disk: proxy_no_cache), while a "skip" request for a track already cached
# is still served from the cache (no proxy_cache_bypass, as the examples).  The origin is a second server block of the same nginx.  Also
# the per-worker record cache: the second lookup of a pair needs no Redis
# command.
use strict;
use warnings;

use File::Find;
use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $model = $t->root . '/models/default.model';
my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

# one (user, track) pair of each decision at hour 12, asked offline
my %pair = %{ SkipModule::decision_pairs($t, $users, $tracks, $model, 7) };
ok($pair{play} && $pair{skip}, 'found a "play" and a "skip" pair')
    or BAIL_OUT('no pairs');

# 200 kB track files at the origin: four 64 kB slices each
mkdir $t->dir . '/origin';
mkdir $t->dir . '/origin/tracks';
for my $d (qw(play skip)) {
    my $line = 'x' x 1023 . "\n";
    $t->write_file("origin/tracks/$pair{$d}[1]", $line x 200);
}

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    # long enough that a loaded machine cannot expire it between requests
    skip_record_cache 4096 60s;

    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour 12;

            slice 64k;
            proxy_cache tracks;
            proxy_cache_key /tracks/$1$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_no_cache $skip_bypass;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;

            add_header X-Skip-Decision $skip_decision always;
            add_header X-Skip-Source $skip_source always;
            add_header X-Cache $upstream_cache_status always;
        }

        # the same cache, every decision "skip"
        location ~ ^/skipped/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_threshold 1.0;

            slice 64k;
            proxy_cache tracks;
            proxy_cache_key /tracks/$1$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_no_cache $skip_bypass;
            proxy_pass http://127.0.0.1:%%PORT_8081%%/tracks/$1;

            add_header X-Skip-Decision $skip_decision always;
            add_header X-Cache $upstream_cache_status always;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        root %%TESTDIR%%/origin;
        location = /metrics { skip_metrics; }
    }
}
EOF
$t->start_nginx;

sub cached_files {
    my $n = 0;
    find(sub { $n++ if -f $_ }, $t->dir . '/cache') if -d $t->dir . '/cache';
    return $n;
}

my ($u, $tr) = @{ $pair{play} };
my $r1 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
my $r2 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
is("$r1->{status} $r1->{headers}{'x-skip-decision'} $r1->{headers}{'x-cache'}",
   '200 play MISS', 'play track, first request: MISS');
is("$r2->{status} $r2->{headers}{'x-skip-decision'} $r2->{headers}{'x-cache'}",
   '200 play HIT', 'play track, second request: HIT');
is(length $r2->{body}, 200 * 1024, 'whole track served from four slices');
is(cached_files(), 4, 'its four slices are in the cache');
is($r2->{headers}{'x-skip-source'}, 'cache',
   'second lookup answered by the record cache');

my $cmds = SkipModule::calls($t, 'hmget');
($u, $tr) = @{ $pair{skip} };
$r1 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
$r2 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
is("$r1->{status} $r1->{headers}{'x-skip-decision'} $r1->{headers}{'x-cache'}",
   '200 skip MISS', 'skip track, first request: MISS');
is("$r2->{status} $r2->{headers}{'x-skip-decision'} $r2->{headers}{'x-cache'}",
   '200 skip MISS', 'skip track, second request: MISS again (not stored)');
is(length $r2->{body}, 200 * 1024, 'whole track served');
is(cached_files(), 4, 'nothing of it was stored');
is(SkipModule::calls($t, 'hmget') - $cmds, 2,
   'two HMGETs for two requests of a new pair (the second from cache)');

# the module's counters, as Prometheus sees them
my $m = $t->http_get('/metrics', port => $t->port(8081))->{body};
my ($ok) = $m =~ /^skip_redis_lookups_total\{result="ok"\} (\d+)/m;
my ($hit) = $m =~ /^skip_track_cache_total\{result="hit"\} (\d+)/m;
my ($rt) = $m =~ /^skip_redis_lookup_seconds_count (\d+)/m;
my ($up) = $m =~ /^skip_redis_connected (\d+)/m;
is($ok, 4, 'metrics: 4 lookups answered') or diag($m);
is($hit, 2, 'metrics: 2 of them from the track record cache');
is($rt, 2, 'metrics: 2 Redis round trips in the latency histogram');
is($up, 1, 'metrics: the worker is connected');

# a "skip" listener of a track that is already cached gets the cached copy
($u, $tr) = @{ $pair{play} };
$r1 = $t->http_get("/skipped/$tr", 'X-User-Id' => $u);
is("$r1->{status} $r1->{headers}{'x-skip-decision'} $r1->{headers}{'x-cache'}",
   '200 skip HIT', 'skip decision, track already cached: HIT, no origin fetch');
is(length $r1->{body}, 200 * 1024, 'whole track served from the cache');

$t->stop;
done_testing();
