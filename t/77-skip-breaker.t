#!/usr/bin/perl
# The circuit breaker.  A Redis that accepts but never answers must not cost
# every request the full deadline forever: after N lookups in a row time
# out the worker's circuit breaker opens, requests fall back at once
# ($skip_source "breaker"), one probe goes through after a growing
# interval, and predictions resume when Redis answers again; counted in
# /metrics.  Fresh record-cache entries are still used while Redis is
# disconnected or the breaker is open.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;

my $TIMEOUT = 20;                                   # ms
my $FAST = $ENV{SKIP_SANITIZE} ? 60 : 15;           # ms: "at once"

my $CONF = <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%PORT_6379%%;
    skip_redis_connect_timeout 300ms;
    skip_redis_breaker 3 400ms 1600ms quiet=0;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache 1000 60s;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_redis_timeout 20ms;
            add_header X-Skip-Source $skip_source always;
            try_files /x =404;
        }
        location = /metrics { skip_metrics; }
    }
}
EOF

my $t = SkipTest->new;
my $rport = $t->start_redis;
$t->{ports}{6379} = $rport;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);
my $snap = $t->redis('GET', 'skip:active');
$t->write_file('x', "x\n");
$t->write_conf(SkipModule::user() . $CONF);
$t->start_nginx;
sleep 0.3;

sub ask {
    my ($i) = @_;
    my $t0 = time;
    my $r = $t->http_get("/tracks/$tracks->[$i]", 'X-User-Id' => $users->[$i % @$users]);
    return ($r->{headers}{'x-skip-source'} // '-', (time - $t0) * 1000, $r->{status});
}

sub show { my ($h) = @_; join ', ', map { "$_ $h->{$_}" } sort keys %$h }

# Pair 0 goes into the record cache.
my ($src) = ask(0);
is($src, 'redis', 'Redis up: prediction from Redis');
($src) = ask(0);
is($src, 'cache', 'asked again: from the record cache');

# ---- disconnected: cached records still serve ---------------------------------

$t->stop_redis;
sleep 0.1;
($src) = ask(1);
is($src, 'disconnected', 'Redis stopped: an uncached pair falls back');
($src) = ask(0);
is($src, 'cache', 'Redis stopped: a cached pair is still predicted from the cache');

# ---- a Redis that never answers: the breaker opens ------------------------------

$t->run_daemon(SkipModule::fake_redis('silent', undef, $snap), $rport);
my $t0 = time;
my $connected = 0;
while (time - $t0 < 5) {
    ($src) = ask(2);
    if ($src ne 'disconnected') { $connected = 1; last }
    sleep 0.05;
}
ok($connected, "reconnected to the silent Redis (first answer: $src)");

my %src;
my ($max_fast, $status_ok) = (0, 1);
my $timeouts = $src eq 'timeout' ? 1 : 0;
for my $i (3 .. 32) {
    my ($s, $ms, $st) = ask($i);
    $src{$s}++;
    $status_ok = 0 unless $st == 200;
    $max_fast = $ms if $s eq 'breaker' && $ms > $max_fast;
}
$timeouts += $src{timeout} // 0;
ok($status_ok, 'silent Redis: every request 200');
ok($timeouts >= 3 && $timeouts <= 4, "only the first lookups wait for the deadline: " . show(\%src));
ok(($src{breaker} // 0) >= 25, 'then the breaker answers');
ok($max_fast < $FAST, sprintf('breaker fallbacks return at once: slowest %.1f ms', $max_fast));
($src) = ask(0);
is($src, 'cache', 'breaker open: a cached pair is still predicted from the cache');

# After the open interval one probe goes to Redis; it times out; the
# breaker opens again, for longer.
sleep 0.5;
my @after = map { [ ask($_) ] } 40 .. 44;
is($after[0][0], 'timeout', 'after 400 ms: one probe goes to Redis');
# (the probe's deadline also finds the connection silent for longer than
# the connect timeout and reopens it: "disconnected" until then)
ok(!grep({ $_->[0] !~ /^(breaker|disconnected)$/ || $_->[1] > $FAST } @after[1 .. 4]),
   'then at once again: ' . join(' ', map { $_->[0] } @after));
sleep 0.2;
my @later = map { (ask($_))[0] } 45 .. 47;
is("@later", 'breaker breaker breaker', 'still open after reconnecting (800 ms now)');

my $m = $t->http_get('/metrics')->{body};
like($m, qr/^skip_redis_lookups_total\{result="breaker"\} [1-9]/m, 'metrics: breaker lookups counted')
    or diag(join "\n", grep { /breaker/ } split /\n/, $m);
like($m, qr/^skip_redis_breaker_trips_total [1-9]/m, 'metrics: breaker trips counted');
like($m, qr/^skip_fallbacks_total\{reason="breaker"\} [1-9]/m, 'metrics: breaker fallbacks counted');
like($t->read_file('error.log'), qr/\[warn\].*lookups in a row timed out.*not asking it for 400 ms/,
     'a warning says the breaker opened');

# ---- Redis answers again: predictions resume --------------------------------------

$t->stop_daemons;
$t->restart_redis($rport);
SkipModule::load_dataset($t);
my $back = 0;
$t0 = time;
while (time - $t0 < 6) {
    ($src) = ask(50);
    if ($src eq 'redis') { $back = 1; last }
    sleep 0.05;
}
ok($back, sprintf('predictions resume %.1f s after Redis recovers', time - $t0));
my %src2;
$src2{ (ask($_))[0] }++ for 51 .. 60;
is(show(\%src2), 'redis 10', 'after recovery: predictions from Redis');
like($t->read_file('error.log'), qr/breaker closed/, 'the log says the breaker closed');

# ---- quiet=: a short stall does not open it; a silent Redis still does ----------

# The default keeps the breaker closed until Redis has been silent for 250
# ms, so that an fsync stall (appendfsync always) under load does not cost
# a second of predictions.  Here quiet=300ms: the first ~300 ms of
# timeouts at 20 ms each are all deadlines, then the breaker opens.
(my $quiet = $CONF) =~ s/quiet=0/quiet=300ms/;
$t->write_conf(SkipModule::user() . $quiet);
$t->reload_nginx;
sleep 0.5;
# the new worker's last answered lookup: what the silence is counted from
$t0 = time;
while (time - $t0 < 5) {
    ($src) = ask(69);
    last if $src eq 'redis';
    sleep 0.05;
}
is($src, 'redis', 'after the reload: a prediction from Redis');
my $answered = time;
$t->stop_redis;
$t->run_daemon(SkipModule::fake_redis('silent', undef, $snap), $rport);
$t0 = time;
while (time - $t0 < 5) {
    ($src) = ask(70);
    last if $src ne 'disconnected';
    sleep 0.05;
}
my ($first_breaker, $n) = (undef, 0);
for my $i (71 .. 140) {
    my $sent = time;
    my ($s) = ask($i);
    $n++;
    if ($s eq 'breaker') { $first_breaker = $sent - $answered; last }
}
ok(defined $first_breaker && $first_breaker >= 0.29,
   sprintf('quiet=300ms: the breaker waited for %.2f s of silence (%d lookups)',
           $first_breaker // -1, $n));
ok(defined $first_breaker && $first_breaker < 2, 'and then opened');
$t->stop_daemons;

$t->stop;
my @e = grep { /\[(error|crit|alert|emerg)\]/ } split /\n/, $t->read_file('error.log');
ok(!@e, 'nothing above warn in error.log') or diag(join "\n", @e[0 .. 4]);

done_testing();
