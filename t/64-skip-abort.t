#!/usr/bin/perl
# Clients that reset their connection while their lookup is pending, many
# times, one by one and 100 at once: the pending command is detached, its
# late reply dropped, the deadline timer deleted.  No crash, no alert at
# shutdown (no socket or timer left behind), and under `make SANITIZE=1
# test` no use-after-free or leak report.  Then the worker still serves.
use strict;
use warnings;

use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;

my $CONF = <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%PORT_6379%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_redis_timeout 200ms;
            add_header X-Skip-Source $skip_source always;
            try_files /x =404;
        }
    }
}
EOF

sub many_at_once {
    my ($t, $n) = @_;
    my @s;
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
            or next;
        print $s "GET /tracks/t$i HTTP/1.1\r\nHost: x\r\nX-User-Id: $i\r\n\r\n";
        push @s, $s;
    }
    sleep 0.02;
    for my $s (@s) {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    }
    return scalar @s;
}

sub run_case {
    my ($name, $setup, $waits) = @_;
    my $t = SkipTest->new;
    $setup->($t);
    $t->write_file('x', "x\n");
    $t->write_conf(SkipModule::user() . $CONF);
    $t->start_nginx;
    sleep 0.2;
    my $sent = 0;
    for my $wait (@$waits) {
        for my $i (1 .. 100) {
            $sent += SkipModule::rst_request($t, "/tracks/t$i", $wait,
                                             'X-User-Id' => 1000 + $i);
        }
    }
    $sent += many_at_once($t, 100);
    sleep 0.3;      # late replies arrive for requests that are gone
    my $r = $t->http_get('/tracks/t1', 'X-User-Id' => 7);
    is($r->{status}, 200, "$name: $sent reset clients, then a request is served");
    $t->stop;
}

# a Redis that answers each lookup 50 ms late: replies for gone requests
run_case('slow Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('slow', 0.05), $t->port(6379));
}, [ 0.005, 0.03 ]);

# a Redis that never answers: the deadline and the dead-connection check
# run while clients keep going away
run_case('silent Redis', sub {
    my ($t) = @_;
    $t->run_daemon(SkipModule::fake_redis('silent'), $t->port(6379));
}, [ 0.005 ]);

# a real Redis: resets racing with fast replies
run_case('real Redis', sub {
    my ($t) = @_;
    $t->{ports}{6379} = $t->start_redis;
    SkipModule::load_dataset($t);
}, [ 0, 0.001 ]);

done_testing();
