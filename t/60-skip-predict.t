#!/usr/bin/perl
# The module end to end against a real redis-server loaded by
# `skipctl features load`: the $skip_* variables, every fallback reason,
# skip_fallback / skip_threshold, an internal redirect that must not ask
# Redis again, ids that try to inject Redis commands, sticky A/B arms
# with split_clients.  The record cache is off here so that every lookup
# shows in Redis' command counters (t/62 tests the cache).
use strict;
use warnings;

use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);
my $sk = $t->skipctl;
my $model = $t->root . '/models/default.model';

$t->write_file('html/x', "track bytes\n") if mkdir $t->dir . '/html';

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    split_clients "${http_x_user_id}" $arm {
        50%     default;
        *       naive;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root %%TESTDIR%%/html;
        log_not_found off;
        large_client_header_buffers 4 32k;    # let 10 kB ids through

        skip_user $http_x_user_id;
        skip_hour $arg_hour;
        skip_position $arg_pos;

        add_header X-Skip-Decision $skip_decision always;
        add_header X-Skip-Score $skip_score always;
        add_header X-Skip-Exact $skip_score_exact always;
        add_header X-Skip-Bypass $skip_bypass always;
        add_header X-Skip-Model $skip_model always;
        add_header X-Skip-Source $skip_source always;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            try_files /x =404;
        }

        location ~ ^/fallback-skip/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            skip_fallback skip;
            try_files /x =404;
        }

        location ~ ^/always-play/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            skip_threshold 0;
            try_files /x =404;
        }

        location ~ ^/arms/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            skip_use_model $arm;
            try_files /x =404;
        }

        # predicts, then 404s into an internal redirect to /tracks/
        location ~ ^/redirect/([^/]+)$ {
            skip_predict on;
            skip_track $1;
            error_page 404 = /tracks/$1;
        }

        location /off/ {
            try_files /x =404;
        }
    }
}
EOF
$t->start_nginx;

my ($u, $tr) = ($users->[0], $tracks->[0]);

# ---- a known pair ---------------------------------------------------------

my $res = $t->http_get("/tracks/$tr?hour=5", 'X-User-Id' => $u);
my %s = SkipModule::skipvars($res);
is($res->{status}, 200, 'known pair: 200');
is($s{source}, 'redis', 'known pair: $skip_source redis');
like($s{decision}, qr/^(play|skip)$/, '$skip_decision');
like($s{score}, qr/^0\.\d{4}$|^1\.0000$/, '$skip_score has 4 decimals');
like($s{model}, qr/^default@[0-9a-f]{16}$/, '$skip_model is name@version');
is($s{bypass} // '', $s{decision} eq 'skip' ? '1' : '',
   '$skip_bypass is "1" exactly for skip');

my $get = `$sk features get --redis 127.0.0.1:$rport --model $model --hour 5 $u $tr`;
my ($want) = $get =~ /^score (\S+)/m;
ok(defined $want && abs($s{exact} - $want) < 1e-4,
   "score equals skipctl features get ($s{exact} vs " . ($want // '?') . ')');

# the same pair through skipctl predict (the dataset, not Redis)
my $pred = `$sk predict --model $model --data $data --hour 5 --json $u $tr`;
my ($pscore) = $pred =~ /"score":\s*([-0-9.e]+)/;
ok(defined $pscore && abs($s{exact} - $pscore) < 1e-9,
   'score equals skipctl predict to 1e-9');

# ---- the session position (skip_position) -----------------------------------

my %p0 = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=5&pos=0",
                                           'X-User-Id' => $u));
my %p40 = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=5&pos=40",
                                            'X-User-Id' => $u));
ok(defined $p0{exact} && defined $p40{exact} && $p40{exact} < $p0{exact},
   'a later place in the session lowers P(play) (listeners tire): '
   . ($p0{exact} // '-') . ' -> ' . ($p40{exact} // '-'));
for my $p (0, 40) {
    my $o = `$sk predict --model $model --data $data --hour 5 --position $p --json $u $tr`;
    my ($ps) = $o =~ /"score":\s*([-0-9.e]+)/;
    my $got = $p ? $p40{exact} : $p0{exact};
    ok(defined $ps && defined $got && abs($got - $ps) < 1e-9,
       "position $p: score equals skipctl predict --position $p");
}
for my $junk ('abc', '-3', '4x', '') {
    my %j = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=5&pos=$junk",
                                              'X-User-Id' => $u));
    is($j{exact}, $s{exact},
       "position '$junk' is unknown: the same score as none sent");
}
my %big = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=5&pos=99999999999",
                                            'X-User-Id' => $u));
my %cap = SkipModule::skipvars($t->http_get("/tracks/$tr?hour=5&pos=100",
                                            'X-User-Id' => $u));
is($big{exact}, $cap{exact}, 'an absurd position counts as the cap (100)');
is($big{source}, 'redis', '... and is scored, not failed');

# ---- fallbacks --------------------------------------------------------------

%s = SkipModule::skipvars($t->http_get("/tracks/$tr", 'X-User-Id' => '999999'));
is($s{source}, 'missing', 'unknown user: missing');
is($s{decision}, 'play', 'fallback decision is play by default');
ok(!defined $s{score}, 'no score without records');

%s = SkipModule::skipvars($t->http_get("/tracks/nosuchtrack", 'X-User-Id' => $u));
is($s{source}, 'missing', 'unknown track: missing');

%s = SkipModule::skipvars($t->http_get("/tracks/$tr"));
is($s{source}, 'badid', 'no user id: badid');

