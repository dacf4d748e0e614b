#!/usr/bin/perl
# skip_events and durability: "an acknowledged event is
# never lost" holds only when Redis persists each write before it replies.
#
# Checked, each against a real redis-server started the way it says:
#   - no AOF: events are acknowledged, and error.log warns once (warn level)
#     naming appendonly and what to set; skip_redis_durable 0;
#   - appendonly yes, appendfsync everysec: the warning names appendfsync;
#   - CONFIG renamed away: the module falls back to INFO persistence;
#   - appendonly yes + appendfsync always (the documented configuration): no
#     warning, skip_redis_durable 1, and Redis killed with SIGKILL in the
#     middle of a stream of posted events loses none of the acknowledged
#     ones (every acknowledged event is in the journal after the restart).
use strict;
use warnings;

use Test::More;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;

my $TRACK = 'a' x 22;

sub ev {
    my ($u, $s) = @_;
    return qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":$u,)
         . qq("track_id":"$TRACK","event_type":"Play","session_id":$s}\n);
}

# A fresh nginx in front of a fresh redis-server started with @args.
sub setup {
    my (@args) = @_;
    my $t = SkipTest->new;
    my $rport = $t->start_redis(@args);
    $t->write_conf(SkipModule::user() . <<"EOF");
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:$rport;
    skip_redis_connect_timeout 200ms;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /skip/events {
            skip_events;
            skip_events_timeout 500ms;
        }

        location = /metrics {
            skip_metrics;
        }
    }
}
EOF
    $t->start_nginx;
    return ($t, $rport);
}

sub post {
    my ($t, $body) = @_;
    return $t->http_post('/skip/events', $body,
                         'Content-Type' => 'application/x-ndjson');
}

sub durable_gauge {
    my ($t) = @_;
    my $m = $t->http_get('/metrics')->{body} // '';
    return $m =~ /^skip_redis_durable (\S+)$/m ? $1 : 'absent';
}

sub warnings_of {
    my ($t) = @_;
    return grep { /\[warn\].*acknowledg/ } split /\n/, $t->read_file('error.log');
}

# 200 for a few events, then the warnings error.log holds.
sub post_some {
    my ($t) = @_;
    my $ok = 0;
    for my $i (1 .. 20) {
        my $r = post($t, ev(101, 1000 + $i));
        $ok++ if $r->{status} == 200;
        sleep 0.1 if $r->{status} == 503;     # still connecting
    }
    return $ok;
}

# ---- not durable: warned once, naming the setting --------------------------

{
    my ($t) = setup();
    ok(post_some($t) >= 15, 'no AOF: events are acknowledged');
    my @w = warnings_of($t);
    is(scalar @w, 1, 'no AOF: warned exactly once') or diag(join "\n", @w);
    like($w[0] // '', qr/appendonly.*appendonly yes.*appendfsync always/,
         'the warning names appendonly and what to set');
    like($w[0] // '', qr/ 127\.0\.0\.1:\d+/, 'the warning names the Redis server');
    is(durable_gauge($t), 0, 'skip_redis_durable 0');
    $t->stop;
}

{
    my ($t) = setup('--appendonly', 'yes', '--appendfsync', 'everysec');
    ok(post_some($t) >= 15, 'appendfsync everysec: acknowledged');
    my @w = warnings_of($t);
    is(scalar @w, 1, 'everysec: warned once');
    like($w[0] // '', qr/appendfsync is "everysec".*appendfsync always/,
         'the warning names appendfsync and its value');
    is(durable_gauge($t), 0, 'skip_redis_durable 0');
    $t->stop;
}

{
    my ($t) = setup('--rename-command', 'CONFIG', '');
    ok(post_some($t) >= 15, 'CONFIG renamed: acknowledged');
    my @w = warnings_of($t);
    is(scalar @w, 1, 'CONFIG renamed: warned once');
    like($w[0] // '', qr/INFO persistence.*aof_enabled:0/,
         'fell back to INFO persistence, which says the AOF is off');
    is(durable_gauge($t), 0, 'skip_redis_durable 0');
    $t->stop;
}

# ---- durable: no warning, and kill -9 loses no acknowledged event ---------

{
    my ($t, $rport) = setup('--appendonly', 'yes', '--appendfsync', 'always');
    ok(post_some($t) >= 15, 'appendfsync always: acknowledged');
    is(scalar(warnings_of($t)), 0, 'durable: no warning');
    is(durable_gauge($t), 1, 'skip_redis_durable 1');

    # The client: batches of 5 Plays on fresh sessions, as fast as it can;
    # the sessions of each acknowledged (200) batch go to a file.
    my $acked = $t->dir . '/acked';
    my $stopf = $t->dir . '/stop';
    my $pid = fork // die;
    if ($pid == 0) {
        open my $fh, '>', $acked or die;
        $fh->autoflush(1);
        my $s = 2_000_000;
        until (-e $stopf) {
            my @ss = map { ++$s } 1 .. 5;
            my $r = eval { post($t, join '', map { ev(202, $_) } @ss) };
            if ($r && $r->{status} == 200) {
                print $fh "$_\n" for @ss;
            } else {
                sleep 0.02;
            }
        }
        close $fh;
        POSIX::_exit(0);     # no Test::More or SkipTest teardown in the child
    }

    my $n_before = 0;
    my $deadline = time + 20;
    while (time < $deadline) {
        $n_before = () = SkipModule::lines_of($acked) if -e $acked;
        last if $n_before >= 500;
        sleep 0.05;
    }
    my ($r) = grep { $_->{port} == $rport } @{ $t->{redis} };
    kill 'KILL', $r->{pid};
    waitpid($r->{pid}, 0);
    $r->{pid} = 0;
    ok($n_before >= 500, "Redis killed with SIGKILL after $n_before acknowledged events");
    sleep 0.5;
    $t->restart_redis($rport);
    sleep 1.5;                              # nginx reconnects, the client goes on
    open my $sf, '>', $stopf or die;
    close $sf;
    waitpid($pid, 0);

    my %acked = map { chomp; ($_ => 1) } SkipModule::lines_of($acked);
    my %stored;
    my $cursor = '-';
    for (;;) {
        my $es = $t->redis($rport, 'XRANGE', 'skip:events',
                           $cursor eq '-' ? '-' : "($cursor", '+', 'COUNT', 5000);
        last unless $es && @$es;
        for my $e (@$es) {
            $cursor = $e->[0];
            my %f = @{ $e->[1] };
            $stored{$f{s}}++ if defined $f{s};
        }
    }
    my @lost = grep { !$stored{$_} } keys %acked;
    my @twice = grep { $stored{$_} > 1 } keys %stored;
    ok(keys(%acked) > $n_before, scalar(keys %acked) . ' events acknowledged in all, '
       . 'some after the restart');
    is(scalar @lost, 0, 'kill -9 with appendfsync always: 0 acknowledged events lost')
        or diag('lost sessions: ' . join ' ', (sort @lost)[0 .. 9]);
    is(scalar @twice, 0, 'none journaled twice');
    $t->stop;
}

done_testing;
