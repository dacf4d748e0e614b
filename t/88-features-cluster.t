#!/usr/bin/perl
# skipctl features on a real Redis Cluster (--cluster, t/lib/SkipCluster.pm):
# load pipelines per primary and the records equal a load into one Redis;
# status, get, set; activate (a rollback) is seen by the module; gc deletes
# a snapshot's keys on every primary; an event is journaled and counted
# by apply; --db is refused.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use SkipTest;
use SkipModule;
use SkipCluster;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $single = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t, scale => 0.005);
my $ports = SkipCluster::start($t);
$t->{redis_port} = $single;
my $sk = $t->skipctl;
my $model = $t->root . '/models/default.model';
my $seed = "--redis 127.0.0.1:$ports->[0] --cluster";

my $out = `$sk features load $seed --data $data --model $model 2>&1`;
is($?, 0, 'features load --cluster') or diag($out);
my ($snap1) = $out =~ /snapshot (\S+) active/;
ok($snap1, "snapshot $snap1 active");
is(SkipCluster::call($t, $ports, 'GET', 'skip:active'), $snap1,
   '<prefix>:active names it');

# every primary holds records, and only those of its slots (CLUSTER
# COUNTKEYSINSLOT would disagree with DBSIZE otherwise: a key on a node
# that does not own its slot is refused by Redis anyway)
my @prim = SkipCluster::primaries($t, $ports);
my @sizes = map { $t->redis($_, 'DBSIZE') } @prim;
ok(!grep({ $_ < 50 } @sizes), "keys on every primary: @sizes");
my $total = 0;
$total += $_ for @sizes;
# a taste key per user with labelled history (docs/taste-features.md)
my $tastes = 0;
$tastes += scalar @{ $t->redis($_, 'KEYS', "skip:$snap1:ut:*") } for @prim;
ok($tastes > 0 && $tastes <= @$users, "taste keys: $tastes of " . scalar(@$users) . ' users');
is($total, @$users + scalar(@$tracks) + $tastes + 3,
   'users + tracks + tastes + meta, active, snapshots: nothing else, nothing lost');

# the same records as one Redis: the model's score through features get
srand(3);
my ($same, $n) = (0, 0);
for (1 .. 15) {
    my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
    my $a = `$sk features get --redis 127.0.0.1:$single --model $model --hour 9 $u $tr 2>&1`;
    my $b = `$sk features get $seed --model $model --hour 9 $u $tr 2>&1`;
    s/s2\d{13}(-\d+)?/SNAP/g for $a, $b;
    $n++;
    $same++ if $a eq $b;
}
is($same, $n, "features get: records, vector and score equal one Redis's ($n pairs)");

$out = `$sk features set $seed $users->[0] plays 100000 2>&1`;
is($?, 0, 'features set on a cluster') or diag($out);
like(`$sk features get $seed $users->[0] 2>&1`, qr/^\s*plays\s+100000\b/m,
     '... and get reads it back');

like(`$sk features status $seed 2>&1`, qr/^\* \Q$snap1\E\s+complete/m,
     'status lists the active snapshot');

# the module sees a switch within a second
$t->write_file('html/x', "x\n") if mkdir $t->dir . '/html';
$t->write_conf(SkipModule::user() . <<"EOF");
events { worker_connections 256; }
http {
    skip_redis 127.0.0.1:$ports->[1] cluster;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%/html;
        location ~ ^/tracks/([^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$1;
            add_header X-Skip-Source \$skip_source always;
            try_files /x =404;
        }
    }
}
EOF
$t->start_nginx;

sleep 1.2;
$out = `$sk features load $seed --data $data --model $model 2>&1`;
my ($snap2) = $out =~ /snapshot (\S+) active/;
ok($snap2 && $snap2 ne $snap1, "a second load: $snap2 active");

sub module_snapshot {
    my ($want) = @_;
    my $until = time + 3;
    while (time < $until) {
        my $log = $t->read_file('error.log');
        my @s = $log =~ /Redis Cluster: active snapshot "([^"]+)"/g;
        return 1 if @s && $s[-1] eq $want;
        sleep 0.1;
    }
    return 0;
}
ok(module_snapshot($snap2), 'the module switched to it within a second');

$out = `$sk features activate $seed $snap1 2>&1`;
is($?, 0, "features activate $snap1 (rollback)") or diag($out);
ok(module_snapshot($snap1), '... the module switched back');
my %s = SkipModule::skipvars($t->http_get("/tracks/$tracks->[0]",
                                          'X-User-Id' => $users->[0]));
is($s{source}, 'redis', '... and predicts from it');

$out = `$sk features gc $seed --keep 0 --grace 0 2>&1`;
is($?, 0, 'features gc --keep 0 (only the active one)') or diag($out);
like($out, qr/delete \Q$snap2\E .*: (\d+) keys/, "gc deleted $snap2");
my $left = 0;
for my $p (@prim) {
    my $cur = 0;
    do {
        my $r = $t->redis($p, 'SCAN', $cur, 'MATCH', "skip:$snap2:*", 'COUNT', 1000);
        $cur = $r->[0];
        $left += @{ $r->[1] };
    } while ($cur ne '0');
}
is($left, 0, "no key of $snap2 left on any primary (SCAN each)");
$out = `$sk features activate $seed $snap2 2>&1`;
isnt($?, 0, 'activating a deleted snapshot is refused');

# an event on a cluster: journaled on its listener's shard, counted by apply
my $plays = `$sk features get $seed $users->[0] 2>&1` =~ /^\s*plays\s+(\d+)/m ? $1 : -1;
$out = `$sk features event $seed --session 77 $users->[0] $tracks->[0] play 2>&1`;
is($?, 0, 'features event on a cluster') or diag($out);
like($out, qr/^- 1 0 0 \d+-\d+$/, '... journaled: a play, applied later');
$out = `$sk features event $seed --session 77 $users->[0] $tracks->[0] play 2>&1`;
like($out, qr/^- 0 0 0 -$/, '... the same again: a repeat, nothing journaled');
$out = `$sk features apply $seed 2>&1`;
like($out, qr/: 1 read, 1 applied,/, 'features apply: the event counted')
    or diag($out);
like(`$sk features get $seed $users->[0] 2>&1`, qr/^\s*plays\s+\Q${\ ($plays + 1)}\E\b/m,
     "... in the user's plays ($plays + 1)");
$out = `$sk features apply $seed 2>&1`;
like($out, qr/: 0 read,/, '... once');

$out = `$sk features apply --redis 127.0.0.1:$ports->[0] 2>&1`;
is($? >> 8, 2, 'features apply without --cluster: a usage error');
like($out, qr/needs --cluster \(on one Redis server the events script updates the records itself\)/,
     '... saying why');

$out = `$sk features status $seed --db 1 2>&1`;
like($out, qr/--db 1: a Redis Cluster has only database 0/, '--db refused');

$t->stop;
done_testing();
