#!/usr/bin/perl
# Live A/B evaluation.  Track requests through two arms (skip_use_model),
# then the listeners' Play/Skip events through skip_events: every outcome
# whose (user, track) was predicted is counted once, per arm, in
# skip_outcomes_total{arm,predicted,actual} on the skip_metrics endpoint.
# Outcomes of pairs never predicted, Likes, resent batches and rejected
# batches count nothing.  Needs the module's skip_predict path, the
# metrics endpoint and the remember call (ngx_skip_recent) wired in.
use strict;
use warnings;

use Test::More;

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;
# wired together with the events handler's Redis accessor
plan skip_all => 'skip_events not wired into ngx_skip_module.c yet'
    unless `nm -D ${\ SkipTest->new->module} 2>/dev/null`
           =~ /T ngx_http_skip_worker_redis/;

my $t = SkipTest->new;
$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t, scale => 0.002);
my $model = $t->root . '/models/default.model';

$t->write_file('x', "x\n");
sub conf {
    my ($first, $second) = @_;
    $t->write_conf(SkipModule::user() . <<"EOF");
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model $first $model;
    skip_model $second $model;
    skip_events_recent 1m 15m;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%;

        location ~ ^/tracks/([^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$1;
            skip_use_model \$http_x_arm;
            add_header X-Skip-Decision \$skip_decision always;
            add_header X-Skip-Model \$skip_model always;
            try_files /x =404;
        }

        location = /skip/events { skip_events; }
        location = /metrics { skip_metrics; }
    }
}
EOF
}
conf('armA', 'armB');
$t->start_nginx;

sub ev {
    my ($u, $track, $type, $s) = @_;
    return qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":$u,)
         . qq("track_id":"$track","event_type":"$type","session_id":$s}\n);
}

sub outcomes {
    my $m = $t->http_get('/metrics');
    my %o;
    while ($m->{body} =~ /^skip_outcomes_total\{arm="([^"]+)",predicted="(\w+)",actual="(\w+)"\} (\d+)$/mg) {
        $o{"$1 $2 $3"} = $4;
    }
    return \%o;
}

my $before = outcomes();
ok(exists $before->{'armA play play'}, 'skip_outcomes_total exported for armA')
    or diag($t->http_get('/metrics')->{body});

# 40 predictions: user i, track i, arm A for even, B for odd
my (%want, @listens);
my $session = 7_000_000;
for my $i (0 .. 39) {
    my ($u, $tr) = ($users->[$i % @$users], $tracks->[$i]);
    my $arm = $i % 2 ? 'armB' : 'armA';
    my $r = $t->http_get("/tracks/$tr", 'X-User-Id' => $u, 'X-Arm' => $arm);
    my $pred = $r->{headers}{'x-skip-decision'} // '';
    next unless $r->{status} == 200 && $pred =~ /^(play|skip)$/;
    my $actual = $i % 3 ? 'play' : 'skip';
    push @listens, [$u, $tr, $actual eq 'play' ? 'Play' : 'Skip', ++$session];
    $want{"$arm $pred $actual"}++;
}
is(scalar @listens, 40, '40 predictions served');

# the outcomes in two batches, plus noise that must not count
my $b1 = join '', map { ev(@$_) } @listens[0 .. 19];
my $b2 = join '', map { ev(@$_) } @listens[20 .. 39];
$b2 .= ev($users->[0], $tracks->[100], 'Play', ++$session);     # never predicted
$b2 .= ev($listens[0][0], $listens[0][1], 'Like', ++$session);   # a Like

# a rejected batch first: nothing may be consumed by it
my $bad = $b1 . qq({"user_id":null}\n);
is($t->http_post('/skip/events', $bad)->{status}, 400, 'bad batch rejected');

is($t->http_post('/skip/events', $b1)->{status}, 200, 'batch 1 accepted');
is($t->http_post('/skip/events', $b2)->{status}, 200, 'batch 2 accepted');
is($t->http_post('/skip/events', $b1)->{status}, 200, 'batch 1 resent: accepted');

my $after = outcomes();
my %got;
for my $k (keys %$after) {
    my $d = $after->{$k} - ($before->{$k} // 0);
    $got{$k} = $d if $d;
}
is_deeply(\%got, \%want, 'outcomes per arm/predicted/actual: each listen once')
    or diag(explain({ got => \%got, want => \%want }));

my $n = 0;
$n += $_ for values %got;
is($n, 40, '40 outcomes counted (unpredicted pair, Like, resend: none)');

# ---- predictions made before a reload that reorders the skip_model lines:
# their outcomes, arriving at the new workers, still count for their arm
$before = outcomes();
my %want2;
for my $i (200 .. 209) {
    my ($u, $tr) = ($users->[$i % @$users], $tracks->[$i]);
    my $r = $t->http_get("/tracks/$tr", 'X-User-Id' => $u, 'X-Arm' => 'armA');
    my $pred = $r->{headers}{'x-skip-decision'} // '';
    next unless $pred =~ /^(play|skip)$/;
    $want2{"armA $pred play"}++;
    push @listens, [$u, $tr, 'Play', ++$session];
}
conf('armB', 'armA');
$t->reload_nginx;
is($t->http_post('/skip/events', join '', map { ev(@$_) } @listens[40 .. $#listens])
   ->{status}, 200, 'outcomes after the reload accepted');
$after = outcomes();
%got = ();
for my $k (keys %$after) {
    my $d = $after->{$k} - ($before->{$k} // 0);
    $got{$k} = $d if $d;
}
is_deeply(\%got, \%want2, 'reordered skip_model lines: outcomes stay with armA')
    or diag(explain({ got => \%got, want => \%want2 }));

$t->stop_nginx;
is(join("\n", $t->log_problems), '', 'no crash, alert or sanitizer report');

done_testing;
