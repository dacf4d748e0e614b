package SkipCluster;

# A real Redis Cluster on loopback for the tests: N primaries with one
# replica each, `redis-server --cluster-enabled yes` joined by
# `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`.
# Small on purpose (the machine has 2 cores): no persistence, a node
# timeout of 1 s so that a failover takes a few seconds.
#
#   my $ports = SkipCluster::start($t);          # 6 nodes, ok
#   SkipCluster::copy_from($t, $ports, $single); # copy a standalone's keys
#   my $p = SkipCluster::owner($t, $ports, $key); # port of the key's primary
#   SkipCluster::call($t, $ports, 'HGET', $k, $f); # follows MOVED
#   SkipCluster::kill_node($t, $port);           # SIGKILL, no goodbye
#
# The nodes are ordinary $t->start_redis servers, so $t->stop stops them.

use strict;
use warnings;

use Time::HiRes qw(sleep time);

sub start {
    my ($t, %o) = @_;
    my $n = $o{primaries} // 3;
    my $saved = $t->{redis_port};
    my @ports;
    for (1 .. 2 * $n) {
        # the bus port is chosen too: port + 10000 may not be free (or valid)
        push @ports, $t->start_redis(
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', $o{node_timeout} // 1000,
            '--cluster-port', SkipTest::free_port(),
            @{ $o{args} // [] });
    }
    $t->{redis_port} = $saved if defined $saved;
    my $out = `redis-cli --cluster create @{[ map { "127.0.0.1:$_" } @ports ]} --cluster-replicas 1 --cluster-yes 2>&1`;
    die "redis-cli --cluster create failed:\n$out" if $?;
    wait_ok($t, \@ports);
    return \@ports;
}

# Every node says cluster_state:ok and agrees that every slot is served,
# each range with a replica.
sub wait_ok {
    my ($t, $ports, $timeout, $replicas) = @_;
    $replicas //= 1;
    my $until = time + ($timeout // 30);
    while (time < $until) {
        my $ok = 1;
        for my $p (@$ports) {
            next unless alive($t, $p);
            my $info = eval { $t->redis($p, 'CLUSTER', 'INFO') } // '';
            $ok = 0 unless $info =~ /cluster_state:ok/
                        && $info =~ /cluster_slots_ok:16384/;
        }
        # replicas show in CLUSTER SLOTS once the primaries know them
        # (and after a kill: every range served by a live primary)
        $ok = 0 if $ok && grep { !alive($t, $_->[2]) || ($replicas
                                   && !grep { alive($t, $_) } @{ $_->[3] }) }
                                @{ slots($t, $ports) };
        return 1 if $ok;
        sleep 0.1;
    }
    die "the cluster did not become ok";
}

sub alive {
    my ($t, $port) = @_;
    my ($r) = grep { $_->{port} == $port } @{ $t->{redis} };
    return $r && $r->{pid};
}

# [ [start, end, primary port, [replica ports]] ... ] as a live node sees it
sub slots {
    my ($t, $ports) = @_;
    for my $p (@$ports) {
        next unless alive($t, $p);
        my $r = eval { $t->redis($p, 'CLUSTER', 'SLOTS') } or next;
        return [ map { [ $_->[0], $_->[1], $_->[2][1],
                         [ map { $_->[1] } @{$_}[3 .. $#$_] ] ] } @$r ];
    }
    die "no live node";
}

sub primaries {
    my ($t, $ports) = @_;
    my %p = map { $_->[2] => 1 } @{ slots($t, $ports) };
    return sort { $a <=> $b } keys %p;
}

sub keyslot {
    my ($t, $ports, $key) = @_;
    my ($p) = grep { alive($t, $_) } @$ports;
    return $t->redis($p, 'CLUSTER', 'KEYSLOT', $key);
}

# the port of the primary that serves the key
sub owner {
    my ($t, $ports, $key) = @_;
    my $slot = keyslot($t, $ports, $key);
    for my $r (@{ slots($t, $ports) }) {
        return $r->[2] if $slot >= $r->[0] && $slot <= $r->[1];
    }
    die "slot $slot is not served";
}

sub node_id {
    my ($t, $port) = @_;
    return $t->redis($port, 'CLUSTER', 'MYID');
}

# One command on the key's primary (argument 1 is the key).
sub call {
    my ($t, $ports, @cmd) = @_;
    my $p = owner($t, $ports, $cmd[1]);
    return $t->redis($p, @cmd);
}

# Copy every key of a standalone Redis into the cluster.
sub copy_from {
    my ($t, $ports, $from) = @_;
    my ($p) = grep { alive($t, $_) } @$ports;
    my $out = `redis-cli --cluster import 127.0.0.1:$p --cluster-from 127.0.0.1:$from --cluster-copy --cluster-replace 2>&1`;
    die "redis-cli --cluster import failed:\n$out" if $?;
    return $out;
}

sub kill_node {
    my ($t, $port) = @_;
    for my $r (@{ $t->{redis} }) {
        next unless $r->{port} == $port && $r->{pid};
        kill 'KILL', $r->{pid};
        waitpid($r->{pid}, 0);
        $r->{pid} = 0;
    }
}

# The value of one skip_redis_cluster_total{event} in /metrics.
sub metric {
    my ($t, $event, $port) = @_;
    my $m = $t->http_get('/metrics', $port ? (port => $port) : ())->{body} // '';
    return $m =~ /^skip_redis_cluster_total\{event="\Q$event\E"\} (\d+)/m
           ? $1 : 0;
}

1;
