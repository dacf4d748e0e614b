#!/usr/bin/perl
# skip_prefetch: a track predicted "play" is fetched whole in the
# background (a header-only subrequest into a caching location), so its
# cache entry exists before the player asks for the rest; a track
# predicted "skip" is not prefetched.  The client's response is unchanged.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $model = $t->root . '/models/default.model';
my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

my %pair = %{ SkipModule::decision_pairs($t, $users, $tracks, $model, 11) };
ok($pair{play} && $pair{skip}, 'found a "play" and a "skip" pair')
    or BAIL_OUT('no pairs');

mkdir $t->dir . '/origin';
mkdir $t->dir . '/origin/tracks';
$t->write_file("origin/tracks/$pair{$_}[1]", 'y' x (100 * 1024))
    for qw(play skip);

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;

    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;
    log_format origin '$uri $http_x_prefetch';

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour 12;
            skip_prefetch /prefetch;    # + the track URI

            # the player's first request: a small range, streamed through
            proxy_set_header Range "bytes=0-1023";
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
            add_header X-Skip-Decision $skip_decision always;
        }

        location /prefetch/ {
            internal;
            proxy_cache tracks;
            proxy_cache_key $uri;
            proxy_cache_valid 200 1h;
            proxy_set_header X-Prefetch 1;
            proxy_set_header Range "";
            proxy_pass http://127.0.0.1:%%PORT_8081%%/;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        access_log %%TESTDIR%%/origin.log origin;
        root %%TESTDIR%%/origin;
    }
}
EOF
$t->start_nginx;

sub origin_log {
    sleep 0.3;    # the background fetch finishes after the response
    return $t->read_file('origin.log');
}

my ($u, $tr) = @{ $pair{play} };
my $r = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
is("$r->{status} $r->{headers}{'x-skip-decision'}", '206 play',
   'play track: the client gets its range');
is(length $r->{body}, 1024, 'only the range, not the prefetched body');
my $log = origin_log();
like($log, qr{^/tracks/$tr 1$}m, 'play track: prefetched whole from the origin');

my @files = glob($t->dir . '/cache/*/*/*');
is(scalar @files, 1, 'the prefetched track is in the cache');
ok(@files && -s $files[0] > 100 * 1024, 'the whole track, not a header')
    or diag('cache file size: ' . (-s $files[0]));

($u, $tr) = @{ $pair{skip} };
$r = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
is("$r->{status} $r->{headers}{'x-skip-decision'}", '206 skip',
   'skip track: the client gets its range');
$log = origin_log();
unlike($log, qr{^/tracks/$tr 1$}m, 'skip track: no prefetch');
is(scalar(() = $log =~ /^\/tracks\/$tr -$/mg), 1,
   'skip track: only the client\'s own request reached the origin');

$t->stop;
done_testing();
