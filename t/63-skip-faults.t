#!/usr/bin/perl
# Fail open.  Redis not running, Redis that accepts but never answers a
# lookup, Redis that answers garbage, Redis restarted in the middle of a
# run: every request is served (200) within the deadline plus a small
# margin, $skip_source says why, nothing above "warn" is logged, and
# predictions come back once Redis does.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;

my $TIMEOUT = 20;                       # skip_redis_timeout, ms
my $MARGIN = $ENV{SKIP_SANITIZE} ? 250 : 100;   # ms

my $CONF = <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%PORT_6379%%;
    skip_redis_connect_timeout 300ms;
    skip_redis_breaker off;          # the raw fault behaviour; see t/69
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_redis_timeout 20ms;
            add_header X-Skip-Source $skip_source always;
            add_header X-Skip-Decision $skip_decision always;
            try_files /x =404;
        }
    }
}
EOF

# $n requests; returns (all 200?, slowest in ms, { source => count }).
sub burst {
    my ($t, $n, $user, $track) = @_;
    my ($ok, $max, %src) = (1, 0);
    for (1 .. $n) {
        my $t0 = time;
        my $r = $t->http_get("/tracks/$track", 'X-User-Id' => $user);
        my $ms = (time - $t0) * 1000;
        $max = $ms if $ms > $max;
        $ok = 0 unless $r->{status} == 200;
        $src{ $r->{headers}{'x-skip-source'} // '-' }++;
    }
    return ($ok, $max, \%src);
}

sub show { my ($h) = @_; join ', ', map { "$_ $h->{$_}" } sort keys %$h }

sub no_errors {
    my ($t, $what) = @_;
    my @e = grep { /\[(error|crit|alert|emerg)\]/ }
            split /\n/, $t->read_file('error.log');
    ok(!@e, "$what: nothing above warn in error.log") or diag(join "\n", @e[0 .. 4]);
}

# ---- nothing listening -----------------------------------------------------

{
    my $t = SkipTest->new;
    $t->write_file('x', "x\n");
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    my ($ok, $max, $src) = burst($t, 50, 101, 'sometrack');
    ok($ok, 'Redis down: all 200');
    ok($max < $MARGIN, sprintf('Redis down: slowest %.1f ms (no deadline wait)', $max));
    is(show($src), 'disconnected 50', 'Redis down: source disconnected');
    like($t->read_file('error.log'), qr/\[warn\].*connect\(\) to Redis/,
         'Redis down: a warning says so');
    $t->stop;
    no_errors($t, 'Redis down');
}

# ---- never answers a lookup ---------------------------------------------------

{
    my $t = SkipTest->new;
    $t->run_daemon(SkipModule::fake_redis('silent'), $t->port(6379));
    $t->write_file('x', "x\n");
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;
    my ($ok, $max, $src) = burst($t, 40, 101, 'sometrack');
    ok($ok, 'silent Redis: all 200');
    ok($max < $TIMEOUT + $MARGIN,
       sprintf('silent Redis: slowest %.1f ms (deadline %d ms)', $max, $TIMEOUT));
    ok($src->{timeout}, 'silent Redis: timeouts: ' . show($src));
    like($t->read_file('error.log'), qr/has not answered for \d+ ms, reconnecting/,
         'silent Redis: the connection is declared dead and reopened');
    $t->stop;
    no_errors($t, 'silent Redis');
}

# ---- answers garbage ------------------------------------------------------------

{
    my $t = SkipTest->new;
    $t->run_daemon(SkipModule::fake_redis('garbage'), $t->port(6379));
    $t->write_file('x', "x\n");
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;
    my ($ok, $max, $src) = burst($t, 40, 101, 'sometrack');
    ok($ok, 'garbage Redis: all 200');
    ok($max < $TIMEOUT + $MARGIN, sprintf('garbage Redis: slowest %.1f ms', $max));
    ok($src->{error}, 'garbage Redis: errors: ' . show($src));
    like($t->read_file('error.log'), qr/\[warn\].*protocol error/,
         'garbage Redis: a warning says so');
    $t->stop;
    no_errors($t, 'garbage Redis');
}

# ---- restarted mid-run ------------------------------------------------------------

{
    my $t = SkipTest->new;
    my $rport = $t->start_redis;
    $t->{ports}{6379} = $rport;
    my ($data, $users, $tracks) = SkipModule::load_dataset($t);
    $t->write_file('x', "x\n");
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;

    my ($ok, $max, $src) = burst($t, 20, $users->[0], $tracks->[0]);
    is(show($src), 'redis 20', 'before the restart: predictions');

    $t->stop_redis;
    my ($ok2, $max2, $src2) = burst($t, 50, $users->[0], $tracks->[0]);
    ok($ok2, 'Redis stopped: all 200');
    ok($max2 < $TIMEOUT + $MARGIN, sprintf('Redis stopped: slowest %.1f ms', $max2));
    ok(!$src2->{redis}, 'Redis stopped: fallbacks: ' . show($src2));

    $t->restart_redis;
    SkipModule::load_dataset($t);     # nothing was persisted
    my ($back, $t0) = (0, time);
    while (time - $t0 < 6) {
        my $r = $t->http_get("/tracks/$tracks->[0]", 'X-User-Id' => $users->[0]);
        if (($r->{headers}{'x-skip-source'} // '') eq 'redis') {
            $back = 1;
            last;
        }
        sleep 0.05;
    }
    ok($back, sprintf('predictions resume %.1f s after the restart', time - $t0));
    my ($ok3, $max3, $src3) = burst($t, 20, $users->[0], $tracks->[0]);
    is(show($src3), 'redis 20', 'after the restart: predictions');
    $t->stop;
    no_errors($t, 'Redis restart');
}

done_testing();
