#!/usr/bin/perl
# Live events and taste models on a real Redis Cluster (3 primaries + 3
# replicas, t/lib/SkipCluster.pm; docs/cluster.md, "Live events on a
# cluster"):
#   - a taste model predicts the same on the cluster as on one Redis (the
#     taste's GET routed to its node, in the same round trip);
#   - events posted to the cluster (a batch sent twice: a client's retry)
#     and applied by `skipctl features apply --cluster` give the same
#     user, track and taste records as the same events on one Redis;
#   - the applier killed after a batch (keys applied, cursor not moved)
#     and run again, and run again with every cursor deleted: nothing
#     counted twice;
#   - a primary SIGKILLed while events are posted: every acknowledged (200)
#     event is in the journal after the failover, the events of its shards
#     are answered 503 meanwhile, never 200 unless stored.
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

my $sk = $t->skipctl;
my $dir = $t->dir;

# ---- one Redis with a taste model's snapshot; the cluster gets a copy ----

my $single = $t->start_redis;
my $data = "$dir/data";
system($sk, 'gen', '--out', $data, '--scale', '0.005', '--seed', '7',
       '--quiet') == 0 or die 'skipctl gen failed';
system("$sk train --data $data --name taste --features taste "
       . "--model-dir $dir/models --quiet >/dev/null") == 0
    or die 'skipctl train --features taste failed';
my (undef, $users, $tracks) = SkipModule::load_dataset($t,
    model => "$dir/models/taste.model");
my $snap = $t->redis($single, 'GET', 'skip:active');
my $ports = SkipCluster::start($t);
$t->{redis_port} = $single;
SkipCluster::copy_from($t, $ports, $single);
is(SkipCluster::call($t, $ports, 'GET', 'skip:active'), $snap,
   'the cluster holds the same snapshot');
my $seed = "--redis 127.0.0.1:$ports->[0] --cluster";

$t->write_file('x', "x\n");
my $conf = SkipModule::user() . <<'EOF';
events { worker_connections 1024; }
http {
    %%REDIS%%
    skip_model taste %%TESTDIR%%/models/taste.model;
    skip_record_cache off;
    skip_redis_timeout 300ms;
    skip_redis_connect_timeout 500ms;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /skip/events {
            skip_events;
            skip_events_timeout 1s;
        }

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            add_header X-Skip-Exact $skip_score_exact always;
            add_header X-Skip-Decision $skip_decision always;
            add_header X-Skip-Source $skip_source always;
            root %%TESTDIR%%;
            try_files /x =404;
        }
    }
}
EOF

my $seeds = join ' ', map { "127.0.0.1:$_" } @$ports[0, 1];
sub use_single  { (my $c = $conf) =~ s/%%REDIS%%/skip_redis 127.0.0.1:$single;/; $c }
sub use_cluster { (my $c = $conf) =~ s/%%REDIS%%/skip_redis $seeds cluster;/; $c }

