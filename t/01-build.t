#!/usr/bin/perl
# Foundation: the module loads into the distribution's nginx, passes
# `nginx -t`, serves a request and shuts down without alerts; skipctl runs.
use strict;
use warnings;
use Test::More;
use SkipTest;

my $t = SkipTest->new;

ok(-x $t->skipctl, 'skipctl is built');
my $help = `${\ $t->skipctl} --help`;
is($? >> 8, 0, 'skipctl --help exits 0');
like($help, qr/usage: skipctl COMMAND/, 'skipctl --help prints usage');
system($t->skipctl . ' no-such-command 2>/dev/null');
is($? >> 8, 2, 'unknown command is a usage error (exit 2)');

ok(-f $t->module, 'module .so is built');

$t->write_conf(<<'EOF');
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        location / {
            skip_predict off;
            return 200 "hello\n";
        }
    }
}
EOF

my ($rc, $out) = $t->nginx_test_conf;
is($rc, 0, 'nginx -t accepts a config loading the module') or diag($out);
like($out, qr/test is successful/, 'nginx -t says the test is successful');

$t->write_conf(<<'EOF', 'bad.conf');
events { worker_connections 64; }
http {
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        location / { skip_predict maybe; }
    }
}
EOF
($rc, $out) = $t->nginx_test_conf($t->dir . '/bad.conf');
isnt($rc, 0, 'nginx -t rejects a bad directive value');
like($out, qr/skip_predict/, 'the error names the directive');

$t->start_nginx;
my $r = $t->http_get('/');
is($r->{status}, 200, 'nginx with the module serves a request');
is($r->{body}, "hello\n", 'response body');

$t->stop;
done_testing;
