#!/usr/bin/perl
# conf/nginx-skip.conf runs as documented: the example, with only its
# ports, paths and Redis address pointed at this test, passes nginx -t,
# serves tracks through the cache with X-Skip-* headers, and writes one
# JSON access log line per request with the decision.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $root = $t->root;
my $dir = $t->dir;
my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

my $conf = $t->read_file("$root/conf/nginx-skip.conf");
my $p8080 = $t->port(8080);
my $p8081 = $t->port(8081);
my $n = 0;
$n += $conf =~ s{build/ngx_skip_module\.so}{$t->module}e;
$n += $conf =~ s{\.\./models/}{$root/models/}g;
$n += $conf =~ s{pid\s+run/nginx\.pid}{pid $dir/nginx.pid};
$n += $conf =~ s{(\s)run/}{$1$dir/run/}g;
$n += $conf =~ s{listen  8080;}{listen  127.0.0.1:$p8080;};
$n += $conf =~ s{127\.0\.0\.1:8081}{127.0.0.1:$p8081}g;
$n += $conf =~ s{127\.0\.0\.1:6379}{127.0.0.1:$rport};
ok($n >= 7, "example adapted to the test ($n substitutions)");
$t->write_file('nginx.conf', SkipModule::user() . $conf);

mkdir "$dir/run";
mkdir "$dir/run/origin";
mkdir "$dir/run/origin/tracks";
my ($u, $tr) = ($users->[0], $tracks->[0]);
$t->write_file("run/origin/tracks/$tr", 'y' x 300_000);

my ($rc, $out) = $t->nginx_test_conf("$dir/nginx.conf");
is($rc, 0, 'nginx -t accepts the example') or diag($out);

$t->start_nginx("$dir/nginx.conf");
sleep 0.3;

my $r1 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
my $r2 = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
is($r1->{status}, 200, 'track served');
is(length $r1->{body}, 300_000, 'all of it (slices reassembled)');
my %s = SkipModule::skipvars($r2);
like($s{decision}, qr/^(play|skip)$/, "X-Skip-Decision $s{decision}");
like($s{model}, qr/^(default|naive)@/, "X-Skip-Model $s{model}");
like($s{source}, qr/^(redis|cache)$/, "X-Skip-Source $s{source}");
is($r2->{headers}{'x-cache-status'},
   $s{decision} eq 'play' ? 'HIT' : 'MISS',
   'the cache follows the decision (a "skip" track is not stored)');

my $r3 = $t->http_get("/tracks/bad%20id", 'X-User-Id' => $u);
is($r3->{status}, 404, 'a bad id is still proxied (the origin has no such file)');
is($r3->{headers}{'x-skip-source'}, 'badid', 'and not looked up');

sleep 0.2;
my @lines = split /\n/, $t->read_file("$dir/run/access.json");
is(scalar @lines, 3, 'one access log line per request');
like($lines[1], qr/^\{"time":"[^"]+","user":"$u",.*"decision":"(play|skip)","score":"[01]\.\d{4}","model":"[^"]+","source":"(redis|cache)","cache":"(HIT|MISS)","range":""\}$/,
     'JSON with the decision, score, model, source and cache status')
    or diag($lines[1]);

$t->stop;
done_testing();
