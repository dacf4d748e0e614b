#!/usr/bin/perl
# Online equals offline: for 500 random (user, track, hour, session
# position) cases of a generated dataset (a fifth without a position), the decision and P(play) the module computes from the
# records `skipctl features load` put in Redis equal what `skipctl predict`
# computes from the dataset itself (same code, so to 1e-9).  Pairs include
# tracks the user never played and a few unknown ids.
use strict;
use warnings;

use POSIX qw(:sys_wait_h);
use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $model = $t->root . '/models/default.model';
plan skip_all => 'no models/default.model yet' unless -f $model;

my $N = $ENV{SKIP_PARITY_PAIRS} || 500;

$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            skip_position $arg_pos;
            skip_redis_timeout 1s;    # parity, not speed: never time out

            add_header X-Skip-Decision $skip_decision always;
            add_header X-Skip-Exact $skip_score_exact always;
            add_header X-Skip-Source $skip_source always;
            root %%TESTDIR%%;
            try_files /x =404;
        }
    }
}
EOF
$t->write_file('x', "x\n");
$t->start_nginx;

srand(42);
my @pairs = map {
    [ $users->[rand @$users], $tracks->[rand @$tracks], int(rand 24),
      rand() < 0.2 ? -1 : int(rand 60) ]
} 1 .. $N;
sub position_opt { $_[0] < 0 ? '' : "--position $_[0]" }
sub position_arg { $_[0] < 0 ? '' : "&pos=$_[0]" }

# skipctl predict, 8 at a time (each one reads the whole dataset)
my $sk = $t->skipctl;
my $dir = $t->dir;
my %want;
my @queue = (0 .. $#pairs);
my %running;
while (@queue || %running) {
    while (@queue && keys %running < 8) {
        my $i = shift @queue;
        my ($u, $tr, $h, $p) = @{ $pairs[$i] };
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            exec "$sk predict --model $model --data $data --hour $h "
               . position_opt($p) . " --json $u $tr > $dir/p$i.json 2>&1";
        }
        $running{$pid} = $i;
    }
    my $pid = waitpid(-1, 0);
    delete $running{$pid};
}
for my $i (0 .. $#pairs) {
    my $j = $t->read_file("$dir/p$i.json");
    my ($score) = $j =~ /"score":\s*([-0-9.e]+)/;
    my ($dec) = $j =~ /"decision":\s*"(\w+)"/;
    $want{$i} = [ $score, $dec ];
}

my ($same, $bad) = (0, 0);
my %sources;
for my $i (0 .. $#pairs) {
    my ($u, $tr, $h, $p) = @{ $pairs[$i] };
    my %s = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=$h"
                                              . position_arg($p),
                                              'X-User-Id' => $u));
    $sources{ $s{source} // '-' }++;
    my ($ws, $wd) = @{ $want{$i} };
    if (defined $ws && defined $s{exact} && abs($s{exact} - $ws) < 1e-9
        && $s{decision} eq $wd)
    {
        $same++;
    } elsif ($bad++ < 5) {
        diag("user $u track $tr hour $h position $p: module "
             . ($s{exact} // '-') . ' ' . ($s{decision} // '-') . ' ('
             . ($s{source} // '-') . '), skipctl ' . ($ws // '-') . ' '
             . ($wd // '-'));
    }
}
is($same, $N, "$N pairs: module score and decision equal skipctl predict");
ok(($sources{redis} // 0) + ($sources{cache} // 0) == $N,
   'every pair was scored from Redis records: '
   . join(', ', map { "$_ $sources{$_}" } sort keys %sources));

# a few unknown ids get the fallback, not a score
my %s = SkipModule::skipvars($t->http_get("/tracks/$tracks->[0]?hour=1",
                                      'X-User-Id' => '424242'));
is("$s{source} $s{decision}", 'missing play', 'unknown user: fallback');

$t->stop;
done_testing();
