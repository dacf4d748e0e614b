#!/usr/bin/perl
# The prediction API fails open.  Redis not running, Redis that never
# answers, Redis that answers garbage: every answer is a 200 with fallback
# decisions, within the deadline plus a margin, each item's "source" says
# why, single and batch alike.  Clients that reset their connection while
# their lookup is pending (one by one and 100 at once, with a slow and a
# silent Redis): nothing crashes, no alert at shutdown, and the worker
# still answers.
use strict;
use warnings;

use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Test::More;
use Time::HiRes qw(time sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;

my $TIMEOUT = 20;                                 # skip_redis_timeout, ms
my $MARGIN = $ENV{SKIP_SANITIZE} ? 250 : 100;     # ms

my $CONF = <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%PORT_6379%%;
    skip_redis_connect_timeout 300ms;
    skip_redis_breaker off;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /recommend { skip_api; skip_redis_timeout 20ms; }
        location = /slow      { skip_api; skip_redis_timeout 200ms; }
        location = /patient   { skip_api; skip_redis_timeout 2s; }
    }
}
EOF

my $SINGLE = '{"user_id": 101, "track_id": "sometrack"}';
my $BATCH = '{"user_id": 101, "track_ids": ['
          . join(',', map { qq("track$_") } 1 .. 100) . ']}';

# $n answers; returns (all 200?, slowest in ms, { source => count }).
sub burst {
    my ($t, $n, $body, $path) = @_;
    my ($ok, $max, %src) = (1, 0);
    for (1 .. $n) {
        my $t0 = time;
        my $r = $t->http_post($path // '/recommend', $body,
                              'Content-Type' => 'application/json');
        my $ms = (time - $t0) * 1000;
        $max = $ms if $ms > $max;
        $ok = 0 unless $r->{status} == 200;
        my @s = $r->{body} =~ /"source":"(\w+)"/g;
        $src{$_}++ for @s;
        $src{'-'}++ unless @s;
        $ok = 0 if $r->{body} =~ /"decision":"SKIP"/;   # fallback is play
    }
    return ($ok, $max, \%src);
}

sub show { my ($h) = @_; join ', ', map { "$_ $h->{$_}" } sort keys %$h }

sub no_errors {
    my ($t, $what) = @_;
    my @e = grep { /\[(error|crit|alert|emerg)\]/ }
            split /\n/, $t->read_file('error.log');
    ok(!@e, "$what: nothing above warn in error.log")
        or diag(join "\n", @e[0 .. ($#e < 4 ? $#e : 4)]);
}

sub fault_case {
    my ($name, $setup, $check, $path) = @_;
    my $t = SkipTest->new;
    $setup->($t);
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;
    for my $form ([ 'batch of 100', $BATCH, 8 ], [ 'single', $SINGLE, 30 ]) {
        my ($what, $body, $n) = @$form;
        my ($ok, $max, $src) = burst($t, $n, $body, $path);
        ok($ok, "$name, $what: all 200 with the fallback (play)");
        $check->("$name, $what", $max, $src);
    }
    $t->stop;
    no_errors($t, $name);
}

# ---- nothing listening -------------------------------------------------------

fault_case('Redis down', sub { }, sub {
    my ($what, $max, $src) = @_;
    ok($max < $MARGIN, sprintf('%s: slowest %.1f ms (no deadline wait)',
                               $what, $max));
    is(join(',', keys %$src), 'disconnected', "$what: source disconnected");
});

# ---- never answers -----------------------------------------------------------

fault_case('silent Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('silent'), $t->port(6379));
}, sub {
    my ($what, $max, $src) = @_;
    ok($max < $TIMEOUT + $MARGIN,
       sprintf('%s: slowest %.1f ms (deadline %d ms)', $what, $max, $TIMEOUT));
    ok($src->{timeout}, "$what: timeouts: " . show($src));
    ok(!$src->{redis} && !$src->{'-'}, "$what: no scores, no bad answers");
});

# ---- answers garbage -----------------------------------------------------------

fault_case('garbage Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('garbage'), $t->port(6379));
}, sub {
    my ($what, $max, $src) = @_;
    ok($max < $TIMEOUT + $MARGIN, sprintf('%s: slowest %.1f ms', $what, $max));
    ok($src->{error} || $src->{disconnected},
       "$what: errors: " . show($src));
});

# ---- an error reply per HMGET --------------------------------------------------
# (a patient deadline: the Perl fake parses a batch of 101 commands slowly)

fault_case('Redis error replies', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('error'), $t->port(6379));
}, sub {
    my ($what, $max, $src) = @_;
    is(join(',', keys %$src), 'error', "$what: errors: " . show($src));
}, '/patient');

# ---- clients that leave mid-lookup ----------------------------------------------

sub rst_post {
    my ($t, $path, $body, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
        or return 0;
    print $s "POST $path HTTP/1.1\r\nHost: x\r\n"
           . "Content-Type: application/json\r\n"
           . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    sleep $wait if $wait;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
    return 1;
}

sub many_at_once {
    my ($t, $n) = @_;
    my @s;
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
            or next;
        my $body = $i % 2 ? $SINGLE : $BATCH;
        print $s "POST /slow HTTP/1.1\r\nHost: x\r\n"
               . "Content-Type: application/json\r\n"
               . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
        push @s, $s;
    }
    sleep 0.02;
    for my $s (@s) {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    }
    return scalar @s;
}

sub abort_case {
    my ($name, $setup, $waits) = @_;
    my $t = SkipTest->new;
    $setup->($t);
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;
    my $sent = 0;
    for my $wait (@$waits) {
        for my $i (1 .. 60) {
            $sent += rst_post($t, '/slow', $i % 3 ? $SINGLE : $BATCH, $wait);
        }
    }
    $sent += many_at_once($t, 100);
    sleep 0.3;      # late replies arrive for requests that are gone
    my $r = $t->http_post('/slow', $SINGLE, 'Content-Type' => 'application/json');
    is($r->{status}, 200,
       "$name: $sent clients left mid-lookup, then an answer is served");
    like($r->{body}, qr/^\{"user_id":101,.*"decision":"PLAY".*"source":"(missing|timeout|error|disconnected)"\}\n\z/,
         "$name: the answer after them is whole");
    $t->stop;
}

abort_case('slow Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('slow', 0.05), $t->port(6379));
}, [ 0.005, 0.03 ]);

abort_case('silent Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('silent'), $t->port(6379));
}, [ 0.005 ]);

done_testing();
