#!/usr/bin/perl
# skip_record_cache ... track=time: track records stay in the per-worker
# cache longer than user records.  After the user time has passed but not
# the track time, a request needs one HMGET (the user's), not two; after
# both, two again.  Redis counts the commands (INFO commandstats).
use strict;
use warnings;

use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

$t->write_file('track', "x\n");
$t->write_conf(SkipModule::user() . <<'EOF2');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache 1024 1s track=4s;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            add_header X-Skip-Source $skip_source always;
            root %%TESTDIR%%;
            try_files /track =404;
        }
    }
}
EOF2
$t->start_nginx;

my ($u, $tr) = ($users->[0], $tracks->[0]);
my $get = sub { $t->http_get("/tracks/$tr", 'X-User-Id' => $u)->{headers}{'x-skip-source'} };

my $c0 = SkipModule::calls($t, 'hmget');
is($get->(), 'redis', 'first request: both records from Redis');
is(SkipModule::calls($t, 'hmget') - $c0, 2, '... two HMGETs');
is($get->(), 'cache', 'second request: both from the record cache');
is(SkipModule::calls($t, 'hmget') - $c0, 2, '... no command');

select(undef, undef, undef, 1.5);
my $c1 = SkipModule::calls($t, 'hmget');
is($get->(), 'redis', 'after the user time: the user from Redis');
is(SkipModule::calls($t, 'hmget') - $c1, 1, '... one HMGET: the track is still cached');

select(undef, undef, undef, 3.0);
my $c2 = SkipModule::calls($t, 'hmget');
$get->();
is(SkipModule::calls($t, 'hmget') - $c2, 2, 'after the track time too: two HMGETs again');

$t->stop;
done_testing();
