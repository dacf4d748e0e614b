#!/usr/bin/perl
# Configuration: `nginx -t` refuses a missing, corrupt or unservable model
# and says which file and why, and other bad directives; a reload with a
# new model file switches $skip_model without dropping requests; Redis
# over a unix socket with AUTH and SELECT; a wrong password is a warning
# and a fallback, not an error.
use strict;
use warnings;

use File::Copy qw(copy);
use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $root = $t->root;
my $dir = $t->dir;

sub conf_with {
    my ($http) = @_;
    return "events { worker_connections 64; }\nhttp {\n$http\n"
         . "    server { listen 127.0.0.1:%%PORT_8080%%; }\n}\n";
}

sub nginx_t {
    my ($http, $name) = @_;
    $t->write_conf(conf_with($http), $name);
    return $t->nginx_test_conf("$dir/$name");
}

# ---- nginx -t ----------------------------------------------------------------

my ($rc, $out) = nginx_t("skip_model m $dir/nope.model;", 'missing.conf');
isnt($rc, 0, 'nginx -t: missing model fails');
like($out, qr/skip_model "m":.*nope\.(model|json)/, 'the message names the file')
    or diag($out);

$t->write_file('corrupt.model', "this is not liblinear\n");
copy("$root/models/default.json", "$dir/corrupt.json");
($rc, $out) = nginx_t("skip_model m $dir/corrupt.model;", 'corrupt.conf');
isnt($rc, 0, 'nginx -t: corrupt model fails');
like($out, qr/skip_model "m":.*corrupt/, 'and names it') or diag($out);

# a manifest naming a feature this build cannot compute
my $man = $t->read_file("$root/models/default.json");
$man =~ s/"user_skip_rate_s"/"user_mood_from_the_stars"/;
$t->write_file('alien.json', $man);
copy("$root/models/default.model", "$dir/alien.model");
($rc, $out) = nginx_t("skip_model m $dir/alien.model;", 'alien.conf');
isnt($rc, 0, 'nginx -t: unservable manifest fails');
like($out, qr/user_mood_from_the_stars/, 'the message names the feature')
    or diag($out);

($rc, $out) = nginx_t("server { listen 127.0.0.1:%%PORT_8081%%; "
                      . "location / { skip_predict on; skip_user \$arg_u; "
                      . "skip_track \$arg_t; } }", 'noredis.conf');
isnt($rc, 0, 'skip_predict without skip_redis fails');
like($out, qr/no "skip_redis"/, 'and says so');

for my $bad ('skip_threshold 1.5;', 'skip_redis_prefix "a:b";',
             'skip_model naive x.model;', 'skip_record_cache lots;',
             'skip_fallback maybe;', 'skip_redis 127.0.0.1:99999;',
             map { "skip_redis 127.0.0.1:6379;\n$_" }
                 'skip_record_cache 100 1s track=0;', 'skip_record_cache 100 track=x;',
                 'skip_record_cache off track=1s;', 'skip_record_cache 100 1s 2s;',
                 'skip_record_cache 100 track=1s track=2s;')
{
    ($rc, $out) = nginx_t($bad, 'bad.conf');
    isnt($rc, 0, "nginx -t refuses: $bad");
}
# the session context (docs/taste-features.md): the id is one complex
# value, the player's counts three; each refused naming the directive
for my $bad (['skip_session;', qr/invalid number of arguments in "skip_session"/],
             ['skip_session $a $b;', qr/invalid number of arguments in "skip_session"/],
             ["skip_session \$a;\nskip_session \$b;", qr/"skip_session" directive is duplicate/],
             ['skip_session $no_such_var;', qr/unknown "no_such_var" variable/],
             ['skip_session_counts $a $b;', qr/invalid number of arguments in "skip_session_counts"/],
             ['skip_session_counts $a $b $c $d;', qr/invalid number of arguments in "skip_session_counts"/],
             ['skip_session_counts $arg_p "" $arg_l;', qr/skip_session_counts: empty second value/],
             ["skip_session_counts \$arg_p \$arg_s \$arg_l;\n"
              . "skip_session_counts \$arg_p \$arg_s \$arg_l;",
              qr/"skip_session_counts" directive is duplicate/],
             ['skip_session_counts $arg_p $arg_s $nope;', qr/unknown "nope" variable/],
             ['server { location / { skip_session_counts 1 2; } }',
              qr/invalid number of arguments in "skip_session_counts"/])
{
    ($rc, $out) = nginx_t($bad->[0], 'bad.conf');
    ok($rc != 0 && $out =~ $bad->[1], "nginx -t refuses: $bad->[0]")
        or diag($out);
}
($rc, $out) = nginx_t("skip_session \$http_x_session_id;\n"
                      . "skip_session_counts \$http_x_session_plays "
                      . "\$http_x_session_skips \$http_x_session_prev;\n"
                      . "server { listen 127.0.0.1:%%PORT_8081%%; location / {"
                      . " skip_session \$arg_sid; skip_session_counts 0 0 none;"
                      . " } }", 'session.conf');
is($rc, 0, 'nginx -t accepts skip_session and skip_session_counts at every '
   . 'level') or diag($out);