%s = SkipModule::skipvars($t->http_get("/tracks/$tr", 'X-User-Id' => 'a b'));
is($s{source}, 'badid', 'user id with a space: badid');

%s = SkipModule::skipvars($t->http_get("/fallback-skip/nosuchtrack",
                                   'X-User-Id' => $u));
is("$s{source} $s{decision} $s{bypass}", 'missing skip 1',
   'skip_fallback skip: decision skip, bypass 1');

%s = SkipModule::skipvars($t->http_get("/always-play/$tr", 'X-User-Id' => $u));
is($s{decision}, 'play', 'skip_threshold 0: always play');

%s = SkipModule::skipvars($t->http_get("/off/x", 'X-User-Id' => $u));
is($s{source}, 'off', 'skip_predict off: $skip_source off');
ok(!defined $s{decision}, 'skip_predict off: no decision');

# a malformed record (as `redis-cli HSET` by hand could make one)
my $p = SkipModule::snap_prefix($t);
$t->redis('HSET', "$p:u:$users->[1]", 'plays', 'lots');
my $r = $t->http_get("/tracks/$tr", 'X-User-Id' => $users->[1]);
%s = SkipModule::skipvars($r);
is("$r->{status} $s{source} $s{decision}", '200 malformed play',
   'malformed user record: 200, malformed, fallback');
like($t->read_file('error.log'), qr/\[warn\].*malformed user record \S+:u:\d+: field "plays"/,
     'the malformed field is named in a warning');

# ---- internal redirect: no second lookup -----------------------------------

my $before = SkipModule::calls($t, 'hmget');
$r = $t->http_get("/redirect/$tracks->[2]", 'X-User-Id' => $users->[2]);
%s = SkipModule::skipvars($r);
my $after = SkipModule::calls($t, 'hmget');
is($r->{status}, 200, 'redirected request served');
is($s{source}, 'redis', 'result survives the internal redirect');
is($after - $before, 2, 'one lookup (user + track HMGET) despite the redirect');

# ---- injection ----------------------------------------------------------------

my $keys = $t->redis('DBSIZE');
my $all = SkipModule::all_calls($t);
my @evil = (
    "x%0D%0A*1%0D%0A\$8%0D%0AFLUSHALL%0D%0A",
    "x%0D%0AFLUSHALL%0D%0A",
    "*3%0D%0A\$3%0D%0ASET%0D%0A\$1%0D%0Ak%0D%0A\$1%0D%0Av",
    'a' x 10240,
    'a' x 65,
    "x%00y",
);
my $ok = 1;
for my $id (@evil) {
    my $r1 = $t->http_get("/tracks/$id", 'X-User-Id' => $u);
    my $r2 = $t->http_get("/tracks/$tr", 'X-User-Id' => '$8 FLUSHALL *1');
    my %a = SkipModule::skipvars($r1);
    my %b = SkipModule::skipvars($r2);
    my $r3 = $t->http_get("/tracks/$tr", 'X-User-Id' => $id);
    my %c = SkipModule::skipvars($r3);
    # nginx itself refuses a NUL in the URI (400) before any module runs
    my $first = ($r1->{status} == 200 && $a{source} eq 'badid')
                || ($r1->{status} == 400 && $id =~ /%00/);
    my $third = ($r3->{status} == 200 && $c{source} eq 'badid')
                || $id =~ /%/;      # headers are not URL-decoded
    diag(substr($id, 0, 20) . ": $r1->{status} " . ($a{source} // '-')
         . " / $r2->{status} $b{source} / $r3->{status} " . ($c{source} // '-'))
        unless $first && $third;
    $ok = 0 unless $first && $third
                   && $r2->{status} == 200 && $b{source} eq 'badid';
}
ok($ok, 'injection attempts: badid, served');
# INFO itself is the only command since (one per all_calls/DBSIZE call)
is(SkipModule::all_calls($t) - $all, 1, 'no Redis command ran for them');
is($t->redis('DBSIZE'), $keys, 'no key changed');

# ---- sticky arms ---------------------------------------------------------------

my (%arm_of, %seen, $sticky);
$sticky = 1;
for my $round (1 .. 3) {
    for my $user (@$users[0 .. 19]) {
        my %a = SkipModule::skipvars($t->http_get("/arms/$tr",
                                              'X-User-Id' => $user));
        my ($name) = ($a{model} // '') =~ /^([^@]+)/;
        $seen{$name // ''}++;
        $sticky = 0 if defined $arm_of{$user} && $arm_of{$user} ne $name;
        $arm_of{$user} = $name;
    }
}
ok($sticky, 'each user always gets the same arm');
ok($seen{default} && $seen{naive}, 'both arms are used: '
   . join(', ', map { "$_ $seen{$_}" } sort keys %seen));

# ---- the active snapshot is re-read about once a second ---------------------

my $snap = $t->redis('GET', 'skip:active');
$t->redis('DEL', 'skip:active');
my $gone = wait_source('missing');
$t->redis('SET', 'skip:active', $snap);
my $back = wait_source('redis');
ok($gone, 'no active snapshot: missing within 2 s');
ok($back, 'snapshot active again: predictions within 2 s');

sub wait_source {
    my ($want) = @_;
    for (1 .. 40) {
        my %v = SkipModule::skipvars($t->http_get("/tracks/$tr",
                                                  'X-User-Id' => $u));
        return 1 if ($v{source} // '') eq $want;
        select(undef, undef, undef, 0.05);
    }
    return 0;
}

$t->stop;
unlike($t->read_file('error.log'), qr/\[error\]/, 'no [error] lines');

done_testing();
