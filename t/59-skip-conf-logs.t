#!/usr/bin/perl
# Configuration checks and clean logs.  `nginx -t` refuses values that
# silently disable a safety (a 0 timeout, an empty events token, a constant
# skip_use_model naming no model) and says the real reason for a threshold with too many
# decimals, naming the directive and the value.  Logs carry no control
# bytes from Redis error replies or from skip_use_model values, and the
# malformed-record warning names the key.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $root = $t->root;
my $dir = $t->dir;

sub conf_with {
    my ($http, $loc) = @_;
    $loc //= '';
    return "events { worker_connections 64; }\nhttp {\n"
         . "    skip_redis 127.0.0.1:6379;\n"
         . "    skip_model default $root/models/default.model;\n$http\n"
         . "    server { listen 127.0.0.1:%%PORT_8080%%;\n"
         . "        location / { $loc }\n    }\n}\n";
}

sub nginx_t {
    my ($http, $loc) = @_;
    $t->write_conf(conf_with($http, $loc), 'check.conf');
    return $t->nginx_test_conf("$dir/check.conf");
}

# ---- item 6: nginx -t ------------------------------------------------------

my ($rc, $out) = nginx_t('');
is($rc, 0, 'the base configuration passes') or diag($out);

my @refused = (
    [ 'skip_redis_timeout 0;', '',
      qr/invalid value "0" in "skip_redis_timeout" directive.*more than 0/ ],
    [ '', 'skip_redis_timeout 0ms;',
      qr/invalid value "0ms" in "skip_redis_timeout" directive/ ],
    [ 'skip_redis_connect_timeout 0;', '',
      qr/invalid value "0" in "skip_redis_connect_timeout" directive/ ],
    [ '', 'skip_events; skip_events_token "";',
      qr/invalid value "" in "skip_events_token" directive.*empty/ ],
    [ 'skip_use_model nosuch;', '',
      qr/invalid value "nosuch" in "skip_use_model" directive.*no "skip_model"/ ],
    [ '', 'skip_use_model defalt;',
      qr/invalid value "defalt" in "skip_use_model" directive/ ],
    [ 'skip_threshold 0.1234567;', '',
      qr/invalid value "0.1234567" in "skip_threshold" directive.*more than 6 decimals/ ],
    [ 'skip_redis_breaker 0;', '',
      qr/invalid value "0" in "skip_redis_breaker" directive/ ],
    [ 'skip_redis_breaker 5 2s 1s;', '',
      qr/invalid value "1s" in "skip_redis_breaker" directive.*shorter than the first/ ],
    [ 'skip_threshold 1.5;', '',
      qr/invalid value "1.5" in "skip_threshold" directive.*between 0 and 1/ ],
);
for my $c (@refused) {
    my ($http, $loc, $re) = @$c;
    ($rc, $out) = nginx_t($http, $loc);
    isnt($rc, 0, "nginx -t refuses: $http$loc");
    like($out, $re, '... and says why') or diag($out);
}

for my $ok ([ 'skip_use_model default;', '' ], [ 'skip_use_model naive;', '' ],
            [ 'skip_use_model $http_x_arm;', '' ], [ '', 'skip_events_token s3cret;' ],
            [ 'skip_threshold 0.123456;', '' ], [ 'skip_redis_timeout 1ms;', '' ],
            [ 'skip_redis_breaker off;', '' ], [ 'skip_redis_breaker 3 200ms 5s;', '' ])
{
    ($rc, $out) = nginx_t(@$ok);
    is($rc, 0, "nginx -t accepts: $ok->[0]$ok->[1]") or diag($out);
}

# ---- item 7: no control bytes in logs; the malformed warning names the key ----

# A fake Redis whose HMGET answers are error replies full of control bytes.
my $t2 = SkipTest->new;
$t2->run_daemon(SkipModule::fake_redis('error'), $t2->port(6379));
$t2->write_file('x', "x\n");
my $CONF = <<'EOF';
events { worker_connections 64; }
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
            skip_use_model $http_x_arm;
            add_header X-Skip-Source $skip_source always;
            try_files /x =404;
        }
    }
}
EOF
$t2->write_conf(SkipModule::user() . $CONF);
$t2->start_nginx;
sleep 0.3;
my $r = $t2->http_get('/tracks/sometrack', 'X-User-Id' => 101, 'X-Arm' => 'default');
is($r->{headers}{'x-skip-source'}, 'error', 'a Redis error reply: source error');
sleep 1.1;     # ngx_skip_warn lets one message a second through
$r = $t2->http_get('/tracks/sometrack', 'X-User-Id' => 101, 'X-Arm' => "ev\x1b[2Jil\x07");
$t2->stop;
my $log = $t2->read_file('error.log');
like($log, qr/Redis error: ERR evil/, 'the Redis error is logged');
like($log, qr/no model named "ev\?\[2Jil\?"/, 'the skip_use_model value is logged escaped')
    or diag(join "\n", grep { /model named/ } split /\n/, $log);
unlike($log, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'error.log holds no control bytes');

# A record broken by hand in a real Redis: the warning names its key.
my $t3 = SkipTest->new;
my $rport = $t3->start_redis;
$t3->{ports}{6379} = $rport;
my ($data, $users, $tracks) = SkipModule::load_dataset($t3);
my $snap = SkipModule::snap_prefix($t3);
$t3->redis('HSET', "$snap:u:$users->[0]", 'plays', "12\x1bx");
$t3->write_file('x', "x\n");
$t3->write_conf(SkipModule::user() . $CONF);
$t3->start_nginx;
sleep 0.3;
$r = $t3->http_get("/tracks/$tracks->[0]", 'X-User-Id' => $users->[0],
                   'X-Arm' => 'default');
is($r->{headers}{'x-skip-source'}, 'malformed', 'a broken record: source malformed');
$t3->stop;
$log = $t3->read_file('error.log');
like($log, qr/malformed user record \Q$snap:u:$users->[0]\E: field "plays"/,
     'the malformed-record warning names the key')
    or diag(join "\n", grep { /malformed/ } split /\n/, $log);
unlike($log, qr/[\x00-\x08\x0b-\x1f\x7f]/, 'error.log holds no control bytes');

done_testing();
