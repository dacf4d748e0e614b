#!/usr/bin/perl
# The module's read path on a real Redis Cluster (3 primaries + 3
# replicas on loopback, t/lib/SkipCluster.pm): the same predictions as on
# one Redis with the same snapshot; the slots of the keys moved while
# requests run (MOVED, and ASK for a slot half migrated) with no request
# failed and every prediction still from Redis; a primary killed under
# load (its replica promoted): no track request failed, predictions
# resume, the time it took (events meanwhile: 200 only when journaled); a
# seed answering a malformed slot map and one answering garbage.  The record cache is off: every lookup goes to Redis.
use strict;
use warnings;

use Test::More;
use IO::Select;
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

        location = /recommend {
            skip_api;
        }

        location = /skip/events {
            skip_events;
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

# the prediction API: one user, 40 tracks (and a bad and an unknown one)
# in one lookup, spread over every node
sub ask_batch {
    my @b = (@$tracks[0 .. 39], 'NoSuchTrack0000', 'bad id!');
    my $body = '{"user_id": ' . $users->[1] . ', "hour": 9, "track_ids": ['
             . join(',', map { "\"$_\"" } @b) . ']}';
    my $r = $t->http_post('/recommend', $body,
                          'Content-Type' => 'application/json');
    return "$r->{status} $r->{body}";
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

# ---- configuration errors name the directive and the value ----------------

for my $bad (
    [ 'skip_redis 127.0.0.1:1 127.0.0.1:2;',
      qr/skip_redis: several addresses and "read=" need the "cluster" parameter/ ],
    [ 'skip_redis 127.0.0.1:1 cluster read=any;',
      qr/invalid value "read=any" in skip_redis: "read=primary" or "read=replica"/ ],
    [ 'skip_redis cluster;', qr/skip_redis has no address/ ],
    [ "skip_redis 127.0.0.1:1 cluster; skip_redis_db 2;",
      qr/skip_redis_db 2: a Redis Cluster has only database 0/ ],
) {
    $t->write_conf(conf_for($bad->[0]), 'bad.conf');
    my ($rc, $out) = $t->nginx_test_conf($t->dir . '/bad.conf');
    ok($rc != 0 && $out =~ $bad->[1], "nginx -t refuses: $bad->[0]")
        or diag($out);
}

$t->write_conf(conf_for("skip_redis 127.0.0.1:$single;"));
$t->start_nginx;
ok(wait_source('redis'), 'single Redis: predictions');
my $one = ask_all();
my $one_batch = ask_batch();
like($one_batch, qr/^200 .*"source":"redis"/, 'single Redis: an API batch');

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
is(ask_batch(), $one_batch, 'cluster: the same API batch answer (42 tracks '
   . 'in one lookup over three nodes)');
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
sleep 0.3;

# ---- a slot half migrated (ASK), then moved (MOVED) ------------------------

my ($u0, $t0) = @{ $pairs[0] };
my $want0 = $one->{"$u0 $t0"};
my $slot = SkipCluster::keyslot($t, $ports, "skip:$snap:u:$u0");
my $src = SkipCluster::owner($t, $ports, "skip:$snap:u:$u0");
my ($dst) = grep { $_ != $src } SkipCluster::primaries($t, $ports);
my ($srcid, $dstid) = map { SkipCluster::node_id($t, $_) } $src, $dst;

$t->redis($dst, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $srcid);
$t->redis($src, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $dstid);
my $keys = $t->redis($src, 'CLUSTER', 'GETKEYSINSLOT', $slot, 1000);
$t->redis($src, 'MIGRATE', '127.0.0.1', $dst, '', 0, 5000, 'KEYS', @$keys);
my $ask0 = SkipCluster::metric($t, 'ask');
my $r = ask_one($u0, $t0);
is($r, $want0, 'a key migrated, its slot still MIGRATING: ASK followed, '
   . 'the same prediction');
cmp_ok(SkipCluster::metric($t, 'ask'), '>', $ask0, '... an ASK counted');

$t->redis($_, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $dstid)
    for $dst, $src, grep { $_ != $src && $_ != $dst } SkipCluster::primaries($t, $ports);
my $moved0 = SkipCluster::metric($t, 'moved');
is(ask_one($u0, $t0), $want0,
   'the slot moved (map not refreshed yet): MOVED followed, same prediction');
cmp_ok(SkipCluster::metric($t, 'moved'), '>', $moved0, '... a MOVED counted');

# ---- resharding under load: redis-cli --cluster reshard ------------------

my @known = grep { $one->{"@$_"} =~ /^redis / } @pairs;
my $load = load_start('reshard');
sleep 0.5;
my $out = `redis-cli --cluster reshard 127.0.0.1:$src --cluster-from $srcid --cluster-to $dstid --cluster-slots 3000 --cluster-yes --cluster-pipeline 5 2>&1`;
is($?, 0, 'redis-cli --cluster reshard: 3000 slots moved under load')
    or diag(substr($out, -500));
sleep 1;
my @res = load_stop($load);
my @bad = grep { $_->[1] != 200 } @res;
my @fb = grep { $_->[2] ne 'redis' } @res;
is(scalar @bad, 0, scalar(@res) . ' track requests during the reshard: none failed');
is(scalar @fb, 0, '... and every prediction came from Redis (MOVED '
   . SkipCluster::metric($t, 'moved') . ', ASK ' . SkipCluster::metric($t, 'ask')
   . ' so far)')
    or diag(join ' ', map { $_->[2] } @fb[0 .. ($#fb < 9 ? $#fb : 9)]);
is_deeply(ask_all(), $one, 'after the reshard: the same predictions');

# ---- a primary killed under load: its replica is promoted -------------------

my $victim = SkipCluster::owner($t, $ports, "skip:$snap:u:$u0");
$load = load_start('failover');
sleep 0.5;
my $killed = time;
SkipCluster::kill_node($t, $victim);
# events meanwhile: 200 only once journaled on the listener's shard and
# confirmed by a replica (WAIT), else 503 (t/89 covers this in depth)
my %ev;
for my $i (1 .. 10) {
    my $r = $t->http_post('/skip/events',
        qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":$u0,)
        . qq("track_id":"$t0","event_type":"Play","session_id":$i}\n),
        'Content-Type' => 'application/x-ndjson');
    $ev{ $r->{status} }++;
    $ev{body} = $r->{body};
}
SkipCluster::wait_ok($t, $ports, 30, 0);
my $promoted = time - $killed;
sleep 2;
@res = load_stop($load);
@bad = grep { $_->[1] != 200 } @res;
is(scalar @bad, 0, scalar(@res) . ' track requests while a primary died '
   . 'and its replica took over: none failed');
my @after = grep { $_->[0] > $killed } @res;
my ($last_fb) = reverse grep { $_->[2] ne 'redis' } @after;
my $resumed = $last_fb ? $last_fb->[0] - $killed : 0;
ok(@after > 20 && $after[-1][2] eq 'redis' && $resumed < $promoted + 1.5,
   sprintf('predictions resumed %.2f s after the kill (the cluster promoted '
           . 'the replica after %.2f s)', $resumed, $promoted));
diag(sprintf 'failover: %d requests after the kill, %d fell back '
     . '(their key on the dead primary)', scalar @after,
     scalar grep { $_->[2] ne 'redis' } @after);
is_deeply([ grep { /^\d+$/ && !/^(200|503)$/ } keys %ev ], [],
          'events posted during the failover: 200 or 503 ('
          . join(', ', map { "$_: $ev{$_}" } grep { /^\d+$/ } sort keys %ev)
          . ')');
my $journaled = 0;
for my $p (grep { SkipCluster::alive($t, $_) } SkipCluster::primaries($t, $ports)) {
    for my $k (@{ $t->redis($p, 'KEYS', 'skip:{*}:journal') }) {
        $journaled += grep { { @{ $_->[1] } }->{u} eq $u0 }
                      @{ $t->redis($p, 'XRANGE', $k, '-', '+') };
    }
}
ok(!$ev{200} || $journaled >= $ev{200}, "... each one acknowledged is in "
   . "its shard's journal ($journaled entries of user $u0)");
is(SkipCluster::call($t, $ports, 'EXISTS', 'skip:events'), 0,
   '... and the single-server stream is not written on a cluster');
is(ask_one($u0, $t0), $want0, 'the user on the dead primary: the same '
   . 'prediction from the promoted replica');

# ---- seeds that lie: a malformed slot map, garbage instead of RESP ----------

my $liar = $t->run_daemon(fake_node('badmap'));
$t->write_conf(conf_for("skip_redis 127.0.0.1:$liar 127.0.0.1:"
                        . (grep { SkipCluster::alive($t, $_) } @$ports)[0]
                        . " cluster;"));
$t->reload_nginx;
ok(wait_source('redis'), 'a seed with a malformed slot map: the other '
   . 'seed\'s map is used');
sleep 1.5;
cmp_ok(SkipCluster::metric($t, 'map_error'), '>', 0, '... the bad map counted');
like($t->read_file('error.log'),
     qr/\[warn\].*Redis Cluster node 127\.0\.0\.1:$liar sent an unusable slot map \(a slot range out of 0\.\.16383\)/,
     '... and named in a warning');
is_deeply(ask_all(), $one, '... with the same predictions');

my $garbage = $t->run_daemon(fake_node('garbage'));
$t->write_conf(conf_for("skip_redis 127.0.0.1:$garbage cluster;"));
$t->reload_nginx;
sleep 0.5;
my $g = $t->http_get("/tracks/$t0", 'X-User-Id' => $u0);
my %gs = SkipModule::skipvars($g);
is("$g->{status} $gs{source}", '200 disconnected',
   'the only seed answers garbage: 200 with the fallback (disconnected)');
like($t->read_file('error.log'), qr/\[warn\].*Redis 127\.0\.0\.1:$garbage: protocol error/,
     '... the garbage named in a warning');

$t->stop;
done_testing();

sub ask_one {
    my ($u, $tr) = @_;
    my %s = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=9",
                                              'X-User-Id' => $u));
    return join ' ', map { $_ // '-' } @s{qw(source decision exact)};
}

# A child sends track requests for the known pairs until told to stop; one
# line per request: time, status, source.
sub load_start {
    my ($name) = @_;
    my $file = $t->dir . "/load-$name";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $fh, '>', $file or POSIX::_exit(1);
        my $i = 0;
        until (-e "$file.stop") {
            my $p = $known[$i++ % @known];
            my $res = $t->http_get("/tracks/$p->[1]", 'X-User-Id' => $p->[0],
                                   timeout => 5);
            my %s = SkipModule::skipvars($res);
            printf $fh "%.3f %d %s\n", time, $res->{status} // 0,
                   $s{source} // '-';
        }
        close $fh;
        POSIX::_exit(0);        # not $t's DESTROY: that would stop nginx
    }
    return [ $pid, $file ];
}

sub load_stop {
    my ($l) = @_;
    $t->write_file("$l->[1].stop", '');
    waitpid($l->[0], 0);
    return map { [ split ' ' ] } SkipModule::lines_of($l->[1]);
}

# A fake cluster node: answers the handshake, then CLUSTER SLOTS with a
# range out of bounds ('badmap'), or anything with bytes that are no RESP
# ('garbage').
sub fake_node {
    my ($mode) = @_;
    return sub {
        my ($ls) = @_;
        my $sel = IO::Select->new($ls);
        my %buf;
        for (;;) {
            for my $s ($sel->can_read(1)) {
                if ($s == $ls) {
                    my $c = $ls->accept or next;
                    $sel->add($c);
                    $buf{$c} = '';
                    next;
                }
                my $n = sysread($s, $buf{$s}, 65536, length $buf{$s});
                if (!$n) {
                    $sel->remove($s);
                    close $s;
                    next;
                }
                while (my $cmd = SkipModule::parse_cmd(\$buf{$s})) {
                    my $name = uc $cmd->[0];
                    syswrite($s, $mode eq 'garbage' ? "hello, not RESP\r\n"
                             : $name eq 'PING' ? "+PONG\r\n"
                             : $name eq 'CLUSTER'
                             ? "*1\r\n*3\r\n:0\r\n:99999\r\n*2\r\n\$9\r\n127.0.0.1\r\n:1\r\n"
                             : "-ERR not here\r\n");
                }
            }
        }
    };
}

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