sub wait_source {
    my $until = time + 10;
    while (time < $until) {
        my %s = SkipModule::skipvars($t->http_get("/tracks/$tracks->[0]?hour=9",
                                                  'X-User-Id' => $users->[0]));
        return 1 if ($s{source} // '') eq 'redis';
        sleep 0.05;
    }
    return 0;
}

# ---- a taste model: the same predictions ----------------------------------

srand(11);
my @pairs = map { [ $users->[rand @$users], $tracks->[rand @$tracks],
                    int(rand 24) ] } 1 .. 40;
sub ask_all {
    my %got;
    for my $p (@pairs) {
        my %s = SkipModule::skipvars($t->http_get("/tracks/$p->[1]?hour=$p->[2]",
                                                  'X-User-Id' => $p->[0]));
        $got{"@$p"} = join ' ', map { $_ // '-' } @s{qw(source decision exact)};
    }
    return \%got;
}

$t->write_conf(use_single());
$t->start_nginx;
ok(wait_source(), 'one Redis: predictions');
my $one = ask_all();

$t->write_conf(use_cluster());
$t->reload_nginx;
ok(wait_source(), 'cluster: predictions');
my $get0 = 0;
$get0 += SkipModule::calls($t, 'get', $_) for @$ports;
is_deeply(ask_all(), $one, 'cluster, taste model: the same sources, '
          . 'decisions and scores as one Redis (' . scalar(@pairs) . ' pairs)');
my $get1 = 0;
$get1 += SkipModule::calls($t, 'get', $_) for @$ports;
cmp_ok($get1 - $get0, '>=', scalar @pairs,
       '... the taste fetched by GET on its node, once per request');

# ---- events: cluster + apply == one Redis ---------------------------------

sub stamp {                     # unix seconds -> the dataset's literal, UTC
    my @g = gmtime($_[0]);
    return sprintf('%04d-%02d-%02d %02d:%02d:%02d.000 +00:00:00',
                   $g[5] + 1900, $g[4] + 1, @g[3, 2, 1, 0]);
}
sub ev {
    my ($u, $tr, $type, $s, $ts) = @_;
    return qq({"timestamp":"${\ stamp($ts)}","user_id":$u,)
         . qq("track_id":"$tr","event_type":"$type","session_id":$s}\n);
}

# plays, plays turned into skips, repeats, and a track with no record
my (%touched_u, %touched_t);
sub batch {
    my ($s0, $n) = @_;
    my $now = time - 600;
    my $b = '';
    for my $k (1 .. $n) {
        my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
        $tr = 'NoSuchTrack0000000000x' if $k % 50 == 0;
        $touched_u{$u} = 1;
        $touched_t{$tr} = 1;
        my $s = $s0 + $k;
        $b .= ev($u, $tr, 'Play', $s, $now + $k);
        $b .= ev($u, $tr, 'Skip', $s, $now + $k) if $k % 3 == 0;
        $b .= ev($u, $tr, 'Play', $s, $now + $k) if $k % 7 == 0;
        $b .= ev($u, $tr, 'Skip', $s, $now + $k) if $k % 9 == 0;
    }
    return $b;
}
srand(23);
my $batch1 = batch(1000, 120);
my $batch2 = batch(5000, 500);
my %one_before = %{ records() };

sub post {
    my ($body) = @_;
    return $t->http_post('/skip/events', $body,
                         'Content-Type' => 'application/x-ndjson');
}

my $r = post($batch1);
is($r->{status}, 200, 'cluster: a batch of events acknowledged')
    or diag($r->{body});
like($r->{body}, qr/"accepted":\d+,"applied":(\d+)/, "... $r->{body}");
my ($journaled) = $r->{body} =~ /"applied":(\d+)/;
like($t->read_file('error.log'),
     qr/\[warn\].*events are acknowledged once a replica has them, but Redis Cluster node 127\.0\.0\.1:\d+ does not store them durably/,
     '... the nodes\' persistence (none here) named in a warning');
$r = post($batch1);
is($r->{status}, 200, '... sent again (a client retry): 200');
like($r->{body}, qr/"applied":0,/, '... and nothing journaled twice');
$r = post($batch2);
is($r->{status}, 200, 'a second batch of ' . scalar(() = $batch2 =~ /\n/g)
   . ' events') or diag($r->{body});

my $jlen = 0;
for my $p (SkipCluster::primaries($t, $ports)) {
    my $keys = $t->redis($p, 'KEYS', 'skip:{*}:journal');
    $jlen += $t->redis($p, 'XLEN', $_) for @$keys;
}
is($jlen, $journaled + (post_count($batch2)), 'the journal holds each counted event once');

like(`$sk features status $seed 2>&1`,
     qr/^journal $jlen entries in 32 shards, $jlen not applied to the active snapshot$/m,
     'features status: the journal, all of it still to apply');

# the applier dies after 3 batches (keys applied, the cursor not moved)
my $out = `SKIP_APPLY_CRASH_AFTER=3 $sk features apply $seed 2>&1`;
is($? >> 8, 9, 'the applier killed after 3 batches');
$out = `$sk features apply $seed 2>&1`;
is($?, 0, 'run again: done') or diag($out);
my ($read, $applied, $keys, $repeats) =
    $out =~ /(\d+) read, (\d+) applied, .* (\d+) key updates, (\d+) already applied/;
ok($repeats > 0, "... it found $repeats key updates of the killed run done "
   . "and skipped them ($read read, $applied applied, $keys key updates)");

my $before = records();
like(`$sk features status $seed 2>&1`,
     qr/^journal $jlen entries in 32 shards, 0 not applied to the active snapshot$/m,
     '... status: nothing left to apply');

# every cursor lost: everything is read again, nothing counts
for my $p (SkipCluster::primaries($t, $ports)) {
    my $c = $t->redis($p, 'KEYS', 'skip:{*}:cursor:*');
    $t->redis($p, 'DEL', $_) for @$c;
}
$out = `$sk features apply $seed 2>&1`;
is($?, 0, 'every cursor deleted, run again') or diag($out);
like($out, qr/ 0 key updates, [1-9]\d* already applied/,
     '... every entry read again, every key update found done: ' . $out);
is_deeply(records(), $before, '... the records did not change');

# the same events on one Redis
$t->write_conf(use_single());
$t->reload_nginx;
ok(wait_source(), 'one Redis again');
is(post($batch1)->{status}, 200, 'one Redis: batch 1');
is(post($batch1)->{status}, 200, '... again');
is(post($batch2)->{status}, 200, '... batch 2');

my $cl = records();
my $sg = records($single);
my @diff = grep { ($cl->{$_} // '') ne ($sg->{$_} // '') } sort keys %$sg;
is(scalar @diff, 0, 'cluster after apply == one Redis: ' . scalar(keys %$sg)
   . ' user/track counters and tastes of the ' . keys(%touched_u)
   . ' users and ' . keys(%touched_t) . ' tracks touched')
    or diag(join "\n", map { "$_: cluster $cl->{$_} one $sg->{$_}" }
                         @diff[0 .. ($#diff < 9 ? $#diff : 9)]);
my $changed = grep { $cl->{$_} ne $one_before{$_} } keys %one_before;
ok($changed > 100, "... and the events changed $changed of them");

# a snapshot loaded now is caught up with the journal before it is served:
# the dataset's counts plus the same events
$out = `$sk features load $seed --data $data --model $dir/models/taste.model 2>&1`;
is($?, 0, 'features load --cluster while the journal holds events')
    or diag($out);
my ($snap2, $replayed) = $out =~ /snapshot (\S+) active: .*, (\d+) live events replayed/;
ok($snap2 && $snap2 ne $snap && $replayed > 0,
   "... $snap2 active, $replayed journaled events applied to it first");
is_deeply(records(undef, $snap2), $cl, '... its records equal the previous '
          . 'snapshot\'s after the same events');

# ---- a primary killed while events are posted -----------------------------

$t->write_conf(use_cluster());
$t->reload_nginx;
ok(wait_source(), 'cluster again');

# the applier follows the journal through the failover
my $victim = (SkipCluster::primaries($t, $ports))[0];
my ($fseed) = grep { $_ != $victim } @$ports;
# the journal shards whose slots the victim serves
my %victim_shard;
for my $j (0 .. 31) {
    my $slot = slot_of(journal_tag($j));
    $victim_shard{$j} = 1 if grep { $_->[2] == $victim && $slot >= $_->[0]
                                    && $slot <= $_->[1] }
                             @{ SkipCluster::slots($t, $ports) };
}
my $fpid = fork // die "fork: $!";
if ($fpid == 0) {
    open STDOUT, '>', "$dir/follow.out";
    open STDERR, '>', "$dir/follow.err";
    exec("$sk features apply --redis 127.0.0.1:$fseed --cluster "
         . "--follow --interval 100") or POSIX::_exit(127);
}
my $poster = post_start();
sleep 1.5;
SkipCluster::kill_node($t, $victim);
my $killed = time;
SkipCluster::wait_ok($t, $ports, 30, 0);
my $promoted = time - $killed;
sleep 1;
# the killed node comes back as the promoted one's replica: its shards can
# be confirmed by WAIT again
$t->restart_redis($victim);
SkipCluster::wait_ok($t, $ports, 30, 1);
my $rejoined = time - $killed;
sleep 1.5;
my @res = post_stop($poster);
sleep 0.5;
kill 'TERM', $fpid;
waitpid($fpid, 0);
is($?, 0, 'apply --follow ran through the failover, SIGTERM ended it');
my $fout = $t->read_file('follow.out');
my $fapplied = 0;
$fapplied += $1 while $fout =~ /, (\d+) applied,/g;
ok($fapplied > 100, "... it applied $fapplied entries meanwhile"
   . ($t->read_file('follow.err') =~ /(\S+: [^\n]{0,60})/
      ? " (a failure reported: $1..., then reconnected)" : ''));
my @ok = grep { $_->[0] == 200 } @res;
my @no = grep { $_->[0] != 200 } @res;
ok(@ok > 20, scalar(@res) . ' batches posted during the failover, '
   . scalar(@ok) . ' acknowledged (promotion after '
   . sprintf('%.1f', $promoted) . ' s)');
my @tail = @res[-20 .. -1];
is(scalar(grep { $_->[0] == 200 } @tail), 20, 'the killed node back as a '
   . 'replica (' . sprintf('%.1f', $rejoined) . ' s): the last 20 batches '
   . 'acknowledged');
# between the kill and the promotion: the victim's shards 503, the others
# acknowledged as usual (a shard fails alone)
my @window = grep { $_->[4] > $killed + 0.2 && $_->[5] < $killed + $promoted - 0.2 } @res;
my @theirs = grep { $victim_shard{ slot_of($_->[3]) % 32 } } @window;
my @others = grep { !$victim_shard{ slot_of($_->[3]) % 32 } } @window;
ok(@theirs && !grep({ $_->[0] != 503 } @theirs), scalar(@theirs)
   . ' batches of listeners whose journal shard was on the dead primary, '
   . 'posted before the promotion: all 503 ('
   . scalar(keys %victim_shard) . ' of 32 shards there)');
my $others_ok = grep { $_->[0] == 200 } @others;
ok($others_ok > 0 && !grep({ $_->[0] != 200 && $_->[0] != 503 } @others),
   scalar(@others) . " batches of the other shards meanwhile: $others_ok "
   . 'acknowledged, the rest 503 (the cluster refuses writes everywhere '
   . 'while a slot has no primary: CLUSTERDOWN)');
ok(@no > 0 && !grep({ $_->[0] != 503 } @no),
   scalar(@no) . ' answered 503 (the journal\'s node down, or no replica '
   . 'to WAIT for), none with another status');
my %stored;
for my $p (SkipCluster::primaries($t, $ports)) {
    my $keys = $t->redis($p, 'KEYS', 'skip:{*}:journal');
    for my $k (@$keys) {
        for my $e (@{ $t->redis($p, 'XRANGE', $k, '-', '+') }) {
            my %f = @{ $e->[1] };
            $stored{"$f{s} $f{t}"} = 1 if defined $f{s};
        }
    }
}
my @lost = grep { !$stored{"$_->[1] $_->[2]"} } @ok;
is(scalar @lost, 0, 'every acknowledged event is in the journal after the '
   . 'failover (' . scalar(@ok) . ' acknowledged, '
   . scalar(grep { $stored{"$_->[1] $_->[2]"} } @no) . ' of the 503s stored '
   . 'too: their retry counts nothing)')
    or diag(join ' ', map { "$_->[1]/$_->[2]" } @lost[0 .. ($#lost < 9 ? $#lost : 9)]);
my ($live) = grep { SkipCluster::alive($t, $_) } @$ports;
$out = `$sk features apply --redis 127.0.0.1:$live --cluster 2>&1`;
is($?, 0, 'the applier after the failover: ' . $out) or diag($out);

# gc: the journal is trimmed to what the snapshots still need
$out = `$sk features gc --redis 127.0.0.1:$live --cluster --keep 1 --grace 0 --events-keep 0 2>&1`;
is($?, 0, 'features gc on the cluster') or diag($out);
my ($trimmed) = $out =~ /trim   the events journal \(32 shards\): (\d+) entries/;
ok($trimmed && $trimmed > 100, "... trimmed $trimmed journal entries applied "
   . 'by every kept snapshot');
like($out, qr/delete \Q$snap\E .*: \d+ keys/, "... deleted $snap");
my $left = 0;
for my $p (SkipCluster::primaries($t, $ports)) {
    for my $pat ("skip:$snap:*", "{skip:$snap:*", "skip:{*}:cursor:$snap") {
        $left += @{ $t->redis($p, 'KEYS', $pat) };
    }
}
is($left, 0, "... no key of $snap left: records, tastes, their marks, cursors");

$t->stop;
done_testing();

# ---- helpers ---------------------------------------------------------------

sub post_count {
    my ($b) = @_;
    # counted events: a Play of a new (session, track) and the first Skip
    my (%st, $n);
    for (split /\n/, $b) {
        my ($tr, $type, $s) = /"track_id":"(\w+)","event_type":"(\w+)","session_id":(\d+)/;
        my $k = "$s $tr";
        if ($type eq 'Play') {
            next if $st{$k};
            $st{$k} = 'p';
        } else {
            next if ($st{$k} // '') eq 's';
            $st{$k} = 's';
        }
        $n++;
    }
    return $n;
}

# user and track counters and tastes of every key touched, from one Redis
# (port) or the cluster (undef)
sub records {
    my ($port, $sn) = @_;
    $sn //= $snap;
    my $call = sub { defined $port ? $t->redis($port, @_)
                                   : SkipCluster::call($t, $ports, @_) };
    my %r;
    for my $u (keys %touched_u) {
        my $v = $call->('HMGET', "skip:$sn:u:$u", qw(plays skips fav_plays fav_skips));
        $r{"u:$u"} = join ' ', map { $_ // '-' } @$v;
        $r{"ut:$u"} = $call->('GET', "skip:$sn:ut:$u") // '-';
    }
    for my $tr (keys %touched_t) {
        my $v = $call->('HMGET', "skip:$sn:t:$tr", qw(plays skips fan_plays fan_skips));
        $r{"t:$tr"} = join ' ', map { $_ // '-' } @$v;
    }
    return \%r;
}

# A child posts batches of two events (a Play and, for one in three, its
# Skip) of fresh sessions until told to stop; a line per batch: status,
# session, track.
sub post_start {
    my $file = "$dir/posts";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $fh, '>', $file or POSIX::_exit(1);
        my $s = 900000;
        until (-e "$file.stop") {
            $s++;
            my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
            my $b = ev($u, $tr, 'Play', $s, time - 5)
                  . ($s % 3 ? '' : ev($u, $tr, 'Skip', $s, time - 5));
            my $t0 = time;
            my $res = $t->http_post('/skip/events', $b, timeout => 5);
            printf $fh "%d %d %s %s %.3f %.3f\n", $res->{status} // 0, $s,
                   $tr, $u, $t0, time;
        }
        close $fh;
        POSIX::_exit(0);        # not $t's DESTROY: that would stop nginx
    }
    return [ $pid, $file ];
}

# CRC16/XMODEM mod 16384 with hash tags, in Perl (as in t/87), and the
# journal's shard tags (journal.h): the smallest k whose "j<j>.<k>" falls
# in the j-th 32nd of the slots
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
sub journal_tag {
    my ($j) = @_;
    for my $k (0 .. 100000) {
        my $s = slot_of("j$j.$k");
        return "j$j.$k" if $s >= $j * 512 && $s < ($j + 1) * 512;
    }
}

sub post_stop {
    my ($p) = @_;
    $t->write_file("$p->[1].stop", '');
    waitpid($p->[0], 0);
    return map { [ split ' ' ] } SkipModule::lines_of($p->[1]);
}