($rc, $out) = nginx_t('skip_record_cache 100 1s 2s;', 'bad.conf');
like($out, qr/invalid parameter "2s"/, 'a second time is named as the bad parameter');
($rc, $out) = nginx_t('skip_record_cache 100 track=soon;', 'bad.conf');
like($out, qr/invalid time "soon" in "track=soon"/, 'a bad track= time is named');

($rc, $out) = nginx_t("skip_redis 127.0.0.1:6379;\n"
                      . "skip_model default $root/models/default.model;\n"
                      . "skip_record_cache 100 1s track=30s;", 'good.conf');
is($rc, 0, 'nginx -t accepts a good configuration') or diag($out);

# ---- unix socket, AUTH, SELECT; reload with a new model --------------------

my $rport = $t->start_redis('--requirepass', 'sekret');
$t->{redis_password} = 'sekret';
my $sock = $t->redis_socket;
my $sk = $t->skipctl;
my $data = "$dir/data";
system("$sk gen --out $data --scale 0.01 --seed 7 --quiet") == 0 or die;
system("$sk features load --redis unix:$sock --password sekret --db 3 "
       . "--data $data --model $root/models/default.model >/dev/null 2>&1") == 0
    or die 'load';
my ($u) = map { /"user_id":(\d+)/ ? $1 : () } SkipModule::lines_of("$data/users.jsonl");
my ($tr) = map { /"id":"(\w+)"/ ? $1 : () } SkipModule::lines_of("$data/tracks.jsonl");

copy("$root/models/default.model", "$dir/live.model");
copy("$root/models/default.json", "$dir/live.json");
my ($v1) = $t->read_file('live.json') =~ /"version":\s*"([^"]+)"/;

sub server_conf {
    my ($password) = @_;
    return SkipModule::user() . <<"EOF";
events { worker_connections 64; }
http {
    skip_redis unix:$sock;
    skip_redis_password $password;
    skip_redis_db 3;
    skip_model live $dir/live.model;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        root $dir;
        location ~ ^/tracks/([^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$1;
            add_header X-Skip-Source \$skip_source always;
            add_header X-Skip-Model \$skip_model always;
            try_files /x =404;
        }
    }
}
EOF
}

$t->write_file('x', "x\n");
$t->write_conf(server_conf('sekret'));
$t->start_nginx;
sleep 0.2;
my %s = SkipModule::skipvars($t->http_get("/tracks/$tr", 'X-User-Id' => $u));
is($s{source}, 'redis', 'unix socket + AUTH + SELECT 3: predictions');
is($s{model}, "live\@$v1", '$skip_model names the model file loaded');

# a new model under the same file name, then a reload
system("$sk train --data $data --name live --model-dir $dir --c 1 "
       . ">/dev/null 2>&1") == 0 or die 'train';
my ($v2) = $t->read_file('live.json') =~ /"version":\s*"([^"]+)"/;
isnt($v2, $v1, 'a retrained model has a new version');

my $pid = fork // die;
my $dropped = 0;
if ($pid == 0) {
    # keep requests going across the reload
    my $bad = 0;
    for (1 .. 150) {
        my $r = $t->http_get("/tracks/$tr", 'X-User-Id' => $u);
        $bad++ unless $r->{status} == 200;
        sleep 0.01;
    }
    POSIX::_exit($bad ? 1 : 0);
}
sleep 0.3;
$t->reload_nginx;
waitpid($pid, 0);
is($? >> 8, 0, 'no request failed across the reload');
sleep 0.5;
%s = SkipModule::skipvars($t->http_get("/tracks/$tr", 'X-User-Id' => $u));
is($s{model}, "live\@$v2", 'after the reload $skip_model is the new version');
like($s{source}, qr/^(redis|cache)$/, 'and the new workers predict');
$t->stop_nginx;

# wrong password: a warning, the fallback, no error
$t->write_conf(server_conf('wrong'));
$t->start_nginx;
sleep 0.2;
%s = SkipModule::skipvars($t->http_get("/tracks/$tr", 'X-User-Id' => $u));
is($s{source}, 'disconnected', 'wrong password: fallback');
like($t->read_file('error.log'), qr/\[warn\].*refused AUTH/, 'a warning says AUTH was refused');
$t->stop;
unlike($t->read_file('error.log'), qr/\[(error|crit|alert|emerg)\]/,
       'nothing above warn');

# Every directive of both modules is documented with its own section.
{
    my $root = $t->root;
    my $doc = $t->read_file("$root/docs/directives.md");
    my %seen;
    for my $src (glob("$root/ngx_skip_module.c $root/src/nginx/*.c")) {
        my $c = $t->read_file($src);
        # directive tables: { ngx_string("name"), NGX_..._CONF ...
        $seen{$1} = 1 while $c =~ /\{\s*ngx_string\("(skip_\w+)"\),\s*NGX_/g;
    }
    ok(keys %seen >= 20, scalar(keys %seen) . ' directives in the command tables');
    my @missing = grep { $doc !~ /^### \Q$_\E$/m } sort keys %seen;
    is("@missing", '', 'each has a section in docs/directives.md');
}

done_testing();
